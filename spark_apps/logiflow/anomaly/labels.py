"""Labelled incidents on disk, and anomaly documents reduced for scoring against them.

``logiflow generate --labels FILE`` writes one JSON object per line (``kind``, ``service``,
``endpoint``, ``start`` and ``end`` as ISO 8601 UTC); ``logiflow anomalies --labels FILE`` reads
them back and scores what the detector found with ``anomaly.evaluation``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from logiflow.anomaly.evaluation import KINDS, Found, Incident
from logiflow.contract import anomalies as a
from logiflow.errors import ConfigError


def _iso(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat()


def _epoch(text: str) -> int:
    when = dt.datetime.fromisoformat(text)
    return int((when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp())


def write_labels(path: Path, incidents: Iterable[Incident]) -> None:
    lines = [
        json.dumps(
            {
                "kind": i.kind,
                "service": i.service,
                "endpoint": i.endpoint,
                "start": _iso(i.start),
                "end": _iso(i.end),
            }
        )
        for i in incidents
    ]
    path.write_text("".join(f"{line}\n" for line in lines))


def read_labels(path: Path) -> list[Incident]:
    """The labels in ``path``; a line that is not a label is a config error naming the line."""
    incidents = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            label = json.loads(line)
            if label["kind"] not in KINDS:
                raise ValueError(f"kind {label['kind']!r} is not one of {', '.join(KINDS)}")
            incidents.append(
                Incident(
                    label["kind"],
                    label["service"],
                    _epoch(label["start"]),
                    _epoch(label["end"]),
                    label.get("endpoint"),
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigError(f"{path}:{number}: not an incident label ({error})") from error
    return incidents


def found(documents: Iterable[Mapping[str, Any]]) -> list[Found]:
    """Anomaly documents (their ``_source``) as the detections scoring reads."""
    return [
        Found(
            _epoch(doc[a.TIMESTAMP]),
            doc[a.SERVICE],
            doc.get(a.ENDPOINT),
            doc[a.METRIC],
            doc[a.DIRECTION],
        )
        for doc in documents
    ]
