"""Interpreter settings while packages are read: prompter GIL hand-over, fewer garbage collections.

Both are process-wide, so they are shared: the first extraction to start applies them, concurrent ones join, and
the last one to finish restores what was there before. Neither changes what is read, only how fast.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

from gate.collector import raised_young_threshold

# CPython hands the GIL to a waiting thread only after this long (default 5 ms). The verifier thread takes the GIL
# back after every inflate and every hash (the v2/v3 digests alone are one hash per 1 MiB chunk), so beside a
# scanner running Python it waited up to the interval each time, and until it reaches the DEX files the scanner
# inflates them itself. On the 39 MB bench APK the verifier began v1 after 123 ms at 5 ms, 74 ms at 1 ms and 47 ms
# at 0.2 ms; the extraction took 0.25 s, 0.22 s and 0.19 s (medians of 20).
SWITCH_INTERVAL_S = 0.0002
# Reading a large package allocates ~100,000 small containers that live until its facts are built (string caches,
# evidence, host facts). At CPython's default gen0 threshold (700) that cost 125 young, 12 middle and one full
# collection per package, 20-30 ms on the bench APK, each pass walking the same live objects again. At 100,000 the
# bench APK is read without a collection, and the first young collection after it walks those objects once.
# Cycles (which the readers do not make) are still collected. The threshold (gate.collector.YOUNG_THRESHOLD) is
# shared with a filings import that may run in another thread of the same process.

_lock = threading.Lock()
_users = 0
_saved_interval = 0.0


@contextlib.contextmanager
def reading_settings() -> Iterator[None]:
    """Apply ``SWITCH_INTERVAL_S`` and the raised young threshold (never making either less favourable) for the
    block."""
    global _users, _saved_interval
    with _lock:
        if _users == 0:
            _saved_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(_saved_interval, SWITCH_INTERVAL_S))
        _users += 1
    try:
        with raised_young_threshold():
            yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                sys.setswitchinterval(_saved_interval)
