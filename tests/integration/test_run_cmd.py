"""``logiflow run --duration`` as users run it: a subprocess that starts its own Kafka and
Elasticsearch on free ports, runs the real ETL and generator, and stops everything at the end.

The run's closing summary is read from Elasticsearch by the command itself (``--summary-json``):
every generated line must be accounted for there (indexed, dead-lettered or filtered), and no
process started by the run may outlive it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from logiflow.local.process import free_port

LOGIFLOW = str(Path(sys.executable).parent / "logiflow")


def processes_with(needle: bytes) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def test_run_for_a_while_shows_flow_and_leaves_nothing_behind(tmp_path: Path) -> None:
    marker = f"LOGIFLOW_TEST_RUN={uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGIFLOW_")}
    env.update(
        {
            "LOGIFLOW_LOCAL__STATE_DIR": str(tmp_path / "state"),
            "LOGIFLOW_LOCAL__KAFKA_PORT": str(free_port()),
            "LOGIFLOW_LOCAL__KAFKA_CONTROLLER_PORT": str(free_port()),
            "LOGIFLOW_LOCAL__ELASTICSEARCH_PORT": str(free_port()),
            "LOGIFLOW_DASHBOARD__PORT": str(dashboard_port := free_port()),
            "LOGIFLOW_LOCAL__KAFKA_HEAP": "384m",
            "LOGIFLOW_LOCAL__ELASTICSEARCH_HEAP": "512m",
            "LOGIFLOW_SPARK__CONF": json.dumps({"spark.ui.enabled": "false"}),
        }
    )
    key, value = marker.split("=")
    env[key] = value
    result = subprocess.run(
        [LOGIFLOW, "run", "--rate", "50", "--duration", "30", "--catch-up", "240",
         "--malformed", "0.05", "--summary-json"],
        capture_output=True, text=True, env=env, timeout=580, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["generated_lines"] >= 50 * 30 * 0.8
    assert summary["caught_up"], result.stderr[-3000:]
    assert summary["events_indexed"] > 0
    assert summary["dead_letters"] > 0
    assert summary["requests"] > 0
    # Everything generated is accounted for, exactly once.
    assert (
        summary["events_indexed"] + summary["dead_letters"] + summary["filtered"]
        == summary["generated_lines"]
    )
    # This run's own accounts (a fresh state dir, so they equal the totals above).
    assert summary["this_run"] == {
        "input": summary["generated_lines"],
        "indexed": summary["events_indexed"],
        "filtered": summary["filtered"],
        "dead_letter": summary["dead_letters"],
    }
    assert "running:" in result.stderr  # the plain-text live view without a terminal
    assert f"Dashboard: http://127.0.0.1:{dashboard_port}" in result.stderr
    assert processes_with(marker.encode()) == []
