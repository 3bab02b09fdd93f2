"""How a Spark task's chunks reach Elasticsearch: several bulk requests in flight, the next chunk
built meanwhile, and one failure stopping the rest (the batch is failed and replayed as a whole).
The sink on a real node, with chunks in flight together, is in
tests/integration/test_sink_elasticsearch.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from logiflow.io.bulk_retries import SinkRefusedError, SinkStoppedError
from logiflow.io.sink_elasticsearch import Rejection, WriteCounts, write_concurrently


def _written(chunk: list[str]) -> WriteCounts:
    return WriteCounts(written=len(chunk))


def test_every_chunk_is_written_once_and_counted() -> None:
    chunks = [[f"{n}-{i}" for i in range(n % 4 + 1)] for n in range(25)]
    seen: list[list[str]] = []
    lock = threading.Lock()

    def write(chunk: list[str]) -> WriteCounts:
        with lock:
            seen.append(chunk)
        return WriteCounts(
            written=len(chunk) - 1, rejected=1, rejections=(Rejection(chunk[0], "x"),)
        )

    counts = write_concurrently(iter(chunks), write, 3, threading.Event())

    assert sorted(seen) == sorted(chunks)
    assert sum(c.written for c in counts) + sum(c.rejected for c in counts) == sum(map(len, chunks))
    assert sorted(r.doc_id for c in counts for r in c.rejections) == sorted(c[0] for c in chunks)


@pytest.mark.parametrize("concurrency", [2, 3])
def test_that_many_requests_are_in_flight_together(concurrency: int) -> None:
    # Passes only if `concurrency` writes wait at the barrier at the same time; one at a time,
    # the barrier breaks after its timeout.
    together = threading.Barrier(concurrency, timeout=10)

    def write(chunk: list[str]) -> WriteCounts:
        together.wait()
        return _written(chunk)

    chunks = iter([["a"], ["b"], ["c"], ["d"], ["e"], ["f"]])
    counts = write_concurrently(chunks, write, concurrency, threading.Event())

    assert sum(c.written for c in counts) == 6


def test_no_more_than_that_many_are_in_flight() -> None:
    in_flight = peak = 0
    lock = threading.Lock()

    def write(chunk: list[str]) -> WriteCounts:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.01)
        with lock:
            in_flight -= 1
        return _written(chunk)

    counts = write_concurrently(iter([[str(n)] for n in range(20)]), write, 2, threading.Event())

    assert sum(c.written for c in counts) == 20
    assert 1 <= peak <= 2


def test_the_next_chunk_is_built_while_the_earlier_ones_are_in_flight() -> None:
    built = [threading.Event() for _ in range(6)]

    def chunks() -> Iterator[list[int]]:
        for n in range(6):
            built[n].set()
            yield [n]

    def write(chunk: list[int]) -> WriteCounts:
        # Answered only once the next chunk exists: built after this write returned, it never
        # would, and the wait times out.
        following = chunk[0] + 1
        assert following == len(built) or built[following].wait(10)
        return WriteCounts(written=1)

    counts = write_concurrently(chunks(), write, 2, threading.Event())

    assert sum(c.written for c in counts) == 6


def test_a_failure_stops_the_writes_still_waiting_and_is_raised() -> None:
    stop = threading.Event()
    stopped = threading.Event()

    def write(chunk: list[str]) -> WriteCounts:
        if chunk == ["refused"]:
            time.sleep(0.1)
            raise SinkRefusedError("Elasticsearch refused the sink's bulk request (401)")
        # Waiting out an outage, without bound, until told to stop.
        if stop.wait(30):
            stopped.set()
            raise SinkStoppedError("stopped while waiting")
        return _written(chunk)

    started = time.monotonic()
    with pytest.raises(SinkRefusedError, match="401"):
        write_concurrently(iter([["refused"], ["waiting"]]), write, 2, stop)

    assert stopped.is_set()
    assert time.monotonic() - started < 10


def test_one_at_a_time_still_writes_everything() -> None:
    counts = write_concurrently(iter([["a", "b"], ["c"]]), _written, 1, threading.Event())

    assert [c.written for c in counts] == [2, 1]
