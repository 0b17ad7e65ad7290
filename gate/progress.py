"""Progress of long work (imports, scans, reports, syncs) for the person or the log watching it.

On a terminal a bar is redrawn in place at most ten times a second; anywhere else (a CI log, systemd, a pipe) a
plain line is printed every ``PLAIN_INTERVAL`` seconds and once at the end, so a log shows that work goes on
without being flooded. Progress goes to standard error: standard output stays the command's answer (JSON, reports).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 28
BAR_INTERVAL = 0.1  # seconds between redraws on a terminal
PLAIN_INTERVAL = 5.0  # seconds between plain lines elsewhere


class Progress:
    """``with Progress("importing", total=n, unit="records") as p: ... p.advance(k)``; ``total`` may be unknown."""

    def __init__(self, label: str, *, total: int | None = None, unit: str = "items", stream: TextIO | None = None,
                 enabled: bool = True, clock=time.monotonic) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.done = 0
        self._clock = clock
        self._start = self._last = clock()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type, _exc, _tb) -> None:
        self.finish(failed=exc_type is not None)

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = self._clock()
        if now - self._last >= (BAR_INTERVAL if self._tty else PLAIN_INTERVAL):
            self._last = now
            self._draw(now)

    def set_total(self, total: int | None) -> None:
        self.total = total

    def note(self, message: str) -> None:
        """A line of its own (a step begins, a part was read); on a terminal the bar is redrawn below it. After a
        note the final line is printed however short the work was."""
        if not self.enabled:
            return
        self.stream.write(("\r\x1b[2K" if self._tty else "") + message + "\n")
        self.stream.flush()
        self._drawn = True
        if self._tty:
            self._draw(self._clock())

    def finish(self, *, failed: bool = False) -> None:
        if not self.enabled:
            return
        self._draw(self._clock(), final=True, failed=failed)

    def line(self, now: float, *, final: bool = False, failed: bool = False) -> str:
        """The text of one progress report (without the bar)."""
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        count = f"{self.done:,}" + (f"/{self.total:,}" if self.total is not None else "") + f" {self.unit}"
        text = f"{self.label}: {count}, {_rate(rate)}/s, {_duration(elapsed)}"
        if final:
            return text + (" (stopped)" if failed else " (done)")
        if self.total and rate > 0 and self.done < self.total:
            text += f", about {_duration((self.total - self.done) / rate)} left"
        return text

    def _draw(self, now: float, *, final: bool = False, failed: bool = False) -> None:
        if not self.enabled or (final and not self._drawn and not self._tty and now - self._start < PLAIN_INTERVAL):
            # Short work on a log: no progress lines at all, the command's own output says what happened.
            return
        text = self.line(now, final=final, failed=failed)
        if self._tty:
            bar = ""
            if self.total:
                filled = min(BAR_WIDTH, BAR_WIDTH * self.done // self.total)
                bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {min(100, 100 * self.done // self.total):3d}% "
            self.stream.write("\r\x1b[2K" + bar + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self._drawn = True


def _rate(value: float) -> str:
    return f"{value / 1000:.1f}k" if value >= 10_000 else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
