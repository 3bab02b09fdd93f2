"""Sends the traffic generator's lines to Kafka at a target rate (``logiflow generate``, ``run``).

Pacing is a token bucket: tokens accrue at ``rate`` per second up to a small burst (a tenth of a
second's worth), each line takes one, and the sender sleeps until the next token is due. The
bucket starts empty, so the first second does not start with a burst, and a stall (a slow
broker) is not followed by a flood bigger than the burst. Timestamps are the real time each line
is made, so what lands in Elasticsearch is "now".

Records are keyed ``<host>/<service>`` like the shipper's: access lines do not name their
service, the key does. Each carries a stream source identity (``contract.kafka_records``): this
run's random id and the line's number, as the shipper gives stdin's lines.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from logiflow.contract.kafka_records import (
    HEADER_HOST,
    HEADER_SERVICE,
    HEADER_SOURCE_ID,
    record_key,
    stream_source_id,
)
from logiflow.errors import ConfigError
from logiflow.ingest.generator import (
    ErrorBurst,
    GeneratedLine,
    TrafficDrop,
    TrafficGenerator,
    TrafficProfile,
)
from logiflow.ingest.incidents import IncidentSpec
from logiflow.ingest.producer import LogProducer

FormatChoice = Literal["nginx", "json", "mixed"]
_FORMATS: dict[FormatChoice, tuple[str, ...]] = {
    "nginx": ("combined", "malformed"),
    "json": ("json", "malformed"),
    "mixed": ("combined", "json", "malformed"),
}


# Well below the smallest burst (a tenth of a second's worth), so waiting never loses tokens.
MIN_WAIT_SECONDS = 0.01


class TokenBucket:
    """Grants up to ``rate`` tokens per second, at most a tenth of a second's worth at once."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(1.0, rate / 10)
        self._clock = clock
        self._tokens = 0.0
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def take(self, most: int) -> int:
        """Take as many whole tokens as are there now, up to ``most``."""
        self._refill()
        # The epsilon keeps float drift (0.05 s x 100/s = 4.999...) from losing a token.
        granted = min(most, int(self._tokens + 1e-9))
        self._tokens -= granted
        return granted

    def wait_time(self) -> float:
        """Seconds to wait before taking again: until the next whole token, but at least
        ``MIN_WAIT_SECONDS``, so a fast rate goes out in small bursts instead of token by token.
        Callers wait in the producer's ``poll``, and librdkafka rounds a timeout down to whole
        milliseconds: at 2,000/s the wait for one token (0.5 ms) is a poll(0), a busy loop that
        took two thirds of a core in bench-e2e's load."""
        self._refill()
        return max(MIN_WAIT_SECONDS, (1.0 - self._tokens) / self.rate)


@dataclass
class TrafficOptions:
    rate: float
    count: int | None = None  # None: until stopped
    seed: int = 0
    format: FormatChoice = "mixed"
    malformed_share: float = 0.0
    incidents: list[IncidentSpec] = field(default_factory=list)


class TrafficSender:
    """Generates and sends lines until ``count`` or ``stop``; progress in ``sent_lines``."""

    def __init__(
        self,
        producer: LogProducer,
        options: TrafficOptions,
        stop: threading.Event | None = None,
        on_tick: Callable[[], None] | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        if options.rate <= 0:
            raise ConfigError("--rate must be positive")
        self.producer = producer
        self.options = options
        self.stop = stop or threading.Event()
        self._on_tick = on_tick or (lambda: None)
        self._clock = clock
        self.sent_lines = 0
        self.started_at: dt.datetime | None = None  # when run() began: incidents count from it
        self.run_id = uuid.uuid4().hex
        self.dead_letter_candidates = 0  # malformed lines sent on purpose
        self.errors_sent = 0  # lines with a status >= 400

    def _generator(self, start: dt.datetime) -> TrafficGenerator:
        effects = [spec.effect(start) for spec in self.options.incidents]
        profile = TrafficProfile(
            malformed_share=self.options.malformed_share,
            bursts=tuple(e for e in effects if isinstance(e, ErrorBurst)),
            drops=tuple(e for e in effects if isinstance(e, TrafficDrop)),
        )
        return TrafficGenerator(self.options.seed, profile)

    def _next_line(self, generator: TrafficGenerator, now: dt.datetime) -> GeneratedLine:
        wanted = _FORMATS[self.options.format]
        while True:
            line = generator.line_at(now)
            if line.format in wanted:
                return line

    def run(self) -> int:
        """Send until done or stopped, then wait for Kafka's acknowledgements."""
        start = self.started_at = self._clock()
        generator = self._generator(start)
        bucket = TokenBucket(self.options.rate)
        remaining = self.options.count
        last_tick = 0.0
        try:
            while not self.stop.is_set() and (remaining is None or remaining > 0):
                most = 1000 if remaining is None else min(1000, remaining)
                granted = bucket.take(most)
                if granted == 0:
                    # Delivery reports are served while waiting for the next token.
                    self.producer.poll(min(bucket.wait_time(), 0.2))
                else:
                    now = self._clock()
                    for _ in range(granted):
                        line = self._next_line(generator, now)
                        # A traffic drop thins the arrivals: the line's token is spent unsent.
                        if not generator.dropped(line):
                            self._send(line)
                    if remaining is not None:
                        remaining -= granted
                if time.monotonic() - last_tick > 0.25:
                    self.producer.raise_for_failures()
                    self._on_tick()
                    last_tick = time.monotonic()
        finally:
            self.producer.finish()
            self._on_tick()
        return self.sent_lines

    def _send(self, line: GeneratedLine) -> None:
        headers = [
            (HEADER_HOST, line.host.encode()),
            (HEADER_SERVICE, line.service.encode()),
            (HEADER_SOURCE_ID, stream_source_id(self.run_id, self.sent_lines + 1)),
        ]
        self.producer.send(line.line.encode(), record_key(line.host, line.service), headers)
        self.sent_lines += 1
        if line.format == "malformed":
            self.dead_letter_candidates += 1
        elif line.status is not None and line.status >= 400:
            self.errors_sent += 1
