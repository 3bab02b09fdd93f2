"""LogiFlow: real-time log analytics on Kafka, PySpark Structured Streaming and Elasticsearch.

The package is laid out by architecture:

- ``logiflow.etl``     pure ``DataFrame -> DataFrame`` transforms (parse, normalize, enrich,
                       filter, aggregate); no I/O.
- ``logiflow.io``      sources and sinks (Kafka source, Elasticsearch sink and setup).
- ``logiflow.job``     the streaming job that wires source -> transforms -> sinks.
- ``logiflow.ingest``  getting logs into Kafka (shipper, traffic generator).
- ``logiflow.local``   the embedded default: local Kafka and Elasticsearch processes.
- ``logiflow.cli``     the ``logiflow`` command.
- ``logiflow.config``  the one config model every entry point reads.
"""

__version__ = "0.1.0"
