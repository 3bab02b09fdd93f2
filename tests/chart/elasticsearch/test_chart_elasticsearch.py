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
    ]
    for ref in es["spec"]["auth"]["fileRealm"]:
        secret = one(docs, "Secret", ref["secretName"])
        assert secret["type"] == "kubernetes.io/basic-auth"
        assert len(base64.b64decode(secret["data"]["password"])) == 32


def test_roles_are_scoped_to_logiflow_indices(docs: list[Doc]) -> None:
    roles = yaml.safe_load(one(docs, "Secret", f"{NAME}-es-roles")["stringData"]["roles.yml"])
    writer, setup = roles["logiflow_writer"], roles["logiflow_setup"]
    assert writer["cluster"] == ["monitor"]
    for role in (writer, setup):
        assert [i["names"] for i in role["indices"]] == [["logiflow-*"]]
        assert "all" not in role["cluster"] and "manage" not in role["cluster"]
    assert set(setup["cluster"]) == {"monitor", "manage_index_templates", "manage_ilm"}
    prefixed = render("--set", "config.elasticsearch.indexPrefix=acme")
    roles = yaml.safe_load(one(prefixed, "Secret", f"{NAME}-es-roles")["stringData"]["roles.yml"])
    assert roles["logiflow_writer"]["indices"][0]["names"] == ["acme-*"]


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
