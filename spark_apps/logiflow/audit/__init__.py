"""``logiflow audit``: proves from outside the pipeline that every Kafka record was accounted for.

``reconcile`` is the pure comparison (broker offsets vs the offsets each batch recorded vs the
documents found for them); ``sources`` reads its inputs from Kafka and Elasticsearch.
"""
