"""LogiFlow: real-time log analytics on Kafka, PySpark Structured Streaming and Elasticsearch.

The package is laid out by architecture:

- ``logiflow.contract``   the record contract writers and readers share (ECS names, aggregate
                          fields, Kafka keys and headers, index names); imports nothing.
- ``logiflow.etl``        pure ``DataFrame -> DataFrame`` transforms (parse, normalize, enrich,
                          filter, aggregate); no I/O. Needs the ``spark`` extra.
- ``logiflow.io``         clients, sources and sinks (Kafka client settings and topic admin,
                          Kafka source, Elasticsearch sink and setup, Kibana import).
- ``logiflow.job``        the streaming job that wires source -> transforms -> sinks.
- ``logiflow.ingest``     getting logs into Kafka (shipper, traffic generator, replay).
- ``logiflow.dashboard``  the dashboards' panel model, queries and the local web dashboard.
- ``logiflow.local``      the embedded default: local Kafka and Elasticsearch processes.
- ``logiflow.cli``        the ``logiflow`` command.
- ``logiflow.config``     the one config model every entry point reads.

Only ``etl``, ``job`` and what they import need pyspark; every other part starts without it.
"""

__version__ = "0.1.0"
