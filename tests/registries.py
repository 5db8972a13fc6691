"""Real registries for tests of images in the lab (the fixtures are in conftest.py).

An upstream registry on the host stands in for Docker Hub (the same software, real HTTP); labs
pull from it through the pull-through cache they run. The labs of a test module live in a
namespace of their own (network, label, storage folders), removed at the end.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from livedeck.images.push import Pushed, push_saved, saved_images, temporary_registry
from livedeck.run.labs import ensure_network, host_client, lab_names
from namespaces import free_subnet


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
        """Push the lab's nginx of `layers` layers as library/nginx:latest; its digest."""
        return push_image(self.base, f"{lab_names().nginx_image}:{layers}").digest


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


def push_image(base: str, image: str, repo: str = "library/nginx", tag: str = "latest") -> Pushed:
    """Push a host engine image to the registry at `base` as repo:tag (its `Pushed`)."""
    with tempfile.TemporaryDirectory() as scratch:
        archive = save_image(image, Path(scratch) / "image.tar")
        with tarfile.open(archive) as saved:
            return push_saved(saved, saved_images(saved)[0], base, repo, tag)


def six_layer_registry() -> Path:
    """Registry storage serving the 6-layer nginx (the official image's shape of 2023), for a
    lab's mirror (LIVEDECK_REGISTRY_DIR; labs mount it read-only).

    lab-images.sh fills it once and keeps it in its cache folder, as it keeps the lab images: the
    next test (or test run) finds its stamp and pushes nothing; test processes asking together
    wait for each other on the script's lock.
    """
    storage = lab_names().cache_dir / "test-registry-nginx-6"
    script = Path(__file__).resolve().parent.parent / "tools/setup/lab-images.sh"
    subprocess.run([script, "--nginx-layers", "6", "--registry-dir", storage], check=True)
    return storage


def files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folder`: relative path -> (size, mtime in ns)."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }
