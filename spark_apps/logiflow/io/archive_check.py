"""Start-up check of the archive's S3 store: endpoint reachable, credentials valid, bucket there,
and what it holds for a day (``logiflow archive check``, the DAG's health check).

Spark's s3a retries a failing store for minutes and then reports a Java stack; this asks once,
with MinIO's S3 client, and turns each failure into one line naming the endpoint and the bucket.
"""

from __future__ import annotations

import re
from datetime import date

import urllib3
from minio import Minio
from minio.credentials import ChainedProvider, EnvAWSProvider, IamAwsProvider, StaticProvider
from minio.error import S3Error

from logiflow.config import ArchiveSettings
from logiflow.contract import archive_layout as layout
from logiflow.errors import ServiceUnreachableError

_BAD_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "Forbidden"}


def archive_endpoint(archive: ArchiveSettings) -> str:
    """The endpoint as users configure it; AWS S3's regional one when none is set."""
    return archive.endpoint or f"https://s3.{archive.region}.amazonaws.com"


def _client(archive: ArchiveSettings, timeout: float) -> Minio:
    endpoint = archive_endpoint(archive)
    provider = (
        StaticProvider(archive.access_key_id, archive.secret_access_key.get_secret_value())
        if archive.access_key_id and archive.secret_access_key
        else ChainedProvider([EnvAWSProvider(), IamAwsProvider()])
    )
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        retries=urllib3.Retry(total=1, backoff_factor=0.2),
    )
    return Minio(
        endpoint.split("://", 1)[1].rstrip("/"),
        credentials=provider,
        secure=endpoint.startswith("https://"),
        region=archive.region,
        http_client=http,
    )


def check_archive(archive: ArchiveSettings, timeout: float = 5.0) -> None:
    """Raise ``ServiceUnreachableError`` (one line: endpoint, bucket, what to do) unless the
    archive's bucket can be reached and read with its credentials."""
    where = f"{archive_endpoint(archive)} (bucket {archive.bucket})"
    try:
        exists = _client(archive, timeout).bucket_exists(archive.bucket)
    except S3Error as exc:
        if exc.code in _BAD_CREDENTIALS:
            detail = (
                f"the credentials were refused ({exc.code}); check archive.access_key_id and "
                "archive.secret_access_key"
            )
        else:
            detail = f"{exc.code}: {exc.message}"
        raise ServiceUnreachableError("the archive's S3 store", where, detail) from None
    except ValueError as exc:  # the default credential chain found nothing
        raise ServiceUnreachableError(
            "the archive's S3 store",
            where,
            f"no credentials ({exc}); set "
            "archive.access_key_id and archive.secret_access_key or AWS_ACCESS_KEY_ID",
        ) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        errno_text = re.search(r"\[Errno -?\d+\] ([^\"')]+)", str(exc))
        reason = errno_text.group(1) if errno_text else type(exc).__name__
        raise ServiceUnreachableError(
            "the archive's S3 store",
            where,
            f"no answer ({reason}); check archive.endpoint "
            "and that the server runs (`logiflow local up` starts the local one)",
        ) from None
    if not exists:
        raise ServiceUnreachableError(
            "the archive's S3 store", where,
            "the bucket does not exist; create it (object-store lifecycle rules are yours to "
            "set, README: Raw-log archive) or set archive.bucket",
        )  # fmt: skip


def archived_day_objects(archive: ArchiveSettings, topic: str, day: date) -> tuple[int, bool]:
    """(Parquet objects under the day's hour directories, whether its compacted copy's marker
    exists): what the archive holds for a day, asked without Spark. The objects include files a
    batch cut short left behind (the commit log, not the listing, says which count); a health
    check needs only to know that the archive query wrote the day."""
    check_archive(archive)
    client = _client(archive, timeout=10.0)
    prefix = archive.prefix.strip("/")
    hours = f"{prefix}/{layout.TOPIC}={topic}/{layout.DATE}={day:%Y-%m-%d}/"
    parquet = sum(
        1
        for obj in client.list_objects(archive.bucket, prefix=hours, recursive=True)
        if obj.object_name is not None and obj.object_name.endswith(".parquet")
    )
    marker = f"{prefix}/{layout.compacted_day_directory(topic, day)}/{layout.COMPACTED_MARKER}"
    compacted = any(
        obj.object_name == marker
        for obj in client.list_objects(archive.bucket, prefix=marker, recursive=False)
    )
    return parquet, compacted
