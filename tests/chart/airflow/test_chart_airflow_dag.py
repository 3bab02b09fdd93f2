"""The Airflow DAG (spark_apps/airflow_dags) as Airflow itself loads it, and what it submits.

Airflow's own ``DagBag`` loads the DAG folder in Airflow's venv (tests/airflow_env.py): no
import errors, the four steps chained in order, retries with exponential backoff, a timeout per
try, a Deadline Alert, a daily data-interval schedule. Each Kubernetes task's SparkApplication,
rendered for a day's run and passed through the provider's own launcher, is valid against the
Spark Operator 2.5.2 CRD, strictly, like the chart's (tests/chart/test_chart_schemas.py), and
is the chart's ETL SparkApplication changed only where a batch job must differ; the shape the
DAG ships is exactly what the chart renders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import CHART, KUBERNETES_VERSION, helm
from test_chart_schemas import embedded_pod_templates, schema_dirs, validate

from airflow_env import DAGS_FOLDER, KUBERNETES_DAG, LOCAL_DAG, REPO, STEPS, probe

__all__ = ["schema_dirs"]  # the fixture, imported for its use here

DAY = "2026-11-30"
SHAPE = DAGS_FOLDER / "logiflow_dags" / "sparkapplication.yaml"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("airflow-home")
    return probe(home, "--render", DAY, LOGIFLOW_LOCAL_BIN=str(REPO / ".venv/bin/logiflow"))


def test_the_dag_folder_loads_with_airflows_dagbag(loaded: dict[str, Any]) -> None:
    assert loaded["import_errors"] == {}
    assert set(loaded["dags"]) == {KUBERNETES_DAG, LOCAL_DAG}
    for dag_id, dag in loaded["dags"].items():
        assert list(dag["tasks"]) == STEPS, dag_id
        chain = [dag["tasks"][step]["downstream"] for step in STEPS]
        assert chain == [[after] for after in STEPS[1:]] + [[]]
        assert (dag["timetable"], dag["expression"], dag["timezone"]) == (
            "CronDataIntervalTimetable", "0 0 * * *", "UTC",
        )  # fmt: skip
        assert dag["catchup"] is False and dag["max_active_runs"] == 1
        for task in dag["tasks"].values():
            assert task["execution_timeout"] and task["execution_timeout"] <= 3 * 3600
    # Airflow 3's replacement of SLA misses: late 30 h after the day began (due at 24 h). Not on
    # the local variant: `airflow dags test` fails such a DAG (apache/airflow#73428).
    assert loaded["dags"][KUBERNETES_DAG]["deadlines"] == [
        {"reference": "DagRunLogicalDateDeadline", "interval": 30 * 3600.0,
         "callback": "logiflow_dags.alerts.deadline_missed"},
    ]  # fmt: skip
    assert loaded["dags"][LOCAL_DAG]["deadlines"] == []
    for task in loaded["dags"][KUBERNETES_DAG]["tasks"].values():
        assert task["type"] == "BatchSparkApplication"
        assert task["retries"] == 3 and task["retry_exponential_backoff"] == 2.0
        assert (task["retry_delay"], task["max_retry_delay"]) == (300.0, 3600.0)
    # The local variant fails at once, so a broken step shows in the test that runs it.
    assert {t["type"] for t in loaded["dags"][LOCAL_DAG]["tasks"].values()} == {"BashOperator"}
    assert {t["retries"] for t in loaded["dags"][LOCAL_DAG]["tasks"].values()} == {0}


def test_without_the_local_binary_only_the_kubernetes_dag_is_there(tmp_path: Path) -> None:
    assert set(probe(tmp_path)["dags"]) == {KUBERNETES_DAG}


def test_the_shape_the_dag_ships_is_the_charts_render() -> None:
    rendered = helm(
        "template", "logiflow", str(CHART), "--namespace", "logiflow",
        "--kube-version", KUBERNETES_VERSION, "--set", "archive.enabled=true",
        "-s", "templates/spark/sparkapplication.yaml",
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    assert SHAPE.read_text() == rendered.stdout, "run `make airflow-sparkapplication`"


def test_each_submitted_sparkapplication_is_valid_against_the_crd(
    kubeconform: Any, schema_dirs: tuple[Path, Path], loaded: dict[str, Any]
) -> None:
    applications = loaded["applications"][KUBERNETES_DAG]
    assert list(applications) == STEPS
    docs = list(applications.values())
    extra = [t for d in docs for t in embedded_pod_templates(d)]
    report = validate(kubeconform, schema_dirs, docs + extra)
    problems = [r for r in report["resources"] if r["status"] != "statusValid"]
    assert not problems, json.dumps(problems, indent=2)
    assert report["summary"]["valid"] == len(docs) + len(extra) == 3 * len(docs)
    assert report["returncode"] == 0


def test_each_step_runs_the_etls_shape_with_its_own_command(loaded: dict[str, Any]) -> None:
    etl = yaml.safe_load(SHAPE.read_text())
    applications = loaded["applications"][KUBERNETES_DAG]
    expected_argv = {
        "archive_check": ["archive", "check", "--date", DAY],
        "compact_day": ["archive", "compact", "--date", DAY, "--no-even-if-open"],
        "backfill_day": [
            "backfill", "--from-archive", "--since", f"{DAY}T00:00:00+00:00",
            "--until", "2026-12-01T00:00:00+00:00", "--skip-es-setup",
        ],
        "audit_day": [
            "audit", "--since", f"{DAY}T00:00:00+00:00", "--until", "2026-12-01T00:00:00+00:00",
        ],
    }  # fmt: skip
    for step, app in applications.items():
        spec = app["spec"]
        assert app["metadata"]["namespace"] == "logiflow"
        assert app["metadata"]["name"].startswith(f"logiflow-{step.replace('_', '-')}-")
        assert spec["arguments"] == ["--config", "/etc/logiflow/config.yaml", *expected_argv[step]]
        assert spec["mainApplicationFile"] == "local:///opt/logiflow/cli_main.py"
        assert spec["restartPolicy"] == {"type": "Never"}
        for role in ("driver", "executor"):
            template = spec[role]["template"]["spec"]
            assert "checkpoints" not in [v["name"] for v in template["volumes"]]
            etl_template = etl["spec"][role]["template"]["spec"]
            assert template["containers"][0]["env"] == etl_template["containers"][0]["env"]
        same = ("image", "sparkConf", "sparkVersion", "type", "mode", "imagePullPolicy")
        assert {k: spec[k] for k in same} == {k: etl["spec"][k] for k in same}
    dockerfile = (REPO / "images" / "spark-etl" / "Dockerfile").read_text()
    assert "COPY spark_apps/cli_main.py /opt/logiflow/cli_main.py" in dockerfile
