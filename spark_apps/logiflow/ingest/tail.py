"""Reading log files line by line the way log rotation leaves them: ``tail -F`` with memory.

``LineSplitter`` cuts a byte stream into complete lines in bounded memory (a line longer than
the limit comes out in chunks, never buffered whole). ``FileFollower`` reads one path across
rotation by rename (the old file is read to its end, then the new one from its start), truncation
in place (``copytruncate``: what was written after our last read is recovered from the copy when
it sits beside the file) and restarts (it resumes from a saved ``Position``, finding the old file
under its rotated name if the path moved on meanwhile). A last line without its newline is held
back until it is complete; only when its file has been rotated away does it count as complete.

Rotated files are looked for next to the path, named ``<name>.<suffix>`` or ``<name>-<suffix>``
(logrotate's default and ``dateext`` names); compressed ones cannot be read back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

from logiflow.ingest.positions import FINGERPRINT_BYTES, FileId, Fingerprint, Position

READ_CHUNK = 256 * 1024
_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip")


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


@dataclass(frozen=True)
class TailEvent:
    """A piece read from a followed path, with the position after it.

    ``position`` is None in the middle of an oversize line (not a place to resume from).
    ``piece`` is None for a marker that only moves the position (a switch to a new file).
    """

    piece: Piece | None
    position: Position | None


@dataclass
class _Open:
    name: Path  # the path, or the rotated name the file was found under
    fd: int
    file: FileId
    fingerprint: Fingerprint
    read: int  # bytes fed to the splitter
    emitted: int  # offset just past the last piece handed out


class FileFollower:
    """Follows one path; ``poll()`` yields whatever complete lines are there now."""

    def __init__(
        self,
        path: Path,
        *,
        max_line_bytes: int,
        start: Position | None = None,
        notify: Callable[[str], None] | None = None,
        read_chunk: int = READ_CHUNK,
    ) -> None:
        self.path = path
        self._splitter = LineSplitter(max_line_bytes)
        self._start = start
        self._notify = notify or (lambda _message: None)
        self._read_chunk = read_chunk
        self._current: _Open | None = None
        # Set while reading a predecessor of the path: afterwards continue with the path itself.
        self._then_path = False
        self._rotation_seen = False
        self._started = False

    @property
    def held_back_bytes(self) -> int:
        """Bytes of a last line still waiting for its newline."""
        return self._splitter.pending_bytes

    @property
    def current_name(self) -> Path | None:
        return self._current.name if self._current else None

    def close(self) -> None:
        if self._current is not None:
            os.close(self._current.fd)
            self._current = None

    def poll(self, *, follow: bool = True) -> Iterator[TailEvent]:
        """Read everything available. Without ``follow``, rotation after start-up is not watched."""
        if self._current is None:
            opened = self._reopen_path() if self._started else self._open_start()
            if not opened:
                return
            self._started = True
            yield self._marker()
        elif not self._then_path and self._truncated():
            # Checked before reading: a file truncated and rewritten past our offset would
            # otherwise be read from the middle of a line.
            yield from self._after_truncation()
        while self._current is not None:
            yield from self._read_available()
            if self._then_path:
                yield from self._switch_to_path()
                continue
            if not follow:
                return
            go_on = yield from self._check_path()
            if not go_on:
                return

    # --- opening ------------------------------------------------------------------------------

    def _open_start(self) -> bool:
        start = self._start
        try:
            fd: int | None = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            fd = None
        if start is None:
            if fd is None:
                return False
            self._attach(self.path, fd, os.fstat(fd), 0)
            return True
        stat = os.fstat(fd) if fd is not None else None
        same_file = stat is not None and FileId.of(stat) == start.file
        if (
            fd is not None
            and stat is not None
            and same_file
            and stat.st_size >= start.offset
            and start.fingerprint.matches(fd)
        ):
            self._start = None
            self._attach(self.path, fd, stat, start.offset)
            return True
        predecessor = self._find_predecessor(start)
        if predecessor is not None:
            old_name, old_fd = predecessor
            if fd is not None:
                os.close(fd)
            self._start = None
            self._notify(f"{self.path}: rotated while stopped; finishing {old_name.name} first")
            self._attach(old_name, old_fd, os.fstat(old_fd), start.offset)
            self._then_path = True
            return True
        if fd is None or stat is None:
            # Perhaps caught in the middle of a rotation: keep the saved position and look again.
            return False
        self._start = None
        if same_file:
            self._notify(f"{self.path}: truncated while stopped; reading it from the start")
        else:
            self._notify(
                f"{self.path}: replaced while stopped and the previous file was not found beside "
                "it; reading the new one from the start (lines written to the old one after the "
                "last shipped line are not recoverable)"
            )
        self._attach(self.path, fd, stat, 0)
        return True

    def _reopen_path(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        self._attach(self.path, fd, os.fstat(fd), 0)
        return True

    def _attach(self, name: Path, fd: int, stat: os.stat_result, offset: int) -> None:
        self._current = _Open(
            name, fd, FileId.of(stat), Fingerprint.read(fd, stat.st_size), offset, offset
        )

    def _siblings(self) -> Iterator[Path]:
        directory = self.path.parent
        base = self.path.name
        try:
            names = os.listdir(directory)
        except OSError:
            return
        for name in sorted(names):
            if name == base or not name.startswith((base + ".", base + "-")):
                continue
            if name.endswith(_COMPRESSED_SUFFIXES):
                continue
            yield directory / name

    def _find_predecessor(self, position: Position) -> tuple[Path, int] | None:
        """The file ``position`` is in, under a rotated name: renamed, or copied then truncated."""
        copies: list[tuple[Path, int]] = []
        found: tuple[Path, int] | None = None
        for candidate in self._siblings():
            try:
                fd = os.open(candidate, os.O_RDONLY)
            except OSError:
                continue
            stat = os.fstat(fd)
            same_content = stat.st_size >= position.offset and position.fingerprint.matches(fd)
            if same_content and found is None and FileId.of(stat) == position.file:
                found = (candidate, fd)
            elif same_content and position.fingerprint.length > 0:
                # An empty fingerprint matches any file: only the inode can tell then.
                copies.append((candidate, fd))
            else:
                os.close(fd)
        if found is not None:
            for _name, fd in copies:
                os.close(fd)
            return found
        # Only one copy can be the one made from our file; the newest rotation sorts first.
        for _name, fd in copies[1:]:
            os.close(fd)
        return copies[0] if copies else None

    # --- reading ------------------------------------------------------------------------------

    def _read_available(self) -> Iterator[TailEvent]:
        current = self._current
        assert current is not None
        while True:
            chunk = os.pread(current.fd, self._read_chunk, current.read)
            if not chunk:
                return
            current.read += len(chunk)
            if current.fingerprint.length < min(current.read, FINGERPRINT_BYTES):
                current.fingerprint = Fingerprint.read(current.fd, current.read)
            for piece in self._splitter.feed(chunk):
                yield self._event(piece)

    def _event(self, piece: Piece) -> TailEvent:
        current = self._current
        assert current is not None
        current.emitted += piece.size
        complete = isinstance(piece, Line) or piece.last
        return TailEvent(piece, self._position() if complete else None)

    def _position(self) -> Position:
        current = self._current
        assert current is not None
        return Position(current.file, current.emitted, current.fingerprint)

    def _marker(self) -> TailEvent:
        return TailEvent(None, self._position())

    def _finish_current(self) -> Iterator[TailEvent]:
        """The current file will get no more lines: its unfinished last line is complete."""
        for piece in self._splitter.flush():
            yield self._event(piece)
        self.close()

    def _switch_to_path(self) -> Iterator[TailEvent]:
        self._then_path = False
        yield from self._finish_current()
        if self._reopen_path():
            yield self._marker()

    def _check_path(self) -> Generator[TailEvent, None, bool]:
        """At the end of the current file: has the path been rotated or truncated?

        Returns (as the generator's value) whether reading should go on at once.
        """
        current = self._current
        assert current is not None
        try:
            path_id: FileId | None = FileId.of(os.stat(self.path))
        except FileNotFoundError:
            path_id = None
        if path_id is not None and path_id != current.file:
            # Renamed away and a new file created. The writer may still append to the old file
            # until it reopens, so wait one quiet poll before leaving it.
            if not self._rotation_seen:
                self._rotation_seen = True
                return False
            self._rotation_seen = False
            yield from self._switch_to_path()
            return self._current is not None
        self._rotation_seen = False
        if path_id is None:
            return False
        if not self._truncated():
            return False
        yield from self._after_truncation()
        return self._current is not None

    def _truncated(self) -> bool:
        current = self._current
        assert current is not None
        size = os.fstat(current.fd).st_size
        return size < current.read or not current.fingerprint.matches(current.fd)

    def _after_truncation(self) -> Iterator[TailEvent]:
        """Truncated in place. With copytruncate, what we had not read yet is in the copy."""
        current = self._current
        assert current is not None
        copy = (
            self._find_predecessor(Position(current.file, current.read, current.fingerprint))
            if current.read > 0
            else None
        )
        if copy is not None:
            copy_name, copy_fd = copy
            self._notify(f"{self.path}: truncated; finishing its copy {copy_name.name} first")
            read, emitted = current.read, current.emitted
            self.close()
            self._attach(copy_name, copy_fd, os.fstat(copy_fd), read)
            assert self._current is not None
            self._current.emitted = emitted
            self._then_path = True
            return
        self._notify(f"{self.path}: truncated; reading it from the start")
        yield from self._finish_current()
        if self._reopen_path():
            yield self._marker()
