"""The release an image's config names (NGINX_VERSION=...), read from a real registry and its
storage, as a refresh pull request shows it."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from livedeck.images.push import push_saved, saved_images, temporary_registry
from livedeck.images.sources import MIRROR, ImageSource
from livedeck.images.versions import image_version, version_in


def saved_image(path: Path, env: list[str]) -> Path:
    """A `docker save` archive of one empty layer and a config with `env`."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w"):
        pass
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Env": env}}).encode()
    manifest = json.dumps([{"Config": "c.json", "RepoTags": [], "Layers": ["l/layer.tar"]}])
    with tarfile.open(path, "w") as archive:
        for name, data in (
            ("c.json", config),
            ("l/layer.tar", layer.getvalue()),
            ("manifest.json", manifest.encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_version_in_names_the_repositorys_variable() -> None:
    env = ["PATH=/usr/bin", "NGINX_VERSION=1.27.3", "NJS_VERSION=0.8"]
    assert version_in(env, "nginx") == "1.27.3"
    assert version_in(env, "library/nginx:latest") == "1.27.3"
    assert version_in(["MARIADB_VERSION=1:11.4.4"], "mariadb") == "1:11.4.4"
    assert version_in(env, "mariadb") == ""


@pytest.mark.parametrize("env, expected", [(["NGINX_VERSION=1.27.3"], "1.27.3"), (["A=1"], "")])
def test_the_version_is_read_from_the_registry_and_from_its_storage(
    tmp_path: Path, env: list[str], expected: str
) -> None:
    storage = tmp_path / "storage"
    archive = saved_image(tmp_path / "image.tar", env)
    with temporary_registry(storage) as base, tarfile.open(archive) as saved:
        digest = push_saved(saved, saved_images(saved)[0], base, "library/nginx", "latest").digest
        assert image_version(ImageSource("upstream", base), storage, "nginx", digest) == expected
        gone = "sha256:" + "0" * 64
        assert image_version(ImageSource("upstream", base), storage, "nginx", gone) == ""
    assert image_version(MIRROR, storage, "nginx", digest) == expected
    assert (
        image_version(ImageSource("upstream", "http://127.0.0.1:9"), storage, "nginx", digest) == ""
    )


def test_the_pull_request_names_the_release() -> None:
    from livedeck.check.results import DeckResult
    from livedeck.verbs.pullrequest import body, relative_links, title
    from livedeck.verbs.refresh import Refreshed

    old, new = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    result = DeckResult(
        Path("slides/x.md"),
        "fresh",
        True,
        lab={"image nginx": new},
        previous_lab={"image nginx": old},
    )
    item = Refreshed(Path("slides/x.md"), result, versions=(("nginx", "1.27.2", "1.27.3"),))
    assert title(item) == "Refresh x: new nginx 1.27.3"
    assert f"| `nginx` | 1.27.2 -> 1.27.3 | `{old}` | `{new}` |" in body(item, relative_links(None))
    assert "Same story: only IDs, dates and digests change." in body(item, relative_links(None))
