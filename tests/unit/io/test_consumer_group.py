"""io.consumer_group: the offsets a progress report says the query reached."""

from __future__ import annotations

import json

from logiflow.io.consumer_group import source_end_offsets


def test_end_offsets_of_a_progress_report() -> None:
    progress = {
        "sources": [
            {"endOffset": json.dumps({"logs": {"0": 12, "1": 7}})},
            {"endOffset": {"other": {"3": 1}}},
        ]
    }
    assert source_end_offsets(progress) == {("logs", 0): 12, ("logs", 1): 7, ("other", 3): 1}


def test_no_offsets_before_the_first_batch() -> None:
    assert source_end_offsets({"sources": [{"endOffset": None}]}) == {}
    assert source_end_offsets({}) == {}
