"""How far the ETL got, read from a streaming query's own progress report."""

from __future__ import annotations

import json

from logiflow.cli.run_threads import offsets_reached


def test_offsets_reached_sums_every_partition_of_every_source() -> None:
    progress = {
        "sources": [
            {"endOffset": {"logs": {"0": 10, "1": 5}}},
            # Some Spark versions report the offsets as a JSON string.
            {"endOffset": json.dumps({"logs": {"0": "7"}})},
        ]
    }
    assert offsets_reached(progress) == 22


def test_no_finished_batch_yet() -> None:
    assert offsets_reached(None) is None
    assert offsets_reached({}) is None
    assert offsets_reached({"sources": [{"endOffset": None}]}) == 0
