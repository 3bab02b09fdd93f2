"""Stage 7, outcome: "indexed" or "dead_letter" on every row, and nothing half-parsed.

Dead letters keep their Kafka coordinates, their original line and ``error.message``; their
ECS columns are null, so a line that failed halfway never reaches the index with part of its
fields.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from logiflow.contract import ecs
from logiflow.etl.columns import col
from logiflow.etl.parse.to_ecs import ECS_COLUMNS


def outcome(input_columns: Sequence[str]) -> Callable[[DataFrame], DataFrame]:
    """The input columns, ``ECS_COLUMNS`` (null on dead letters), ``error.message`` and
    ``_logiflow_outcome``; an empty ``logiflow.extra`` is null."""

    def transform(df: DataFrame) -> DataFrame:
        ok = col(ecs.ERROR_MESSAGE).isNull()
        extra = col(ecs.EXTRA)
        return df.select(
            *[col(c) for c in input_columns],
            *[
                F.when(ok, F.when(F.size(extra) > 0, extra) if n == ecs.EXTRA else col(n)).alias(n)
                for n in ECS_COLUMNS
            ],
            col(ecs.ERROR_MESSAGE),
            F.when(ok, F.lit(ecs.OUTCOME_INDEXED))
            .otherwise(F.lit(ecs.OUTCOME_DEAD_LETTER))
            .alias(ecs.OUTCOME),
        )

    return transform
