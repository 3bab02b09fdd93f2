"""The daily archive window's steps as ``logiflow`` command lines, the same for every runner.

Each argument is an Airflow template over the run's data interval (one UTC day, [start, end)):
the Kubernetes runner hands them to ``cli_main.py`` in a SparkApplication, the local runner to
the ``logiflow`` executable. Nothing here imports Airflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

DAY = "{{ data_interval_start | ds }}"
SINCE = "{{ data_interval_start.isoformat() }}"
UNTIL = "{{ data_interval_end.isoformat() }}"
# A run for a day that has not ended (a manual run, the local proof) compacts it only when asked.
EVEN_IF_OPEN = '{{ "--even-if-open" if params.compact_even_if_open else "--no-even-if-open" }}'


@dataclass(frozen=True)
class Step:
    """One task: its id, the ``logiflow`` arguments, and how long one try may take."""

    task_id: str
    argv: tuple[str, ...]
    timeout: timedelta


ARCHIVE_CHECK = Step("archive_check", ("archive", "check", "--date", DAY), timedelta(minutes=10))
COMPACT = Step(
    "compact_day", ("archive", "compact", "--date", DAY, EVEN_IF_OPEN), timedelta(hours=2)
)
BACKFILL = Step(
    "backfill_day",
    ("backfill", "--from-archive", "--since", SINCE, "--until", UNTIL, "--skip-es-setup"),
    timedelta(hours=3),
)
AUDIT = Step("audit_day", ("audit", "--since", SINCE, "--until", UNTIL), timedelta(minutes=30))

# In order: the store holds the day; the day is compacted (backfill then reads a few large files
# instead of ~290 small ones); the day is indexed again; the audit proves Kafka's records of the
# day are all in Elasticsearch.
STEPS = (ARCHIVE_CHECK, COMPACT, BACKFILL, AUDIT)
