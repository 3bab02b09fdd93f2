"""The end-to-end benchmark's parts (``make bench-e2e``, entry point ``bench_e2e.py``).

``stack`` starts the system under test (local Kafka + Elasticsearch, ``logiflow etl`` as its own
process), ``load`` drives it (rate-paced traffic, latency probes), ``observe`` watches it (lag
from the accounting documents, memory), ``phases`` runs the measurements, ``ceiling`` measures
Elasticsearch alone, ``profiling`` reads JFR and py-spy, ``results`` prints and saves.
"""
