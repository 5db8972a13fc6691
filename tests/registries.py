"""Real registries for tests of images in the lab (the fixtures are in conftest.py).

An upstream registry on the host stands in for Docker Hub (the same software, real HTTP); labs
pull from it through the pull-through cache they run. The labs of a test module live in a
namespace of their own (network, label, storage folders), removed at the end.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from livedeck.images.push import temporary_registry
from livedeck.images.store import V2, blob_path, copy_storage
from livedeck.run.labs import ensure_network, host_client, lab_names
from namespaces import free_subnet

DIGEST = re.compile(r"[0-9a-f]{64}")


@contextlib.contextmanager
def images_namespace(root: Path) -> Iterator[dict[str, str]]:
    """Environment for labs of their own: network, label and image folders under `root`.

    Yields the variables (set in os.environ while it lasts), the network's GATEWAY and ROOT.
    """
    subnet, gateway = free_subnet(213)
    env = {
        "LIVEDECK_LAB_NETWORK": f"livedeck-test-images-{secrets.token_hex(3)}",
        "LIVEDECK_LAB_SUBNET": subnet,
        "LIVEDECK_LAB_LABEL": f"livedeck.lab.test-images-{secrets.token_hex(3)}",
        "LIVEDECK_IMAGES_DIR": str(root / "added"),
        "LIVEDECK_HUB_CACHE": str(root / "hub"),
        "LIVEDECK_PROXY_CACHE": str(root / "proxy"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        patch.delenv("LIVEDECK_IMAGES", raising=False)
        host = host_client()
        names = lab_names()
        ensure_network(host, names)
        # Labs remove an idle network when they close; the upstream listens on its gateway.
        keeper = host.containers.run(
            names.base_image,
            ["sleep", "infinity"],
            detach=True,
            network=names.network,
            labels={names.label: "keeper"},
        )
        try:
            yield {**env, "GATEWAY": gateway, "ROOT": str(root)}
        finally:
            keeper.remove(force=True)
            for container in host.containers.list(all=True, filters={"label": names.label}):
                container.remove(v=True, force=True)  # labs a failed test left
            with contextlib.suppress(Exception):
                host.networks.get(names.network).remove()


@dataclass(frozen=True)
class Upstream:
    """A registry standing in for Docker Hub: its base URL and its storage folder."""

    base: str
    storage: Path

    def push_nginx(self, layers: int) -> str:
        """Serve the lab's nginx of `layers` layers as library/nginx:latest; its digest.

        The registry's files are those of a push: lab-images.sh's push of that nginx, kept
        between runs (`nginx_registry`), merged into this registry's storage while it serves
        (it reads its files at every request): its blobs hard-linked, the repository's links
        copied over the ones there, as a push rewrites them. A push cost 2.2 CPU-s."""
        pushed = nginx_registry(layers)
        repository = V2 / "repositories/library/nginx"
        shutil.copytree(pushed / repository, self.storage / repository, dirs_exist_ok=True)
        for digest in linked_blobs(pushed):
            blob = blob_path(pushed, f"sha256:{digest}").parent
            target = blob_path(self.storage, f"sha256:{digest}").parent
            if blob.is_dir() and not target.exists():
                shutil.copytree(blob, target, copy_function=link_or_copy)
        tag = self.storage / repository / "_manifests/tags/latest/current/link"
        return tag.read_text(encoding="utf-8").strip()


@contextlib.contextmanager
def upstream_registry(host: str) -> Iterator[Upstream]:
    """An empty upstream registry listening on `host` (the labs' network gateway)."""
    storage = Path(tempfile.mkdtemp(prefix="livedeck-test-upstream-"))
    try:
        with temporary_registry(storage, host=host) as base:
            yield Upstream(base, storage)
    finally:
        shutil.rmtree(storage, ignore_errors=True)


def save_image(image: str, target: Path) -> Path:
    """`docker save` of a host engine image into `target`."""
    with target.open("wb") as out:
        for chunk in host_client().api.get_image(image):
            out.write(chunk)
    return target


def six_layer_registry() -> Path:
    """Registry storage serving the 6-layer nginx (the official image's shape of 2023), for a
    lab's mirror (LIVEDECK_REGISTRY_DIR; labs mount it read-only)."""
    return nginx_registry(6)


def nginx_registry(layers: int) -> Path:
    """Registry storage serving the lab's nginx of `layers` (6 or 7) layers alone.

    lab-images.sh fills it once and keeps it in its cache folder, as it keeps the lab images: the
    next test (or test run) finds its stamp and pushes nothing; test processes asking together
    wait for each other on the script's lock.
    """
    storage = lab_names().cache_dir / f"test-registry-nginx-{layers}"
    script = Path(__file__).resolve().parent.parent / "tools/setup/lab-images.sh"
    subprocess.run([script, "--nginx-layers", str(layers), "--registry-dir", storage], check=True)
    return plain_registry(storage)


GZIP_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
PLAIN_LAYER = "application/vnd.docker.image.rootfs.diff.tar"


def plain_registry(storage: Path) -> Path:
    """A copy of a registry storage whose images' layers are stored uncompressed, for the
    tests' labs to pull: the same images (configs, layer contents, tags), but a lab's engine
    no longer inflates every layer it pulls (about 0.8 of the 3.2 CPU-s of a pull of nginx;
    the suite pulls it some 45 times). Docker pulls layers of either media type alike, and
    livedeck never reads them; the product's own mirror (lab-images.sh) stays as pushed.

    Kept per machine (`kept`), named after the storage and what its tags point to: a storage
    pushed anew gets a copy of its own.
    """
    tags = sorted((storage / V2 / "repositories").glob("**/_manifests/tags/*/current/link"))
    key = "".join(f"{p.relative_to(storage)} {p.read_text(encoding='utf-8')}" for p in tags)

    def fill(copy: Path) -> None:
        copy_storage(storage, copy, link=link_or_copy)
        for tag in tags:
            _unpack_layers(copy, tag.relative_to(storage))

    return kept(f"test-plain-{storage.name}", key, fill)


def kept(name: str, key: str, fill: Callable[[Path], None]) -> Path:
    """A folder made once per machine in lab-images.sh's cache folder, as it keeps the lab
    images: NAME-HASH (HASH of `key`: what it is made from), filled by `fill` under a lock (test
    processes asking together wait for the first) and renamed into place when done. Folders of
    NAME made from something else are removed."""
    cache = lab_names().cache_dir
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    with (cache / f"{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_dir():
            for old in cache.glob(f"{name}-*"):
                shutil.rmtree(old, ignore_errors=True)
            scratch = target.with_name(target.name + ".partial")
            fill(scratch)
            scratch.rename(target)
    return target


def _unpack_layers(storage: Path, tag_link: Path) -> None:
    """Point the tag at a new manifest of the same image whose gzip layers are plain tars."""
    repository = storage / tag_link.parents[4]  # .../REPO/_manifests/tags/TAG/current/link

    def put(data: bytes) -> str:
        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        blob = blob_path(storage, digest)
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        return digest

    def link(folder: Path, digest: str) -> None:
        path = folder / digest.removeprefix("sha256:") / "link"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(digest, encoding="utf-8")

    digest = (storage / tag_link).read_text(encoding="utf-8").strip()
    manifest = json.loads(blob_path(storage, digest).read_bytes())
    for layer in manifest.get("layers", []):
        if layer["mediaType"] != GZIP_LAYER:
            continue
        tar = gzip.decompress(blob_path(storage, layer["digest"]).read_bytes())
        layer.update(mediaType=PLAIN_LAYER, digest=put(tar), size=len(tar))
        link(repository / "_layers/sha256", layer["digest"])
    new = put(json.dumps(manifest, indent=3).encode())
    link(repository / "_manifests/revisions/sha256", new)
    link((storage / tag_link).parents[1] / "index/sha256", new)
    (storage / tag_link).write_text(new, encoding="utf-8")


def linked_blobs(storage: Path, repository: str = "library/nginx") -> set[str]:
    """The digests of the blobs a repository of a registry storage links to (its layers, config
    and manifests): what serves it."""
    folder = storage / V2 / "repositories" / repository
    return {p.name for p in folder.rglob("*") if DIGEST.fullmatch(p.name)}


def link_or_copy(source: str, target: str) -> None:
    """A hard link where the folders share a file system (a registry never rewrites a blob),
    else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folder`: relative path -> (size, mtime in ns)."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }
