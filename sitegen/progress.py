"""Progress for long builds: a bar on a terminal, plain periodic lines in CI logs."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str, stream=None, interval: float = 10.0):
        self.total, self.label, self.done = total, label, 0
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.interval = interval
        self.started = self.last = time.monotonic()

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.tty:
            self._bar(now)
        elif now - self.last >= self.interval and self.done < self.total:
            self.last = now
            rate = self.done / max(now - self.started, 1e-9)
            print(f"{self.label}: {self.done}/{self.total} ({rate:.0f}/s)", file=self.stream, flush=True)

    def finish(self) -> None:
        if self.tty and self.total:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _bar(self, now: float) -> None:
        if self.total == 0:
            return
        width = 30
        filled = int(width * self.done / self.total)
        rate = self.done / max(now - self.started, 1e-9)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                          f"{self.done}/{self.total} {rate:.0f}/s")
        self.stream.flush()
