"""The daily archive DAG, built once for any runner of its steps.

One run per UTC day, after the day ends (a data-interval timetable: the run for day D starts at
D+1 00:00 with data interval [D, D+1)): check the archive holds the day, compact it, backfill it
into Elasticsearch, audit it. Each step is a task made by a runner: ``kubernetes_task`` (a
SparkApplication of the chart's shape through the Spark Operator) or ``local_task`` (the
``logiflow`` executable on the Airflow worker, for one machine and the tests). Retries back off
exponentially; each try has a timeout; a run still going 30 hours after its day began (6 hours
after it was due) fires a Deadline Alert, Airflow 3's replacement for SLA misses.
"""

from __future__ import annotations

import itertools
import shlex
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import SparkKubernetesOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, BaseOperator, CronDataIntervalTimetable, Param
from airflow.sdk.definitions.deadline import AsyncCallback, DeadlineAlert, DeadlineReference

from logiflow_dags.alerts import deadline_missed
from logiflow_dags.spark_application import batch_application, load_shape
from logiflow_dags.steps import STEPS, Step

TaskMaker = Callable[[Step], BaseOperator]

RETRY = {
    "retries": 3,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(hours=1),
}
DEADLINE_AFTER_DAY_START = timedelta(hours=30)
PARAMS = {
    "compact_even_if_open": Param(
        False, type="boolean", description="Compact the day even if it has not ended (UTC)."
    ),
    "namespace": Param(
        "logiflow", type="string", description="Namespace of the SparkApplications."
    ),
}


class BatchSparkApplication(SparkKubernetesOperator):
    """The provider's operator, with the SparkApplication always given as a dict.

    Its ``template_ext`` would read any templated string ending in .yaml/.yml/.json as a
    template file, and the ETL's ``--config /etc/logiflow/config.yaml`` is such a string."""

    template_ext = ()


def kubernetes_task(
    shape: dict[str, Any] | None = None, kubernetes_conn_id: str = "kubernetes_default"
) -> TaskMaker:
    """Each step as a SparkApplication of the chart's shape (``spark_application``)."""
    base = shape if shape is not None else load_shape()

    def make(step: Step) -> BaseOperator:
        return BatchSparkApplication(
            task_id=step.task_id,
            namespace="{{ params.namespace }}",
            template_spec=batch_application(base, step.task_id, step.argv),
            kubernetes_conn_id=kubernetes_conn_id,
            get_logs=True,
            delete_on_termination=True,
            startup_timeout_seconds=600,
            execution_timeout=step.timeout,
        )

    return make


def local_task(logiflow: str) -> TaskMaker:
    """Each step as the ``logiflow`` executable (its config: ``$LOGIFLOW_CONFIG``)."""

    def make(step: Step) -> BaseOperator:
        return BashOperator(
            task_id=step.task_id,
            bash_command=shlex.join([logiflow, *step.argv]),
            execution_timeout=step.timeout,
        )

    return make


def _deadline_alert() -> DeadlineAlert:
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=DEADLINE_AFTER_DAY_START,
        callback=AsyncCallback(deadline_missed),
    )


def daily_archive_dag(
    dag_id: str, make_task: TaskMaker, retries: int | None = None, deadline: bool = True
) -> DAG:
    """The DAG: ``STEPS`` in order, each made by ``make_task``; ``deadline``: with the alert
    (``airflow dags test`` of Airflow 3.3.2 fails a DAG that has one once its run succeeded,
    apache/airflow#73428, so the local variant goes without)."""
    retry = {**RETRY, "retries": RETRY["retries"] if retries is None else retries}
    with DAG(
        dag_id=dag_id,
        description="LogiFlow: check, compact, backfill and audit one archived day",
        schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        default_args=retry,
        params=PARAMS,
        deadline=_deadline_alert() if deadline else None,
        tags=["logiflow"],
        doc_md=__doc__,
    ) as dag:
        tasks = [make_task(step) for step in STEPS]
        for before, after in itertools.pairwise(tasks):
            before >> after
    return dag
