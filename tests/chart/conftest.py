"""Fixtures for the Helm chart proofs; every test under tests/chart gets the ``chart`` marker.

A missing tool or CRD folder fails the test with the command that fixes it: these proofs never
skip. Helpers live in chart_render.py (a uniquely named module, since every test folder of the
repository has its own conftest).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from chart_render import CRD_ROOT, PROFILES, Doc, render, run, tool


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.chart)


@pytest.fixture(params=sorted(PROFILES), ids=lambda p: f"profile-{p}")
def profile(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def docs(profile: str) -> list[Doc]:
    return render(*PROFILES[profile])


@pytest.fixture(scope="session")
def crd_root() -> Path:
    if not CRD_ROOT.is_dir():
        pytest.fail(
            f"operator CRDs not found at {CRD_ROOT} (shared/crds beside the repo)", pytrace=False
        )
    return CRD_ROOT


@pytest.fixture(scope="session")
def kubeconform() -> Callable[..., subprocess.CompletedProcess[str]]:
    binary = tool("kubeconform")

    def _run(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run([binary, *args], input=stdin)

    return _run


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("chart")
