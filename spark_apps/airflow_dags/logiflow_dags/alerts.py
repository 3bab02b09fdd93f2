"""What a missed deadline does: a warning in the triggerer's log (Airflow 3's Deadline Alerts
replaced SLA misses). Swap the callback for one of Airflow's notifiers (Slack, e-mail) in
``factory.daily_archive_dag`` to be paged instead."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


async def deadline_missed(**kwargs: Any) -> None:
    """Called in the triggerer (with the run's ``context``) when a run is late."""
    context = kwargs.get("context") or {}
    log.warning("LogiFlow's daily archive window missed its deadline: %s", context.get("dag_run"))
