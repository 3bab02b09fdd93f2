"""Issue 2's "straightforward version", the baseline the pipeline's speed is compared with.

About 50k lines/s per core on this kind of machine, the issue says: one ``regexp_extract`` per
field over the combined format, and a cached pandas UDF for the user agent. The benchmark times
it the same way as the pipeline, on the access-log lines (it parses no JSON).
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from logiflow.etl.enrich_useragent import classify

_COMBINED_REGEX = (
    r'^(\S+) \S+ (\S+) \[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d{3}) (\S+) "([^"]*)" "([^"]*)"'
)
_REFERENCE_FIELDS = ("ip", "user", "time", "method", "path", "protocol", "status", "bytes",
                     "referrer", "agent")  # fmt: skip


def straightforward_reference(records: DataFrame) -> DataFrame:
    """The reference parse + user agent of issue 2, over Kafka-shaped access-log rows."""

    cache: dict[str, tuple[str | None, str | None, str | None]] = {}

    @F.pandas_udf("name string, os string, device string")
    def user_agent(agents: pd.Series) -> pd.DataFrame:
        rows = []
        for agent in agents:
            facts = cache.get(agent)
            if facts is None:
                parsed = classify(agent)
                facts = cache[agent] = (parsed.name, parsed.os_name, parsed.device_type)
            rows.append(facts)
        return pd.DataFrame(rows, columns=["name", "os", "device"])

    line = F.col("value").cast("string")
    extracted = records.select(
        *(
            F.regexp_extract(line, _COMBINED_REGEX, i + 1).alias(name)
            for i, name in enumerate(_REFERENCE_FIELDS)
        )
    )
    return extracted.select(
        "*",
        F.try_to_timestamp("time", F.lit("dd/MMM/yyyy:HH:mm:ss Z")).alias("timestamp"),
        F.col("status").try_cast("int").alias("status_code"),
        F.col("bytes").try_cast("long").alias("body_bytes"),
        user_agent("agent").alias("user_agent"),
    )
