"""The normaliser and the comparison, on screens of two real runs of the flagship deck."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from livedeck.check import compare, report
from livedeck.deck import load_deck, parse_deck, record
from livedeck.errors import DeckError
from livedeck.model import Result, Transcript

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
DECK = load_deck(ROOT / "slides" / "docker-layers.md")


def runs() -> tuple[Transcript, Transcript]:
    return tuple(  # type: ignore[return-value]
        record.load(p.read_text(encoding="utf-8"), DECK, p)
        for p in (GOLDEN / "docker-layers.record.yaml", GOLDEN / "docker-layers.record-2.yaml")
    )


def test_two_real_runs_differ_only_in_noise() -> None:
    first, second = runs()
    assert first.results[0].screen != second.results[0].screen  # IDs really differ
    assert compare(DECK, first, second) == []


ONE = """\
---
marp: true
---

```bash
$ ./run-tests
```
"""


def reported(old: tuple[str, ...], new: tuple[str, ...]) -> bool:
    """Whether check reports a new screen `new` of a command recorded as `old`."""
    deck = parse_deck(ONE, Path("one.md"))
    first, second = (
        Transcript(deck.path, (Result(deck.commands[0], screen, 0, 0.0),)) for screen in (old, new)
    )
    return bool(compare(deck, first, second))


def test_a_word_word_line_end_is_no_container_name() -> None:
    assert reported(("3 tests_passed",), ("3 tests_failed",))


def test_a_twelve_digit_number_is_no_image_id() -> None:
    assert reported(("order 123456789012",), ("order 123456789013",))
    assert reported(("123456789012",), ("123456789013",))


def test_indentation_is_part_of_the_story() -> None:
    assert reported(("total:", "  one"), ("total:", "one"))
    assert reported(("  - a",), ("    - a",))


def test_ids_and_names_docker_chose_are_noise() -> None:
    header = "CONTAINER ID   IMAGE     COMMAND   CREATED         STATUS         PORTS     NAMES"
    old = (
        header,
        '237e34821eea   nginx     "x"       2 minutes ago   Up 2 minutes   80/tcp    busy_bassi',
    )
    new = (
        header,
        '0123456789ab   nginx     "x"       1 second ago    Up 1 second    80/tcp    cool_wu',
    )
    assert not reported(old, new)


def test_one_layer_fewer_is_a_change_named_at_the_pull_line() -> None:
    first, second = runs()
    pull = next(n for n, r in enumerate(second.results) if r.command.text == "docker pull nginx")
    result = second.results[pull]
    fewer = tuple(line for n, line in enumerate(result.screen) if n != 3)  # drop one layer line
    results = list(second.results)
    results[pull] = replace(result, screen=fewer)
    changes = compare(DECK, first, replace(second, results=tuple(results)))
    assert [c.line for c in changes] == [result.command.line]
    assert "`<id>: Pull complete`: 7 -> 6 lines" in changes[0].summary
    text = report(DECK.path, changes)
    assert text.startswith(f"{DECK.path}:{result.command.line}: $ docker pull nginx")
    removed = [line for line in text.split("\n") if line.strip().startswith("- ")]
    assert len(removed) == 1 and removed[0].endswith(": Pull complete")


def test_a_changed_exit_status_is_a_change() -> None:
    first, second = runs()
    results = list(second.results)
    results[1] = replace(results[1], status=1)
    changes = compare(DECK, first, replace(second, results=tuple(results)))
    assert changes[0].summary.startswith("exit status 0 -> 1")


def test_lines_in_another_order_are_a_change_unless_equal_after_normalising() -> None:
    first, second = runs()
    pull = next(n for n, r in enumerate(second.results) if r.command.text == "docker pull nginx")
    result = second.results[pull]
    results = list(second.results)
    results[pull] = replace(result, screen=tuple(reversed(result.screen)))
    changes = compare(DECK, first, replace(second, results=tuple(results)))
    assert [c.summary for c in changes] == ["lines in another order"]
    # Two lines that are equal once IDs are set aside may come in either order.
    line = "drwx------ 2 root root 4096 Jun 17 06:01 "
    same = (line + "a" * 64, line + "b" * 64)
    flipped = list(results)
    results[pull] = replace(result, screen=same)
    flipped[pull] = replace(result, screen=same[::-1])
    before, after = (replace(second, results=tuple(r)) for r in (results, flipped))
    assert compare(DECK, before, after) == []


def test_a_programs_prompt_is_compared_with_a_containers_id_set_aside() -> None:
    deck = parse_deck(ONE, Path("one.md"))
    command = deck.commands[0]

    def run(prompt: str) -> Transcript:
        return Transcript(deck.path, (Result(command, ("hi",), 0, 0.0, prompt=prompt),))

    assert compare(deck, run("root@3f2a1b4c5d6e:/# "), run("root@0a1b2c3d4e5f:/# ")) == []
    assert compare(deck, run("MariaDB [(none)]> "), run("MariaDB [shop]> "))


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("(unclosed", "is not a regular expression"), (".*", "matches an empty text")],
)
def test_a_volatile_pattern_that_cannot_work_is_named_at_its_line(
    pattern: str, message: str
) -> None:
    text = f"---\nlivedeck:\n  volatile:\n    - 'took \\d+ ms'\n    - '{pattern}'\n---\n"
    with pytest.raises(DeckError, match=message) as caught:
        parse_deck(text, Path("v.md"))
    assert caught.value.line == 5
