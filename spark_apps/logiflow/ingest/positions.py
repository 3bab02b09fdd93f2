"""Where the shipper is in each followed file, and when it may say so.

A position names a file by device and inode plus a fingerprint of its first bytes (inodes get
reused), and the byte offset just past the last line handed on. The shipper writes positions to a
state file only after Kafka has acknowledged every line before them (``AckTracker``), so a
restart never skips lines; what it resends after a crash (lines acknowledged since the last
save) keeps its source identity, so the ETL overwrites instead of duplicating.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from logiflow.errors import ConfigError

# Enough to tell two log files apart (their first line carries a timestamp), small enough to
# read on every poll.
FINGERPRINT_BYTES = 1024

STATE_VERSION = 1


@dataclass(frozen=True)
class FileId:
    dev: int
    ino: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileId:
        return cls(stat.st_dev, stat.st_ino)


@dataclass(frozen=True)
class Fingerprint:
    """SHA-256 of a file's first ``length`` bytes (below FINGERPRINT_BYTES while it is small)."""

    length: int
    digest: str

    @classmethod
    def read(cls, fd: int, size: int) -> Fingerprint:
        length = min(size, FINGERPRINT_BYTES)
        head = os.pread(fd, length, 0) if length else b""
        return cls(len(head), hashlib.sha256(head).hexdigest())

    def matches(self, fd: int) -> bool:
        """Whether the file behind ``fd`` still starts with the bytes this fingerprint saw."""
        head = os.pread(fd, self.length, 0) if self.length else b""
        return len(head) == self.length and hashlib.sha256(head).hexdigest() == self.digest


@dataclass(frozen=True)
class Position:
    """The next unread byte of one file; everything before ``offset`` has been handed on."""

    file: FileId
    offset: int
    fingerprint: Fingerprint

    def to_json(self) -> dict[str, Any]:
        return {
            "dev": self.file.dev,
            "ino": self.file.ino,
            "offset": self.offset,
            "fingerprint_length": self.fingerprint.length,
            "fingerprint": self.fingerprint.digest,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Position:
        return cls(
            FileId(int(data["dev"]), int(data["ino"])),
            int(data["offset"]),
            Fingerprint(int(data["fingerprint_length"]), str(data["fingerprint"])),
        )


class PositionStore:
    """A JSON file of positions keyed by absolute path, replaced atomically on every save.

    One shipper at a time may use a state file; ``lock()`` enforces it, because two shippers
    advancing the same positions would each resend what the other sent.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_file: IO[str] | None = None

    @contextlib.contextmanager
    def lock(self) -> Iterator[PositionStore]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        handle = lock_path.open("a")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    raise ConfigError(
                        f"another shipper is using the state file {self.path}; "
                        "give this one its own with --state-file"
                    ) from exc
                raise
            self._lock_file = handle
            yield self
        finally:
            self._lock_file = None
            handle.close()

    def load(self) -> dict[str, Position]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"cannot read the shipper state file {self.path}: {exc}") from exc
        try:
            data = json.loads(text)
            return {path: Position.from_json(item) for path, item in data["files"].items()}
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"the shipper state file {self.path} is damaged ({exc}); move it away to start "
                "over (files are then shipped from their beginning)"
            ) from exc

    def save(self, positions: dict[str, Position]) -> None:
        """Merge ``positions`` into the file, keeping entries for paths not shipped this time."""
        merged = self.load()
        merged.update(positions)
        body = json.dumps(
            {"version": STATE_VERSION, "files": {p: pos.to_json() for p, pos in merged.items()}},
            indent=1,
            sort_keys=True,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)


@dataclass
class _Pending:
    position: Position
    done: bool


@dataclass
class AckTracker:
    """Advances each path's committed position over the longest run of acknowledged lines.

    Lines of one path are registered in the order they were read; Kafka may acknowledge them in
    any order (retries, several partitions), so a position is committed only when it and every
    line before it are acknowledged.
    """

    _queues: dict[str, deque[_Pending]] = field(default_factory=dict)
    _tickets: dict[int, tuple[str, _Pending]] = field(default_factory=dict)
    _committed: dict[str, Position] = field(default_factory=dict)
    _next_ticket: int = 0
    _dirty: bool = False

    def add(self, path: str, position: Position, *, done: bool = False) -> int:
        """Register the position after one line; returns the ticket to ``ack`` it with."""
        entry = _Pending(position, done)
        self._queues.setdefault(path, deque()).append(entry)
        ticket = self._next_ticket
        self._next_ticket += 1
        if done:
            self._advance(path)
        else:
            self._tickets[ticket] = (path, entry)
        return ticket

    def ack(self, ticket: int) -> None:
        path, entry = self._tickets.pop(ticket)
        entry.done = True
        self._advance(path)

    def _advance(self, path: str) -> None:
        queue = self._queues[path]
        while queue and queue[0].done:
            self._committed[path] = queue.popleft().position
            self._dirty = True

    @property
    def pending(self) -> int:
        return len(self._tickets)

    def take_changes(self) -> dict[str, Position] | None:
        """All committed positions if any moved since the last call, else None."""
        if not self._dirty:
            return None
        self._dirty = False
        return dict(self._committed)
