"""spark-submit main file of the SparkApplication: ``etl_main.py --config FILE``.

The Spark Operator runs this file (``--until-caught-up`` for a backfill); it runs
``logiflow.job.run_etl``. The Kafka connector jars are in the image (``--connector-jars
provided``, the default), and Spark logs to stdout, the container's log.
"""

from __future__ import annotations

import argparse
import sys

from logiflow.config import load_config
from logiflow.errors import LogiflowError
from logiflow.job import run_etl


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="etl_main.py", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="YAML config file (default: $LOGIFLOW_CONFIG)")
    parser.add_argument("--until-caught-up", action="store_true")
    parser.add_argument(
        "--connector-jars",
        choices=["download", "provided"],
        default="provided",
        help="provided (default): the image has them; download: fetch from Maven Central",
    )
    parser.add_argument(
        "--skip-es-setup", action="store_true", help="do not create/update index templates"
    )
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        jars: list[str] = []
        if args.connector_jars == "download":
            # The developer's cache and Maven: only when asked, never in the image.
            from logiflow.local.artifacts import connector_jars

            jars = connector_jars(config.local)
        result = run_etl(config, args.until_caught_up, jars=jars, setup_es=not args.skip_es_setup)
    except LogiflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"logiflow etl: {result.totals}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
