"""Prometheus metrics of LogiFlow's processes: the collectors of the contract's names
(``registry``), the ``/metrics`` endpoint (``exporter``), and what feeds them in the ETL driver
(``etl_monitor``) and the shipper (``shipper_metrics``). Nothing here imports Spark."""
