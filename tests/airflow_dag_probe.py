"""Run in Airflow's venv (tests/airflow_env.py): the DAG folder as Airflow's DagBag loads it.

``python airflow_dag_probe.py --out FILE [--render YYYY-MM-DD]`` writes (Airflow logs to stdout)
the import errors, each DAG's
schedule, deadline alerts and tasks (type, downstream tasks, retries, timeouts), and with
``--render`` the SparkApplication each Kubernetes task would submit for that day's run: its
templates rendered with the run's data interval, then through the provider's own
``CustomObjectLauncher`` (which names it and sets its namespace, as at submission).
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.dag_processing.dagbag import BundleDagBag
from airflow.providers.cncf.kubernetes.operators.custom_object_launcher import (
    CustomObjectLauncher,
)
from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import SparkKubernetesOperator


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def _task(task: Any) -> dict[str, Any]:
    return {
        "type": type(task).__name__,
        "downstream": sorted(task.downstream_task_ids),
        "retries": task.retries,
        "retry_delay": _seconds(task.retry_delay),
        "retry_exponential_backoff": task.retry_exponential_backoff,
        "max_retry_delay": _seconds(task.max_retry_delay),
        "execution_timeout": _seconds(task.execution_timeout),
    }


def _deadline(alert: Any) -> dict[str, Any]:
    return {
        "reference": type(alert.reference).__name__,
        "interval": _seconds(alert.interval),
        "callback": alert.callback.path,
    }


def _dag(dag: Any) -> dict[str, Any]:
    return {
        "timetable": type(dag.timetable).__name__,
        "expression": dag.timetable.expression,
        "timezone": str(dag.timetable.timezone),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "deadlines": [_deadline(d) for d in dag.deadline or []],
        "tasks": {task.task_id: _task(task) for task in dag.tasks},
    }


def _applications(dag: Any, day: str) -> dict[str, Any]:
    start = pendulum.parse(day, tz="UTC")
    context: dict[str, Any] = {
        "data_interval_start": start,
        "data_interval_end": start.add(days=1),
        "logical_date": start,
        "ds": start.to_date_string(),
        "params": dag.params.validate(),
    }
    env = dag.get_template_env()
    bodies = {}
    for task in dag.tasks:
        if not isinstance(task, SparkKubernetesOperator):
            continue
        spec = task.render_template(task.template_spec, context, jinja_env=env)
        namespace = task.render_template(task.namespace, context, jinja_env=env)
        name = f"{spec['metadata']['name']}-0a1b2c3d"  # the operator's random suffix
        launcher = CustomObjectLauncher(name, namespace, None, None, {"spark": spec})  # type: ignore[arg-type]
        bodies[task.task_id] = launcher.body
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--render", metavar="DAY")
    args = parser.parse_args()
    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    bag = BundleDagBag(dag_folder=folder, bundle_path=folder)
    report: dict[str, Any] = {
        "import_errors": bag.import_errors,
        "dags": {dag_id: _dag(dag) for dag_id, dag in bag.dags.items()},
    }
    if args.render:
        report["applications"] = {
            dag_id: _applications(dag, args.render) for dag_id, dag in bag.dags.items()
        }
    args.out.write_text(json.dumps(report, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
