"""A real Elasticsearch node with security on, for the sink's refusals (401, 403) and 413s.

The integ-test-zip distribution the embedded default runs carries the ``x-pack-core`` and
``x-pack-security`` modules already; the local node only turns security off. This node turns it
on: single node, HTTP without TLS on 127.0.0.1 (the transport port is never joined), users in
the file realm made with the distribution's own ``elasticsearch-users`` tool, roles in
``roles.yml``. The native realm is out of reach: its ``.security`` index needs the
``analysis-common`` module, which this distribution lacks. The node re-reads both files every
second, so a test can change a password or narrow a role while the job runs. Extra static node
settings (a small ``http.max_content_length``) go in ``node_settings``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml
from elasticsearch import Elasticsearch
from rich.console import Console

from logiflow.config import LocalSettings
from logiflow.local import artifacts
from logiflow.local.elasticsearch_server import ElasticsearchServer
from logiflow.local.process import free_port, java_home

ADMIN_USER = "logiflow-test-admin"
# How often the node re-reads the users and roles files (the default is 5 s).
RELOAD_INTERVAL = "1s"


class SecuredElasticsearchServer(ElasticsearchServer):
    """The local node with security on and one file-realm superuser (``admin_password``)."""

    def __init__(
        self, settings: LocalSettings, console: Console, node_settings: dict[str, str]
    ) -> None:
        secured = {
            **node_settings,
            "xpack.security.enabled": "true",
            "xpack.security.http.ssl.enabled": "false",
            "xpack.security.transport.ssl.enabled": "false",
            "resource.reload.interval.high": RELOAD_INTERVAL,
        }
        super().__init__(settings, console, node_settings=secured)
        self.admin_password = secrets.token_urlsafe(16)

    @property
    def config_dir(self) -> Path:
        return self.dir / "config"

    def prepare(self) -> tuple[list[str], dict[str, str], Path]:
        command, env, logs = super().prepare()
        self.users_tool("useradd", ADMIN_USER, "-p", self.admin_password, "-r", "superuser")
        return command, env, logs

    def users_tool(self, *args: str) -> None:
        """The distribution's ``elasticsearch-users`` on this node's config directory."""
        home = artifacts.ensure_elasticsearch(self.settings, self.console).path
        env = {
            **os.environ,
            "ES_JAVA_HOME": str(java_home("ES_JAVA_HOME", "JAVA_HOME")),
            "ES_PATH_CONF": str(self.config_dir),
        }
        result = subprocess.run(
            [str(home / "bin" / "elasticsearch-users"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"elasticsearch-users {args[0]}: {result.stderr}"

    def healthy(self) -> bool:
        try:
            health = requests.get(
                f"{self.address}/_cluster/health",
                auth=(ADMIN_USER, self.admin_password),
                timeout=2.0,
            ).json()
        except (requests.RequestException, ValueError):
            return False
        return health.get("status") in ("yellow", "green") and (
            health.get("cluster_name") == self.cluster_name
        )


@dataclass
class SecuredNode:
    """The running node and an admin client for the test's own set-up and read-back."""

    server: SecuredElasticsearchServer
    admin: Elasticsearch

    @property
    def url(self) -> str:
        return self.server.address

    roles: dict[str, dict[str, Any]] = field(default_factory=dict)

    def put_role(self, name: str, definition: dict[str, Any]) -> None:
        """Add or replace a role in ``roles.yml`` (``cluster``, ``indices``, as the role API
        takes them); the node applies it within a second or two (see ``wait_until``)."""
        self.roles[name] = definition
        text = yaml.safe_dump(self.roles, sort_keys=False)
        (self.server.config_dir / "roles.yml").write_text(text, encoding="utf-8")

    def add_user(self, name: str, roles: list[str]) -> str:
        """A file-realm user holding ``roles``; its (random) password."""
        password = secrets.token_urlsafe(16)
        self.server.users_tool("useradd", name, "-p", password, "-r", ",".join(roles))
        return password

    def set_password(self, name: str) -> str:
        """A new (random) password for ``name``; the old one is refused from then on."""
        password = secrets.token_urlsafe(16)
        self.server.users_tool("passwd", name, "-p", password)
        return password

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
        """Until the node has re-read its files and ``condition()`` holds."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"the node did not apply {what} in {timeout}s"
            time.sleep(0.5)

    def authenticates(self, name: str, password: str) -> bool:
        response = requests.get(
            f"{self.url}/_security/_authenticate", auth=(name, password), timeout=10
        )
        return response.status_code == 200


@contextmanager
def secured_node(
    state_dir: Path, node_settings: dict[str, str], *, timeout: float = 180.0
) -> Iterator[SecuredNode]:
    """Start the secured node (its own state dir and free ports), yield it, stop it."""
    settings = LocalSettings(
        state_dir=state_dir, elasticsearch_port=free_port(), elasticsearch_heap="512m"
    )
    server = SecuredElasticsearchServer(settings, Console(stderr=True), node_settings)
    process = server.launch(foreground=True)
    try:
        deadline = time.monotonic() + timeout
        while not server.healthy():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"the secured Elasticsearch node did not start; see {server.console_file}"
                )
            time.sleep(0.5)
        admin = Elasticsearch(
            server.address, basic_auth=(ADMIN_USER, server.admin_password), request_timeout=30
        )
        try:
            yield SecuredNode(server, admin)
        finally:
            admin.close()
    finally:
        server.stop(grace=10)
