"""Prometheus metrics of LogiFlow's processes: the collectors of the contract's names
(``registry``), the ``/metrics`` endpoint (``exporter``), and what feeds them in the ETL driver
(``etl_monitor``, the only one that imports Spark) and the shipper (``shipper_metrics``)."""
