"""LogiFlow's daily archive window on Kubernetes: ``logiflow_archive_daily``.

Copy this folder into your Airflow deployment's DAG folder (README: "Airflow DAG"). With
``LOGIFLOW_LOCAL_BIN`` set (the ``logiflow`` executable; its config from ``$LOGIFLOW_CONFIG``),
the same DAG also runs on this machine as ``logiflow_archive_daily_local``, the variant the
tests run with ``airflow dags test``.
"""

from __future__ import annotations

import os

from logiflow_dags.factory import daily_archive_dag, kubernetes_task, local_task

dag = daily_archive_dag("logiflow_archive_daily", kubernetes_task())

if os.environ.get("LOGIFLOW_LOCAL_BIN"):
    local_dag = daily_archive_dag(
        "logiflow_archive_daily_local",
        local_task(os.environ["LOGIFLOW_LOCAL_BIN"]),
        retries=0,
        deadline=False,
    )
