"""Ships log lines to Kafka: whole files, followed files (``tail -F``), or stdin.

Run as ``logiflow ship FILE|GLOB... [--follow]`` or ``... | logiflow ship``. Each line becomes one
record on the logs topic, keyed ``<host>/<service>`` (one source stays in order on one partition)
with the same two values as headers, plus the file path and the line's source identity
(``contract.kafka_records``): a line sent again after a crash names the same document, so the
ETL overwrites it instead of indexing it twice. A glob is expanded at start and, when following,
again every few seconds, so files that appear later are shipped too.

Positions: a file's position in the state file moves only past lines Kafka has acknowledged, so
a restart never skips lines, and after Ctrl-C it resends none. After a crash (SIGKILL) it resends
the lines acknowledged since the last save, which the ETL writes over their first copies (same
source identity). The state file is written every second while shipping, whenever a file is
opened, and at the end.

Over-long lines: lines up to ``ship.max_line_bytes`` (512 KiB by default) go to Kafka intact,
even those over ``parse.max_line_bytes``: the ETL dead-letters those with the whole line kept, so
they stay visible in Elasticsearch. Longer lines cannot go through Kafka (its record limit): they
are appended intact to the reject file, counted and reported at the end, and their first
``ship.max_line_bytes`` go to Kafka flagged with the ``logiflow.truncated.from_bytes`` header,
which the ETL dead-letters with the reason. So no line is lost silently, and every line shipped
is counted by the pipeline (indexed, filtered or dead-lettered).

Blank lines carry nothing and are skipped (counted).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from logiflow.config import LogiflowConfig
from logiflow.contract.kafka_records import (
    HEADER_HOST,
    HEADER_PATH,
    HEADER_SERVICE,
    HEADER_SOURCE_ID,
    HEADER_TRUNCATED_FROM_BYTES,
    record_key,
    stream_source_id,
)
from logiflow.errors import ConfigError
from logiflow.ingest.positions import AckTracker, Position, PositionStore
from logiflow.ingest.producer import LogProducer
from logiflow.ingest.tail import FileFollower, LineSplitter, OversizeChunk, Piece
from logiflow.metrics import shipper_metrics

STDIN_SERVICE = "stdin"
SAVE_INTERVAL_SECONDS = 1.0
# How often a followed glob is expanded again to find new files (Filebeat's scan_frequency).
RESCAN_INTERVAL_SECONDS = 5.0
Discover = Callable[[], dict[Path, bool]]


def default_state_file(config: LogiflowConfig) -> Path:
    return config.ship.state_file or config.local.state_dir / "shipper" / "positions.json"


def default_reject_file(config: LogiflowConfig) -> Path:
    return config.ship.reject_file or config.local.state_dir / "shipper" / "rejected.log"


def service_for(path: Path) -> str:
    """``access`` for ``/var/log/nginx/access.log``: the file name up to its first dot."""
    return path.name.split(".", 1)[0] or path.name


@dataclass
class ShipCounts:
    lines: int = 0
    blank: int = 0
    rejected: int = 0
    notices: list[str] = field(default_factory=list)
    held_back: dict[str, int] = field(default_factory=dict)


class RejectFile:
    """Lines too long for Kafka, appended intact; opened only when the first one arrives."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: BinaryIO | None = None

    def write(self, data: bytes) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("ab")
        self._handle.write(data)

    def sync(self) -> None:
        """Make what was written durable before any position past it is saved."""
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self.sync()
            self._handle.close()
            self._handle = None


class Shipper:
    """Sends lines through one ``LogProducer``; ``stop`` ends following at the next poll."""

    def __init__(
        self,
        config: LogiflowConfig,
        producer: LogProducer,
        *,
        host: str | None = None,
        service: str | None = None,
        state_file: Path | None = None,
        reject_file: Path | None = None,
        stop: threading.Event | None = None,
        on_tick: Callable[[], None] | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.producer = producer
        self.host = host or config.ship.host or socket.gethostname()
        self.service = service or config.ship.service
        self.state = PositionStore(state_file or default_state_file(config))
        self.reject = RejectFile(reject_file or default_reject_file(config))
        self.stop = stop or threading.Event()
        self.counts = ShipCounts()
        self._on_tick = on_tick or (lambda: None)
        self._notify_cb = notify
        self._tracker = AckTracker()
        shipper_metrics.watch_queue(producer)
        self._oversize_head = b""  # the start of the over-long line being read
        self._oversize_bytes = 0

    def _notify(self, message: str) -> None:
        self.counts.notices.append(message)
        if self._notify_cb is not None:
            self._notify_cb(message)

    # --- one piece -------------------------------------------------------------------------------

    def _send_piece(
        self,
        piece: Piece,
        key: bytes,
        headers: list[tuple[str, bytes]],
        on_done: Callable[[bool], Callable[[], None] | None],
        source_id: bytes | None,
    ) -> None:
        """Send a line, or write an oversize chunk to the reject file (and its start to Kafka).

        ``on_done(needs_ack)`` registers the line's position: with ``needs_ack`` it returns the
        callback to run when Kafka acknowledges the record, otherwise it commits at once.
        """
        if isinstance(piece, OversizeChunk):
            self.reject.write(piece.data)
            if piece.first:
                self._oversize_head = piece.data[: self.config.ship.max_line_bytes]
                self._oversize_bytes = 0
            self._oversize_bytes += len(piece.data)
            if piece.last:
                self.reject.write(b"\n")
                self.counts.rejected += 1
                flagged = [
                    *headers,
                    (HEADER_TRUNCATED_FROM_BYTES, str(self._oversize_bytes).encode()),
                ]
                if source_id is not None:  # a resend names the same dead letter
                    flagged.append((HEADER_SOURCE_ID, source_id))
                self.producer.send(self._oversize_head, key, flagged, on_ack=on_done(True))
                self._oversize_head = b""
            return
        if not piece.data.strip():
            self.counts.blank += 1
            on_done(False)
            return
        self.counts.lines += 1
        if source_id is not None:
            headers = [*headers, (HEADER_SOURCE_ID, source_id)]
        self.producer.send(piece.data, key, headers, on_ack=on_done(True))

    # --- stdin ------------------------------------------------------------------------------------

    def ship_stream(self, stream: BinaryIO, chunk_size: int = 64 * 1024) -> None:
        """Ship every line of ``stream`` until it ends (the last line needs no newline).

        A stream cannot be read again, so its source identity is this run's random id and the
        line's number in the stream.
        """
        service = self.service or STDIN_SERVICE
        key = record_key(self.host, service)
        headers = [(HEADER_HOST, self.host.encode()), (HEADER_SERVICE, service.encode())]
        splitter = LineSplitter(self.config.ship.max_line_bytes)
        read = getattr(stream, "read1", stream.read)

        def no_position(needs_ack: bool) -> Callable[[], None] | None:
            return shipper_metrics.line_sent(shipper_metrics.STDIN_PATH) if needs_ack else None

        run_id = uuid.uuid4().hex
        sequence = 0

        last_tick = 0.0
        interrupted = False
        try:
            while not self.stop.is_set():
                chunk = read(chunk_size)
                pieces = splitter.feed(chunk) if chunk else splitter.flush()
                for piece in pieces:
                    sequence += 1
                    source_id = stream_source_id(run_id, sequence)
                    self._send_piece(piece, key, headers, no_position, source_id)
                now = time.monotonic()
                if now - last_tick > 0.25:
                    self.producer.raise_for_failures()
                    self._on_tick()
                    last_tick = now
                if not chunk:
                    break
        except KeyboardInterrupt:
            interrupted = True
        # What was read is delivered (or reported as failed) even when interrupted.
        self.reject.close()
        self.producer.finish()
        self._on_tick()
        if interrupted:
            raise KeyboardInterrupt

    # --- files ------------------------------------------------------------------------------------

    def ship_files(
        self,
        paths: Iterable[Path],
        *,
        follow: bool = False,
        read_rotated_first: Collection[Path] = (),
        discover: Discover | None = None,
    ) -> None:
        """Ship the files; with ``follow``, keep following them until ``stop`` is set.

        ``read_rotated_first``: paths whose rotated files are read (oldest first) before them
        when they have no saved position. ``discover``: called every few seconds while
        following, returns every path to follow now (as ``rotated_files.expand_patterns``).
        """
        targets = [Path(os.path.abspath(p)) for p in paths]
        if not follow:
            missing = [str(p) for p in targets if not p.is_file()]
            if missing:
                raise ConfigError(f"no such file: {', '.join(missing)}")
        with self.state.lock():
            saved = self.state.load()

            def follower(path: Path, rotated_first: bool) -> FileFollower:
                return FileFollower(
                    path,
                    max_line_bytes=self.config.ship.max_line_bytes,
                    start=saved.get(str(path)),
                    notify=self._notify,
                    read_rotated_first=rotated_first,
                )

            rotated = {Path(os.path.abspath(p)) for p in read_rotated_first}
            followers = [follower(path, path in rotated) for path in targets]

            def add_new() -> None:
                known = {f.path for f in followers}
                found = discover() if discover is not None else {}
                followers.extend(follower(p, first) for p, first in found.items() if p not in known)

            try:
                self._run(followers, follow, add_new if discover is not None else None)
            finally:
                for each in followers:
                    each.close()
                self.reject.close()

    def _run(
        self,
        followers: list[FileFollower],
        follow: bool,
        add_new: Callable[[], None] | None,
    ) -> None:
        """Ship, then deliver what was sent and save positions; a Ctrl-C ends the same way."""
        stopping = False
        try:
            self._ship_until_done(followers, follow, add_new)
        except KeyboardInterrupt:
            stopping = True
        except BaseException:
            self._save_before_failing()
            raise
        try:
            self.producer.finish()
        finally:
            self._save()
            self._on_tick()
        if not follow:
            self._count_held_back(followers)
        if stopping:
            raise KeyboardInterrupt

    def _ship_until_done(
        self,
        followers: list[FileFollower],
        follow: bool,
        add_new: Callable[[], None] | None,
    ) -> None:
        """Send what the files hold; with ``follow``, go on until ``stop`` is set."""
        poll_interval = self.config.ship.poll_interval_seconds
        last_save = last_scan = time.monotonic()
        while True:
            busy = False
            for follower in list(followers):
                busy |= self._poll_one(follower, follow)
            self.producer.poll(0)
            self.producer.raise_for_failures()
            now = time.monotonic()
            if now - last_save >= SAVE_INTERVAL_SECONDS:
                self._save()
                last_save = now
            if add_new is not None and follow and now - last_scan >= RESCAN_INTERVAL_SECONDS:
                add_new()
                last_scan = now
            self._on_tick()
            if not follow or self.stop.is_set():
                return
            if not busy:
                # Serving delivery reports while idle keeps positions moving.
                self.producer.poll(poll_interval)

    def _save_before_failing(self) -> None:
        # Still collect what acknowledgements arrive soon and save positions up to them, or a
        # restart would resend lines Kafka already has.
        with contextlib.suppress(Exception):
            self.producer.producer.flush(5)
        self._save()

    def _count_held_back(self, followers: list[FileFollower]) -> None:
        """Note each file whose last bytes wait for a newline (reported, not lost)."""
        for follower in followers:
            if follower.held_back_bytes:
                self.counts.held_back[str(follower.path)] = follower.held_back_bytes

    def _poll_one(self, follower: FileFollower, follow: bool) -> bool:
        path = str(follower.path)
        service = self.service or service_for(follower.path)
        key = record_key(self.host, service)
        headers = [
            (HEADER_HOST, self.host.encode()),
            (HEADER_SERVICE, service.encode()),
            (HEADER_PATH, path.encode()),
        ]
        busy = False
        position: Position | None = None

        def register(needs_ack: bool) -> Callable[[], None] | None:
            assert position is not None
            ticket = self._tracker.add(path, position, done=not needs_ack)
            if not needs_ack:
                return None
            counted = shipper_metrics.line_sent(path)

            def acked() -> None:
                self._tracker.ack(ticket)
                counted()

            return acked

        for event in follower.poll(follow=follow):
            busy = True
            position = event.position
            if event.piece is None:
                if position is not None:
                    self._tracker.add(path, position, done=True)
                    # A file opened (at start, after a rotation): saved now, so a crash before
                    # the next periodic save still knows which file the path's lines came from
                    # (else a restart after a rotation would miss the rotated file).
                    self._save()
                continue
            self._send_piece(event.piece, key, headers, register, event.source_id)
            if self.stop.is_set():
                break
        return busy

    def _save(self) -> None:
        changes = self._tracker.take_changes()
        if changes:
            self.reject.sync()
            self.state.save(changes)
            shipper_metrics.positions_saved(changes)
