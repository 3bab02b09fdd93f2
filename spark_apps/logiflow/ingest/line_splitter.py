"""Cutting a byte stream into complete lines in bounded memory.

``LineSplitter`` holds at most ``max_line_bytes`` of an unfinished line; a line longer than that
comes out in chunks (``OversizeChunk``), never buffered whole, so one runaway line cannot exhaust
the shipper's memory.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """One complete line, without its terminator (``\\n`` or ``\\r\\n``)."""

    data: bytes
    size: int  # bytes the line took in the stream, terminator included


@dataclass(frozen=True)
class OversizeChunk:
    """Part of a line longer than the limit; ``first`` and ``last`` delimit the line."""

    data: bytes
    size: int
    first: bool
    last: bool


Piece = Line | OversizeChunk


class LineSplitter:
    """Turns chunks of bytes into complete lines; holds at most ``max_line_bytes`` in memory."""

    def __init__(self, max_line_bytes: int) -> None:
        if max_line_bytes <= 0:
            raise ValueError("max_line_bytes must be positive")
        self.max_line_bytes = max_line_bytes
        self._buffer = bytearray()
        self._in_oversize = False

    @property
    def pending_bytes(self) -> int:
        """Bytes of an unfinished line held back (0 while streaming an oversize line)."""
        return len(self._buffer)

    @property
    def mid_line(self) -> bool:
        return bool(self._buffer) or self._in_oversize

    def feed(self, data: bytes) -> list[Piece]:
        pieces: list[Piece] = []
        start = 0
        while start < len(data):
            newline = data.find(b"\n", start)
            if newline < 0:
                self._hold(data[start:], pieces)
                break
            self._finish(data[start:newline], pieces)
            start = newline + 1
        return pieces

    def flush(self) -> list[Piece]:
        """The held-back partial line as a complete one: the stream has ended."""
        pieces: list[Piece] = []
        if self._in_oversize:
            pieces.append(OversizeChunk(b"", 0, first=False, last=True))
            self._in_oversize = False
        elif self._buffer:
            data = bytes(self._buffer)
            self._buffer.clear()
            pieces.append(Line(data.removesuffix(b"\r"), len(data)))
        return pieces

    def reset(self) -> None:
        self._buffer.clear()
        self._in_oversize = False

    def _hold(self, rest: bytes, pieces: list[Piece]) -> None:
        if self._in_oversize:
            pieces.append(OversizeChunk(rest, len(rest), first=False, last=False))
            return
        self._buffer += rest
        if len(self._buffer) > self.max_line_bytes:
            data = bytes(self._buffer)
            self._buffer.clear()
            self._in_oversize = True
            pieces.append(OversizeChunk(data, len(data), first=True, last=False))

    def _finish(self, segment: bytes, pieces: list[Piece]) -> None:
        if self._in_oversize:
            self._in_oversize = False
            pieces.append(OversizeChunk(segment, len(segment) + 1, first=False, last=True))
            return
        if self._buffer:
            self._buffer += segment
            raw = bytes(self._buffer)
            self._buffer.clear()
        else:
            raw = segment
        content = raw.removesuffix(b"\r")
        if len(content) > self.max_line_bytes:
            pieces.append(OversizeChunk(raw, len(raw) + 1, first=True, last=True))
        else:
            pieces.append(Line(content, len(raw) + 1))
