"""`livedeck list`: the decks, their outputs and the images they use; what CI fans out over.

Images come from the deck's own commands (`docker pull X`, `docker run ... X`) and from the
digests its record holds. Reading decks and records is all it does: nothing runs.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livedeck import record
from livedeck.deck import load_deck
from livedeck.errors import RecordError
from livedeck.index import deck_title
from livedeck.marp import format_named
from livedeck.model import Deck
from livedeck.template import has_template

# `docker run`/`create` options that take a value as the next word (docker 20.10's list).
_VALUED = frozenset(
    str.split(
        """
    -a --attach --add-host --blkio-weight --blkio-weight-device --cap-add --cap-drop
    --cgroup-parent --cgroupns -c --cpu-shares --cidfile --cpu-period --cpu-quota --cpu-rt-period
    --cpu-rt-runtime --cpus --cpuset-cpus --cpuset-mems --device --device-cgroup-rule
    --device-read-bps --device-read-iops --device-write-bps --device-write-iops --detach-keys
    --dns --dns-option --dns-search --domainname --entrypoint -e --env --env-file --expose
    --gpus --group-add --health-cmd --health-interval --health-retries --health-start-period
    --health-timeout -h --hostname --ip --ip6 --ipc --isolation --kernel-memory -l --label
    --label-file --link --link-local-ip --log-driver --log-opt --mac-address -m --memory
    --memory-reservation --memory-swap --memory-swappiness --mount --name --network --net
    --network-alias --net-alias --oom-score-adj --pid --pids-limit --platform -p --publish
    --pull --restart --runtime --security-opt --shm-size --stop-signal --stop-timeout
    --storage-opt --sysctl --tmpfs --ulimit -u --user --userns --uts -v --volume
    --volume-driver --volumes-from -w --workdir
    """
    )
)
_PULL_VALUED = frozenset({"--platform"})


@dataclass(frozen=True)
class DeckInfo:
    """A deck as CI sees it: where it is, what a build writes, which images it needs."""

    path: Path
    name: str
    title: str
    record: Path | None  # the committed record, if there is one that fits the deck
    outputs: tuple[Path, ...]  # what `livedeck build --out OUT --format ...` writes for it
    images: tuple[str, ...]  # images its commands pull or run, as written
    digests: Mapping[str, str] = field(default_factory=dict)  # image -> digest, from the record


def inventory(decks: Sequence[Path], out_dir: Path, formats: Sequence[str]) -> list[DeckInfo]:
    """What `livedeck list` shows for each deck file."""
    return [_info(load_deck(path), out_dir, formats) for path in decks]


def _info(deck: Deck, out_dir: Path, formats: Sequence[str]) -> DeckInfo:
    try:
        engine = record.read(deck).engine
        recorded: Path | None = record.record_path(deck.path)
    except RecordError:
        engine, recorded = {}, None
    digests = {
        key.removeprefix("image "): value
        for key, value in engine.items()
        if key.startswith("image ")
    }
    suffixes = [".md", *(format_named(f).suffix for f in formats)]
    return DeckInfo(
        path=deck.path,
        name=deck.name,
        title=deck_title(deck),
        record=recorded,
        outputs=tuple(out_dir / f"{deck.name}{suffix}" for suffix in suffixes),
        images=images_used(c.text for c in deck.commands if c.runnable),
        digests=digests,
    )


def images_used(commands: Iterable[str]) -> tuple[str, ...]:
    """The images `docker pull`, `docker run` and `docker create` name, in order, once each."""
    found: list[str] = []
    for text in commands:
        for image in _images_in(text):
            if image not in found:
                found.append(image)
    return tuple(found)


def _images_in(text: str) -> list[str]:
    try:
        words = shlex.split(text.replace("\\\n", " "), comments=True)
    except ValueError:  # an unclosed quote: the shell would not run it either
        return []
    images = []
    for command in _simple_commands(words):
        image = _image_of(command)
        if image and not has_template(image) and not image.startswith("$"):
            images.append(image)
    return images


def _simple_commands(words: list[str]) -> list[list[str]]:
    """Split `a && b; c | d` into its simple commands, each starting at `docker` if it has one."""
    commands: list[list[str]] = [[]]
    for word in words:
        if word in {"&&", "||", ";", "|", "&"} or word.endswith(";"):
            if word.endswith(";") and word != ";":
                commands[-1].append(word[:-1])
            commands.append([])
        else:
            commands[-1].append(word)
    return [c[c.index("docker") :] for c in commands if "docker" in c]


def _image_of(words: list[str]) -> str | None:
    """The image of `docker [image] pull X` or `docker [container] run|create [options] X`."""
    verbs = words[1:3]
    if verbs[:1] in (["pull"], ["run"], ["create"]):
        verb, rest = verbs[0], words[2:]
    elif verbs in (["image", "pull"], ["container", "run"], ["container", "create"]):
        verb, rest = verbs[1], words[3:]
    else:
        return None
    valued = _PULL_VALUED if verb == "pull" else _VALUED
    skip = False
    for word in rest:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in valued  # `--name x`; `--name=x` and `-it` carry no separate value
        else:
            return word
    return None


def info_data(info: DeckInfo) -> dict[str, Any]:
    """A deck's entry of `livedeck list --json`."""
    return {
        "path": str(info.path),
        "name": info.name,
        "title": info.title,
        "record": str(info.record) if info.record else None,
        "outputs": [str(p) for p in info.outputs],
        "images": list(info.images),
        "digests": dict(info.digests),
    }
