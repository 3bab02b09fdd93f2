"""The prometheus_client collectors of the contract's metrics (``contract.metrics``).

Made once per process, in the client's default registry, so the components one process runs
(``logiflow run``: the ETL and the dashboard) share one ``/metrics``. Names, types, help and
label names come from the contract only; a unit test checks the exposition against it.
"""

from __future__ import annotations

import threading

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from logiflow.contract import metrics as m

# The ``*_created`` series double every counter and histogram and nothing reads them.
disable_created_metrics()

_BUCKETS: dict[str, tuple[float, ...]] = {
    m.ETL_BATCH_DURATION.name: (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
    m.ETL_BATCH_ROWS.name: (0, 10, 100, 1_000, 10_000, 50_000, 100_000, 200_000, 500_000),
    m.DASHBOARD_QUERY_DURATION.name: (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
}

_made: dict[str, Counter | Gauge | Histogram] = {}
_lock = threading.Lock()


def _collector(metric: m.Metric) -> Counter | Gauge | Histogram:
    with _lock:
        found = _made.get(metric.name)
        if found is None:
            labels = list(metric.labels)
            if metric.kind == m.COUNTER:
                found = Counter(metric.name, metric.help, labels)
            elif metric.kind == m.GAUGE:
                found = Gauge(metric.name, metric.help, labels)
            else:
                found = Histogram(metric.name, metric.help, labels, buckets=_BUCKETS[metric.name])
            _made[metric.name] = found
        return found


def counter(metric: m.Metric) -> Counter:
    found = _collector(metric)
    assert isinstance(found, Counter), metric.name
    return found


def gauge(metric: m.Metric) -> Gauge:
    found = _collector(metric)
    assert isinstance(found, Gauge), metric.name
    return found


def histogram(metric: m.Metric) -> Histogram:
    found = _collector(metric)
    assert isinstance(found, Histogram), metric.name
    return found
