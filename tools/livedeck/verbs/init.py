"""`livedeck init`: a course config for an existing folder of decks, and what was found in it."""

from __future__ import annotations

import io
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from livedeck.deck import load_deck
from livedeck.deck.course import FILE, find_course
from livedeck.errors import LivedeckError
from livedeck.verbs.inventory import images_used


@dataclass(frozen=True)
class Survey:
    """What a folder of decks holds: the decks in order, their prompts and images."""

    folder: Path
    decks: tuple[str, ...]  # names, in the order a build takes them
    prompts: tuple[tuple[str, int], ...]  # `user@host` -> how many commands show it, most first
    images: tuple[str, ...]  # images the commands pull or run, once each, in deck order
    themes: tuple[str, ...]  # theme folders found in the course
    documents: tuple[str, ...]  # files without `marp: true`: one page each, not slides


def survey(folder: Path, decks: Sequence[Path]) -> Survey:
    """Look at every deck of the folder (each must parse)."""
    loaded = [load_deck(path) for path in decks]
    prompts = Counter(
        f"{c.user}@{c.host}" for d in loaded for c in d.commands if c.runnable and c.user and c.host
    )
    images: list[str] = []
    for deck in loaded:
        for image in images_used(c.text for c in deck.commands if c.runnable):
            if image not in images:
                images.append(image)
    themes = sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("themes")
        if p.is_dir() and any(p.glob("*.css"))
    )
    return Survey(
        folder=folder,
        decks=tuple(d.name for d in loaded),
        prompts=tuple(prompts.most_common()),
        images=tuple(images),
        themes=tuple(themes),
        documents=tuple(d.name for d in loaded if d.document),
    )


def config_text(found: Survey) -> str:
    """The livedeck.yaml `init` writes: the common prompt's user and host, the order, themes."""
    data: dict[str, object] = {}
    if found.prompts:
        user, _, host = found.prompts[0][0].partition("@")
        data["user"], data["host"] = user, host
    if found.themes:
        data["themes"] = list(found.themes)
    data["order"] = list(found.decks)
    yaml = YAML()
    yaml.default_flow_style = False
    lines = [
        "# livedeck course config: defaults for every deck here (a deck's `livedeck:` front",
        "# matter overrides them). Keys: those of a deck's `livedeck:`, and order, themes,",
        "# files_root, secrets_file. See README: Course config.",
    ]
    text = io.StringIO()
    yaml.dump(data, text)
    return "\n".join(lines) + "\n" + text.getvalue()


def write_config(folder: Path, text: str, *, force: bool = False) -> Path:
    """Write livedeck.yaml into the folder atomically; an existing config is kept unless forced."""
    target = folder / FILE
    existing = find_course(target).source
    if existing is not None and existing.parent.resolve() == folder.resolve() and not force:
        raise LivedeckError(
            f"{existing} already configures this course", hint="use --force to replace it"
        )
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{FILE}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, target)
    return target
