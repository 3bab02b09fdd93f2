"""Geo enrichment: country of the client address, from the database geoip2fast ships.

geoip2fast bundles its own MaxMind-derived country databases (IPv4 and IPv6) in the wheel and
needs no network to load or query them, so this works offline and in the container image.

Which address: ``client.ip`` (the first X-Forwarded-For hop) when present, else ``source.ip``.
Behind a Kubernetes ingress or load balancer ``source.ip`` is the proxy's private address,
which has no country; the forwarded client address is the one whose country people want. The
result goes to ``source.geo.*`` as the field contract names it. Private, reserved, unknown or
malformed addresses give nulls, never errors.

Vectorized like the user-agent UDF: an Arrow UDF resolving each distinct address of a batch once,
through a per-worker LRU cache. With ``geo_enabled`` false the columns are added as nulls, so the
output schema is the same either way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from logiflow.contract import ecs
from logiflow.etl.columns import col
from logiflow.etl.worker_memory import kept_for_worker_lifetime

if TYPE_CHECKING:
    from geoip2fast import GeoIP2Fast

GEO_STRUCT_TYPE = "country_iso_code string, country_name string"
_CACHE_SIZE = 100_000


@functools.cache
def _database() -> GeoIP2Fast:
    from geoip2fast import GeoIP2Fast

    # The IPv6 file holds the IPv4 ranges too.
    database = GeoIP2Fast(geoip2fast_data_file="geoip2fast-ipv6.dat.gz", verbose=False)
    return kept_for_worker_lifetime(database)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def country_of(ip: str) -> tuple[str | None, str | None]:
    """(ISO code, name) of an address, or (None, None) when it has no country."""
    try:
        result = _database().lookup(ip.strip())
    except Exception:
        return None, None
    code = result.country_code
    if not code or code == "--" or len(code) != 2:
        return None, None
    return code, result.country_name or None


def resolve_batch(ips: pa.Array) -> pa.StructArray:
    if isinstance(ips, pa.ChunkedArray):
        ips = ips.combine_chunks()
    encoded = pc.dictionary_encode(ips)
    found = [country_of(value) for value in encoded.dictionary.to_pylist()]
    codes = pc.take(pa.array([f[0] for f in found], type=pa.string()), encoded.indices)
    names = pc.take(pa.array([f[1] for f in found], type=pa.string()), encoded.indices)
    return pa.StructArray.from_arrays([codes, names], names=["country_iso_code", "country_name"])


def enrich_geo(enabled: bool = True) -> Callable[[DataFrame], DataFrame]:
    """Add ``source.geo.country_iso_code`` and ``source.geo.country_name``."""

    # pyspark's stubs only type arrow_udf with an explicit functionType; the decorator form its
    # docs recommend (scalar by default) has no overload.
    @F.arrow_udf(GEO_STRUCT_TYPE)  # type: ignore[call-overload]
    def lookup_countries(ips: pa.Array) -> pa.Array:
        return resolve_batch(ips)

    def transform(df: DataFrame) -> DataFrame:
        if not enabled:
            return df.withColumns(
                {
                    ecs.SOURCE_GEO_COUNTRY_ISO_CODE: F.lit(None).cast("string"),
                    ecs.SOURCE_GEO_COUNTRY_NAME: F.lit(None).cast("string"),
                }
            )
        geo = "_logiflow_geo"
        address = F.coalesce(col(ecs.CLIENT_IP), col(ecs.SOURCE_IP))
        return (
            df.withColumn(geo, lookup_countries(address))
            .withColumns(
                {
                    ecs.SOURCE_GEO_COUNTRY_ISO_CODE: F.col(geo).getField("country_iso_code"),
                    ecs.SOURCE_GEO_COUNTRY_NAME: F.col(geo).getField("country_name"),
                }
            )
            .drop(geo)
        )

    return transform
