"""Small files on any Hadoop file system the session reaches (local, s3a, hdfs), through the JVM.

For files Spark's readers would not serve: ones named with a leading ``_`` (the archive's
compaction markers), and single metadata files read once per batch (the checkpoint's offset log),
where a Spark job would cost more than the read.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession


def hadoop_path(spark: SparkSession, url: str) -> tuple[Any, Any]:
    """``url``'s Hadoop ``Path`` and the ``FileSystem`` it lives on."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    path = jvm.org.apache.hadoop.fs.Path(url)
    return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def read_bytes(spark: SparkSession, url: str) -> bytes:
    """The whole file at ``url``; raises (a py4j error) where there is none."""
    path, fs = hadoop_path(spark, url)
    stream = fs.open(path)
    try:
        return bytes(spark.sparkContext._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))  # type: ignore[union-attr]
    finally:
        stream.close()
