"""Progress: a bar redrawn in place on a terminal, plain lines at intervals elsewhere, nothing for short work."""

import io

from gate.progress import PLAIN_INTERVAL, Progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_at_intervals_and_a_final_line():
    out, clock = io.StringIO(), Clock()
    with Progress("importing", total=1000, unit="records", stream=out, clock=clock) as p:
        for _ in range(10):
            clock.now += PLAIN_INTERVAL / 2
            p.advance(100)
    lines = out.getvalue().splitlines()
    assert len(lines) == 6  # every other advance crosses the interval, plus the final line
    assert lines[0].startswith("importing: 200/1,000 records") and "left" in lines[0]
    assert lines[-1].startswith("importing: 1,000/1,000 records") and lines[-1].endswith("(done)")
    assert "\r" not in out.getvalue()


def test_short_work_on_a_log_prints_nothing():
    out, clock = io.StringIO(), Clock()
    with Progress("checking", total=3, stream=out, clock=clock) as p:
        p.advance(3)
    assert out.getvalue() == ""


def test_terminal_gets_a_bar_redrawn_in_place():
    out, clock = Tty(), Clock()
    with Progress("scanning", total=4, unit="APKs", stream=out, clock=clock) as p:
        clock.now = 1.0
        p.advance(1)
        clock.now = 2.0
        p.advance(1)
    text = out.getvalue()
    assert text.count("\r\x1b[2K") == 3 and text.endswith("(done)\n")
    assert "[#######.....................]  25% scanning: 1/4 APKs" in text
    assert "50% scanning: 2/4 APKs" in text


def test_a_failed_run_says_it_stopped_and_unknown_totals_draw_no_bar():
    out, clock = Tty(), Clock()
    try:
        with Progress("syncing", stream=out, clock=clock) as p:
            clock.now = 1.0
            p.advance(5)
            raise RuntimeError
    except RuntimeError:
        pass
    assert "%" not in out.getvalue() and out.getvalue().endswith("(stopped)\n")


def test_notes_are_lines_of_their_own_and_make_the_final_line_appear():
    out, clock = io.StringIO(), Clock()
    with Progress("checking APKs", total=0, unit="APKs", stream=out, clock=clock) as p:
        p.set_total(2)
        p.note("partition system (ext4, system.img): 2 APKs")
        clock.now = 1.0
        p.advance(2)
    assert out.getvalue().splitlines() == ["partition system (ext4, system.img): 2 APKs",
                                           "checking APKs: 2/2 APKs, 2.0/s, 1s (done)"]
