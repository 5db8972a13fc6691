"""Every field of a record checked with its line; a record fits only the setup it was made with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livedeck.cli import main
from livedeck.deck import load_deck, parse_deck, record
from livedeck.deck.recordfields import COMMAND_FIELDS
from livedeck.errors import LivedeckError, NewerRecord, RecordError
from livedeck.model import Result, Transcript

DECK = """\
---
livedeck:
  setup: [echo ready]
  files: {story.txt: ~/story.txt}
  packages: [make]
---

```bash
me@box:~$ echo hello
```
"""
WRONG = {"text": 5, "number": "soon", "mapping": [1], "prompt": 5, "status": "fine", "line": "x"}


def deck_and_record(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "d.md"
    (tmp_path / "story.txt").write_text("one\n", encoding="utf-8")
    path.write_text(DECK, encoding="utf-8")
    deck = load_deck(path)
    transcript = Transcript(path, (Result(deck.commands[0], ("hello",), 0, 0.0),))
    return path, record.dump(deck, transcript)


def wrong_value(what: str) -> object:
    for word, value in WRONG.items():
        if word in what:
            return value
    return [1, 2]


ENTRY = [
    "format: 2",
    "commands:",
    "- line: 9",
    "  command: echo hello",
    "  exit: 0",
    "  screen: 'hello'",
]


@pytest.mark.parametrize("field", sorted(COMMAND_FIELDS))
def test_a_field_of_the_wrong_kind_is_named_at_its_line(field: str, tmp_path: Path) -> None:
    path, _ = deck_and_record(tmp_path)
    value = wrong_value(COMMAND_FIELDS[field][2])
    wrong = f"{field}: {value!r}" if not isinstance(value, str) else f"{field}: {value}"
    lines = list(ENTRY)
    at = next((n for n, t in enumerate(lines) if t[2:].startswith(f"{field}:")), None)
    if at is None:
        lines.append(f"  {wrong}")
        at = len(lines) - 1
    else:
        lines[at] = lines[at][:2] + wrong
    with pytest.raises(RecordError) as caught:
        record.load("\n".join(lines) + "\n", load_deck(path), tmp_path / "d.record.yaml")
    assert caught.value.line == at + 1, str(caught.value)
    assert f"`{field}:" in caught.value.message


@pytest.mark.parametrize("top", ["lab: [a, b]", "commands: {}", "facts: [1]", "deck: [x]"])
def test_a_top_field_of_the_wrong_kind_is_named_at_its_line(top: str, tmp_path: Path) -> None:
    path, text = deck_and_record(tmp_path)
    key = top.split(":")[0]
    lines = text.split("\n")
    if any(t.startswith(f"{key}:") for t in lines):
        start = next(n for n, t in enumerate(lines) if t.startswith(f"{key}:"))
        end = next(n for n in range(start + 1, len(lines)) if not lines[n].startswith((" ", "-")))
        lines[start:end] = [top]
    else:
        start = len(lines) - 1
        lines.insert(start, top)
    with pytest.raises(RecordError) as caught:
        record.load("\n".join(lines), load_deck(path), tmp_path / "d.record.yaml")
    assert caught.value.line == start + 1, str(caught.value)


def test_a_newer_record_is_named_and_kept_unless_fresh(tmp_path: Path) -> None:
    path = tmp_path / "n.md"
    path.write_text("```bash\nme@box:~$ echo hi\n```\n", encoding="utf-8")
    newer = "format: 99\ncommands: []\n"
    path.with_suffix(".record.yaml").write_text(newer, encoding="utf-8")
    with pytest.raises(NewerRecord, match="newer livedeck"):
        record.read(load_deck(path))
    argv = ["build", str(path), "--lab", "local", "--format", "none", "--out", str(tmp_path / "o")]
    assert main([*argv, "-q"]) == 1
    assert path.with_suffix(".record.yaml").read_text(encoding="utf-8") == newer
    assert main([*argv, "-q", "--fresh"]) == 0
    assert "format: 2" in path.with_suffix(".record.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "edit",
    [
        ("setup: [echo ready]", "setup: [echo steady]"),
        ("packages: [make]", "packages: [make, git]"),
        ("~/story.txt", "~/tale.txt"),
        ("```bash\n", "<!-- livedeck: {input: [yes]} -->\n```bash\n"),
        ("```bash\n", "<!-- livedeck: {before: [date]} -->\n```bash\n"),
    ],
)
def test_a_record_fits_only_the_setup_it_was_made_with(
    edit: tuple[str, str], tmp_path: Path
) -> None:
    path, text = deck_and_record(tmp_path)
    record.load(text, load_deck(path), path)  # fits as it is
    changed = parse_deck(DECK.replace(*edit), path)
    with pytest.raises(RecordError, match="made with another setup") as caught:
        record.load(text, changed, path)
    assert caught.value.path == path and caught.value.line == 2  # `livedeck:`


def test_a_course_file_edit_is_another_setup(tmp_path: Path) -> None:
    path, text = deck_and_record(tmp_path)
    (tmp_path / "story.txt").write_text("two\n", encoding="utf-8")
    with pytest.raises(RecordError, match="made with another setup"):
        record.load(text, load_deck(path), path)


GOLDEN = Path(__file__).parent / "golden" / "docker-layers.record.yaml"
FLAGSHIP = Path(__file__).resolve().parent.parent / "slides" / "docker-layers.md"


def facts_fields() -> list[int]:
    """The line numbers (0-based) of every scalar field of the golden record's lab facts."""
    lines = GOLDEN.read_text(encoding="utf-8").split("\n")
    start = lines.index("facts:")
    return [
        n
        for n in range(start + 2, len(lines))
        if re.match(r"^ +(- )?[a-z_]+: \S", lines[n]) and not lines[n].strip().startswith("after")
    ]


def test_every_lab_fact_of_the_wrong_kind_is_named_at_its_line() -> None:
    deck = load_deck(FLAGSHIP)
    lines = GOLDEN.read_text(encoding="utf-8").split("\n")
    fields = facts_fields()
    assert len(fields) > 100
    for n in fields[::7]:  # every 7th: all kinds of field, in well under a second each
        key, _, value = lines[n].partition(": ")
        wrong = "[1, 2]" if value.startswith(("'", "sha", "2")) or not value.isdigit() else "many"
        broken = [*lines[:n], f"{key}: {wrong}", *lines[n + 1 :]]
        with pytest.raises(RecordError) as caught:
            record.load("\n".join(broken), deck, GOLDEN)
        assert caught.value.line == n + 1, (lines[n], str(caught.value))


VALUES = ["[a, b]", "5", "{x: 1}", "null", "true", "-1", "'x'", "99", "1.5", "[]", "{}"]
RECORD_LINES = GOLDEN.read_text(encoding="utf-8").split("\n")
DAMAGED_DECK = load_deck(FLAGSHIP)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(RECORD_LINES) - 1),
            st.sampled_from(["drop", "value", "repeat", "indent"]),
            st.sampled_from(VALUES),
            st.integers(0, 6),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_a_damaged_record_is_read_or_refused_never_a_traceback(
    damage: list[tuple[int, str, str, int]],
) -> None:
    lines = list(RECORD_LINES)
    for n, what, value, spaces in damage:
        n %= len(lines)
        if what == "drop":
            del lines[n]
        elif what == "value":
            lines[n] = lines[n].partition(": ")[0] + ": " + value
        elif what == "repeat":
            lines.insert(n, lines[(n * 7) % len(lines)])
        else:
            lines[n] = " " * spaces + lines[n].lstrip()
    try:
        record.load("\n".join(lines), DAMAGED_DECK, GOLDEN)
    except LivedeckError as error:
        assert str(error)
