"""The two worker threads of ``logiflow run``: the streaming ETL and the traffic generator.

Each owns a stop event and keeps the error that ended it for the main thread to raise.
``EtlThread.processed_offsets`` reads how far the events query got from the query's own progress
(``StreamingQuery.lastProgress``: the Kafka offsets each finished batch reached), without
scraping logs or checkpoint files.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logiflow.config import LogiflowConfig
from logiflow.contract import index_names as names
from logiflow.errors import LogiflowError
from logiflow.ingest.traffic import TrafficSender

if TYPE_CHECKING:
    from logiflow.job import EtlResult


def _new_etl_result() -> EtlResult:
    # logiflow.job is imported where it is used, as elsewhere in this module: importing it
    # up front (the streaming job and its sinks) would add ~0.1 s to every logiflow command.
    from logiflow.job import EtlResult

    return EtlResult()


@dataclass
class EtlThread:
    """``logiflow.job.run_etl`` on a worker thread, with its own stop event."""

    config: LogiflowConfig
    spark: Any
    # Filled by the job as batches finish; the live view reads it.
    result: EtlResult = field(default_factory=_new_etl_result)
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="logiflow-etl", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from logiflow.job import run_etl

        try:
            run_etl(
                self.config,
                spark=self.spark,
                setup_es=False,
                stop=self.stop,
                result=self.result,
            )
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def finish(self, timeout: float = 120.0) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def processed_offsets(self) -> int | None:
        """Sum over partitions of the offsets the events query's last finished batch reached."""
        query_name = f"{self.config.elasticsearch.index_prefix}-{names.EVENTS_QUERY}"
        for query in self.spark.streams.active:
            if query.name == query_name:
                return offsets_reached(query.lastProgress)
        return None

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error
        if self.thread is not None and not self.alive and not self.stop.is_set():
            raise LogiflowError("the ETL stopped unexpectedly; see the messages above")


def offsets_reached(progress: dict[str, Any] | None) -> int | None:
    """The Kafka offsets a query's progress report says its batch reached, summed (None: no
    batch finished yet)."""
    if not progress:
        return None
    total = 0
    for source in progress["sources"]:
        offsets = source["endOffset"]
        if isinstance(offsets, str):
            offsets = json.loads(offsets)
        for partitions in (offsets or {}).values():
            total += sum(int(v) for v in partitions.values())
    return total


@dataclass
class GeneratorThread:
    """``TrafficSender.run`` on a worker thread; ``sender.stop`` ends it."""

    sender: TrafficSender
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="logiflow-generator", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.sender.run()
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def finish(self, timeout: float = 60.0) -> None:
        self.sender.stop.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error
