"""Fills ``service.name`` and ``host.name`` from the Kafka record key when the line has none.

``logiflow ship`` and ``logiflow generate`` key every record ``<host>/<service>``: an access log
line names neither, yet per-service aggregates and dashboards need both. What the line itself
says (a JSON ``service`` key, ``$hostname``) wins over the key.

The shipper writes the same two values as headers (``logiflow.host``, ``logiflow.service``) for
other consumers of the topic; the ETL reads them from the key, which it has anyway and which a
kcat or Fluent Bit producer can set too (``etl.decode_records`` says which header it reads).
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from logiflow.contract import ecs
from logiflow.contract.kafka_records import KEY_PATTERN
from logiflow.etl.columns import col


def _key_part(group: int) -> Column:
    part = F.regexp_extract(col(ecs.KAFKA_KEY), KEY_PATTERN, group)
    return F.when(part != F.lit(""), part)


def fill_origin_from_key() -> Callable[[DataFrame], DataFrame]:
    def transform(df: DataFrame) -> DataFrame:
        return df.withColumns(
            {
                ecs.HOST_NAME: F.coalesce(col(ecs.HOST_NAME), _key_part(1)),
                ecs.SERVICE_NAME: F.coalesce(col(ecs.SERVICE_NAME), _key_part(2)),
            }
        )

    return transform
