"""spark-submit main file of the SparkApplication: ``etl_main.py --config FILE``.

The Spark Operator runs this file; it only hands its arguments to ``logiflow.job.main`` (the
Kafka connector jars are in the image, hence ``--connector-jars provided`` by default).
"""

from __future__ import annotations

import sys

from logiflow.job import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
