"""The record: a run as YAML beside the deck, read back exactly, refused when it does not fit."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livedeck.deck import load_deck, parse_deck, record
from livedeck.errors import DeckError
from livedeck.model import Result, Transcript

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
FLAGSHIP = ROOT / "slides" / "docker-layers.md"


def test_round_trip_is_exact() -> None:
    deck = load_deck(FLAGSHIP)
    path = GOLDEN / "docker-layers.record.yaml"
    first = record.load(path.read_text(encoding="utf-8"), deck, path)
    again = record.load(record.dump(deck, first), deck, path)
    assert again == first
    assert first.facts and first.engine["storage_driver"] == "overlay2"
    assert record.dump(deck, again) == record.dump(deck, first)


def test_a_record_of_another_deck_version_is_refused_at_the_deck_line() -> None:
    deck = load_deck(FLAGSHIP)
    changed = parse_deck(deck.text.replace("docker images\n", "docker image ls\n", 1), FLAGSHIP)
    path = GOLDEN / "docker-layers.record.yaml"
    with pytest.raises(DeckError) as caught:
        record.load(path.read_text(encoding="utf-8"), changed, path)
    line = next(c.line for c in changed.commands if c.text == "docker image ls")
    assert caught.value.line == line
    assert "from another version of the deck" in str(caught.value)
    assert "livedeck check --update" in caught.value.hint


def test_a_record_of_a_deck_whose_commands_were_all_removed_is_refused() -> None:
    """Not a traceback (an editor's save read half-way, or every block deleted)."""
    deck = load_deck(FLAGSHIP)
    front = "\n".join(deck.text.split("\n")[: deck.body_line - 1])
    emptied = parse_deck(front + "\n# Nothing to run yet\n", FLAGSHIP)
    path = GOLDEN / "docker-layers.record.yaml"
    with pytest.raises(DeckError) as caught:
        record.load(path.read_text(encoding="utf-8"), emptied, path)
    assert caught.value.line == emptied.body_line
    assert "the deck 0" in str(caught.value)


def test_a_malformed_record_names_its_line(tmp_path: Path) -> None:
    deck = load_deck(FLAGSHIP)
    path = tmp_path / "docker-layers.record.yaml"
    text = (GOLDEN / "docker-layers.record.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("commands:\n", "commands: [\n", 1), encoding="utf-8")
    with pytest.raises(DeckError) as caught:
        record.load(path.read_text(encoding="utf-8"), deck, path)
    assert caught.value.path == path
    assert caught.value.line > 1


def test_a_missing_record_says_how_to_make_one(tmp_path: Path) -> None:
    deck = parse_deck("```\nme@box:~$ true\n```\n", tmp_path / "d.md")
    with pytest.raises(DeckError, match=r"no record d\.record\.yaml") as caught:
        record.read(deck)
    assert "livedeck check --update" in caught.value.hint


def test_write_is_atomic_and_readable(tmp_path: Path) -> None:
    deck = parse_deck((FLAGSHIP).read_text(encoding="utf-8"), tmp_path / "docker-layers.md")
    path = GOLDEN / "docker-layers.record.yaml"
    transcript = record.load(path.read_text(encoding="utf-8"), deck, path)
    written = record.write(deck, transcript)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docker-layers.record.yaml"]
    assert record.read(deck) == transcript
    assert written.read_text(encoding="utf-8").startswith("# livedeck record of docker-layers.md")


def test_a_record_holds_no_durations_and_older_ones_with_seconds_still_load() -> None:
    deck = load_deck(FLAGSHIP)
    path = GOLDEN / "docker-layers.record.yaml"
    old = path.read_text(encoding="utf-8")
    assert "\n  seconds: " in old  # written before durations left the record
    transcript = record.load(old, deck, path)
    assert all(r.duration == 0.0 for r in transcript.results)
    assert "seconds:" not in record.dump(deck, transcript)


SCREEN_DECK = parse_deck("```\nme@box:~$ echo one\nme@box:~$ echo two\n```\n", Path("s.md"))
LINE = st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",))).map(
    str.rstrip  # a terminal's lines end where their last character is
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(LINE, max_size=6), min_size=2, max_size=2))
def test_every_screen_round_trips_through_the_record(screens: list[list[str]]) -> None:
    results = tuple(
        Result(command, tuple(screen), 0, 0.0)
        for command, screen in zip(SCREEN_DECK.commands, screens, strict=True)
    )
    transcript = Transcript(SCREEN_DECK.path, results)
    again = record.load(record.dump(SCREEN_DECK, transcript), SCREEN_DECK, Path("s.record.yaml"))
    assert [r.screen for r in again.results] == [tuple(s) for s in screens]


def test_a_screen_of_one_blank_line_is_kept() -> None:
    (one, two) = SCREEN_DECK.commands
    transcript = Transcript(SCREEN_DECK.path, (Result(one, ("",), 0, 0.0), Result(two, (), 0, 0.0)))
    again = record.load(record.dump(SCREEN_DECK, transcript), SCREEN_DECK, Path("s.record.yaml"))
    assert [r.screen for r in again.results] == [("",), ()]


def test_bare_prompts_stay_with_their_command_when_lines_move() -> None:
    text = (
        "```\nme@box:~$ docker run -it img sh\nroot@0123456789ab:/# ls\nroot@0123456789ab:/#\n```\n"
    )
    deck = parse_deck(text, Path("b.md"))
    run_it, ls = (c for c in deck.commands if c.runnable)
    bare = next(c for c in deck.commands if not c.runnable)
    transcript = Transcript(
        deck.path,
        (
            Result(run_it, (), None, 0.0),
            Result(ls, ("bin",), None, 0.0, bare=((bare.line, "root@3f2a1b0c9d8e:/#"),)),
        ),
    )
    moved = parse_deck("Prose first.\n\n" + text, Path("b.md"))
    again = record.load(record.dump(deck, transcript), moved, Path("b.record.yaml"))
    assert again.bare_prompt(bare.line + 2) == "root@3f2a1b0c9d8e:/#"
