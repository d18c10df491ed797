"""Compact progress lines for long steps (prepare per file, the climate generator per planet, downloads).

`Progress(total, "climate generator", unit="planets")` prints lines such as
``[progress] climate generator: 40/120 planets (33%), 2.1/s, ~38 s left`` on stderr: the first step, then at most one
line every ``every_s`` seconds, and the last step. Plain lines rather than a tqdm bar because these steps run under
`make demo` and CI with output going to log files, where tqdm's carriage-return redraws become one unreadable line;
the ``[progress]`` prefix lets the demo echo them to the console while the rest goes to the log.
``ASTROBIO_PROGRESS=0`` silences them.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

PREFIX = "[progress]"


def enabled() -> bool:
    return os.environ.get("ASTROBIO_PROGRESS", "1") not in ("0", "false", "no")


class Progress:
    """Counts steps of a loop of known length and prints a line now and then (see the module docstring)."""

    def __init__(self, total: int, label: str, unit: str = "items", every_s: float = 5.0,
                 stream: TextIO | None = None):
        self.total, self.label, self.unit, self.every_s = int(total), label, unit, every_s
        self.stream = stream
        self.done = 0
        self._start = self._last = time.monotonic()
        self._printed_any = False

    def step(self, n: int = 1, note: str = "") -> None:
        self.done += n
        now = time.monotonic()
        if not (not self._printed_any or self.done >= self.total or now - self._last >= self.every_s):
            return
        self._last, self._printed_any = now, True
        if not enabled():
            return
        elapsed = now - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        line = f"{PREFIX} {self.label}: {self.done}/{self.total} {self.unit}"
        if self.total:
            line += f" ({100 * self.done / self.total:.0f}%)"
        if self.done < self.total and rate > 0:
            line += f", {rate:.3g}/s, ~{(self.total - self.done) / rate:.0f} s left"
        elif self.done >= self.total:
            line += f" in {elapsed:.1f} s"
        if note:
            line += f" ({note})"
        print(line, file=self.stream or sys.stderr, flush=True)


def human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def report(message: str, stream: TextIO | None = None) -> None:
    """A single progress line (a finished download, a finished file)."""
    if enabled():
        print(f"{PREFIX} {message}", file=stream or sys.stderr, flush=True)


__all__ = ["Progress", "report", "human_bytes", "PREFIX"]
