"""A small progress bar for stderr: count, rate and ETA, redrawn at most ten times a second."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 24


def format_duration(seconds: float) -> str:
    """``75`` -> ``"1:15"``; ``3725`` -> ``"1:02:05"``."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def render_bar(done: int, total: int, rate: float | None, width: int = BAR_WIDTH) -> str:
    """One progress line: ``120/200 [#######-----] 60% 85.3 texts/s ETA 0:01``."""
    fraction = done / total if total else 1.0
    filled = min(width, int(fraction * width))
    parts = [f"{done:,}/{total:,}", f"[{'#' * filled}{'-' * (width - filled)}]", f"{fraction:4.0%}"]
    if rate:
        parts.append(f"{rate:.1f} texts/s")
        parts.append(f"ETA {format_duration((total - done) / rate)}")
    return " ".join(parts)


class ProgressBar:
    """Draws ``render_bar`` on a stream with carriage returns; does nothing when disabled."""

    def __init__(
        self,
        total: int,
        *,
        done: int = 0,
        stream: TextIO,
        enabled: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.done = done
        self._start_done = done
        self._stream = stream
        self._enabled = enabled
        self._clock = clock
        self._started = clock()
        self._drawn_at: float | None = None

    def rate(self) -> float | None:
        """Texts per second sent by this run (skipped texts do not count)."""
        elapsed = self._clock() - self._started
        sent = self.done - self._start_done
        return sent / elapsed if elapsed > 0 and sent > 0 else None

    def advance(self, count: int) -> None:
        self.done += count
        now = self._clock()
        if self._drawn_at is None or now - self._drawn_at >= 0.1 or self.done >= self.total:
            self.draw()

    def draw(self) -> None:
        if self._enabled:
            self._drawn_at = self._clock()
            self._stream.write("\r" + render_bar(self.done, self.total, self.rate()) + "\x1b[K")
            self._stream.flush()

    def close(self) -> None:
        """Draw the final count (a redraw may have been skipped) and end the line."""
        if self._enabled and self._drawn_at is not None:
            self.draw()
            self._stream.write("\n")
            self._stream.flush()
