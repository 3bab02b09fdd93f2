"""LogiFlow's Airflow DAG factory: the daily archive window's steps, their SparkApplications,
and the DAG that chains them (imported by ``logiflow_archive_daily.py`` beside this package)."""
