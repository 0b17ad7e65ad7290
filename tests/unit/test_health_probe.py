"""The bounded probe behind /healthz and /metrics: answered in time, one probe in flight, shared by its callers."""

from __future__ import annotations

import threading
import time

import pytest

from gate.services.health import BoundedProbe, ProbeUnanswered


def test_a_stuck_probe_is_answered_in_time_and_never_started_twice():
    release = threading.Event()
    started = []

    def stuck():
        started.append(1)
        release.wait(10)
        return "late"

    probe = BoundedProbe("test")
    for _ in range(3):  # a load balancer polling while the database does not answer
        began = time.monotonic()
        with pytest.raises(ProbeUnanswered):
            probe.run(stuck, seconds=0.2)
        assert time.monotonic() - began < 1
    assert started == [1]  # one probe holds one connection, however often it is asked
    release.set()
    time.sleep(0.1)
    assert probe.run(lambda: "fresh", seconds=1) == "fresh"  # the stuck one ended: a new probe


def test_callers_arriving_together_share_one_probe_and_its_error():
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        raise RuntimeError("the query failed")

    probe = BoundedProbe("test")
    errors = []

    def ask():
        try:
            probe.run(slow, seconds=2)
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1] and errors == ["the query failed"] * 4
