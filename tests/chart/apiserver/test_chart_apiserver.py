"""Server-side dry-run of every profile against a real kube-apiserver (with etcd), both built
from the Go module proxy by `make tools` (tests/chart/apiserver/build.sh).

The API server runs on loopback only, with a static admin token. The pinned CRDs from
../shared/crds are created for real; then every rendered object of every profile is POSTed with
dryRun=All and fieldValidation=Strict, so the server's own validation, structural-schema checks,
defaulting and admission (PodSecurity "restricted" enforced on the namespace) accept or reject
it exactly as on a cluster. No controllers run: nothing is reconciled.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import NAMESPACE, PROFILES, render, tool
from chart_schemas import crd_documents


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Any, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # the server is still starting
            last = exc
        time.sleep(1)
    raise AssertionError(f"{what} not ready after {timeout:.0f}s: {last}")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, crd_root: Path) -> Iterator[Any]:
    from kubernetes import client
    from kubernetes.dynamic import DynamicClient

    work = tmp_path_factory.mktemp("apiserver")
    etcd_port, etcd_peer, api_port = free_port(), free_port(), free_port()
    token = secrets.token_hex(16)
    (work / "tokens.csv").write_text(f'{token},admin,admin,"system:masters"\n')
    subprocess.run(
        ["openssl", "genrsa", "-out", str(work / "sa.key"), "2048"], check=True, capture_output=True
    )
    logs = {name: (work / f"{name}.log").open("w") for name in ("etcd", "apiserver")}
    etcd = subprocess.Popen(
        [
            tool("etcd"),
            "--data-dir",
            work / "etcd",
            "--listen-client-urls",
            f"http://127.0.0.1:{etcd_port}",
            "--advertise-client-urls",
            f"http://127.0.0.1:{etcd_port}",
            "--listen-peer-urls",
            f"http://127.0.0.1:{etcd_peer}",
            "--initial-advertise-peer-urls",
            f"http://127.0.0.1:{etcd_peer}",
            "--initial-cluster",
            f"default=http://127.0.0.1:{etcd_peer}",
        ],
        stdout=logs["etcd"],
        stderr=subprocess.STDOUT,
    )
    apiserver = subprocess.Popen(
        [
            tool("kube-apiserver"),
            "--etcd-servers",
            f"http://127.0.0.1:{etcd_port}",
            "--bind-address",
            "127.0.0.1",
            "--advertise-address",
            "127.0.0.1",
            "--secure-port",
            str(api_port),
            "--cert-dir",
            work / "certs",
            "--token-auth-file",
            work / "tokens.csv",
            "--authorization-mode",
            "RBAC",
            "--service-account-issuer",
            "https://kubernetes.default.svc",
            "--service-account-key-file",
            work / "sa.key",
            "--service-account-signing-key-file",
            work / "sa.key",
            "--service-cluster-ip-range",
            "10.96.0.0/16",
            # No controller-manager creates "default" ServiceAccounts here.
            "--disable-admission-plugins",
            "ServiceAccount",
        ],
        stdout=logs["apiserver"],
        stderr=subprocess.STDOUT,
    )
    try:
        config = client.Configuration()
        config.host = f"https://127.0.0.1:{api_port}"
        config.api_key = {"authorization": f"Bearer {token}"}
        wait_for(lambda: (work / "certs" / "apiserver.crt").exists(), "apiserver certificate")
        config.ssl_ca_cert = str(work / "certs" / "apiserver.crt")
        api_client = client.ApiClient(config)
        wait_for(lambda: client.VersionApi(api_client).get_code().git_version, "kube-apiserver")
        dynamic = DynamicClient(api_client)
        core = client.CoreV1Api(api_client)
        core.create_namespace(
            {
                "metadata": {
                    "name": NAMESPACE,
                    "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
                }
            }
        )
        extensions = client.ApiextensionsV1Api(api_client)
        for crd in crd_documents(crd_root):
            extensions.create_custom_resource_definition(crd)
        for crd in crd_documents(crd_root):
            name = crd["metadata"]["name"]
            wait_for(
                lambda n=name: any(
                    c.type == "Established" and c.status == "True"
                    for c in extensions.read_custom_resource_definition(n).status.conditions or []
                ),
                f"CRD {name}",
            )
        yield dynamic
    finally:
        for process in (apiserver, etcd):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs.values():
            log.close()


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
