"""s3a_options: per-bucket s3a settings from the archive config."""

from __future__ import annotations

from logiflow.config import ArchiveSettings
from logiflow.io.s3a import s3a_options, s3a_spark_conf


def test_endpoint_style_and_static_keys_are_set_for_the_archive_bucket_only() -> None:
    archive = ArchiveSettings(
        endpoint="http://127.0.0.1:9000", bucket="lake", access_key_id="id",
        secret_access_key="secret", path_style=True,
    )  # fmt: skip
    options = s3a_options(archive)
    assert all(key.startswith("fs.s3a.bucket.lake.") for key in options)
    assert options["fs.s3a.bucket.lake.endpoint"] == "http://127.0.0.1:9000"
    assert options["fs.s3a.bucket.lake.connection.ssl.enabled"] == "false"
    assert options["fs.s3a.bucket.lake.path.style.access"] == "true"
    assert options["fs.s3a.bucket.lake.access.key"] == "id"
    assert options["fs.s3a.bucket.lake.secret.key"] == "secret"
    assert options["fs.s3a.bucket.lake.aws.credentials.provider"].endswith(
        "SimpleAWSCredentialsProvider"
    )
    assert s3a_spark_conf(archive)["spark.hadoop.fs.s3a.bucket.lake.endpoint"] == (
        "http://127.0.0.1:9000"
    )


def test_aws_without_keys_leaves_endpoint_and_credentials_to_s3a() -> None:
    options = s3a_options(ArchiveSettings(bucket="lake", region="eu-west-1", path_style=False))
    assert "fs.s3a.bucket.lake.endpoint" not in options
    assert "fs.s3a.bucket.lake.access.key" not in options
    assert "fs.s3a.bucket.lake.aws.credentials.provider" not in options
    assert options["fs.s3a.bucket.lake.endpoint.region"] == "eu-west-1"
    assert options["fs.s3a.bucket.lake.path.style.access"] == "false"
