"""Fewer garbage collections while a bulk job streams short-lived records (a filings import's two processes).

An import allocates ~15 containers per record (the parsed JSON, the validated ``Filing`` and its identities, the
chunk handed between the processes, the rows written) that die within a batch, and makes no reference cycles. At
CPython's default young threshold (700) that is a young collection every ~50 records, and the middle and full
collections it triggers walk every live object again: the pending batch, and in the importing process the whole of
SQLAlchemy and the modules loaded before. Unpickling a 1,000-record chunk took 17 µs per record with the collector
running and 6 µs without it. Here the young threshold is raised to ``YOUNG_THRESHOLD`` and the objects alive when the
job starts are frozen (``gc.freeze``: kept out of every collection until the job ends), so collections are rare and
walk only the job's own objects. Cycles are still collected, later; nothing a job computes depends on when.

The settings are process-wide, so they are shared: the first job to start applies them, concurrent ones join, the
last one to finish restores what was there before (a freeze made before is left as it was). ``gate.extract.runtime`` raises the same threshold while a
package is read; if it changed the threshold meanwhile, its value is left for it to restore.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

YOUNG_THRESHOLD = 100_000

_lock = threading.Lock()
_users = 0
_saved: tuple[int, ...] = ()
_applied: tuple[int, ...] = ()
_froze = False


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the young threshold to ``YOUNG_THRESHOLD`` (never lowering it) and freeze the live objects, for the
    block."""
    global _users, _saved, _applied, _froze
    with _lock:
        if _users == 0:
            _saved = gc.get_threshold()
            young, *older = _saved
            _applied = (max(young, YOUNG_THRESHOLD), *older)
            gc.set_threshold(*_applied)
            # gc.unfreeze() thaws every frozen object: if the process froze some itself (a server preloading
            # before fork, to keep pages shared), leave its freeze alone and only raise the threshold.
            _froze = gc.get_freeze_count() == 0
            if _froze:
                gc.freeze()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                if _froze:
                    gc.unfreeze()
                if gc.get_threshold() == _applied:
                    gc.set_threshold(*_saved)
