"""Where a lab's `docker pull` gets images: the seeded mirror, Docker Hub, or another registry.

Choosing is pure (`parse_source`, `choose`, `for_deck`) apart from the one probe of Docker Hub
the default needs; `lab_registries` says, as data, which registries a lab runs as its engine's
mirrors. Images added with `livedeck images add` come first in every mode.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

HUB_URL = "https://registry-1.docker.io"
HUB_NAME = "Docker Hub (registry-1.docker.io)"
MODES = ("mirror", "hub", "URL")
ENV = "LIVEDECK_IMAGES"

Kind = Literal["mirror", "hub", "upstream"]


@dataclass(frozen=True)
class ImageSource:
    """One image source: `mirror`, `hub`, or the URL of an upstream registry."""

    kind: Kind
    url: str = ""  # the upstream of the pull-through cache (Docker Hub's for `hub`)

    @property
    def label(self) -> str:
        """How a user writes it: mirror, hub, or the URL."""
        return self.url if self.kind == "upstream" else self.kind

    @property
    def registry(self) -> str:
        """The upstream registry's name for messages."""
        if self.kind == "mirror":
            return "the lab's seeded mirror"
        return HUB_NAME if self.kind == "hub" else self.url


MIRROR = ImageSource("mirror")
HUB = ImageSource("hub", HUB_URL)


def parse_source(text: str) -> ImageSource:
    """`mirror`, `hub` or an http(s) URL of a registry; ValueError says what is accepted."""
    value = text.strip()
    if value == "mirror":
        return MIRROR
    if value == "hub":
        return HUB
    match = re.fullmatch(r"(https?)://([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(:\d{1,5})?/?", value)
    if match is None:
        raise ValueError(
            f"images must be mirror, hub or a registry URL (http://10.213.0.1:5000), not {text!r}"
        )
    return ImageSource("upstream", value.rstrip("/"))


@dataclass(frozen=True)
class Choice:
    """The image source of this run, and why (for the one line the CLI prints)."""

    source: ImageSource
    why: str
    explicit: bool  # chosen by --images or LIVEDECK_IMAGES: a deck's front matter does not win


def choose(flag: str | None, environ: Mapping[str, str], hub_answers: Callable[[], bool]) -> Choice:
    """--images, else $LIVEDECK_IMAGES, else `hub` where Docker Hub answers and `mirror` elsewhere.

    Raises ValueError for a malformed value. `hub_answers` is only called for the default.
    """
    if flag:
        return Choice(parse_source(flag), "--images", True)
    if environ.get(ENV):
        return Choice(parse_source(environ[ENV]), ENV, True)
    if hub_answers():
        return Choice(HUB, "Docker Hub answers", False)
    return Choice(MIRROR, "Docker Hub does not answer", False)


def for_deck(choice: Choice, deck_setting: str | None) -> ImageSource:
    """A deck's `livedeck: {images: ...}` wins over the default, not over --images or the env."""
    if deck_setting and not choice.explicit:
        return parse_source(deck_setting)
    return choice.source


def recorded_source(
    flag: str | None, recorded: str, deck_setting: str | None, default: Callable[[], Choice]
) -> ImageSource:
    """Where `outdated` asks and `refresh` rebuilds: --images, else the source the record was
    made with (`lab: images:`), else a build's default (`default`, then the deck's front matter).

    The record's source wins over LIVEDECK_IMAGES: a deck is compared with where it came from.
    """
    if flag:
        return parse_source(flag)
    if recorded:
        return parse_source(recorded)
    return for_deck(default(), deck_setting)


def hub_answers(timeout: float = 1.5) -> bool:
    """Whether Docker Hub's registry answers at all (a 401 is an answer) within `timeout`."""
    request = urllib.request.Request(f"{HUB_URL}/v2/", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass(frozen=True)
class LabRegistry:
    """A docker-registry the lab runs as one of its engine's mirrors."""

    name: str  # added, mirror, cache
    port: int  # on 127.0.0.1 inside the lab; not 5000, which decks use for registry:2
    storage: Path  # on the host, bind-mounted into the lab
    upstream: str = ""  # pull-through cache of this registry; "" serves the storage read-only

    @property
    def lab_storage(self) -> str:
        """Where the storage is mounted inside the lab."""
        return f"/var/lib/livedeck-registries/{self.name}"

    @property
    def address(self) -> str:
        """The mirror's URL for the lab's engine."""
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        """The docker-registry configuration (YAML; JSON is YAML too)."""
        read_only = "false" if self.upstream else "true"
        proxy = f'\nproxy:\n  remoteurl: "{self.upstream}"' if self.upstream else ""
        return f"""\
# livedeck: the lab's {self.name} registry
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {self.lab_storage}
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
    readonly:
      enabled: {read_only}
http:
  addr: 127.0.0.1:{self.port}{proxy}
"""


def cache_dir(source: ImageSource, hub_cache: Path, proxy_cache: Path) -> Path:
    """The pull-through cache's storage on the host, kept between builds."""
    if source.kind == "hub":
        return hub_cache
    return proxy_cache / re.sub(r"[^A-Za-z0-9.-]+", "_", source.url.split("://", 1)[1])


def lab_registries(
    source: ImageSource,
    *,
    added: Path | None,
    seeded: Path,
    hub_cache: Path,
    proxy_cache: Path,
) -> tuple[LabRegistry, ...]:
    """The lab's mirrors, in the order its engine asks them: added images first.

    The engine moves on to the next mirror when one does not have an image.
    """
    registries = [LabRegistry("added", 5997, added)] if added is not None else []
    if source.kind == "mirror":
        registries.append(LabRegistry("mirror", 5999, seeded))
    else:
        registries.append(
            LabRegistry("cache", 5998, cache_dir(source, hub_cache, proxy_cache), source.url)
        )
    return tuple(registries)
