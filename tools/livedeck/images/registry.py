"""The registry HTTP API v2, as little as livedeck needs: a tag's digest, anonymous token auth.

Only this module and push.py open connections to registries.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

from livedeck.errors import RegistryError

# What `docker pull` accepts, so the digest is the one the engine records (a list's for multi-arch).
ACCEPT = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
    )
)
TIMEOUT = 10.0


def tag_digest(base: str, repo: str, tag: str, *, name: str = "", timeout: float = TIMEOUT) -> str:
    """The digest `HEAD /v2/REPO/manifests/TAG` reports (no pull); "" if the tag does not exist.

    RegistryError (naming the registry, or `name`) when the registry does not answer properly.
    """
    url = f"{base}/v2/{repo}/manifests/{urllib.parse.quote(tag)}"
    who = name or base
    headers = {"Accept": ACCEPT}
    for attempt in (1, 2):
        try:
            response = _open(url, "HEAD", headers, timeout)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return ""
            challenge = error.headers.get("WWW-Authenticate", "")
            if error.code == 401 and attempt == 1 and challenge.lower().startswith("bearer"):
                headers["Authorization"] = f"Bearer {pull_token(challenge, repo, who, timeout)}"
                continue
            raise RegistryError(
                f"{who} answered HTTP {error.code} for {repo}:{tag}",
                hint="is it the registry the decks' images come from? (--images, LIVEDECK_IMAGES)",
            ) from error
        except (urllib.error.URLError, OSError) as error:
            raise _unreachable(who, error) from error
        digest = response.get("Docker-Content-Digest", "")
        if not digest:
            raise RegistryError(f"{who} sent no Docker-Content-Digest for {repo}:{tag}")
        return digest
    raise AssertionError("unreachable")  # pragma: no cover


def answers(base: str, timeout: float = 3.0) -> bool:
    """Whether `GET /v2/` gets any HTTP answer (401 included)."""
    try:
        _open(f"{base}/v2/", "GET", {}, timeout)
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return True


def pull_token(challenge: str, repo: str, who: str, timeout: float) -> str:
    """An anonymous pull token from the realm a 401 names (auth.docker.io for Docker Hub)."""
    fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    if "realm" not in fields:
        raise RegistryError(f"{who} asks for authentication livedeck cannot give: {challenge}")
    query = {"service": fields.get("service", ""), "scope": f"repository:{repo}:pull"}
    url = f"{fields['realm']}?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as error:
        realm = urllib.parse.urlsplit(fields["realm"]).netloc
        raise _unreachable(f"the token service {realm} of {who}", error) from error
    token = data.get("token") or data.get("access_token")
    if not isinstance(token, str):
        raise RegistryError(f"the token service of {who} gave no token")
    return token


def _open(url: str, method: str, headers: Mapping[str, str], timeout: float) -> Mapping[str, str]:
    request = urllib.request.Request(url, method=method, headers=dict(headers))
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.headers  # type: ignore[no-any-return]


def _unreachable(who: str, error: Exception) -> RegistryError:
    reason = getattr(error, "reason", error)
    return RegistryError(
        f"{who} is unreachable: {reason}",
        hint="check the network, or choose another image source with --images",
    )
