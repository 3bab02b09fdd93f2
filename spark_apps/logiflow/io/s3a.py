"""Spark's s3a filesystem options for the raw-log archive's bucket (a pure function, unit-tested).

Options are per bucket (``fs.s3a.bucket.<bucket>.*``) so the archive's endpoint and credentials
apply to it alone and a checkpoint on another store keeps its own. Static keys use Hadoop's
``SimpleAWSCredentialsProvider``; without them s3a's default chain applies (environment, web
identity, instance profile). The session gets them as ``spark.hadoop.*`` conf (``job.session_for``)
in local mode and under spark-submit alike, so the SparkApplication only passes the config.
"""

from __future__ import annotations

from logiflow.config import ArchiveSettings

_SIMPLE_CREDENTIALS = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"


def s3a_options(archive: ArchiveSettings) -> dict[str, str]:
    """``fs.s3a.bucket.<bucket>.*`` Hadoop options (without the ``spark.hadoop.`` prefix)."""
    options = {
        "endpoint.region": archive.region,
        "path.style.access": "true" if archive.path_style else "false",
        # Fail a request after about a minute rather than s3a's default of many minutes: the
        # archive query is restarted from its checkpoint instead (archive_query).
        "retry.limit": "5",
        "attempts.maximum": "3",
        "connection.establish.timeout": "5s",
    }
    if archive.endpoint:
        options["endpoint"] = archive.endpoint
        options["connection.ssl.enabled"] = str(archive.endpoint.startswith("https://")).lower()
    if archive.access_key_id and archive.secret_access_key:
        options["aws.credentials.provider"] = _SIMPLE_CREDENTIALS
        options["access.key"] = archive.access_key_id
        options["secret.key"] = archive.secret_access_key.get_secret_value()
    return {f"fs.s3a.bucket.{archive.bucket}.{key}": value for key, value in options.items()}


def s3a_spark_conf(archive: ArchiveSettings) -> dict[str, str]:
    """The same options as Spark conf, for the session builder."""
    return {f"spark.hadoop.{key}": value for key, value in s3a_options(archive).items()}
