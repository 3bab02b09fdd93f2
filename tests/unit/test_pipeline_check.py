"""``logiflow check``'s wait for its marker: an index whose shard is not active yet (503) is
waited for like a marker not yet indexed; other errors stop the wait."""

from __future__ import annotations

from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from logiflow.pipeline_check import find_marker, new_marker


def api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "es", 9200))
    return ApiError("search_phase_execution_exception", meta, {"error": {}})


class Answers:
    """A search that answers from a script: errors raised, bodies returned."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)

    def search(self, **_: Any) -> Any:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_shard_not_active_yet_is_waited_for() -> None:
    found = {"hits": {"hits": [{"_index": "lf-events-2026.12.01"}]}}
    client = Answers(api_error(503), found)
    index = find_marker(client, "lf", new_marker(), timeout=60, sleep=lambda _: None)  # type: ignore[arg-type]
    assert index == "lf-events-2026.12.01"


def test_other_errors_stop_the_wait() -> None:
    client = Answers(api_error(403))
    with pytest.raises(ApiError):
        find_marker(client, "lf", new_marker(), timeout=60, sleep=lambda _: None)  # type: ignore[arg-type]
