"""The order of an `ls -t` listing: which moves of its lines are the clock's, not the story's. Pure.

`ls -t` sorts by modification time, newest first, and breaks ties by name. A program writes the
entries of one step (the engine: a container's two layer folders, a link in `l`, the folder `.`
itself) within a few milliseconds: from one run to the next, two of them fall into one clock
tick or into two, and their order follows the names (random IDs) or the times. So two adjacent
lines that show the same time may swap places when the deck wrote neither name: the order of
what the deck wrote itself (`touch old; sleep 1; touch new`) is its story. The folder listed,
`.`, changes with every entry added or removed: it may take any place among the lines that show
its time. A line that moves further, or past a line that shows another time, changed the story
too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from livedeck.check.noise import MONTH
from livedeck.shellsyntax import simple_commands

# An ls -l line (after -i's inode and -s's blocks): mode, links, owner and group, size, the time
# shown (ls's default styles, or an ISO one), then the name (a link's, not its target's).
_ENTRY = re.compile(
    r"^\s*(?:\d+\s+)*[-dlcbpsD][-rwxsStT]{9}[.+@]?\s.*?\s"
    rf"({MONTH} [ \d]\d (?: \d{{4}}|\d\d:\d\d)"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d(?:\.\d+)?)?(?: [+-]\d{4})?) (\S.*?)(?: -> .*)?$"
)
_OWN = frozenset({".", ".."})  # the folder listed and its parent: never a name the deck wrote


def by_time(command: str) -> bool:
    """The command runs `ls` sorted by time (-t, --sort=time), in its own words."""
    simple = simple_commands(command)
    for words in [command.split()] if simple is None else simple:  # an open quote: as written
        listing = False
        for word in words:
            if word == "ls" or word.endswith("/ls"):
                listing = True
            elif listing and (word in ("--sort=time", "--sort=t") or _short_t(word)):
                return True
    return False


def _short_t(word: str) -> bool:
    return word.startswith("-") and not word.startswith("--") and "t" in word[1:]


def shown_time(line: str) -> str | None:
    """The time an `ls -l` line shows, if it is one."""
    found = _ENTRY.match(line)
    return found.group(1) if found else None


def swapped_in_ticks(
    old: tuple[Sequence[str], Sequence[str]],
    new: tuple[Sequence[str], Sequence[str]],
    typed: frozenset[str] = frozenset(),
) -> bool:
    """The new screen is the old one with disjoint pairs of adjacent `ls` lines swapped, each
    pair showing one time in both runs and naming nothing the deck wrote (`typed`: its words),
    and `.` moved among lines of its time. Each screen: its lines, and the same normalised."""
    (old_raw, before), (new_raw, after) = _without_moved_folder(old, new)
    written = typed - _OWN
    if len(before) != len(after):
        return False
    n = 0
    while n < len(before):
        if before[n] == after[n]:
            n += 1
            continue
        if not (
            n + 1 < len(before)
            and before[n] == after[n + 1]
            and before[n + 1] == after[n]
            and _in_one_tick(old_raw[n : n + 2], written)
            and _in_one_tick(new_raw[n : n + 2], written)
        ):
            return False
        n += 2
    return True


def _in_one_tick(pair: Sequence[str], written: frozenset[str]) -> bool:
    """Two `ls -l` lines that show one time, neither naming what the deck wrote."""
    entries = [_ENTRY.match(line) for line in pair]
    return _one_time(pair) and not {e.group(2) for e in entries if e} & written


Screen = tuple[Sequence[str], Sequence[str]]


def _without_moved_folder(old: Screen, new: Screen) -> tuple[Screen, Screen]:
    """Both screens without their `.` line if it moved only among lines that show its time, in
    both runs (`.` is touched with the entries of every step, within the same milliseconds);
    else the screens as they are."""
    (old_raw, before), (new_raw, after) = old, new
    i, j = _folder_line(old_raw), _folder_line(new_raw)
    if i is None or j is None or i == j or before[i] != after[j]:
        return old, new
    passed = slice(min(i, j), max(i, j) + 1)
    if not (_one_time(old_raw[passed]) and _one_time(new_raw[passed])):
        return old, new

    def drop(lines: Sequence[str], k: int) -> list[str]:
        return [*lines[:k], *lines[k + 1 :]]

    return (drop(old_raw, i), drop(before, i)), (drop(new_raw, j), drop(after, j))


def _folder_line(lines: Sequence[str]) -> int | None:
    for n, line in enumerate(lines):
        found = _ENTRY.match(line)
        if found and found.group(2) == ".":
            return n
    return None


def _one_time(lines: Sequence[str]) -> bool:
    entries = [_ENTRY.match(line) for line in lines]
    return all(entries) and len({e.group(1) for e in entries if e}) == 1
