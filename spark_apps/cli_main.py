"""spark-submit main file of the scheduled batch SparkApplications: ``cli_main.py ARGS...``.

The Airflow DAG (``spark_apps/airflow/dags``) runs ``logiflow`` commands (``backfill``,
``archive compact``, ``archive check``, ``audit``) as SparkApplications of the chart's shape;
the Spark Operator runs this file, which runs the ``logiflow`` command line with ``ARGS`` in the
driver. Spark-running commands use the session spark-submit made (its master and the image's
connector jars); the light ones never start one, so they cost a driver pod only.
"""

from __future__ import annotations

from logiflow.cli.main import run

if __name__ == "__main__":
    run()  # reads sys.argv, which spark-submit fills with the application's arguments
