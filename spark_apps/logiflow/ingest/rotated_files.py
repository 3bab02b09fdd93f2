"""The files a log path is rotated into, oldest first, and reading them whether gzipped or not.

logrotate names a path's rotated files ``<name>.<n>`` (``access.log.1`` is the newest, higher
numbers are older) or, with ``dateext``, ``<name>-<date>`` (later dates are newer); either may end
in ``.gz`` once compressed. ``rotated_siblings`` lists them oldest first, as Filebeat reads what
its glob matches, so a shipper that was stopped through several rotations reads every rotated file
in the order it was written. ``LogFile`` reads a plain or a gzip file by offset; a gzip file's
offsets count in its uncompressed stream, which never changes (rotated files are immutable), so a
position saved in it stays valid. Other compressions are not read (and said so by the caller).

``expand_patterns`` turns the shipper's arguments (paths or globs such as ``'logs/*.log'``) into
the paths to follow; a rotated file that a glob matches beside its base path is read as part of
the base path's rotation chain, not followed on its own.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from logiflow.ingest.positions import FINGERPRINT_BYTES, FileId, Fingerprint

GZIP_SUFFIX = ".gz"
# Rotated files compressed otherwise than by gzip are skipped: there is no stdlib reader.
UNREADABLE_SUFFIXES = (".bz2", ".xz", ".zst", ".lz4", ".zip")
_GLOB_CHARACTERS = frozenset("*?[")


def rotation_suffix(path: Path, base: str) -> str | None:
    """``"2"`` for ``access.log.2.gz`` beside ``access.log``; None if not a rotated name."""
    name = path.name
    if name == base or not name.startswith((base + ".", base + "-")):
        return None
    suffix = name[len(base) + 1 :].removesuffix(GZIP_SUFFIX)
    if not suffix or name.endswith(UNREADABLE_SUFFIXES):
        return None
    return suffix


def _age_key(name: str, base: str, suffix: str) -> tuple[int, int, str]:
    """Sorts oldest first: ``.3`` before ``.2`` before ``.1``; dateext names by date."""
    numbered = name[len(base)] == "." and suffix.isdigit() and len(suffix) < 8
    if numbered:
        return (0, -int(suffix), "")
    return (1, 0, suffix)


def rotated_siblings(path: Path) -> list[Path]:
    """The rotated files beside ``path``, oldest first.

    While logrotate compresses a file, both ``access.log.2`` and ``access.log.2.gz`` exist for a
    moment; the uncompressed one is complete, so it is the one listed.
    """
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    by_age: dict[tuple[int, int, str], Path] = {}
    for name in names:
        candidate = path.parent / name
        suffix = rotation_suffix(candidate, path.name)
        if suffix is None:
            continue
        age = _age_key(name, path.name, suffix)
        if age not in by_age or not name.endswith(GZIP_SUFFIX):
            by_age[age] = candidate
    return [by_age[age] for age in sorted(by_age)]


class LogFile:
    """An open log file read by offset, transparently decompressing ``.gz`` files."""

    def __init__(self, name: Path, fd: int) -> None:
        self.name = name
        self.fd = fd
        self.file = FileId.of(os.fstat(fd))
        self.compressed = name.name.endswith(GZIP_SUFFIX)
        self._stream: gzip.GzipFile | None = None
        self._raw: BinaryIO | None = None

    @classmethod
    def open(cls, name: Path) -> LogFile | None:
        try:
            return cls(name, os.open(name, os.O_RDONLY))
        except OSError:
            return None

    def read_at(self, offset: int, size: int) -> bytes:
        if not self.compressed:
            return os.pread(self.fd, size, offset)
        stream = self._gzip()
        try:
            if stream.tell() != offset:
                stream.seek(offset)  # forward: decompresses up to it; backward: from the start
            return stream.read(size)
        except (OSError, EOFError):
            # A damaged or truncated archive ends where it stops making sense.
            return b""

    def size(self) -> int | None:
        """Bytes in the file; None for a gzip file (only decompressing it all would tell)."""
        return None if self.compressed else os.fstat(self.fd).st_size

    def modified_ns(self) -> int:
        """When the file was last written (a rotated plain file: its last line's time)."""
        return os.fstat(self.fd).st_mtime_ns

    def fingerprint(self, readable: int | None = None) -> Fingerprint:
        """The fingerprint of the first bytes (of at most ``readable`` bytes, if given)."""
        length = FINGERPRINT_BYTES if readable is None else min(readable, FINGERPRINT_BYTES)
        head = self.read_at(0, length) if length else b""
        return Fingerprint(len(head), hashlib.sha256(head).hexdigest())

    def matches(self, fingerprint: Fingerprint) -> bool:
        """Whether the file still starts with the bytes ``fingerprint`` saw."""
        if not self.compressed:
            return fingerprint.matches(self.fd)
        head = self.read_at(0, fingerprint.length) if fingerprint.length else b""
        return (
            len(head) == fingerprint.length
            and hashlib.sha256(head).hexdigest() == fingerprint.digest
        )

    def _gzip(self) -> gzip.GzipFile:
        if self._stream is None:
            self._raw = os.fdopen(os.dup(self.fd), "rb")
            self._stream = gzip.GzipFile(fileobj=self._raw, mode="rb")
        return self._stream

    def close(self) -> None:
        if self._stream is not None and self._raw is not None:
            self._stream.close()
            self._raw.close()
            self._stream = self._raw = None
        os.close(self.fd)


def _has_glob(pattern: str) -> bool:
    return any(character in _GLOB_CHARACTERS for character in pattern)


def expand_patterns(patterns: Iterable[str]) -> dict[Path, bool]:
    """Absolute paths named or matched by ``patterns``, each once, rotated names left out.

    Each path maps to whether its rotated files were matched too: those are then read (oldest
    first) before the path when it has no saved position, as Filebeat reads every file its glob
    matches. A pattern without glob characters names its path even if it does not exist (yet).
    """
    found: dict[Path, None] = {}
    for pattern in patterns:
        if not _has_glob(pattern):
            found[Path(os.path.abspath(pattern))] = None
            continue
        for match in sorted(glob.glob(pattern)):
            path = Path(os.path.abspath(match))
            if path.is_file():
                found[path] = None
    bases = [p for p in found if _rotated_base(p, found) is None]
    return {base: any(_rotated_base(p, found) == base for p in found) for base in bases}


def _rotated_base(path: Path, paths: Iterable[Path]) -> Path | None:
    """The path among ``paths`` that ``path`` is a rotated file of, if any."""
    for base in paths:
        if base.parent == path.parent and rotation_suffix(path, base.name) is not None:
            return base
    return None


def has_patterns(patterns: Iterable[str]) -> bool:
    return any(_has_glob(p) for p in patterns)
