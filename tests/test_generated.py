"""Generated decks: many commands, each printing a token of its own, mixing everything a deck
does to its shell. Every screen must hold its own token, no other, and no echo of a command.

A deck is made from a seed; a failure names the seed and the deck line, and the deck text is
written next to the test's temporary files to be run again by hand.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from livedeck.deck import parse_deck
from livedeck.model import Transcript
from livedeck.render.context import run_plan
from livedeck.run import run_deck
from livedeck.run.lab import LabSpec
from livedeck.run.sandbox import start_sandbox

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PROMPT = "ubuntu@ip-10-0-1-14:~$ "
TOKEN = re.compile(r"tok-\d+-\d+")
Step = tuple[list[str], str]  # deck lines (prompt lines and `> ` lines), the directive or ""


def _long_line(token: str) -> Step:
    """A line of 5,000-20,000 bytes: the token shows only if the shell got all of it."""
    length = random.Random(token).randint(5_000, 20_000)
    return ([f"[ $(echo {'x' * length} | wc -c) = {length + 1} ] && echo {token}"], "")


def _shapes(token: str) -> list[Callable[[], Step]]:
    """Ways to print `token` (each a step of one or more deck commands)."""
    return [
        lambda: _long_line(token),
        lambda: (["set -x", f"echo {token}", "set +x"], ""),
        lambda: ([f"history | grep -q _[_]ld || echo {token}"], ""),  # no livedeck line
        lambda: (["trap 'echo \"dbg $BASH_COMMAND\"' DEBUG", f"echo {token}", "trap - DEBUG"], ""),
        lambda: ([f"echo {token}-x >/dev/null", f"echo !!:1 | sed s/-x// # {token}"], ""),
        lambda: ([f"echo {token}"], ""),
        lambda: ([f"echo start \\\n> {token}"], ""),
        lambda: ([f"cat <<EOF > /tmp/{token}\n> {token}\n> EOF", f"cat /tmp/{token}"], ""),
        lambda: (["sleep 0.3 &", f"echo {token}"], ""),
        lambda: ([f"(cd /tmp && echo {token})"], ""),
        lambda: ([f"echo {token} | tr a-z a-z | cat"], ""),
        lambda: ([f"echo {token} > /tmp/out && cat < /tmp/out"], ""),
        lambda: ([f"printf 'waiting....\\r{token}   \\n'"], ""),
        lambda: ([f"echo 한글과 {token}"], ""),
        lambda: ([f"printf 'a\\tb\\t{token}\\n'"], ""),
        lambda: ([f"printf '%0230d {token}\\n' 0"], ""),
        lambda: ([f"sh -c 'echo {token}; exit 3'"], "{exit: 3}"),
        lambda: (["source ~/.bashrc", f"echo {token}"], ""),
        lambda: (["PS1='$ '", f"echo {token}"], ""),
        lambda: (['PROMPT_COMMAND="history -a ~/.h; $PROMPT_COMMAND"', f"echo {token}"], ""),
        lambda: (["stty echo", f"echo {token}"], ""),
        lambda: (["set -o emacs", f"echo {token}"], ""),
        lambda: (["exec bash", f"echo {token}"], ""),
        lambda: (["newgrp docker", f"echo {token}", "exit"], ""),
        lambda: (["bash", f"echo {token}", "exit"], ""),
        lambda: ([f"false || echo {token}"], ""),
        lambda: ([f"for i in 1; do\n> echo {token}\n> done"], ""),
    ]


def generate(seed: int, count: int) -> tuple[str, dict[int, str]]:
    """A deck of at least `count` commands, and the token each command's line must show."""
    rng = random.Random(seed)
    lines = ["# Generated deck", ""]
    expected: dict[int, str] = {}
    made = 0
    while made < count:
        block: list[str] = []
        for _ in range(rng.randint(1, 3)):
            token = f"tok-{seed}-{made}"
            written, directive = rng.choice(_shapes(token))()
            if directive:  # a directive is about a whole block: give the step one of its own
                if block:
                    lines += ["```bash", *block, "```", ""]
                    block = []
                lines.append(f"<!-- livedeck: {directive} -->")
            start = len(block)
            for line in "\n".join(written).split("\n"):
                block.append(line if line.startswith("> ") else PROMPT + line)
            # The token shows under the command that prints it: the last one that names it.
            printer = max(n for n in _commands(block, start) if token in _command(block, n))
            expected[len(lines) + 2 + printer] = token
            made += 1
            if directive:
                lines += ["```bash", *block, "```", ""]
                block = []
        if block:
            lines += ["```bash", *block, "```", ""]
        if rng.random() < 0.3:
            lines += ["---", "", f"Prose about step {made}.", ""]
    return "\n".join(lines), expected


def _commands(block: list[str], start: int) -> list[int]:
    """Indexes of the prompt lines of `block` from `start` on."""
    return [n for n in range(start, len(block)) if block[n].startswith(PROMPT)]


def _command(block: list[str], n: int) -> str:
    """The command at block[n] with its `> ` lines."""
    following = []
    for line in block[n + 1 :]:
        if not line.startswith("> "):
            break
        following.append(line)
    return "\n".join([block[n], *following])


def check(transcript: Transcript, expected: dict[int, str]) -> None:
    for result in transcript.results:
        want = expected.get(result.command.line)
        found = set(TOKEN.findall("\n".join(result.screen)))
        where = f"line {result.command.line} ({result.command.text!r}): {result.screen!r}"
        assert found == ({want} if want else set()), where
        assert not any("__ld" in line for line in result.screen), where  # livedeck's own hooks
        typed = result.command.text.split("\n")[0].strip()
        if typed != "exit":  # bash itself says `exit` when a shell ends
            assert all(line.strip() != typed for line in result.screen), where


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_every_screen_holds_its_own_token_and_no_other(seed: int, tmp_path: Path) -> None:
    text, expected = generate(seed, 80)
    (tmp_path / f"generated-{seed}.md").write_text(text, encoding="utf-8")
    deck = parse_deck(text, tmp_path / f"generated-{seed}.md")
    assert len([c for c in deck.commands if c.runnable]) >= 80
    assert set(expected) <= {c.line for c in deck.commands}
    lab = start_sandbox(LabSpec())
    try:
        transcript = run_deck(deck, lab, run_plan(deck))
    finally:
        lab.close()
    check(transcript, expected)
