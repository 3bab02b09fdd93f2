"""The real kube-apiserver (with etcd) the tests of this folder share, one per pytest session.

Both are built from the Go module proxy by `make tools` (tests/chart/apiserver/build.sh). The API
server runs on loopback only, with a static admin token; the pinned CRDs from ../shared/crds are
created for real and the release namespace enforces the restricted Pod Security Standard. No
controllers run: nothing is reconciled, so tests set status themselves.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import NAMESPACE, tool
from chart_schemas import crd_documents


@dataclass(frozen=True)
class ApiServer:
    """Where the test API server listens and how to authenticate to it."""

    host: str
    token: str
    ca_file: Path
    api_client: Any

    def write_kubeconfig(self, path: Path) -> Path:
        """A kubeconfig for this server, as `kubectl` and `logiflow status` read it."""
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "test",
                            "cluster": {
                                "server": self.host,
                                "certificate-authority": str(self.ca_file),
                            },
                        }
                    ],
                    "users": [{"name": "admin", "user": {"token": self.token}}],
                    "contexts": [{"name": "test", "context": {"cluster": "test", "user": "admin"}}],
                    "current-context": "test",
                }
            )
        )
        return path


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


@pytest.fixture(scope="session")
def apiserver(tmp_path_factory: pytest.TempPathFactory, crd_root: Path) -> Iterator[ApiServer]:
    from kubernetes import client

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
        yield ApiServer(config.host, token, work / "certs" / "apiserver.crt", api_client)
    finally:
        for process in (apiserver, etcd):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs.values():
            log.close()


@pytest.fixture(scope="session")
def api(apiserver: ApiServer) -> Any:
    """A dynamic client of the test API server."""
    from kubernetes.dynamic import DynamicClient

    return DynamicClient(apiserver.api_client)
