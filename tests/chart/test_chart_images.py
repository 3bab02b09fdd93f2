"""images/: hadolint-clean, pinned, non-root, and consistent with the chart and pyproject."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from chart_render import CHART, REPO, run, tool

DOCKERFILES = sorted((REPO / "images").glob("*/Dockerfile"))


def test_both_images_exist() -> None:
    assert {p.parent.name for p in DOCKERFILES} == {"spark-etl", "shipper"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_clean(dockerfile: Path) -> None:
    result = run([tool("hadolint"), "--failure-threshold", "info", dockerfile])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_pinned_non_root_and_sources_exist(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    for image in re.findall(r"^ARG \w+_IMAGE=(\S+)$", text, re.M):
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest", image
        assert re.search(r"\d", tag), f"{image}: tag carries no version"
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users[-1] == "185", "the runtime stage runs as uid 185"
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.M):
        assert (REPO / source).exists(), f"{dockerfile}: COPY source {source} is not in the repo"


def test_etl_image_matches_spark_and_entry_point() -> None:
    text = (REPO / "images" / "spark-etl" / "Dockerfile").read_text()
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    pyspark = next(d for d in extras["spark"] if d.startswith("pyspark"))
    spark_version = pyspark.split("==")[1]
    assert f"apache/spark:{spark_version}-scala2.13-java17" in text
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["spark"]["sparkVersion"] == spark_version
    entry = values["spark"]["mainApplicationFile"].removeprefix("local://")
    assert f"COPY spark_apps/etl_main.py {entry}" in text
    assert "spark_apps/logiflow/local/spark-connectors.pom.xml" in text
    assert "spark_apps/logiflow/local/spark-s3a.pom.xml" in text


def test_only_the_etl_image_installs_spark() -> None:
    """The shipper image carries no pyspark: the package's Spark side is its `spark` extra."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith(("pyspark", "pyarrow"))]
    install = re.compile(r"uv pip install --python \S+ (\S+)$", re.M)
    etl = (REPO / "images" / "spark-etl" / "Dockerfile").read_text()
    shipper = (REPO / "images" / "shipper" / "Dockerfile").read_text()
    assert install.findall(etl) == ['".[spark]"']
    assert install.findall(shipper) == ["."]
