"""The embedded default's S3 server: s3proxy with its filesystem backend, for the raw-log archive.

s3proxy (``org.gaul:s3proxy``, Apache-2.0, from Maven Central) speaks the S3 API on 127.0.0.1 and
keeps each bucket as a directory under ``<local.state_dir>/s3proxy/data``. It requires signed
requests with credentials generated on first start and kept (mode 0600) in
``s3proxy/credentials.json``; ``LocalServers.apply_to`` points ``archive`` at it. The archive's
bucket is created as its directory before the server starts, which is what a bucket is to the
filesystem backend.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from logiflow.config import LocalSettings
from logiflow.local import artifacts
from logiflow.local.process import (
    LOOPBACK,
    SMALL_MACHINE_JVM_OPTIONS,
    ServerName,
    ServerProcess,
    java_home,
)


@dataclass(frozen=True)
class S3Credentials:
    access_key_id: str
    secret_access_key: str


class S3ProxyServer(ServerProcess):
    name: ServerName = "s3proxy"
    display = "s3proxy"

    def __init__(self, settings: LocalSettings, console: Console, bucket: str) -> None:
        super().__init__(settings, console)
        self.bucket = bucket

    @property
    def address(self) -> str:
        return f"http://{LOOPBACK}:{self.settings.s3proxy_port}"

    @property
    def ports(self) -> list[int]:
        return [self.settings.s3proxy_port]

    @property
    def log_file(self) -> Path:
        # s3proxy logs to its console (logback's default), which launch() sends here.
        return self.console_file

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    def credentials(self) -> S3Credentials:
        """The server's credentials, generated (and kept) on first use."""
        path = self.dir / "credentials.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return S3Credentials(data["access_key_id"], data["secret_access_key"])
        except (OSError, ValueError, KeyError):
            pass
        self.dir.mkdir(parents=True, exist_ok=True)
        credentials = S3Credentials(f"logiflow-{secrets.token_hex(6)}", secrets.token_urlsafe(30))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(credentials.__dict__, out)
        return credentials

    def prepare(self) -> tuple[list[str], dict[str, str], Path]:
        jar = artifacts.ensure_s3proxy(self.settings, self.console).path / "s3proxy.jar"
        (self.data_dir / self.bucket).mkdir(parents=True, exist_ok=True)
        credentials = self.credentials()
        properties = {
            "s3proxy.endpoint": self.address,
            "s3proxy.authorization": "aws-v2-or-v4",
            "s3proxy.identity": credentials.access_key_id,
            "s3proxy.credential": credentials.secret_access_key,
            "jclouds.provider": "filesystem",
            "jclouds.filesystem.basedir": str(self.data_dir),
        }
        config = self.dir / "s3proxy.conf"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("".join(f"{k}={v}\n" for k, v in properties.items()))
        heap = self.settings.s3proxy_heap
        java = str(java_home("JAVA_HOME") / "bin" / "java")
        command = [java, f"-Xmx{heap}", *SMALL_MACHINE_JVM_OPTIONS, "-jar", str(jar),
                   "--properties", str(config)]  # fmt: skip
        # The state dir on the command line identifies the process where /proc is missing.
        return command, {"LOG_LEVEL": "warn"}, self.dir

    def healthy(self) -> bool:
        return s3_endpoint_answers(self.address, timeout=2.0)


def s3_endpoint_answers(url: str, timeout: float = 5.0) -> bool:
    """True when ``url`` answers as an S3 API does an anonymous request: an XML error."""
    try:
        with urllib.request.urlopen(f"{url}/", timeout=timeout) as response:
            body = response.read(4096)
    except urllib.error.HTTPError as exc:
        body = exc.read(4096)
    except (urllib.error.URLError, OSError):
        return False
    return b"<Error>" in body or b"ListAllMyBucketsResult" in body
