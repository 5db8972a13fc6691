"""Pushing `docker save` archives into a registry with the HTTP API, and a registry to push to.

A saved image holds its config and uncompressed layers; pushed, each layer becomes a gzip blob
and the image a v2 manifest, exactly what `docker push` makes, so a lab's `docker pull` shows one
`Pull complete` per layer. The host's engine is only read (`docker save`), never re-tagged.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from livedeck.errors import RegistryError

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
CHUNK = 1 << 20


@dataclass(frozen=True)
class SavedImage:
    """One image of a `docker save` archive (its manifest.json entry)."""

    tags: tuple[str, ...]
    config: str  # member names inside the archive
    layers: tuple[str, ...]


@dataclass(frozen=True)
class Pushed:
    """What a push made: the manifest's digest and how many layers it lists."""

    digest: str
    layers: int


def saved_images(archive: tarfile.TarFile) -> list[SavedImage]:
    """The images a `docker save` archive holds (Docker's own and OCI-layout archives alike)."""
    try:
        member = archive.extractfile("manifest.json")
        entries = json.load(member) if member is not None else None
    except (KeyError, ValueError) as error:
        raise ValueError("not a `docker save` archive (no manifest.json)") from error
    if not isinstance(entries, list):
        raise ValueError("not a `docker save` archive (manifest.json is not a list)")
    return [
        SavedImage(tuple(e.get("RepoTags") or ()), e["Config"], tuple(e["Layers"])) for e in entries
    ]


def push_saved(
    archive: tarfile.TarFile, image: SavedImage, base: str, repo: str, tag: str
) -> Pushed:
    """Upload the image's layers and config as blobs, then its manifest as `repo:tag`."""
    config = _read(archive, image.config)
    layers = []
    done: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="livedeck-push-") as scratch:
        for name in image.layers:
            if name not in done:
                gz = Path(scratch) / "layer.gz"
                digest, size = _gzip(archive, name, gz)
                with gz.open("rb") as blob:
                    _upload(base, repo, digest, size, blob)
                done[name] = {"mediaType": LAYER, "size": size, "digest": digest}
            layers.append(done[name])
    config_digest = f"sha256:{hashlib.sha256(config).hexdigest()}"
    with tempfile.TemporaryFile() as blob:
        blob.write(config)
        blob.seek(0)
        _upload(base, repo, config_digest, len(config), blob)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_V2,
        "config": {"mediaType": CONFIG, "size": len(config), "digest": config_digest},
        "layers": layers,
    }
    body = json.dumps(manifest, indent=3).encode()
    url = f"{base}/v2/{repo}/manifests/{urllib.parse.quote(tag)}"
    _call(url, "PUT", body, {"Content-Type": MANIFEST_V2}, expect=201)
    return Pushed(f"sha256:{hashlib.sha256(body).hexdigest()}", len(layers))


def _read(archive: tarfile.TarFile, name: str) -> bytes:
    member = archive.extractfile(name)
    if member is None:
        raise ValueError(f"the archive lacks {name}")
    return member.read()


def _gzip(archive: tarfile.TarFile, name: str, target: Path) -> tuple[str, int]:
    """Compress a layer as `docker push` would (no name, no time: the same bytes every time)."""
    source = archive.extractfile(name)
    if source is None:
        raise ValueError(f"the archive lacks the layer {name}")
    # Compressing is nearly all of a push's time: level 1 takes a quarter of level 6's here, and
    # only the blobs' sizes differ (a pull shows a layer's size only while it downloads).
    with (
        target.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=1) as out,
    ):
        shutil.copyfileobj(source, out, CHUNK)
    digest = hashlib.sha256()
    with target.open("rb") as written:
        for chunk in iter(lambda: written.read(CHUNK), b""):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}", target.stat().st_size


def _upload(base: str, repo: str, digest: str, size: int, blob: IO[bytes]) -> None:
    """A monolithic blob upload, unless the registry has the blob already."""
    try:
        _call(f"{base}/v2/{repo}/blobs/{digest}", "HEAD", None, {}, expect=200)
        return
    except RegistryError:
        pass
    headers = _call(f"{base}/v2/{repo}/blobs/uploads/", "POST", b"", {}, expect=202)
    location = urllib.parse.urljoin(f"{base}/", headers.get("Location", ""))
    separator = "&" if "?" in location else "?"
    _call(
        f"{location}{separator}digest={digest}",
        "PUT",
        blob,
        {"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        expect=201,
    )


def _call(
    url: str, method: str, body: bytes | IO[bytes] | None, headers: dict[str, str], *, expect: int
) -> dict[str, str]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            if response.status != expect:
                raise RegistryError(f"{method} {url}: HTTP {response.status}, not {expect}")
            return dict(response.headers)
    except urllib.error.HTTPError as error:
        detail = error.read(300).decode(errors="replace").strip()
        raise RegistryError(f"{method} {url}: HTTP {error.code} {detail}") from error
    except (urllib.error.URLError, OSError) as error:
        raise RegistryError(f"{method} {url}: {getattr(error, 'reason', error)}") from error


REGISTRY_CONFIG = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {address}
"""


@contextlib.contextmanager
def temporary_registry(storage: Path, host: str = "127.0.0.1") -> Iterator[str]:
    """docker-registry serving `storage` read-write on a free port of `host`; its base URL.

    Never a fixed port: another push or another program may hold any given one. Stopped and
    its config removed when the block ends.
    """
    if shutil.which("docker-registry") is None:
        from livedeck.errors import ToolMissing

        raise ToolMissing(
            "docker-registry is not installed", hint="apt-get install docker-registry"
        )
    with tempfile.TemporaryDirectory(prefix="livedeck-registry-") as scratch:
        for _ in range(5):  # a port found free may be taken before the registry binds it
            address = f"{host}:{_free_port(host)}"
            config = Path(scratch) / "config.yml"
            config.write_text(REGISTRY_CONFIG.format(storage=storage, address=address))
            log = (Path(scratch) / "registry.log").open("wb")
            process = subprocess.Popen(
                ["docker-registry", "serve", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                if _wait_serving(process, f"http://{address}"):
                    yield f"http://{address}"
                    return
            finally:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                log.close()
        tail = (Path(scratch) / "registry.log").read_text(errors="replace")[-500:]
        raise RegistryError(f"a temporary docker-registry did not start: {tail}")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_serving(process: subprocess.Popen[bytes], base: str) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{base}/v2/", timeout=1):
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    return False
