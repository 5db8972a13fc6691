"""Which release of the software an image holds, for a refresh pull request's body.

Official images say it in their config's environment: nginx has `NGINX_VERSION=1.27.3`, mariadb
`MARIADB_VERSION=...`. The config is read where the digest came from: the seeded mirror's
storage (files), or the registry's API (`GET` of the manifest, then of the config blob), with
the anonymous token Docker Hub asks for. Nothing is pulled; an image without such a variable,
or one the registry no longer has, has no version ("").
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from livedeck.errors import RegistryError
from livedeck.images.names import parse_ref
from livedeck.images.registry import ACCEPT, TIMEOUT, pull_token
from livedeck.images.sources import ImageSource
from livedeck.images.store import V2


def version_in(env: list[str], image: str) -> str:
    """The value of NAME_VERSION in a config's Env, NAME being the repository's last part."""
    name = image.split("/")[-1].split(":")[0].split("@")[0]
    key = name.upper().replace("-", "_").replace(".", "_") + "_VERSION="
    return next((item.removeprefix(key) for item in env if item.startswith(key)), "")


def image_version(source: ImageSource, storage: Path, image: str, digest: str) -> str:
    """The version of `image` (as a deck names it) at `digest`, from `source`; "" if unknown."""
    if not digest:
        return ""
    try:
        if source.kind == "mirror":
            config = _stored_config(storage, digest)
        else:
            config = _remote_config(source.url, parse_ref(image).repo, digest)
    except (OSError, ValueError, KeyError, TypeError, RegistryError):
        return ""  # the version is a courtesy of the body: never a reason to fail
    env = (config.get("config") or {}).get("Env") or []
    return version_in([str(e) for e in env], image)


def _stored_config(storage: Path, digest: str) -> dict[str, Any]:
    manifest = _stored_json(storage, digest)
    if "manifests" in manifest:  # an index: the linux/amd64 image
        digest = _amd64(manifest)
        manifest = _stored_json(storage, digest)
    return _stored_json(storage, manifest["config"]["digest"])


def _stored_json(storage: Path, digest: str) -> dict[str, Any]:
    algorithm, _, hex_digest = digest.partition(":")
    blob = storage / V2 / "blobs" / algorithm / hex_digest[:2] / hex_digest / "data"
    data: dict[str, Any] = json.loads(blob.read_bytes())
    return data


def _remote_config(base: str, repo: str, digest: str) -> dict[str, Any]:
    auth: dict[str, str] = {}
    manifest = _get(base, repo, f"manifests/{digest}", auth)
    if "manifests" in manifest:
        manifest = _get(base, repo, f"manifests/{_amd64(manifest)}", auth)
    return _get(base, repo, f"blobs/{manifest['config']['digest']}", auth)


def _get(base: str, repo: str, path: str, auth: dict[str, str]) -> dict[str, Any]:
    url = f"{base}/v2/{repo}/{urllib.parse.quote(path)}"
    for attempt in (1, 2):
        request = urllib.request.Request(url, headers={"Accept": ACCEPT, **auth})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                data: dict[str, Any] = json.load(response)
                return data
        except urllib.error.HTTPError as error:
            challenge = error.headers.get("WWW-Authenticate", "")
            if error.code != 401 or attempt == 2 or not challenge.lower().startswith("bearer"):
                raise
            auth["Authorization"] = f"Bearer {pull_token(challenge, repo, base, TIMEOUT)}"
    raise AssertionError("unreachable")  # pragma: no cover


def _amd64(index: dict[str, Any]) -> str:
    for entry in index["manifests"]:
        platform = entry.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            return str(entry["digest"])
    raise KeyError("no linux/amd64 image")
