"""Fetches, verifies and caches the JVM artifacts of the embedded default, from Maven Central.

Five artifacts, all pinned:

* the Kafka broker: ``org.apache.kafka:kafka_2.13`` with its runtime dependencies plus a log4j2
  backend, resolved by Maven from ``kafka-server.pom.xml`` (package data next to this module);
* Elasticsearch: the runnable ``org.elasticsearch.distribution.integ-test-zip:elasticsearch``
  zip, downloaded directly and checked against the checksum Maven Central publishes beside it;
* the Spark Kafka connector jars, resolved from ``spark-connectors.pom.xml``, which is also what
  the Spark image copies into ``/opt/spark/jars`` (one list for both);
* the s3a filesystem for the raw-log archive (hadoop-aws and the AWS SDK v2 bundle), resolved
  from ``spark-s3a.pom.xml`` the same way, fetched only when ``archive.enabled``;
* the local S3 server: s3proxy's self-contained jar
  (``org.gaul:s3proxy:<version>:jar-with-dependencies``), downloaded directly, checked against
  Central's checksum and, for the pinned version, against the SHA-256 recorded here.

Maven runs with ``--strict-checksums`` and keeps its repository inside the cache, so a jar whose
``.sha1`` does not match fails the fetch. Every finished artifact directory carries a manifest of
SHA-256 digests that is checked each time the cache is used: a file corrupted on disk is detected
and the artifact is rebuilt from verified sources. Directories are built under a temporary name
and renamed into place, and fetches hold a lock file, so concurrent runs sharing the cache never
see a half-written artifact.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from logiflow.config import LocalSettings
from logiflow.errors import ArtifactError

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
MANIFEST_NAME = ".logiflow-manifest.json"
KAFKA_POM = "kafka-server.pom.xml"
CONNECTORS_POM = "spark-connectors.pom.xml"
KAFKA_METRICS_REPORTER_POM = "kafka-metrics-reporter.pom.xml"
S3A_POM = "spark-s3a.pom.xml"
# SHA-256 of s3proxy-<version>-jar-with-dependencies.jar, per version we have checked by hand;
# a version not listed here is accepted on Central's own checksum alone.
S3PROXY_SHA256 = {"4.1.0": "a4d025969aaf796616ed4b1e2491d87d455ce84bb28cb9db086b2e6aaa68b48d"}
# Must match pyspark (pyproject pins pyspark==4.2.0) and the version in spark-connectors.pom.xml.
SPARK_VERSION = "4.2.0"

_DOWNLOADED_RE = re.compile(r"Downloaded from \S+: (\S+) \(([\d.,]+) ([kMG]?B)")
_UNITS = {"B": 1, "kB": 1000, "MB": 1000**2, "GB": 1000**3}


@dataclass(frozen=True)
class MavenArtifact:
    group_id: str
    artifact_id: str
    version: str
    extension: str = "jar"
    classifier: str | None = None

    @property
    def coordinates(self) -> str:
        classifier = f":{self.classifier}" if self.classifier else ""
        return f"{self.group_id}:{self.artifact_id}:{self.extension}{classifier}:{self.version}"

    @property
    def file_name(self) -> str:
        classifier = f"-{self.classifier}" if self.classifier else ""
        return f"{self.artifact_id}-{self.version}{classifier}.{self.extension}"

    @property
    def url(self) -> str:
        group_path = self.group_id.replace(".", "/")
        return f"{MAVEN_CENTRAL}/{group_path}/{self.artifact_id}/{self.version}/{self.file_name}"


@dataclass(frozen=True)
class Installed:
    """A verified artifact in the cache; ``fetched`` says whether this call had to build it."""

    path: Path
    fetched: bool


def elasticsearch_artifact(version: str) -> MavenArtifact:
    return MavenArtifact(
        "org.elasticsearch.distribution.integ-test-zip", "elasticsearch", version, "zip"
    )


def s3proxy_artifact(version: str) -> MavenArtifact:
    return MavenArtifact("org.gaul", "s3proxy", version, classifier="jar-with-dependencies")


def pom_path(name: str) -> Path:
    """Filesystem path of a pom shipped as package data (Maven needs a real file)."""
    path = Path(str(resources.files("logiflow.local").joinpath(name)))
    if not path.is_file():
        raise ArtifactError(
            f"package data {name} is missing from {path.parent}; reinstall logiflow"
        )
    return path


# --- locking and verification -------------------------------------------------------------


@contextlib.contextmanager
def _cache_lock(cache_dir: Path) -> Iterator[None]:
    """One fetch at a time per cache: Maven's local repository is not safe for parallel writers."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _digest(path: Path, algorithm: str = "sha256") -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def _write_manifest(directory: Path, source: str) -> None:
    files = {
        str(p.relative_to(directory)): _digest(p)
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.is_symlink() and p.name != MANIFEST_NAME
    }
    manifest = {"source": source, "sha256": files}
    (directory / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def verify(directory: Path) -> None:
    """Check every file of a cached artifact against its manifest; ArtifactError if not intact."""
    manifest_file = directory / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        files: dict[str, str] = manifest["sha256"]
    except (OSError, ValueError, KeyError) as exc:
        raise ArtifactError(f"cached artifact {directory} has no readable manifest: {exc}") from exc
    for relative, expected in files.items():
        path = directory / relative
        try:
            actual = _digest(path)
        except OSError as exc:
            raise ArtifactError(f"cached file {path} is unreadable: {exc.strerror}") from exc
        if actual != expected:
            raise ArtifactError(
                f"cached file {path} fails its checksum (sha256 {actual}, expected {expected}); "
                f"delete {directory} or run the command again to re-fetch it"
            )


def _is_intact(directory: Path, console: Console) -> bool:
    if not directory.is_dir():
        return False
    try:
        verify(directory)
    except ArtifactError as exc:
        console.print(f"[yellow]warning:[/] {exc}; fetching it again", highlight=False)
        return False
    return True


def _install_dir(staging: Path, final: Path) -> None:
    """Rename a finished staging directory into place, replacing a corrupted previous copy."""
    if final.exists():
        trash = final.with_name(f".trash-{final.name}-{os.getpid()}")
        final.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)
    staging.rename(final)


def _staging_dir(cache_dir: Path, name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f".staging-{name}-", dir=cache_dir))


# --- direct downloads ----------------------------------------------------------------------


def _fetch_text(url: str, artifact: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read().decode("ascii").strip()
    except (urllib.error.URLError, OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(
            f"cannot download the checksum of {artifact} from {url}: {exc}"
        ) from exc


def _published_checksum(artifact: MavenArtifact) -> tuple[str, str]:
    """The strongest checksum Central publishes beside the file: (algorithm, hex digest)."""
    errors = []
    for algorithm in ("sha512", "sha1"):
        url = f"{artifact.url}.{algorithm}"
        try:
            text = _fetch_text(url, artifact.coordinates)
        except ArtifactError as exc:
            errors.append(str(exc))
            continue
        # Some checksum files hold "<digest>  <file name>".
        return algorithm, text.split()[0].lower()
    raise ArtifactError("; ".join(errors))


def download_verified(artifact: MavenArtifact, dest: Path, console: Console) -> bool:
    """Download ``artifact`` to ``dest`` unless an intact copy is there; True if it downloaded.

    The published checksum is stored next to the file (``dest.<algorithm>``) so later runs can
    re-check the file offline.
    """
    for algorithm in ("sha512", "sha1"):
        sidecar = dest.with_name(f"{dest.name}.{algorithm}")
        if dest.is_file() and sidecar.is_file():
            expected = sidecar.read_text(encoding="ascii").strip()
            if _digest(dest, algorithm) == expected:
                return False
            console.print(
                f"[yellow]warning:[/] cached {dest} fails its {algorithm} checksum; "
                "downloading again",
                highlight=False,
            )
            dest.unlink()
            break
    algorithm, expected = _published_checksum(artifact)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    tmp = Path(tmp_name)
    hasher = hashlib.new(algorithm)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(artifact.url, timeout=60) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with _download_progress(console) as progress:
                task = progress.add_task(artifact.file_name, total=total)
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
                    hasher.update(chunk)
                    progress.advance(task, len(chunk))
        if hasher.hexdigest() != expected:
            raise ArtifactError(
                f"{artifact.coordinates} downloaded from {artifact.url} fails its {algorithm} "
                f"checksum (got {hasher.hexdigest()}, published {expected})"
            )
        dest.with_name(f"{dest.name}.{algorithm}").write_text(expected, encoding="ascii")
        tmp.rename(dest)
    except (urllib.error.URLError, OSError) as exc:
        raise ArtifactError(
            f"cannot download {artifact.coordinates} from {artifact.url}: {exc}"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _download_progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]downloading[/] {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


# --- Maven resolution ----------------------------------------------------------------------


def _mvn() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ArtifactError(
            "Maven (mvn) is needed to fetch the Kafka broker and the Spark connector from "
            f"{MAVEN_CENTRAL}; install it (e.g. apt-get install maven)"
        )
    return mvn


def _copy_dependencies(
    pom: Path,
    out_dir: Path,
    cache_dir: Path,
    console: Console,
    what: str,
    properties: dict[str, str],
) -> None:
    """``mvn dependency:copy-dependencies`` with strict checksums, showing files as they arrive."""
    repo = cache_dir / "m2"
    cmd = [
        _mvn(), "-B", "--strict-checksums", "-f", str(pom),
        f"-Dmaven.repo.local={repo}",
        *(f"-D{key}={value}" for key, value in properties.items()),
        "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={out_dir}",
    ]  # fmt: skip
    log_lines: list[str] = []
    downloaded_bytes = 0
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]fetching[/] {task.description}"),
        TextColumn("{task.completed} files, {task.fields[size]}"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(what, total=None, size="0 MB")
        try:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                cwd=out_dir.parent,
            )  # fmt: skip
        except OSError as exc:
            raise ArtifactError(f"cannot run Maven for {what}: {exc}") from exc
        assert proc.stdout is not None
        for line in proc.stdout:
            log_lines.append(line.rstrip())
            match = _DOWNLOADED_RE.search(line)
            if match:
                number = float(match.group(2).replace(",", ""))
                downloaded_bytes += int(number * _UNITS.get(match.group(3), 1))
                progress.update(task, advance=1, size=f"{downloaded_bytes / 1e6:.1f} MB")
        code = proc.wait()
    if code != 0:
        errors = [line for line in log_lines if "[ERROR]" in line][:6] or log_lines[-10:]
        raise ArtifactError(
            f"Maven could not fetch {what} from {MAVEN_CENTRAL} (pom {pom}): " + " | ".join(errors)
        )
    _check_against_repository(out_dir, repo)


def _check_against_repository(out_dir: Path, repo: Path) -> None:
    """Compare each copied jar with the .sha1 Maven downloaded beside it from Central.

    Maven verified the download; this catches a jar corrupted in the local repository since.
    """
    published_by_name: dict[str, list[Path]] = {}
    for sidecar in repo.rglob("*.jar.sha1"):
        published_by_name.setdefault(sidecar.name.removesuffix(".sha1"), []).append(sidecar)
    for jar in out_dir.glob("*.jar"):
        candidates = published_by_name.get(jar.name, [])
        if not candidates:
            raise ArtifactError(f"no published checksum found for {jar.name} in {repo}")
        digest = _digest(jar, "sha1")
        published = {c.read_text(encoding="ascii").split()[0].lower() for c in candidates}
        if digest not in published:
            for candidate in candidates:
                candidate.with_name(jar.name).unlink(missing_ok=True)
            raise ArtifactError(
                f"{jar.name} in the Maven cache {repo} fails its sha1 checksum; it was removed, "
                "run again to download it"
            )


def _maven_bundle(
    settings: LocalSettings,
    name: str,
    pom_name: str,
    what: str,
    properties: dict[str, str],
    console: Console,
) -> Installed:
    cache_dir = settings.cache_dir
    final = cache_dir / name
    with _cache_lock(cache_dir):
        if _is_intact(final, console):
            return Installed(final, fetched=False)
        staging = _staging_dir(cache_dir, name)
        try:
            _copy_dependencies(
                pom_path(pom_name), staging / "libs", cache_dir, console, what, properties
            )
            _write_manifest(staging, f"{pom_name} {properties}")
            _install_dir(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return Installed(final, fetched=True)


# --- the three artifacts -------------------------------------------------------------------


def _console(console: Console | None) -> Console:
    return console if console is not None else Console(stderr=True)


def ensure_kafka(settings: LocalSettings, console: Console | None = None) -> Installed:
    """The Kafka broker's jars (``<path>/libs``), fetched and verified."""
    version = settings.kafka_version
    return _maven_bundle(
        settings, f"kafka-{version}", KAFKA_POM, f"Kafka {version}",
        {"kafka.version": version}, _console(console),
    )  # fmt: skip


def ensure_kafka_metrics_reporter(
    settings: LocalSettings, console: Console | None = None
) -> Installed:
    """Strimzi's metrics reporter jars (``<path>/libs``) from kafka-metrics-reporter.pom.xml."""
    pom_hash = _digest(pom_path(KAFKA_METRICS_REPORTER_POM))[:12]
    return _maven_bundle(
        settings, f"kafka-metrics-reporter-{pom_hash}", KAFKA_METRICS_REPORTER_POM,
        "Strimzi's Kafka metrics reporter", {}, _console(console),
    )  # fmt: skip


def ensure_connectors(settings: LocalSettings, console: Console | None = None) -> Installed:
    """The Spark Kafka connector jars (``<path>/libs``) from spark-connectors.pom.xml."""
    # The pom is the source of truth: a changed pom must not reuse jars resolved from the old one.
    pom_hash = _digest(pom_path(CONNECTORS_POM))[:12]
    return _maven_bundle(
        settings, f"spark-connectors-{SPARK_VERSION}-{pom_hash}", CONNECTORS_POM,
        f"Spark {SPARK_VERSION} Kafka connector", {}, _console(console),
    )  # fmt: skip


def connector_jars(
    settings: LocalSettings | None = None, console: Console | None = None
) -> list[str]:
    """Paths of the connector jars, for ``spark.jars`` (see ``create_spark_session``)."""
    installed = ensure_connectors(settings or LocalSettings(), console)
    return sorted(str(p) for p in (installed.path / "libs").glob("*.jar"))


def ensure_s3a(settings: LocalSettings, console: Console | None = None) -> Installed:
    """hadoop-aws and the AWS SDK v2 bundle (``<path>/libs``) from spark-s3a.pom.xml."""
    pom_hash = _digest(pom_path(S3A_POM))[:12]
    return _maven_bundle(
        settings, f"spark-s3a-{SPARK_VERSION}-{pom_hash}", S3A_POM,
        f"Spark {SPARK_VERSION} s3a filesystem (hadoop-aws, AWS SDK bundle)", {},
        _console(console),
    )  # fmt: skip


def s3a_jars(settings: LocalSettings | None = None, console: Console | None = None) -> list[str]:
    """Paths of the s3a jars, added to ``spark.jars`` when the archive is enabled."""
    installed = ensure_s3a(settings or LocalSettings(), console)
    return sorted(str(p) for p in (installed.path / "libs").glob("*.jar"))


def ensure_s3proxy(settings: LocalSettings, console: Console | None = None) -> Installed:
    """The s3proxy jar (``<path>/s3proxy.jar``), fetched and verified."""
    console = _console(console)
    version = settings.s3proxy_version
    artifact = s3proxy_artifact(version)
    final = settings.cache_dir / f"s3proxy-{version}"
    with _cache_lock(settings.cache_dir):
        if _is_intact(final, console):
            return Installed(final, fetched=False)
        download = settings.cache_dir / "downloads" / artifact.file_name
        download_verified(artifact, download, console)
        pinned = S3PROXY_SHA256.get(version)
        if pinned is not None and _digest(download) != pinned:
            download.unlink()
            raise ArtifactError(
                f"{artifact.coordinates} from {artifact.url} does not have the pinned SHA-256 "
                f"{pinned}; it was removed, run again to download it"
            )
        staging = _staging_dir(settings.cache_dir, final.name)
        try:
            shutil.copyfile(download, staging / "s3proxy.jar")
            _write_manifest(staging, artifact.url)
            _install_dir(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return Installed(final, fetched=True)


def ensure_elasticsearch(settings: LocalSettings, console: Console | None = None) -> Installed:
    """The unpacked Elasticsearch distribution (its home directory), fetched and verified."""
    console = _console(console)
    artifact = elasticsearch_artifact(settings.elasticsearch_version)
    cache_dir = settings.cache_dir
    final = cache_dir / f"elasticsearch-{settings.elasticsearch_version}"
    with _cache_lock(cache_dir):
        if _is_intact(final, console):
            return Installed(final, fetched=False)
        archive = cache_dir / "downloads" / artifact.file_name
        download_verified(artifact, archive, console)
        staging = _staging_dir(cache_dir, final.name)
        try:
            with console.status(f"unpacking {archive.name}"):
                _unzip(archive, staging)
            # The zip holds one top-level directory, elasticsearch-<version>/.
            (home,) = [p for p in staging.iterdir() if p.is_dir()]
            _write_manifest(home, artifact.url)
            _install_dir(home, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return Installed(final, fetched=True)


def _unzip(archive: Path, dest: Path) -> None:
    """Extract keeping the executable bits (zipfile drops them; bin/ scripts need them)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                target = Path(zf.extract(info, dest))
                mode = (info.external_attr >> 16) & 0o777
                if mode and not info.is_dir():
                    target.chmod(mode)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArtifactError(f"cannot unpack {archive}: {exc}; delete it and run again") from exc
