"""Server-side dry-run of every profile against a real kube-apiserver (with etcd), both built
from the Go module proxy by `make tools` (tests/chart/apiserver/build.sh).

The API server runs on loopback only, with a static admin token. The pinned CRDs from
../shared/crds are created for real; then every rendered object of every profile is POSTed with
dryRun=All and fieldValidation=Strict, so the server's own validation, structural-schema checks,
defaulting and admission (PodSecurity "restricted" enforced on the namespace) accept or reject
it exactly as on a cluster. No controllers run: nothing is reconciled.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import yaml
from chart_render import NAMESPACE, PROFILES, render


def dry_run(dynamic: Any, doc: dict[str, Any]) -> None:
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    for _ in range(30):
        try:
            resource = dynamic.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
            break
        except ResourceNotFoundError:
            dynamic.resources.invalidate_cache()
            time.sleep(1)
    else:
        raise AssertionError(f"the server serves no {doc['apiVersion']} {doc['kind']}")
    resource.create(
        body=doc,
        namespace=NAMESPACE if resource.namespaced else None,
        query_params=[("dryRun", "All"), ("fieldValidation", "Strict")],
    )


def test_every_profile_is_accepted_by_a_real_apiserver(api: Any) -> None:
    for profile, args in PROFILES.items():
        docs = render(*args)
        kinds = {d["kind"] for d in docs}
        assert {"Kafka", "Elasticsearch", "Kibana", "SparkApplication", "Pod"} <= kinds
        for doc in docs:
            try:
                dry_run(api, doc)
            except Exception as exc:
                raise AssertionError(
                    f"{profile}: {doc['kind']}/{doc['metadata']['name']} rejected: {exc}"
                ) from exc


def test_the_apiserver_rejects_what_a_cluster_would(api: Any) -> None:
    """Strict field validation and the restricted Pod Security admission are really on."""
    from kubernetes.dynamic.exceptions import DynamicApiError

    docs = render()
    kafka = yaml.safe_load(yaml.safe_dump(next(d for d in docs if d["kind"] == "Kafka")))
    kafka["spec"]["kafka"]["listners"] = []
    with pytest.raises(DynamicApiError, match="listners"):
        dry_run(api, kafka)
    pod = yaml.safe_load(yaml.safe_dump(next(d for d in docs if d["kind"] == "Pod")))
    pod["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    with pytest.raises(DynamicApiError, match="allowPrivilegeEscalation"):
        dry_run(api, pod)
