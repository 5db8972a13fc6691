"""Generated decks that talk to programs: container shells (busybox sh served as alpine, bash,
dash), a MariaDB client and a Python REPL, with commands that print their own tokens, pause in
the middle of a line (on text that looks like a prompt), and host commands that name clients
(mysql, python, node, psql) as words. Every screen must hold its own token and no other, and
no echo of its command.

A deck is made from a seed; a failure names the seed and the deck line, and the deck text is
written next to the test's temporary files to be run again by hand.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from livedeck.deck import parse_deck
from livedeck.render.context import run_plan
from livedeck.run import lab_spec, run_deck
from livedeck.run.sandbox import start_sandbox
from program_images import serve_program_images
from test_generated import check

pytestmark = [pytest.mark.docker, pytest.mark.slow]

HOST = "ubuntu@ip-10-0-1-14:~$ "
DB = "docker run -d --name db --network-alias mysql -e MARIADB_ROOT_PASSWORD=pw mariadb:10.11"
WAIT_DB = "{wait: {until: 'docker exec db mariadb-admin ping -ppw', timeout: 120}}"


@pytest.fixture(scope="module")
def images(lab_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Labs of this module pull alpine (busybox) and python from a store of its own."""
    serve_program_images()
    yield lab_env


def _token(seed: int, n: int) -> tuple[str, str]:
    """The token, and a shell expression that prints it without writing it (so that an echo of
    the typed line can never pass for the output)."""
    return f"tok-{seed}-{n}", f"tok-{seed}-$(({n}))"


def _shell(seed: int, n: int, rng: random.Random) -> str:
    """A line for a shell (busybox sh, bash, dash) that prints token n."""
    _, made = _token(seed, n)
    return rng.choice(
        [
            f"echo {made}",
            f"printf '%s >' {made}; sleep 1; echo ' done'",  # a pause on a prompt-like line
            f"printf '%s # ' {made}; sleep 1; echo",
            f"echo mysql python psql node; echo {made}",
            f"i=0; while [ $i -lt 3 ]; do printf '#'; sleep 0.3; i=$((i+1)); done; echo \" {made}\"",
        ]
    )


def _host(seed: int, n: int, rng: random.Random) -> str:
    """A command for the lab's own bash that prints token n and names clients."""
    _, made = _token(seed, n)
    return rng.choice(
        [
            f"echo {made} mysql python psql node",
            f"alias mysql=true python=true node=true; echo {made}",
            f"docker ps --filter name=mysql --quiet; echo {made}",
            f"for i in 1 2 3; do printf '#'; sleep 0.4; done; echo \" {made}\"",
            f"printf '%s >>> ' {made}; sleep 1; echo",
        ]
    )


def _sql(seed: int, n: int, rng: random.Random) -> str:
    return rng.choice(
        [
            f"select concat('tok-{seed}-', {n}) as t;",
            f"select sleep(1) as s, concat('tok-{seed}-', {n}) as t;",
            f"select lower(concat('TOK-{seed}-', {n})) as mysql;",
        ]
    )


def _python(seed: int, n: int, rng: random.Random) -> str:
    return rng.choice(
        [
            f"print('tok-{seed}-' + '{n}')",
            f"import time; print('tok-{seed}-' + '{n}', end=' >>> ', flush=True);"
            " time.sleep(1); print()",
        ]
    )


# A session: the line that starts the program, its prompt, how its lines print a token, how it
# ends, and the directive its blocks need.
SESSIONS = {
    "busybox": ("docker run -it --rm alpine /bin/sh", "/ # ", _shell, "exit", ""),
    "bash": ("docker run -it --rm python:3.11 bash", "root@0123456789ab:/# ", _shell, "exit", ""),
    "dash": (
        "docker run -it --rm python:3.11 dash",
        "# ",
        _shell,
        "exit",
        "{program: {prompt: '#'}}",
    ),
    "mariadb": ("docker exec -it db mariadb -uroot -ppw", "MariaDB [(none)]> ", _sql, "exit", ""),
    "python": ("docker run -it --rm python:3.11 python3", ">>> ", _python, "exit()", ""),
}


def generate(seed: int, count: int) -> tuple[str, dict[int, str]]:
    """A deck of at least `count` commands, and the token each command's line must show."""
    rng = random.Random(seed)
    lines = ["# Generated deck of programs", ""]
    expected: dict[int, str] = {}
    made = 0

    def block(body: list[tuple[str, str | None]], directive: str) -> None:
        if directive:
            lines.append(f"<!-- livedeck: {directive} -->")
        lines.append("```bash")
        for text, token in body:
            if token is not None:
                expected[len(lines) + 1] = token
            lines.append(text)
        lines.extend(["```", ""])

    waited = False
    while made < count:
        host = []
        for _ in range(rng.randint(0, 2)):
            host.append((HOST + _host(seed, made, rng), _token(seed, made)[0]))
            made += 1
        kind = rng.choice(sorted(SESSIONS))
        start, prompt, line, leave, directive = SESSIONS[kind]
        inside = []
        for _ in range(rng.randint(1, 4)):
            inside.append((prompt + line(seed, made, rng), _token(seed, made)[0]))
            made += 1
        first = [*host, (HOST + start, None)]
        first_directive = directive
        if kind == "mariadb" and not waited:  # the server starts a block before its first use
            block([(HOST + DB, None)], "")
            first_directive, waited = WAIT_DB, True
        cut = rng.randint(0, len(inside))  # the session may go on in the next block
        if cut == len(inside):
            block([*first, *inside, (prompt + leave, None)], first_directive)
        else:
            block([*first, *inside[:cut]], first_directive)
            block([*inside[cut:], (prompt + leave, None)], directive)
        if rng.random() < 0.3:
            lines += ["---", "", f"Prose about step {made}: python, mysql and node.", ""]
    return "\n".join(lines), expected


@pytest.mark.parametrize("seed", [1, 2])
def test_every_program_screen_holds_its_own_token_and_no_other(
    seed: int, tmp_path: Path, images: dict[str, str]
) -> None:
    text, expected = generate(seed, 30)
    (tmp_path / f"programs-{seed}.md").write_text(text, encoding="utf-8")
    deck = parse_deck(text, tmp_path / f"programs-{seed}.md")
    runnable = [c for c in deck.commands if c.runnable]
    assert len(runnable) >= 30 + 2
    assert set(expected) <= {c.line for c in runnable}  # every token line is a command
    lab = start_sandbox(lab_spec(deck))
    try:
        transcript = run_deck(deck, lab, run_plan(deck))
    finally:
        lab.close()
    assert len(transcript.results) == len(runnable)
    check(transcript, expected)
