"""What the audit reads: partition offsets from the Kafka broker, accounting documents and
document counts from Elasticsearch. Each reader asks its server directly, never the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaException, TopicPartition
from elasticsearch import Elasticsearch, helpers

from logiflow.audit.dead_letter_backlog import DeadLetterPartition
from logiflow.audit.reconcile import AuditedBatch, PartitionLog, Span
from logiflow.config import KafkaSettings
from logiflow.contract import ecs
from logiflow.contract import index_names as names
from logiflow.contract.kafka_records import HEADER_SOURCE_ID, source_document_id
from logiflow.errors import ServiceUnreachableError
from logiflow.io.kafka_client import quiet_librdkafka_config
from logiflow.io.kafka_diagnosis import check_kafka, invisible_topic

KAFKA_TIMEOUT_SECONDS = 15.0
# Range aggregation buckets per request: well under Elasticsearch's search.max_buckets.
_SPANS_PER_REQUEST = 5000
# Ids per ids query: well under Elasticsearch's index.max_terms_count (65,536).
_IDS_PER_REQUEST = 10_000
# A short range larger than this is not read back from Kafka (its shortfall stays reported).
MAX_RECORDS_READ_BACK = 1_000_000


def partition_logs(
    kafka: KafkaSettings, since: datetime | None = None, until: datetime | None = None
) -> list[PartitionLog]:
    """Every partition of the logs topic: its log start and end offsets, and the audited window
    (all offsets, or those whose record time is in [since, until))."""
    topic = kafka.logs_topic
    if topic not in check_kafka(kafka):
        raise invisible_topic(kafka, "kafka.logs_topic", topic)
    # Never subscribes nor commits: the group id is only what librdkafka requires.
    consumer = Consumer(
        quiet_librdkafka_config(kafka, {"group.id": "logiflow-audit", "log_level": 0})
    )
    try:
        metadata = consumer.list_topics(topic, timeout=KAFKA_TIMEOUT_SECONDS)
        logs = []
        for partition in sorted(metadata.topics[topic].partitions):
            tp = TopicPartition(topic, partition)
            start, end = consumer.get_watermark_offsets(
                tp, timeout=KAFKA_TIMEOUT_SECONDS, cached=False
            )
            logs.append(
                PartitionLog(
                    topic=topic,
                    partition=partition,
                    log_start=start,
                    log_end=end,
                    window_start=_offset_at(consumer, tp, since, 0, end),
                    window_end=_offset_at(consumer, tp, until, end, end),
                )
            )
        return logs
    except KafkaException as exc:
        raise ServiceUnreachableError("Kafka", kafka.bootstrap_servers, str(exc)) from exc
    finally:
        consumer.close()


def _offset_at(
    consumer: Consumer, tp: TopicPartition, when: datetime | None, default: int, end: int
) -> int:
    """The first offset whose record time is ``when`` or later (``end`` when none is)."""
    if when is None:
        return default
    query = TopicPartition(tp.topic, tp.partition, int(when.timestamp() * 1000))
    [found] = consumer.offsets_for_times([query], timeout=KAFKA_TIMEOUT_SECONDS)
    return found.offset if found.offset >= 0 else end


def dead_letter_partitions(kafka: KafkaSettings, replay_group: str) -> list[DeadLetterPartition]:
    """Each partition of the dead-letter topic and the offset ``replay_group`` committed in it;
    none when no dead-letter topic is configured or the ETL has not created it yet."""
    topic = kafka.dead_letter_topic
    if not topic:
        return []
    # Reads the group's committed offsets; never joins the group nor commits.
    consumer = Consumer(
        quiet_librdkafka_config(
            kafka, {"group.id": replay_group, "log_level": 0, "enable.auto.commit": False}
        )
    )
    try:
        described = consumer.list_topics(topic, timeout=KAFKA_TIMEOUT_SECONDS).topics.get(topic)
        if described is None or described.error is not None:
            return []
        wanted = [TopicPartition(topic, p) for p in sorted(described.partitions)]
        committed = consumer.committed(wanted, timeout=KAFKA_TIMEOUT_SECONDS)
        held = []
        for tp in committed:
            start, end = consumer.get_watermark_offsets(
                TopicPartition(topic, tp.partition), timeout=KAFKA_TIMEOUT_SECONDS, cached=False
            )
            replayed = None if tp.offset == OFFSET_INVALID else tp.offset
            held.append(DeadLetterPartition(topic, tp.partition, start, end, replayed))
        return held
    except KafkaException as exc:
        raise ServiceUnreachableError("Kafka", kafka.bootstrap_servers, str(exc)) from exc
    finally:
        consumer.close()


def refresh(es: Elasticsearch, prefix: str) -> None:
    """Make every write so far searchable: the audit counts all of it, not the last refresh."""
    es.indices.refresh(
        index=",".join(_patterns(prefix, names.EVENTS, names.DEAD_LETTER, names.BATCHES)),
        allow_no_indices=True,
        ignore_unavailable=True,
    )


def accounting(es: Elasticsearch, prefix: str) -> Iterator[AuditedBatch]:
    """Every accounting document of the events query."""
    index = names.batches_index(prefix)
    if not es.indices.exists(index=index):
        return
    for hit in helpers.scan(
        es, index=index, query={"query": {"term": {names.BATCH_QUERY: names.EVENTS_QUERY}}}
    ):
        yield AuditedBatch.from_document(hit["_source"])


def count_documents(es: Elasticsearch, prefix: str, spans: Iterable[Span]) -> dict[Span, int]:
    """Events + dead letters whose Kafka coordinates fall in each span."""
    by_partition: dict[tuple[str, int], list[Span]] = {}
    for span in spans:
        by_partition.setdefault((span.topic, span.partition), []).append(span)
    counts: dict[Span, int] = {}
    for (topic, partition), group in sorted(by_partition.items()):
        for start in range(0, len(group), _SPANS_PER_REQUEST):
            chunk = group[start : start + _SPANS_PER_REQUEST]
            counts.update(_count_chunk(es, prefix, topic, partition, chunk))
    return counts


def _count_chunk(
    es: Elasticsearch, prefix: str, topic: str, partition: int, spans: list[Span]
) -> dict[Span, int]:
    response = es.search(
        index=",".join(_patterns(prefix, names.EVENTS, names.DEAD_LETTER)),
        size=0,
        track_total_hits=False,
        query={
            "bool": {
                "filter": [
                    {"term": {ecs.KAFKA_TOPIC: topic}},
                    {"term": {ecs.KAFKA_PARTITION: partition}},
                ]
            }
        },
        aggs={
            "spans": {
                "range": {
                    "field": ecs.KAFKA_OFFSET,
                    "keyed": True,
                    "ranges": [
                        {"key": str(i), "from": s.first, "to": s.last + 1}
                        for i, s in enumerate(spans)
                    ],
                }
            }
        },
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    buckets = (response.get("aggregations") or {}).get("spans", {}).get("buckets", {})
    return {s: int(buckets.get(str(i), {}).get("doc_count", 0)) for i, s in enumerate(spans)}


def _patterns(prefix: str, *kinds: names.Kind) -> list[str]:
    return [names.index_pattern(prefix, kind) for kind in kinds]


def resent_later(
    kafka: KafkaSettings, es: Elasticsearch, prefix: str, spans: Iterable[Span]
) -> dict[Span, int]:
    """Per span, its records whose document holds another record's offsets: records that carry
    a source identity (``contract.kafka_records``) which a later record carried again, as a
    restarted shipper does with the lines it had not yet recorded. Reads the spans' records
    back from the broker; spans over ``MAX_RECORDS_READ_BACK`` records are skipped."""
    spans = [span for span in spans if span.size <= MAX_RECORDS_READ_BACK]
    if not spans:  # the usual case: every range holds its documents, nothing to read back
        return {}
    consumer = Consumer(
        quiet_librdkafka_config(
            kafka, {"group.id": "logiflow-audit", "log_level": 0, "enable.auto.commit": False}
        )
    )
    try:
        return {
            span: _rewritten_elsewhere(es, prefix, span, _document_ids(consumer, span))
            for span in spans
        }
    except KafkaException as exc:
        raise ServiceUnreachableError("Kafka", kafka.bootstrap_servers, str(exc)) from exc
    finally:
        consumer.close()


def _document_ids(consumer: Consumer, span: Span) -> list[str]:
    """The document id of each record of ``span`` that carries a source identity."""
    consumer.assign([TopicPartition(span.topic, span.partition, span.first)])
    ids: list[str] = []
    next_offset = span.first
    while next_offset <= span.last:
        messages = consumer.consume(10_000, timeout=KAFKA_TIMEOUT_SECONDS)
        if not messages:
            break  # deleted by retention meanwhile: the shortfall stays reported
        for message in messages:
            offset = message.offset()
            if message.error() is not None or offset is None or offset > span.last:
                continue
            next_offset = offset + 1
            source_id = _first_header(message.headers(), HEADER_SOURCE_ID)
            if source_id is not None:
                key = message.key()
                text_key = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
                ids.append(source_document_id(span.topic, text_key, source_id))
    return ids


def _first_header(headers: object, name: str) -> str | None:
    # confluent-kafka gives a list of (name, value) pairs, or None without headers.
    for header, value in headers if isinstance(headers, list) else ():
        if header == name and value is not None:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return None


def _rewritten_elsewhere(es: Elasticsearch, prefix: str, span: Span, ids: list[str]) -> int:
    """Records of ``span`` that share their document with another record: twice in the span,
    or whose document carries offsets outside it."""
    unique = sorted(set(ids))
    twice_inside = len(ids) - len(unique)
    inside = [
        {"term": {ecs.KAFKA_TOPIC: span.topic}},
        {"term": {ecs.KAFKA_PARTITION: span.partition}},
        {"range": {ecs.KAFKA_OFFSET: {"gte": span.first, "lte": span.last}}},
    ]
    moved = 0
    for start in range(0, len(unique), _IDS_PER_REQUEST):
        chunk = unique[start : start + _IDS_PER_REQUEST]
        response = es.count(
            index=",".join(_patterns(prefix, names.EVENTS, names.DEAD_LETTER)),
            query={
                "bool": {
                    "filter": [{"ids": {"values": chunk}}],
                    "must_not": [{"bool": {"filter": inside}}],
                }
            },
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        moved += int(response["count"])
    return twice_inside + moved
