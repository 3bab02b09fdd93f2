"""The embedded default's Elasticsearch: one node from the integ-test-zip distribution.

Security is off (it listens on 127.0.0.1 only), discovery is single-node and there is no bundled
JDK: it uses the JDK 17 on PATH (Elasticsearch 8.19 supports 17; ``ES_JAVA_HOME`` or
``JAVA_HOME`` override). Configuration, data and logs live under ``<local.state_dir>/
elasticsearch``. Elasticsearch refuses to run as root; when we are root (CI containers) it is
started in a user namespace where it sees an ordinary uid while keeping our file access.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from rich.console import Console

from logiflow.config import LocalSettings
from logiflow.local import artifacts
from logiflow.local.process import (
    LOOPBACK,
    SMALL_MACHINE_JVM_OPTIONS,
    LocalServerError,
    ServerName,
    ServerProcess,
    free_port,
    java_home,
)

# Elasticsearch refuses uid 0; inside the user namespace it runs as this (unprivileged) uid.
_NAMESPACE_UID = 1000

_userns_ok: bool | None = None


def _user_namespace_prefix() -> list[str]:
    """Command prefix that makes Elasticsearch see a non-root uid when we are root."""
    global _userns_ok
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    prefix = [
        unshare or "unshare", "--user",
        f"--map-user={_NAMESPACE_UID}", f"--map-group={_NAMESPACE_UID}", "--",
    ]  # fmt: skip
    if _userns_ok is None:
        _userns_ok = (
            unshare is not None
            and subprocess.run([*prefix, "true"], capture_output=True, check=False).returncode == 0
        )
    if not _userns_ok:
        raise LocalServerError(
            "Elasticsearch refuses to run as root and user namespaces are unavailable here "
            "(unshare --user failed): run logiflow as a non-root user"
        )
    return prefix


class ElasticsearchServer(ServerProcess):
    name: ServerName = "elasticsearch"
    display = "Elasticsearch"

    def __init__(
        self,
        settings: LocalSettings,
        console: Console,
        *,
        node_settings: dict[str, str] | None = None,
    ) -> None:
        """``node_settings`` are added to (or replace) elasticsearch.yml: static node settings
        such as a tiny ``thread_pool.write.queue_size``, which the outage tests use to get real
        429s from the node."""
        super().__init__(settings, console)
        self.node_settings = dict(node_settings or {})

    @property
    def address(self) -> str:
        return f"http://{LOOPBACK}:{self.settings.elasticsearch_port}"

    @property
    def ports(self) -> list[int]:
        return [self.settings.elasticsearch_port]

    @property
    def log_file(self) -> Path:
        return self.dir / "logs" / f"{self.cluster_name}.log"

    @property
    def cluster_name(self) -> str:
        # Unique per state dir: the health check refuses a different node on a reused port.
        digest = hashlib.sha1(self.marker.encode()).hexdigest()[:10]
        return f"logiflow-local-{digest}"

    def prepare(self) -> tuple[list[str], dict[str, str], Path]:
        home = artifacts.ensure_elasticsearch(self.settings, self.console).path
        conf = self.dir / "config"
        logs = self.dir / "logs"
        tmp = self.dir / "tmp"
        for path in (conf / "jvm.options.d", self.dir / "data", logs, tmp):
            path.mkdir(parents=True, exist_ok=True)
        for name in ("log4j2.properties", "roles.yml", "role_mapping.yml", "users", "users_roles"):
            shutil.copyfile(home / "config" / name, conf / name)
        # The distribution's GC log goes to a relative path; our logs live elsewhere.
        jvm_options = (home / "config" / "jvm.options").read_text(encoding="utf-8")
        kept = [line for line in jvm_options.splitlines() if "-Xlog:gc" not in line]
        (conf / "jvm.options").write_text("\n".join(kept) + "\n", encoding="utf-8")
        heap = self.settings.elasticsearch_heap
        (conf / "jvm.options.d" / "logiflow.options").write_text(
            "\n".join([f"-Xms{heap}", f"-Xmx{heap}", *SMALL_MACHINE_JVM_OPTIONS]) + "\n",
            encoding="utf-8",
        )
        settings = {
            "cluster.name": self.cluster_name,
            "node.name": "logiflow-local",
            "network.host": LOOPBACK,
            "http.port": str(self.settings.elasticsearch_port),
            # Nothing connects to the transport port of a single node; any free one will do.
            "transport.port": str(free_port()),
            "discovery.type": "single-node",
            # Loopback only, no other users: TLS and auth would only get in the way here.
            "xpack.security.enabled": "false",
            # Developer disks are often fuller than the production defaults allow.
            "cluster.routing.allocation.disk.watermark.low": "97%",
            "cluster.routing.allocation.disk.watermark.high": "98%",
            "cluster.routing.allocation.disk.watermark.flood_stage": "99%",
            "action.destructive_requires_name": "false",
            **self.node_settings,
        }
        (conf / "elasticsearch.yml").write_text(
            "".join(f"{k}: {json.dumps(v)}\n" for k, v in settings.items()), encoding="utf-8"
        )
        env = {
            "ES_JAVA_HOME": str(java_home("ES_JAVA_HOME", "JAVA_HOME")),
            "ES_PATH_CONF": str(conf),
            "ES_TMPDIR": str(tmp),
            "ES_JAVA_OPTS": "",
        }
        # Paths as -E flags rather than in the yml: they put the state dir on the command line,
        # which is how the process is recognised where /proc is missing.
        command = [
            *_user_namespace_prefix(), str(home / "bin" / "elasticsearch"),
            f"-Epath.data={self.dir / 'data'}", f"-Epath.logs={logs}",
        ]  # fmt: skip
        # Relative paths in jvm.options (hs_err, replay files) land in the logs directory.
        return command, env, logs

    def diagnostic_logs(self) -> list[Path]:
        # Its console output repeats the log and also holds errors from before logging starts.
        return [self.console_file]

    def healthy(self) -> bool:
        return elasticsearch_ready(self.address, expected_cluster=self.cluster_name, timeout=2.0)


def elasticsearch_ready(
    url: str, expected_cluster: str | None = None, timeout: float = 5.0
) -> bool:
    """True when cluster health is yellow or green (and the cluster name matches)."""
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=timeout) as response:
            health = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False
    if health.get("status") not in ("yellow", "green"):
        return False
    return expected_cluster is None or health.get("cluster_name") == expected_cluster
