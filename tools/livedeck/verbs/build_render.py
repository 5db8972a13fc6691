"""A build's rendered decks into its staging folder: Markdown and the pictures they show."""

from __future__ import annotations

import shutil
from pathlib import Path

from livedeck.errors import DeckError
from livedeck.model import Deck, Transcript
from livedeck.paths import contained, course_root
from livedeck.render import local_images, render
from livedeck.verbs.preflight import picture_file


def stage_deck(deck: Deck, transcript: Transcript, staging: Path) -> Path:
    """Write the deck's Markdown and the pictures it shows into staging."""
    rendered = render(deck, transcript)
    target = contained(staging, f"{deck.name}.md", "output")
    target.write_text(rendered.markdown, encoding="utf-8")
    for path, svg in rendered.pictures.items():
        drawn = contained(staging, path, "picture")
        drawn.parent.mkdir(parents=True, exist_ok=True)
        drawn.write_text(svg, encoding="utf-8")
    for image in local_images(rendered.markdown):
        if image.removeprefix("./") not in rendered.pictures:
            _stage_image(deck, image, staging)
    return target


def _stage_image(deck: Deck, image: str, staging: Path) -> None:
    """Copy a picture the deck shows from the deck's folder (symlinks followed, and refused if
    they lead out of it) to the same place in staging."""
    line = next((n for n, text in enumerate(deck.text.split("\n"), 1) if image in text), 1)
    name = picture_file(image)
    source = contained(course_root(deck.path), name, "picture", deck=deck.path, line=line)
    if not source.is_file():
        raise DeckError(deck.path, line, f"picture {image} not found (looked at {source})")
    target = contained(staging, name, "picture", deck=deck.path, line=line)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
