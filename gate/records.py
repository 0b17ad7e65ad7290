"""Frozen records: frozen dataclasses whose methods are written once, here, instead of compiled per class at import.

``@dataclass(frozen=True)`` on Python 3.11 writes the source text of six methods for each class (``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``) and compiles each one when the module is
imported: about 0.6 M instructions a method, over a tenth of what a ``gate features`` process on a small package
executes (docs/benchmarks.md, "Start-up: records instead of generated dataclass methods"). The bytecode of a
module is cached; text compiled at import is not.

``@record`` gives a class exactly the behaviour of ``@dataclass(frozen=True)`` without compiling anything (and
``@record(frozen=False)``, ``@record(frozen=False, eq=False)`` that of ``@dataclass``, ``@dataclass(eq=False)``):

- the dataclass machinery still reads the fields (with ``init``, ``repr`` and ``eq`` off, so it writes no method),
  so ``dataclasses.fields``, ``replace``, ``asdict``, ``is_dataclass`` and ``__match_args__`` are as before;
- ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__`` and ``__delattr__`` are closures over the class's fields
  that do what the generated methods do (same text, same tuple comparison and hash, same errors);
- ``__init__`` is the class's own, written out in its body: it sets exactly the fields, in order, with their
  defaults (``FACTORY`` stands for a ``default_factory``), and calls ``__post_init__`` if the class has one. A
  frozen record sets its instance dictionary at once (``object.__setattr__(self, "__dict__", {...})``, cheaper
  than the generated ``object.__setattr__`` per field).

tests/unit/test_records.py compares every record with the class ``@dataclass(frozen=True)`` makes of the same
fields: the ``__init__`` signature, the instance it builds, and every method above.
"""

from __future__ import annotations

import dataclasses
import operator
import threading
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T", bound=type)

# Every class made a record, in import order, with its options: the tests compare each with its generated dataclass.
RECORDS: dict[type, dict[str, bool]] = {}


class _Factory:
    """The default of a parameter whose field has a ``default_factory`` (the generated ``__init__`` has one too)."""

    def __repr__(self) -> str:
        return "<factory>"


FACTORY: Any = _Factory()


# Type checkers read records as the dataclasses they are (fields, replace(), the frozen default).
@overload
@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: T, /) -> T: ...


@overload
def record(*, frozen: bool = True, eq: bool = True) -> Callable[[T], T]: ...


def record(cls: T | None = None, /, *, frozen: bool = True, eq: bool = True) -> T | Callable[[T], T]:
    """``@dataclass(frozen=frozen, eq=eq)`` for a class that writes its own ``__init__``, with nothing compiled."""
    def make(cls: T) -> T:
        return _make(cls, frozen=frozen, eq=eq)
    return make if cls is None else make(cls)


def _make(cls: T, *, frozen: bool, eq: bool) -> T:
    if "__init__" not in cls.__dict__:
        raise TypeError(f"{cls.__qualname__}: a record writes its __init__ (the fields, in order, with defaults)")
    # As dataclass decides it: a __hash__ of the class's own is kept; __eq__ in the body sets it to None.
    own_hash = cls.__dict__.get("__hash__", dataclasses.MISSING)
    explicit_hash = not (own_hash is dataclasses.MISSING or (own_hash is None and "__eq__" in cls.__dict__))
    dataclasses.dataclass(init=False, repr=False, eq=False)(cls)  # the same class, with its fields read
    fields = dataclasses.fields(cls)  # the real fields (no ClassVar, no InitVar), in order
    _add(cls, "__repr__", _repr(tuple(f.name for f in fields if f.repr)))
    if eq:
        _add(cls, "__eq__", _eq(_values(tuple(f.name for f in fields if f.compare))))
    if frozen:
        for method in _frozen(cls, tuple(f.name for f in fields)):
            if not _add(cls, method.__name__, method):
                raise TypeError(f"Cannot overwrite attribute {method.__name__} in class {cls.__name__}")
    if eq and not explicit_hash:  # dataclass's table: frozen and compared, a hash of the fields; else unhashable
        hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
        cls.__hash__ = _qualified(cls, _hash(_values(hashed))) if frozen else None  # type: ignore[assignment]
    RECORDS[cls] = {"frozen": frozen, "eq": eq}
    return cls


def _add(cls: type, name: str, method: Callable[..., Any]) -> bool:
    """Set ``method`` unless the class body defines ``name`` (dataclass's rule); False when it did."""
    if name in cls.__dict__:
        return False
    setattr(cls, name, _qualified(cls, method))
    return True


def _qualified(cls: type, method: Callable[..., Any]) -> Callable[..., Any]:
    method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
    return method


def _values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple ``(obj.a, obj.b, …)`` of ``names``: what the generated __eq__ compares and __hash__ hashes."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if len(names) == 1:
        (name,) = names
        return lambda obj: (getattr(obj, name),)
    return lambda obj: ()


def _repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    running: set[tuple[int, int]] = set()  # a record that contains itself says "...", as dataclasses' repr does

    def __repr__(self: Any) -> str:
        key = id(self), threading.get_ident()
        if key in running:
            return "..."
        running.add(key)
        try:
            return (self.__class__.__qualname__ + "("
                    + ", ".join([f"{name}={getattr(self, name)!r}" for name in names]) + ")")
        finally:
            running.discard(key)
    return __repr__


def _eq(values: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any, Any], Any]:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented
    return __eq__


def _hash(values: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(values(self))
    return __hash__


def _frozen(cls: type[Any], names: tuple[str, ...]) -> tuple[Callable[..., None], Callable[..., None]]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)
    return __setattr__, __delattr__
