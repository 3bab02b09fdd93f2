"""templates/kafka: KRaft Kafka with node pools, TLS + SCRAM listener, topics and ACL'd users."""

from __future__ import annotations

from chart_render import Doc, find, one, render

from logiflow.ingest.replay import DEFAULT_GROUP

CLUSTER = "lf-logiflow"


def test_kraft_cluster_with_tls_scram_listener(docs: list[Doc]) -> None:
    kafka = one(docs, "Kafka", CLUSTER)
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1"
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True
    assert listener["authentication"]["type"] == "scram-sha-512"
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    assert kafka["spec"]["kafka"]["version"].startswith(("4.2.", "4.3."))


def test_node_pools_carry_the_cluster_label(docs: list[Doc]) -> None:
    pools = find(docs, "KafkaNodePool")
    assert pools
    for pool in pools:
        assert pool["metadata"]["labels"]["strimzi.io/cluster"] == CLUSTER
    roles = {r for p in pools for r in p["spec"]["roles"]}
    assert roles == {"controller", "broker"}


def test_kind_profile_is_one_dual_role_node() -> None:
    from chart_render import PROFILES

    (pool,) = find(render(*PROFILES["kind"]), "KafkaNodePool")
    assert pool["spec"]["replicas"] == 1
    assert pool["spec"]["roles"] == ["controller", "broker"]


# Profiles that switch anomaly detection on, which adds the minute-counts topic and its ACL.
ANOMALY_PROFILES = {"staging"}
MINUTE_COUNTS = "logiflow-minute-counts"


def test_topics_from_values(docs: list[Doc], profile: str) -> None:
    topics = {t["metadata"]["name"]: t for t in find(docs, "KafkaTopic")}
    anomaly = {MINUTE_COUNTS} if profile in ANOMALY_PROFILES else set()
    assert set(topics) == {"logiflow-logs", "logiflow-deadletter"} | anomaly
    for topic in topics.values():
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == CLUSTER
        assert topic["spec"]["config"]["retention.ms"] > 0
    custom = render(
        "--set", "kafka.topics.logs.partitions=12", "--set", "kafka.topics.logs.retentionMs=3600000"
    )
    logs = one(custom, "KafkaTopic", "logiflow-logs")
    assert logs["spec"]["partitions"] == 12
    assert logs["spec"]["config"]["retention.ms"] == 3600000


def acls(user: Doc) -> set[tuple[str, str, str, str]]:
    return {
        (a["resource"]["type"], a["resource"]["name"], a["resource"]["patternType"], op)
        for a in user["spec"]["authorization"]["acls"]
        for op in a["operations"]
    }


def test_shipper_may_only_write_logs(docs: list[Doc]) -> None:
    shipper = one(docs, "KafkaUser", f"{CLUSTER}-shipper")
    assert shipper["metadata"]["labels"]["strimzi.io/cluster"] == CLUSTER
    assert shipper["spec"]["authentication"]["type"] == "scram-sha-512"
    assert acls(shipper) == {
        ("topic", "logiflow-logs", "literal", "Write"),
        ("topic", "logiflow-logs", "literal", "Describe"),
    }


def test_etl_reads_logs_in_its_group_prefix_and_writes_dead_letters(
    docs: list[Doc], profile: str
) -> None:
    etl = one(docs, "KafkaUser", f"{CLUSTER}-etl")
    anomaly = (
        {("topic", MINUTE_COUNTS, "literal", op) for op in ("Read", "Write", "Describe")}
        if profile in ANOMALY_PROFILES
        else set()
    )
    assert acls(etl) - anomaly == {
        ("topic", "logiflow-logs", "literal", "Read"),
        ("topic", "logiflow-logs", "literal", "Describe"),
        ("topic", "logiflow-deadletter", "literal", "Write"),
        ("topic", "logiflow-deadletter", "literal", "Describe"),
        ("group", "logiflow-etl", "prefix", "Read"),
        ("group", "logiflow-etl", "prefix", "Describe"),
    }
    assert anomaly <= acls(etl)


def test_replay_reads_dead_letters_in_its_own_group_and_writes_logs(docs: list[Doc]) -> None:
    replay = one(docs, "KafkaUser", f"{CLUSTER}-replay")
    assert replay["spec"]["authentication"]["type"] == "scram-sha-512"
    assert acls(replay) == {
        ("topic", "logiflow-deadletter", "literal", "Read"),
        ("topic", "logiflow-deadletter", "literal", "Describe"),
        ("topic", "logiflow-logs", "literal", "Write"),
        ("topic", "logiflow-logs", "literal", "Describe"),
        # replay-dead-letters' default --group; the prefix admits variants of it.
        ("group", DEFAULT_GROUP, "prefix", "Read"),
        ("group", DEFAULT_GROUP, "prefix", "Describe"),
    }
