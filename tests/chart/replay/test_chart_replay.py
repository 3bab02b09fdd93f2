"""templates/replay: the optional Job that replays the dead-letter topic, as the replay user."""

from __future__ import annotations

import sys
from pathlib import Path

from chart_render import Doc, find, render, run

ENABLED = ("--set", "deadLetterReplay.enabled=true")


def replay_jobs(docs: list[Doc]) -> list[Doc]:
    return [d for d in find(docs, "Job") if d["metadata"]["name"].startswith("lf-logiflow-replay")]


def test_off_by_default() -> None:
    assert not replay_jobs(render())


def test_runs_the_cli_command_as_the_replay_user() -> None:
    [job] = replay_jobs(render(*ENABLED))
    # A new Job per revision: every `helm upgrade` with the flag replays once more.
    assert job["metadata"]["name"] == "lf-logiflow-replay-1"
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"][0] == "logiflow"
    assert container["command"][-1] == "replay-dead-letters"
    env = {e["name"]: e for e in container["env"]}
    assert env["LOGIFLOW_KAFKA__SASL_USERNAME"]["value"] == "lf-logiflow-replay"
    assert env["LOGIFLOW_KAFKA__SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "lf-logiflow-replay",
        "key": "password",
    }
    assert not any(name.startswith("LOGIFLOW_ELASTICSEARCH__") for name in env)
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/etc/logiflow/config.yaml", "/etc/logiflow/kafka-ca"} <= mounts
    # Admitted by the Kafka listener's network policy like every other LogiFlow client.
    assert job["spec"]["template"]["metadata"]["labels"]["logiflow.io/client"] == "true"
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_needs_the_charts_kafka() -> None:
    # The replay user is the chart's KafkaUser; without the chart's Kafka there is none.
    off = "spark.enabled=false,tests.enabled=false,kafka.enabled=false"
    assert not replay_jobs(render(*ENABLED, "--set", off))


def test_the_command_exists() -> None:
    logiflow = Path(sys.executable).parent / "logiflow"
    result = run([logiflow, "replay-dead-letters", "--help"])
    assert result.returncode == 0, result.stderr
