"""templates/elasticsearch: ECK cluster with default TLS, least-privilege roles and users."""

from __future__ import annotations

import base64

import yaml
from chart_render import PROFILES, Doc, one, render

NAME = "lf-logiflow"


def test_default_tls_and_file_realm_users(docs: list[Doc]) -> None:
    es = one(docs, "Elasticsearch", NAME)
    assert es["apiVersion"] == "elasticsearch.k8s.elastic.co/v1"
    assert "http" not in es["spec"], "ECK's default self-signed TLS must stay on"
    assert es["spec"]["auth"]["roles"] == [{"secretName": f"{NAME}-es-roles"}]
    assert es["spec"]["auth"]["fileRealm"] == [
        {"secretName": f"{NAME}-es-etl-user"},
        {"secretName": f"{NAME}-es-setup-user"},
        # Elasticsearch's exporter (monitoring.elasticsearchExporter), cluster `monitor` only.
        {"secretName": f"{NAME}-es-monitor-user"},
        {"secretName": f"{NAME}-kibana-import-user"},
        {"secretName": f"{NAME}-kibana-viewer-user"},
    ]
    for ref in es["spec"]["auth"]["fileRealm"]:
        secret = one(docs, "Secret", ref["secretName"])
        assert secret["type"] == "kubernetes.io/basic-auth"
        assert len(base64.b64decode(secret["data"]["password"])) == 32


def test_roles_are_scoped_to_logiflow_indices(docs: list[Doc]) -> None:
    roles = yaml.safe_load(one(docs, "Secret", f"{NAME}-es-roles")["stringData"]["roles.yml"])
    writer, setup = roles["logiflow_writer"], roles["logiflow_setup"]
    assert writer["cluster"] == ["monitor"]
    # Every LogiFlow index, and the dead letters backfill may delete (nothing else).
    assert [i["names"] for i in writer["indices"]] == [["logiflow-*"], ["logiflow-deadletter-*"]]
    assert "indices" not in setup, "setup writes templates and policies, never an index"
    for role in (writer, setup):
        assert "all" not in role["cluster"] and "manage" not in role["cluster"]
    assert set(setup["cluster"]) == {"monitor", "manage_index_templates", "manage_ilm"}
    prefixed = render("--set", "config.elasticsearch.indexPrefix=acme")
    roles = yaml.safe_load(one(prefixed, "Secret", f"{NAME}-es-roles")["stringData"]["roles.yml"])
    assert [i["names"] for i in roles["logiflow_writer"]["indices"]] == [
        ["acme-*"], ["acme-deadletter-*"],
    ]  # fmt: skip


def test_existing_user_secret_is_referenced_not_created() -> None:
    docs = render("--set", "elasticsearch.users.etlExistingSecret=my-etl-creds")
    es = one(docs, "Elasticsearch", NAME)
    assert {"secretName": "my-etl-creds"} in es["spec"]["auth"]["fileRealm"]
    secrets = {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}
    assert "my-etl-creds" not in secrets


def test_kind_needs_no_privileged_init_container() -> None:
    es = one(render(*PROFILES["kind"]), "Elasticsearch", NAME)
    (node_set,) = es["spec"]["nodeSets"]
    assert node_set["count"] == 1
    assert node_set["config"]["node.store.allow_mmap"] is False
    assert "initContainers" not in node_set["podTemplate"]["spec"]


# Kibana feature each saved-object type is written under (Kibana 8.19's feature registry: the
# "_v2" features replace the deprecated dashboard/visualize/discover ones).
FEATURE_OF_TYPE = {
    "index-pattern": "indexPatterns",
    "lens": "visualize_v2",
    "visualization": "visualize_v2",
    "dashboard": "dashboard_v2",
    "search": "discover_v2",
    "tag": "savedObjectsTagging",
}


def test_kibana_roles_are_feature_privileges_in_one_space(docs: list[Doc]) -> None:
    from chart_render import CHART

    from logiflow.io.kibana_import import read_saved_objects

    roles = yaml.safe_load(one(docs, "Secret", f"{NAME}-es-roles")["stringData"]["roles.yml"])
    importer, viewer = roles["logiflow_kibana_import"], roles["logiflow_viewer"]
    # The importer writes exactly the types the saved-objects file holds, and nothing in
    # Elasticsearch itself: no cluster or index privilege, no base privilege, no admin role.
    assert set(importer) == {"applications"}
    (grant,) = importer["applications"]
    assert grant["application"] == "kibana-.kibana"
    assert grant["resources"] == ["space:default"]
    types = {o["type"] for o in read_saved_objects(CHART / "files/kibana/saved-objects.ndjson")}
    assert sorted(grant["privileges"]) == sorted(
        {f"feature_{FEATURE_OF_TYPE[t]}.all" for t in types}
    )
    # The viewer reads: LogiFlow's indices, Dashboards and Discover in the same space.
    assert set(viewer) == {"indices", "applications"}
    assert viewer["indices"] == [
        {"names": ["logiflow-*"], "privileges": ["read", "view_index_metadata"]}
    ]
    (view,) = viewer["applications"]
    assert view["resources"] == ["space:default"]
    assert all(p.startswith("feature_") and p.endswith(".read") for p in view["privileges"])
    assert "feature_dashboard_v2.read" in view["privileges"]


def test_kibana_users_in_the_file_realm(docs: list[Doc]) -> None:
    for secret, username, role in (
        (f"{NAME}-kibana-import-user", "logiflow-kibana-import", "logiflow_kibana_import"),
        (f"{NAME}-kibana-viewer-user", "logiflow-viewer", "logiflow_viewer"),
    ):
        data = one(docs, "Secret", secret)["data"]
        assert base64.b64decode(data["username"]).decode() == username
        assert base64.b64decode(data["roles"]).decode() == role
    docs = render("--set", "elasticsearch.users.kibanaViewerExistingSecret=my-viewer")
    assert {"secretName": "my-viewer"} in one(docs, "Elasticsearch", NAME)["spec"]["auth"][
        "fileRealm"
    ]
    assert "my-viewer" not in {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}
