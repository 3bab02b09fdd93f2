"""Policy scan of every profile's rendered chart with checkov (pinned in .tools).

Every failed check fails the test unless policy-skips.yaml lists it with a reason. Custom
resources are outside checkov's Kubernetes checks; our own pods inside them (SparkApplication
templates) are held to the restricted standard by test_chart_security.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml
from chart_render import PROFILES, render, render_text, run, tool

SKIPS: dict[str, str] = yaml.safe_load((Path(__file__).parent / "policy-skips.yaml").read_text())


def test_every_skip_is_explained() -> None:
    assert SKIPS
    for check, reason in SKIPS.items():
        assert check.startswith("CKV_K8S_"), check
        assert len(reason.split()) >= 8, f"{check} needs a real reason"


def checkov(directory: Path) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    result = run(
        [
            tool("checkov"),
            "--directory",
            directory,
            "--framework",
            "kubernetes",
            "--skip-download",
            "--quiet",
            "--compact",
            "--output",
            "json",
            "--skip-check",
            ",".join(SKIPS),
        ],
    )
    return json.loads(result.stdout), result


def test_checkov_finds_nothing_unexplained(profile: str, tmp_path: Path) -> None:
    (tmp_path / "chart.yaml").write_text(render_text(*PROFILES[profile]))
    report, result = checkov(tmp_path)
    summary = report["summary"]
    failed = [
        (c["check_id"], c["resource"], c["check_name"]) for c in report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(map(str, failed))
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 100, summary
    assert result.returncode == 0, result.stderr[-2000:]


def test_checkov_passes_the_optional_replay_job(tmp_path: Path) -> None:
    """Off in every profile, so scanned on its own (with the policies that select its pod)."""
    docs = render("--set", "deadLetterReplay.enabled=true")
    [job] = [d for d in docs if d["kind"] == "Job" and "replay" in d["metadata"]["name"]]
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    (tmp_path / "job.yaml").write_text(yaml.safe_dump_all([job, *policies]))
    report, result = checkov(tmp_path)
    failed = [(c["check_id"], c["check_name"]) for c in report["results"]["failed_checks"]]
    assert not failed, "\n".join(map(str, failed))
    assert report["summary"]["passed"] > 20, report["summary"]
    assert result.returncode == 0, result.stderr[-2000:]


def test_checkov_flags_a_privileged_escalation(tmp_path: Path) -> None:
    """The scan can fail: the es-setup Job with escalation allowed is reported."""
    job = next(d for d in render() if d["kind"] == "Job")
    job["spec"]["template"]["spec"]["containers"][0]["securityContext"].update(
        allowPrivilegeEscalation=True, privileged=True
    )
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
    report, _ = checkov(tmp_path)
    failed = {c["check_id"] for c in report["results"]["failed_checks"]}
    assert {"CKV_K8S_16", "CKV_K8S_20"} <= failed, failed
