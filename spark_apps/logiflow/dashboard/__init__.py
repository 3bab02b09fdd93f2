"""The dashboards: one panel model (``panels``), its Elasticsearch queries (``queries``,
``fetch``), the local web dashboard (``server``) and Kibana saved objects (``kibana``).

Nothing here imports Spark: ``logiflow dashboard`` starts in a blink.
"""
