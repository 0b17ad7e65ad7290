"""Which implementation runs the scanner's per-candidate work: the compiled core or the pure-Python oracle.

The compiled core (``_hostcore``, C, built by ``pip install`` from ``_hostcore.c``) validates candidate hosts, looks
up public suffixes, splits URL authorities out of string data and runs the scanner's loops over pooled strings, URL
authorities, kept evidence and host facts; ``domains``, ``suffixes``, ``finder`` and the scanner keep the same rules
in Python, which stay the reference: ``tests/unit/test_network_core.py`` requires both to answer alike.
A checkout whose extension was not built runs the Python path, with the same facts, only slower.

``select("python")`` (the CLI: ``GATE_SCANNER_CORE=python``) switches to the Python path, to compare the two.
"""

from __future__ import annotations

from collections.abc import Callable

from gate.errors import ConfigError

try:
    from gate.extract.network import _hostcore
except ImportError:  # not built (a source checkout without ``pip install``): the Python path runs
    _hostcore = None  # type: ignore[assignment]

__all__ = ["KINDS", "UnknownScannerCore", "active", "compiled_core", "on_select", "select"]
compiled_core = _hostcore  # the module (typed by _hostcore.pyi), or None

KINDS = ("compiled", "python")
_state = {"kind": "compiled" if compiled_core is not None else "python"}
_on_select: list[Callable[[], None]] = []


class UnknownScannerCore(ConfigError):
    """``select`` was asked for a core that is not one of ``KINDS`` or is not built here (``config_invalid``)."""


def select(kind: str) -> None:
    """Run the scanner's per-candidate work with ``kind`` ("compiled" or "python") from now on."""
    if kind not in KINDS:
        raise UnknownScannerCore(f"GATE_SCANNER_CORE: scanner core {kind!r}: expected one of {', '.join(KINDS)}")
    if kind == "compiled" and compiled_core is None:
        raise UnknownScannerCore("GATE_SCANNER_CORE: the compiled scanner core is not built here (pip install the "
                                 "gate to build it)")
    _state["kind"] = kind
    for reset in _on_select:
        reset()  # the modules rebind their functions and drop caches filled by the other path


def active() -> str:
    return _state["kind"]


def on_select(reset: Callable[[], None]) -> None:
    """Call ``reset`` now and after every ``select`` (a module rebinding its hot functions)."""
    _on_select.append(reset)
    reset()
