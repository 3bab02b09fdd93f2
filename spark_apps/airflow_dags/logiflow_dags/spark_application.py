"""The chart's SparkApplication, turned into one batch SparkApplication per step.

``sparkapplication.yaml`` beside this module is the chart's own ETL SparkApplication as
``helm template`` renders it (``make airflow-sparkapplication``; render it again with your
release's values: image, Spark conf, the archive's s3a options, credentials, pod templates and
labels all come from there, so the batch jobs run exactly like the ETL). A step changes only
what makes it a batch job: its name, the entry file (``cli_main.py`` beside the ETL's),
the arguments (the ETL's ``--config FILE``, then the step's command), no restarts of its own
(Airflow's retries own that), and no streaming checkpoint volume (a claim the running ETL holds).
Nothing here imports Airflow.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SHAPE_FILE = Path(__file__).with_name("sparkapplication.yaml")
CLI_MAIN = "cli_main.py"
# The ETL's streaming checkpoint claim (templates/spark/_podtemplate.tpl), which batch jobs
# neither need nor may share.
CHECKPOINT_VOLUME = "checkpoints"


def load_shape(path: Path = SHAPE_FILE) -> dict[str, Any]:
    shape = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(shape, dict) or shape.get("kind") != "SparkApplication":
        raise ValueError(f"{path} holds no SparkApplication (render the chart's, see README)")
    return shape


def _without_checkpoints(template: dict[str, Any]) -> dict[str, Any]:
    spec = template.get("spec", {})
    spec["volumes"] = [v for v in spec.get("volumes", []) if v["name"] != CHECKPOINT_VOLUME]
    for container in spec.get("containers", []):
        mounts = container.get("volumeMounts", [])
        container["volumeMounts"] = [m for m in mounts if m["name"] != CHECKPOINT_VOLUME]
    return template


def batch_application(shape: dict[str, Any], task_id: str, argv: tuple[str, ...]) -> dict[str, Any]:
    """The SparkApplication that runs ``logiflow ARGV`` as the ETL's shape would."""
    app = copy.deepcopy(shape)
    etl_name = app["metadata"]["name"]
    app["metadata"] = {
        "name": f"{etl_name.removesuffix('-etl')}-{task_id.replace('_', '-')}",
        "labels": app["metadata"].get("labels", {}),
    }
    spec = app["spec"]
    entry_dir = spec["mainApplicationFile"].rsplit("/", 1)[0]
    spec["mainApplicationFile"] = f"{entry_dir}/{CLI_MAIN}"
    config_index = spec["arguments"].index("--config")
    spec["arguments"] = [*spec["arguments"][config_index : config_index + 2], *argv]
    spec["restartPolicy"] = {"type": "Never"}
    for role in ("driver", "executor"):
        if "template" in spec.get(role, {}):
            _without_checkpoints(spec[role]["template"])
    return app
