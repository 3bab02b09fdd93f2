"""The shipper's metrics (``contract.metrics``: lines read, acknowledged, queued, and each
file's acknowledged position), fed by ``ingest.shipper`` as lines go out and come back.

Lines are counted when sent to Kafka and when Kafka acknowledges them, so read minus acked is
what is in flight; blank lines, which never reach Kafka, are counted in neither. Stdin's lines
carry the path ``-``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from logiflow.contract import metrics as m
from logiflow.ingest.positions import Position
from logiflow.ingest.producer import LogProducer
from logiflow.metrics.registry import counter, gauge

STDIN_PATH = "-"


def watch_queue(producer: LogProducer) -> None:
    """The queued gauge reads the producer's in-flight count at every scrape."""
    gauge(m.SHIPPER_LINES_QUEUED).set_function(lambda: producer.stats.in_flight)


def line_sent(path: str) -> Callable[[], None]:
    """Count a line sent from ``path``; returns what to call when Kafka acknowledges it."""
    counter(m.SHIPPER_LINES_READ).labels(path).inc()
    acked = counter(m.SHIPPER_LINES_ACKED).labels(path)
    return acked.inc


def positions_saved(positions: Mapping[str, Position]) -> None:
    for path, position in positions.items():
        gauge(m.SHIPPER_FILE_POSITION).labels(path).set(position.offset)
