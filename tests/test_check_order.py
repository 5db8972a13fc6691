"""`ls -t` listings in check: two neighbours that show one time may swap (the clock's tick), a
line moved further or past another time may not. On the flagship's real recorded screens."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from livedeck.check import compare
from livedeck.check.order import by_time, shown_time
from livedeck.deck import parse_deck
from livedeck.model import Result, Transcript
from test_check import DECK, runs


@pytest.mark.parametrize(
    ("command", "sorted_by_time"),
    [
        ("sudo ls -alt /var/lib/docker/overlay2", True),
        ("ls -l -t", True),
        ("ls -ltr /tmp | head -3", True),
        ("ls --sort=time -l", True),
        ("ls -al /var/lib/docker/overlay2", False),
        ("ls -l; touch -t 202401010000 x", False),  # that -t is touch's
        ("lsof -t", False),
        ("ls -l 'unclosed", False),
    ],
)
def test_which_commands_list_by_time(command: str, sorted_by_time: bool) -> None:
    assert by_time(command) is sorted_by_time


def test_the_time_a_line_shows() -> None:
    assert shown_time("drwx--x---  5 root root 4096 Nov 28 05:53 92c3e0527dff") == "Nov 28 05:53"
    assert shown_time("-rw-r--r-- 1 root root 12 Jan  3  2025 notes.txt") == "Jan  3  2025"
    assert shown_time("lrwxrwxrwx 1 root root 7 Dec  7 04:12 bin -> usr/bin") == "Dec  7 04:12"
    assert shown_time("total 48") is None


def _second_listing(run: Transcript) -> int:
    found = [n for n, r in enumerate(run.results) if r.command.text.startswith("sudo ls -alt")]
    return found[1]


def _with(run: Transcript, at: int, screen: list[str]) -> Transcript:
    results = list(run.results)
    results[at] = replace(results[at], screen=tuple(screen))
    return replace(run, results=tuple(results))


def _names(screen: list[str] | tuple[str, ...]) -> list[str]:
    return [line.split()[-1] for line in screen]


def test_neighbours_of_one_step_may_swap() -> None:
    """The second listing shows the new container's folders, `l` and `.` at one minute. A run
    where `l` and `.` fell into one clock tick lists `.` first (by name): the same story, as
    is the container's folder after its -init folder."""
    first, second = runs()
    at = _second_listing(second)
    screen = list(second.results[at].screen)
    assert _names(screen)[3:5] == ["l", "."]
    tied = [*screen[:3], screen[4], screen[3], *screen[5:]]
    assert compare(DECK, first, _with(second, at, tied)) == []
    init_first = [screen[0], screen[2], screen[1], *screen[3:]]
    assert _names(init_first)[2] == _names(screen)[1]
    assert compare(DECK, first, _with(second, at, init_first)) == []
    both = [screen[0], screen[2], screen[1], screen[4], screen[3], *screen[5:]]
    assert compare(DECK, first, _with(second, at, both)) == []


def test_the_folder_itself_may_take_any_place_among_lines_of_its_time() -> None:
    """`.` changes with every entry the engine adds: a run where the container's folders and
    `l` were written a tick after it lists `.` below them, a run where they were written first
    above them (seen in a check: `.` two places down)."""
    first, second = runs()
    at = _second_listing(second)
    screen = list(second.results[at].screen)
    assert _names(screen)[4] == "." and len({shown_time(line) for line in screen[1:5]}) == 1
    for place in range(1, 5):  # below `total`
        moved = [line for line in screen if line != screen[4]]
        moved.insert(place, screen[4])
        assert compare(DECK, first, _with(second, at, moved)) == [], place
    # Past a line that shows another time, it is a change.
    older = [screen[0], screen[4], *screen[1:4], *screen[5:]]
    older[2] = older[2].replace("05:53", "05:52")
    changes = compare(DECK, first, _with(second, at, older))
    assert changes and "lines in another order" in changes[0].summary


def test_a_line_moved_further_or_past_another_time_is_a_change() -> None:
    first, second = runs()
    at = _second_listing(second)
    screen = list(second.results[at].screen)
    # The new container's folder below `l`: two places down.
    lower = [screen[0], screen[2], screen[3], screen[1], *screen[4:]]
    changes = compare(DECK, first, _with(second, at, lower))
    assert [c.summary for c in changes] == ["lines in another order"]
    # `l` and `.` swapped, `l` shown a minute older: time, not a tie, orders them.
    older = [*screen[:3], screen[4], screen[3].replace("05:53 l", "05:52 l"), *screen[5:]]
    changes = compare(DECK, first, _with(second, at, older))
    assert changes and "lines in another order" in changes[0].summary


def test_a_listing_by_name_keeps_its_order() -> None:
    first, second = runs()
    at = _second_listing(second)
    screen = list(second.results[at].screen)
    tied = [*screen[:3], screen[4], screen[3], *screen[5:]]
    results = list(second.results)
    command = replace(results[at].command, text="sudo ls -al /var/lib/docker/overlay2")
    results[at] = replace(results[at], command=command, screen=tuple(tied))
    recorded = list(first.results)
    recorded[at] = replace(recorded[at], command=command)
    changes = compare(
        DECK, replace(first, results=tuple(recorded)), replace(second, results=tuple(results))
    )
    assert [c.summary for c in changes] == ["lines in another order"]


STEPS_DECK = """\
---
marp: true
---

```bash
$ touch old.txt; sleep 1; touch new.txt; ls -lt
```
"""


def test_the_order_of_what_the_deck_wrote_is_its_story() -> None:
    """`new.txt` is listed above `old.txt`: written a second later, shown at the same minute.
    The deck wrote both names, so their order is the story, not a clock tick's."""
    deck = parse_deck(STEPS_DECK, Path("steps.md"))
    (command,) = deck.commands
    new, old = (
        f"-rw-r--r-- 1 ubuntu ubuntu 0 Dec  7 05:40 {name}" for name in ("new.txt", "old.txt")
    )

    def run(*screen: str) -> Transcript:
        return Transcript(deck.path, (Result(command, ("total 0", *screen), 0, 1.0),))

    changes = compare(deck, run(new, old), run(old, new))
    assert [c.summary for c in changes] == ["lines in another order"]
    # The same two lines under names a program chose (a layer's folder, `l`): a tick's order.
    folder = "drwx--x--- 4 root root 4096 Dec  7 05:40 "
    link, layer = folder + "l", folder + "0f" * 32
    assert compare(deck, run(link, layer), run(layer, link)) == []
