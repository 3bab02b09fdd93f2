"""Session-wide set-up: a clean config environment and one local SparkSession for the run.

Tests never read the developer's own ``LOGIFLOW_*`` configuration: ``pytest_configure`` drops
the config model's variables from the environment before anything loads a config, so a
``LOGIFLOW_KAFKA__BOOTSTRAP_SERVERS`` left in a shell cannot point a test (or the ``logiflow``
subprocesses tests start) at another cluster. Tests that need such variables set them.

The session carries the Kafka connector jars from the start (``getOrCreate`` cannot add jars
later), so unit and integration tests share it; the jars come from the artifact cache
(``logiflow.local.artifacts``), fetched from Maven Central on first use.

``make test`` runs on pytest-xdist workers, each with its own session fixtures (servers on free
ports), with ``--dist loadfile``: a module runs on one worker, so its own servers and fixtures are
made once, and ``pytest_xdist_make_scheduler`` makes the modules that share a costly session
fixture (``SHARED_SESSION_FIXTURES``) one unit, so that fixture is made on one worker only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pyspark.sql import SparkSession

from logiflow.config import CONFIG_ENV_VAR, LogiflowConfig, SparkSettings, load_config
from logiflow.local.artifacts import connector_jars
from logiflow.spark_session import create_spark_session


def config_environment_variables(environ: Mapping[str, str]) -> list[str]:
    """The variables the config model would read: LOGIFLOW_CONFIG and LOGIFLOW_<SECTION>__*."""
    sections = tuple(f"LOGIFLOW_{name.upper()}__" for name in LogiflowConfig.model_fields)
    return [key for key in environ if key == CONFIG_ENV_VAR or key.startswith(sections)]


# Test modules (or folders of them, from the rootdir) -> the one work unit of the workers that
# shares their costly session fixture.
SHARED_SESSION_FIXTURES = {
    # the archive's one run: s3proxy and a topic archived by the real job (archive_run.py)
    "tests/integration/test_archive.py": "archive",
    "tests/integration/test_airflow_dag.py": "archive",
    "tests/integration/test_es_calls.py": "archive",
    # a corpus indexed once by the real ETL (dashboard/conftest.py)
    "tests/integration/dashboard": "dashboard-corpus",
    # kube-apiserver and etcd (apiserver/conftest.py)
    "tests/chart/apiserver": "apiserver",
}


def work_unit(nodeid: str) -> str:
    """A test's unit of work on the xdist workers: its shared fixture's, else its module."""
    module = nodeid.split("::", 1)[0]
    for prefix, unit in SHARED_SESSION_FIXTURES.items():
        if module == prefix or module.startswith(f"{prefix}/"):
            return unit
    return module


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, called only when it distributes
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile``, with the modules that share a session fixture one unit of work."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedFixtureScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return SharedFixtureScheduling(config, log)


def pytest_configure(config: pytest.Config) -> None:
    for key in config_environment_variables(os.environ):
        del os.environ[key]


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    settings = SparkSettings(
        master="local[2]",
        app_name="logiflow-tests",
        shuffle_partitions=2,
        conf={"spark.ui.enabled": "false", "spark.driver.memory": "2g"},
    )
    session = create_spark_session(settings, jars=connector_jars(load_config().local))
    yield session
    session.stop()
