"""The CLI's light commands never load Spark: ``ship``, ``generate``, ``report``, ``audit`` and
the rest start without pyspark (the shipper image does not even have it), only ``etl`` and
``run`` import it, inside the command."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Runs the CLI in a fresh interpreter (this one has Spark loaded by other tests), then lists
# the Spark modules it loaded. (pyarrow is not among them: the elasticsearch client imports it
# whenever it is installed, as it is beside pyspark; the shipper image has neither.)
_PROBE = """
import sys
from logiflow.cli.main import app
try:
    app(sys.argv[1:], prog_name="logiflow")
except SystemExit as exc:
    assert exc.code == 0, exc.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("pyspark", "py4j"))
print("spark modules:", ",".join(heavy))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["ship", "--help"],
        ["generate", "--help"],
        ["report", "--help"],
        ["audit", "--help"],
        ["es-setup", "--help"],
        ["local", "status", "--help"],
        ["status", "--help"],
        ["replay-dead-letters", "--help"],
        ["etl", "--help"],
        ["run", "--help"],
    ],
    ids=" ".join,
)
def test_cli_loads_no_spark(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.rsplit("spark modules:", 1)[1].strip()
    assert loaded == "", f"logiflow {' '.join(args)} loaded {loaded[:300]}"
