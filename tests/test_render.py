"""The render stage: golden files for parse -> render, with made-up screens."""

from __future__ import annotations

import os
from pathlib import Path

from livedeck.deck import load_deck, record
from livedeck.model import Deck, Result, Transcript
from livedeck.render import local_images, render

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"


def fake_transcript(deck: Deck) -> Transcript:
    """Each command 'prints' two lines naming it, so the golden file shows where output goes."""
    results = tuple(
        Result(
            command=c,
            screen=(f"<screen of {c.text.split()[0]}>", "second line"),
            status=0,
            duration=0.1,
        )
        for c in deck.commands
        if c.runnable
    )
    return Transcript(deck=deck.path, results=results)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("LIVEDECK_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"differs from {path}; see git diff after LIVEDECK_UPDATE_GOLDEN=1"
    )


def test_transcripts_golden() -> None:
    deck = load_deck(HERE / "decks" / "transcripts.md")
    check_golden("transcripts.md", render(deck, fake_transcript(deck)).markdown)


def test_flagship_golden() -> None:
    """The flagship rendered from a recorded run (tests/golden/docker-layers.record.yaml)."""
    deck = load_deck(HERE.parent / "slides" / "docker-layers.md")
    recorded = record.load((GOLDEN / "docker-layers.record.yaml").read_text(), deck, GOLDEN)
    rendered = render(deck, recorded)
    check_golden("docker-layers.md", rendered.markdown)
    assert sorted(rendered.pictures) == [
        "img/generated/docker-layers-1.svg",
        "img/generated/docker-layers-2.svg",
    ]


def test_directives_are_not_rendered_and_prose_is_kept() -> None:
    deck = load_deck(HERE / "decks" / "transcripts.md")
    out = render(deck, fake_transcript(deck)).markdown
    assert "livedeck:" not in out.split("---", 2)[2]  # only the front matter keeps its key
    assert 'print("no prompt: left alone")' in out
    assert "OLD OUTPUT" not in out


def test_program_prompt_replaces_the_deck_prompt() -> None:
    deck = load_deck(HERE / "decks" / "transcripts.md")
    first = deck.commands[1]
    transcript = Transcript(
        deck=deck.path,
        results=(
            Result(command=first, screen=("X",), status=None, duration=0.0, prompt="root@1a2b:/# "),
        ),
    )
    out = render(deck, transcript).markdown
    assert 'root@1a2b:/# echo "a b" | tr a-z A-Z\nX\n' in out


def test_local_images() -> None:
    text = '![h:350](./img/a.jpeg) ![](https://x/y.png) ![x](img/b.svg "t")'
    assert local_images(text) == ["./img/a.jpeg", "img/b.svg"]
