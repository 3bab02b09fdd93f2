"""Progress output shared by ``ship``, ``generate`` and ``run``: a live status line on a
terminal, nothing but the final summary when output goes to a file or a pipe (CI logs)."""

from __future__ import annotations

import time
from collections import deque
from types import TracebackType

from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Text


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


class RateMeter:
    """Per-second rate of a growing count, over the last ``window`` seconds."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self._samples: deque[tuple[float, float]] = deque()

    def update(self, value: float, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self._samples.append((now, value))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window:
            self._samples.popleft()
        first_time, first_value = self._samples[0]
        elapsed = now - first_time
        return (value - first_value) / elapsed if elapsed > 0 else 0.0


class StatusLine:
    """``with StatusLine(console) as status: status.update(text)``; notes print above it."""

    def __init__(self, console: Console, refresh_per_second: float = 4) -> None:
        self.console = console
        self._live = (
            Live(Text(""), console=console, refresh_per_second=refresh_per_second, transient=True)
            if console.is_terminal
            else None
        )

    def __enter__(self) -> StatusLine:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, traceback)

    def update(self, renderable: RenderableType) -> None:
        if self._live is not None:
            self._live.update(renderable)

    def note(self, message: str) -> None:
        self.console.print(message, highlight=False, soft_wrap=True)
