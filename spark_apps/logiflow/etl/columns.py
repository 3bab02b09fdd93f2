"""Column access by ECS field name for every transform and sink.

Columns are named by their ECS path (``logiflow.contract.ecs``). Spark treats a dot in a bare
column name as struct access, so always go through ``col()``.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F


def col(name: str) -> Column:
    """A column by its exact (possibly dotted) name."""
    return F.col(f"`{name}`")
