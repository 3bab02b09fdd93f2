"""The record contract: names that a writer and a reader of LogiFlow's data share.

ECS field names (``ecs``), aggregate fields (``aggregates``), Kafka record keys and headers
(``kafka_records``), Elasticsearch index names and accounting fields (``index_names``), the
offset ranges a batch's accounting records (``offset_ranges``) and the Prometheus metric names
(``metrics``). Nothing here imports Spark or any client library, so every part of LogiFlow can
import it cheaply.
"""
