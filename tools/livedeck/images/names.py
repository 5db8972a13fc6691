"""Image references as Docker reads them, and the images a deck's commands name. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from livedeck.shellsyntax import simple_commands

HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")
_REPO = re.compile(
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Ref:
    """A parsed image reference: registry host ("" for Docker Hub), repository, tag or digest."""

    host: str
    repo: str  # with `library/` for Docker Hub's official images
    tag: str = "latest"
    digest: str = ""

    @property
    def on_hub(self) -> bool:
        """Whether it comes from Docker Hub (the only registry the lab's mirrors stand in for)."""
        return not self.host

    @property
    def familiar(self) -> str:
        """The repository as `docker images` and RepoDigests show it: nginx, myorg/app."""
        name = self.repo.removeprefix("library/") if self.on_hub else self.repo
        return f"{self.host}/{name}" if self.host else name

    def __str__(self) -> str:
        return f"{self.familiar}@{self.digest}" if self.digest else f"{self.familiar}:{self.tag}"


def parse_ref(text: str) -> Ref:
    """`nginx` -> library/nginx:latest, `myorg/app:v1`, `localhost:5000/x`, `nginx@sha256:...`.

    Raises ValueError for what Docker would not accept as an image name.
    """
    rest, _, digest = text.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise ValueError(f"{text!r}: not an image digest after @")
    host = ""
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        host, rest = first, remainder
    name, _, tag = rest.rpartition(":") if ":" in rest else (rest, "", "")
    if not _REPO.fullmatch(name) or (tag and not _TAG.fullmatch(tag)):
        raise ValueError(f"{text!r} is not an image name")
    if host in HUB_HOSTS:
        host = ""
    if not host and "/" not in name:
        name = f"library/{name}"
    return Ref(host, name, tag or ("" if digest else "latest"), digest)


# Options of `docker run`/`docker create` that take no value; every other option does.
_FLAGS = frozenset(
    {
        *("-d", "--detach", "-i", "--interactive", "-t", "--tty", "--rm", "-P", "--publish-all"),
        *("--privileged", "--init", "--read-only", "--no-healthcheck", "--oom-kill-disable"),
        *("--sig-proxy", "-q", "--quiet", "-a", "--all-tags", "--disable-content-trust"),
    }
)
_SHORT_FLAGS = frozenset("ditPq")
_VERBS = frozenset({"pull", "image pull", "run", "container run", "create", "container create"})


def pulled_images(command: str) -> Iterator[str]:
    """The image names `docker pull`, `docker run` and `docker create` use in a shell command.

    Names that hold shell expansions ($VAR, $(...)) are skipped: the deck does not say them.
    """
    for simple in simple_commands(command) or ():
        image = _image_of(simple)
        if image and "$" not in image and "`" not in image:
            yield image


def _image_of(words: list[str]) -> str | None:
    while words and (words[0] in ("sudo", "time", "exec") or "=" in words[0]):
        words = words[1:]
    if len(words) < 3 or words[0] != "docker":
        return None
    verb = words[1:3] if words[1] in ("image", "container") else words[1:2]
    if " ".join(verb) not in _VERBS:
        return None
    rest = words[1 + len(verb) :]
    index = 0
    while index < len(rest):
        word = rest[index]
        if word == "--":
            index += 1
            break
        if not word.startswith("-"):
            break
        boolean = word in _FLAGS or "=" in word or _is_short_flags(word)
        index += 1 if boolean else 2
    return rest[index] if index < len(rest) else None


def _is_short_flags(word: str) -> bool:
    return not word.startswith("--") and len(word) > 1 and set(word[1:]) <= _SHORT_FLAGS
