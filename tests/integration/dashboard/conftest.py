"""Fixtures of the dashboard tests: one known corpus indexed once per session (see
``dashboard_corpus.py``)."""

from __future__ import annotations

import pytest
from dashboard_corpus import Corpus, index_corpus
from elasticsearch import Elasticsearch
from pyspark.sql import SparkSession

from logiflow.local.servers import LocalStack


@pytest.fixture(scope="session")
def dashboard_corpus(
    local_stack: LocalStack,
    spark: SparkSession,
    es_client: Elasticsearch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Corpus:
    return index_corpus(
        local_stack, spark, es_client, tmp_path_factory.mktemp("dashboard-checkpoints")
    )
