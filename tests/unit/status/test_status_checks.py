"""The verdicts of ``logiflow status`` on single resources and accounting documents (pure
functions; the reading itself is tested against real servers in tests/chart/apiserver and
tests/integration)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from logiflow.contract import index_names as names
from logiflow.contract.offset_ranges import OffsetRange
from logiflow.status.checks import Check, StatusReport
from logiflow.status.cluster import (
    evaluate_driver_pod,
    evaluate_eck_health,
    evaluate_ready_condition,
    evaluate_spark_application,
)
from logiflow.status.progress import last_batch_check, next_offsets


def named(status: dict[str, object], name: str = "x") -> dict[str, object]:
    return {"metadata": {"name": name}, "status": status}


def test_strimzi_ready_condition() -> None:
    ready = evaluate_ready_condition(
        "Kafka", named({"conditions": [{"type": "Ready", "status": "True"}]})
    )
    assert (ready.state, ready.level) == ("Ready", "ok")
    warned = named(
        {"conditions": [{"type": "Warning", "status": "True"}, {"type": "Ready", "status": "True"}]}
    )
    assert evaluate_ready_condition("Kafka", warned).level == "ok"
    failing = named({"conditions": [{"type": "NotReady", "status": "True", "reason": "Timeout"}]})
    assert evaluate_ready_condition("Kafka", failing) == Check(
        "Kafka", "x", "NotReady", "failed", "Timeout"
    )
    assert evaluate_ready_condition("Kafka", {"metadata": {"name": "x"}}).state == "no status"


@pytest.mark.parametrize(
    ("health", "level"),
    [("green", "ok"), ("yellow", "degraded"), ("red", "failed"), (None, "failed")],
)
def test_eck_health(health: str | None, level: str) -> None:
    assert evaluate_eck_health("Elasticsearch", named({"health": health})).level == level


@pytest.mark.parametrize(
    ("state", "level"),
    [("RUNNING", "ok"), ("SUBMITTED", "degraded"), ("PENDING_RERUN", "degraded"), ("", "degraded"),
     ("FAILED", "failed"), ("SUBMISSION_FAILED", "failed"), ("COMPLETED", "failed")],
)  # fmt: skip
def test_spark_application_state(state: str, level: str) -> None:
    check = evaluate_spark_application(named({"applicationState": {"state": state}}))
    assert check.level == level


def test_driver_pod_phase_and_restarts() -> None:
    container = {"ready": True, "restartCount": 0}
    assert (
        evaluate_driver_pod(named({"phase": "Running", "containerStatuses": [container]}), 0).level
        == "ok"
    )
    pending = named({"phase": "Pending"})
    assert evaluate_driver_pod(pending, 0).level == "degraded"
    crashed = {
        "ready": False,
        "restartCount": 2,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
    }
    check = evaluate_driver_pod(named({"phase": "Running", "containerStatuses": [crashed]}), 1)
    assert (check.level, check.detail) == ("failed", "2 restarts (last: CrashLoopBackOff)")
    assert (
        evaluate_driver_pod(named({"phase": "Running", "containerStatuses": [crashed]}), 2).level
        == "degraded"
    )


def test_report_fails_only_on_failed_checks() -> None:
    ok = Check("Kafka", "a", "Ready", "ok")
    unknown = Check("ETL", "progress", "unknown", "unknown")
    assert StatusReport("t", (ok, unknown)).exit_code == 0
    broken = StatusReport("t", (ok, Check("Kibana", "k", "red", "failed")))
    assert broken.exit_code == 1
    assert broken.as_json()["failed"] == ["Kibana k"]


def test_next_offsets_take_the_furthest_committed_offset_per_partition() -> None:
    batches = [
        {names.BATCH_OFFSET_RANGES: [OffsetRange("logs", 0, 10, 19, 10).as_document()]},
        {names.BATCH_OFFSET_RANGES: [OffsetRange("logs", 0, 0, 9, 10).as_document(),
                                     OffsetRange("logs", 1, 0, 4, 5).as_document()]},
        {},
    ]  # fmt: skip
    assert next_offsets(batches) == {("logs", 0): 20, ("logs", 1): 5}


def test_last_batch_age() -> None:
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    recent = [{names.BATCH_TIMESTAMP: "2026-12-01T11:59:00.000Z"}]
    assert last_batch_check(recent, now, 900) == Check(
        "ETL", "last batch", "2026-12-01T11:59:00.000Z", "ok", "60s ago"
    )
    assert last_batch_check(recent, now, 30).level == "degraded"
    assert last_batch_check([], now, 900).state == "none yet"
