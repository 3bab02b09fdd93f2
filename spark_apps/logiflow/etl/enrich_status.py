"""Status enrichment: ``logiflow.status_class`` ("1xx".."5xx") and ``logiflow.is_error``."""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.contract import ecs
from logiflow.etl.columns import col


def status_class_column(status: Column) -> Column:
    """ "2xx" for 200..299 and so on; null for a null or out-of-range code."""
    return F.when(
        status.between(100, 599), F.concat((status / 100).cast("int").cast("string"), F.lit("xx"))
    )


def is_error_column(status: Column) -> Column:
    """True for status >= 400 (client and server errors), null when there is no status."""
    return status >= 400


def enrich_status() -> Callable[[DataFrame], DataFrame]:
    """Add ``logiflow.status_class`` and ``logiflow.is_error`` from the response status."""

    def transform(df: DataFrame) -> DataFrame:
        status = col(ecs.HTTP_RESPONSE_STATUS_CODE)
        return df.withColumns(
            {
                ecs.STATUS_CLASS: status_class_column(status),
                ecs.IS_ERROR: is_error_column(status),
            }
        )

    return transform
