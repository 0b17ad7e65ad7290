"""gate.collector: the garbage-collector settings of an import and a package read apply for the block, are shared
by concurrent users (of either kind) and are restored afterwards, also when the block fails; an import still
collects the cycles it makes."""

from __future__ import annotations

import gc
import weakref

import pytest

from gate import collector
from gate.extract import runtime


def test_settings_apply_inside_and_are_restored_after():
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with collector.fewer_collections():
        with collector.fewer_collections():  # a concurrent user joins
            assert gc.get_threshold()[0] == max(before[0], collector.YOUNG_THRESHOLD)
            assert gc.get_threshold()[1:] == before[1:]
            assert gc.get_freeze_count() > frozen_before
        assert gc.get_threshold()[0] == max(before[0], collector.YOUNG_THRESHOLD)  # the outer user still runs
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before


def test_settings_are_restored_when_the_block_fails():
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    with pytest.raises(RuntimeError), collector.fewer_collections():
        raise RuntimeError("import failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before


@pytest.mark.parametrize("import_ends_first", [True, False])
def test_an_import_and_a_package_read_overlapping_restore_the_threshold(import_ends_first):
    # A server's threads: a filings import and a package read start and end in either order.
    before = gc.get_threshold()
    importing = collector.fewer_collections()
    reading = runtime.reading_settings()
    importing.__enter__()
    reading.__enter__()
    first, second = (importing, reading) if import_ends_first else (reading, importing)
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == max(before[0], collector.YOUNG_THRESHOLD)  # the other job still runs
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cycles_made_inside_are_still_collected():
    class Node:
        pass

    with collector.fewer_collections():
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        gc.collect()
        assert ref() is None


def test_a_freeze_made_before_is_left_frozen():
    gc.freeze()
    try:
        with collector.fewer_collections():
            pass
        assert gc.get_freeze_count() > 0  # not thawed (objects that died meanwhile left the count)
    finally:
        gc.unfreeze()
