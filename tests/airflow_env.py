"""Airflow's own venv for the DAG proofs, run as a subprocess from the project's.

Airflow lives in ``.airflow-venv`` (``make airflow-venv``, part of ``make test``'s set-up), never
in the project venv the tests run in. Each test session gets an ``AIRFLOW_HOME`` of its own
(config, logs and a SQLite database ``airflow db migrate`` creates) with the repository's DAG
folder. A missing venv fails the test with the command that fixes it: these proofs never skip.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
AIRFLOW_VENV = REPO / ".airflow-venv"
DAGS_FOLDER = REPO / "spark_apps" / "airflow_dags"
PROBE = Path(__file__).with_name("airflow_dag_probe.py")
KUBERNETES_DAG = "logiflow_archive_daily"
LOCAL_DAG = "logiflow_archive_daily_local"
STEPS = ["archive_check", "compact_day", "backfill_day", "audit_day"]


def airflow_bin(name: str) -> Path:
    path = AIRFLOW_VENV / "bin" / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make airflow-venv`", pytrace=False)
    return path


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of an Airflow command: this session's home and the repo's DAG folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.pop("VIRTUAL_ENV", None)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_FOLDER),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        **extra,
    )
    return env


def migrated_home(home: Path) -> Path:
    """``home`` with Airflow's SQLite database created (``airflow db migrate``)."""
    home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [airflow_bin("airflow"), "db", "migrate"], env=airflow_env(home),
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return home


def probe(home: Path, *args: str, **env: str) -> dict[str, Any]:
    """What Airflow's own DagBag makes of the DAG folder (``airflow_dag_probe.py``)."""
    out = home / "probe.json"
    done = subprocess.run(
        [airflow_bin("python"), str(PROBE), "--out", str(out), *args],
        env=airflow_env(home, **env), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report
