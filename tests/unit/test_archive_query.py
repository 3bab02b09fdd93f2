"""SupervisedQuery: the archive query started again from its checkpoint after each failure."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

import logiflow.archive_query as archive_query
from logiflow.archive_query import SupervisedQuery


@dataclass
class FakeQuery:
    """A StreamingQuery stand-in: ended, with or without a failure."""

    failure: Exception | None
    isActive: bool = False
    lastProgress: dict | None = None

    def exception(self) -> Exception | None:
        return self.failure

    def stop(self) -> None:
        self.isActive = False


def _poll_until_inactive(query: SupervisedQuery, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while query.isActive:
        assert time.monotonic() < deadline, "the supervised query never ended"
        time.sleep(0.01)


def test_a_failed_query_is_started_again_until_it_ends_cleanly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(archive_query, "_MAX_RESTART_PAUSE", 0.01)
    runs = iter([FakeQuery(RuntimeError("store down\ntrace")), FakeQuery(RuntimeError("again")),
                 FakeQuery(None)])  # fmt: skip
    query = SupervisedQuery("archive", lambda: next(runs))
    query._pause = 0.01
    _poll_until_inactive(query)
    assert query.restarts == 2 and query.exception() is None
    assert "the archive query failed (store down)" in capsys.readouterr().err


def test_with_max_restarts_the_next_failure_is_the_query_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive_query, "_MAX_RESTART_PAUSE", 0.01)
    failure = RuntimeError("bucket gone")
    query = SupervisedQuery("archive", lambda: FakeQuery(failure), max_restarts=1)
    query._pause = 0.01
    _poll_until_inactive(query)
    assert query.restarts == 1 and query.exception() is failure


def test_stop_ends_it_while_it_waits_to_restart() -> None:
    query = SupervisedQuery("archive", lambda: FakeQuery(RuntimeError("down")))
    assert query.isActive  # failed: waiting to restart
    query.stop()
    assert not query.isActive
