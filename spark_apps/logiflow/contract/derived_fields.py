"""Fields the dashboards aggregate that no LogiFlow writer puts in a document.

- ``ERROR_MESSAGE_KEYWORD``: the keyword sub-field of a dead letter's ``error.message`` (a
  multi-field of the dead-letter index template), so reasons can be counted.
- ``HOUR_OF_DAY`` and ``WEEKDAY``: the access-time heatmap's axes. Kibana reads them as runtime
  fields of the events data view (computed from ``@timestamp`` in the dashboard's time zone, see
  ``logiflow.dashboard.kibana``); the local dashboard folds an hourly date histogram in that time
  zone instead, because the minimal local Elasticsearch node has no scripting module.
"""

from __future__ import annotations

from logiflow.contract import ecs

ERROR_MESSAGE_KEYWORD = f"{ecs.ERROR_MESSAGE}.keyword"
HOUR_OF_DAY = "logiflow.hour_of_day"  # 0..23
WEEKDAY = "logiflow.weekday"  # "1 Mon" .. "7 Sun": sorts in week order as text
