"""Programs with prompts of their own on the real lab: a container's busybox shell, MariaDB, a
Python REPL, dash. A line goes to a program because the screen shows its prompt, never because
of a word in an earlier command; a pause that only looks like a prompt is output; a question
nobody answers stops the command at once.

`alpine` in these decks is busybox on an empty image (program_images.py): there is no Docker
Hub here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from livedeck.deck import parse_deck
from livedeck.errors import CommandFailed
from livedeck.model import Transcript
from livedeck.render import render
from livedeck.render.context import run_plan
from livedeck.run import lab_spec, run_deck
from livedeck.run.sandbox import start_sandbox
from program_images import serve_program_images

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DB = "docker run -d --name db --network-alias mysql -e MARIADB_ROOT_PASSWORD=pw mariadb:10.11"
WAIT_DB = (
    "<!-- livedeck: {wait: {until: 'docker exec db mariadb-admin ping -ppw', timeout: 120}} -->"
)


@pytest.fixture(scope="module")
def images(lab_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Labs of this module pull alpine (busybox) and python from a store of its own."""
    serve_program_images()
    yield lab_env


def _run(text: str, path: str = "deck.md") -> tuple[str, Transcript]:
    deck = parse_deck(text, Path(path))
    lab = start_sandbox(lab_spec(deck))
    try:
        done = run_deck(deck, lab, run_plan(deck))
    finally:
        lab.close()
    return render(deck, done).markdown, done


def _screens(done: Transcript) -> dict[str, tuple[str, ...]]:
    return {r.command.text: r.screen for r in done.results}


ALPINE = """\
```bash
$ docker run -it alpine /bin/sh
/ # ls /
/ # uname -s
/ # printf 'step 1 of 2 >'; sleep 2; echo ' FIRST-DONE'
/ # echo SECOND
/ # exit
$ for i in 1 2 3 4; do printf '#'; sleep 1; done; echo
$ echo after-bar
```
"""


def test_a_container_shell_gets_its_lines_and_a_pause_is_not_its_prompt(
    images: dict[str, str],
) -> None:
    markdown, done = _run(ALPINE)
    assert len(done.results) == 8  # every `/ # ` line is a command of its own
    screens = _screens(done)
    assert "sbin" in " ".join(screens["ls /"])
    assert screens["uname -s"] == ("Linux",)
    assert screens["printf 'step 1 of 2 >'; sleep 2; echo ' FIRST-DONE'"] == (
        "step 1 of 2 > FIRST-DONE",
    )
    assert screens["echo SECOND"] == ("SECOND",)
    # A progress bar of `#` is output of a host command, not a program's prompt.
    assert screens["for i in 1 2 3 4; do printf '#'; sleep 1; done; echo"] == ("####",)
    assert screens["echo after-bar"] == ("after-bar",)
    assert "/ # uname -s\nLinux\n/ # printf" in markdown


MARIADB = f"""\
```bash
ubuntu@ip-10-0-1-14:~$ {DB}
ubuntu@ip-10-0-1-14:~$ docker run -d --name mysql alpine sleep 600
```

{WAIT_DB}
```bash
ubuntu@ip-10-0-1-14:~$ docker exec -it db mariadb -uroot -ppw
MariaDB [(none)]> show databases;
MariaDB [(none)]> create database shop;
MariaDB [(none)]> use shop
MariaDB [shop]> create table t (name varchar(20));
MariaDB [shop]> insert into t values ('docker'), ('kubernetes');
MariaDB [shop]> select * from t
    -> where name like 'k%';
MariaDB [shop]> exit
ubuntu@ip-10-0-1-14:~$ echo back
```
"""


def test_a_client_starts_where_its_prompt_shows_not_where_its_name_is_written(
    images: dict[str, str],
) -> None:
    markdown, done = _run(MARIADB)
    assert len(done.results) == 12
    screens = _screens(done)
    assert "| information_schema |" in screens["show databases;"]
    assert "| kubernetes |" in screens["where name like 'k%';"]
    assert "| docker     |" not in screens["where name like 'k%';"]
    assert screens["echo back"] == ("back",)
    assert "MariaDB [shop]> select * from t\n    -> where name like 'k%';\n+" in markdown


PYTHON_AND_DASH = """\
```bash
$ docker run -it --rm python:3.11 python3
>>> print('py-' + 'one')
>>> import time; print('wait >>> ', end='', flush=True); time.sleep(2); print('PY-DONE')
>>> exit()
$ echo python mysql psql node
```

<!-- livedeck: {program: {prompt: '#'}} -->
```bash
$ docker run -it --rm python:3.11 dash
# echo dash-$((1 + 1))
# exit
$ echo end
```
"""


def test_a_python_repl_and_a_declared_dash_prompt(images: dict[str, str]) -> None:
    _, done = _run(PYTHON_AND_DASH)
    screens = _screens(done)
    assert screens["print('py-' + 'one')"] == ("py-one",)
    waited = "import time; print('wait >>> ', end='', flush=True); time.sleep(2); print('PY-DONE')"
    assert screens[waited] == ("wait >>> PY-DONE",)  # the pause on `>>> ` was no prompt
    assert screens["echo dash-$((1 + 1))"] == ("dash-2",)
    assert screens["echo end"] == ("end",)


def test_keys_without_enter_end_a_pager_and_leave_no_stray_line(images: dict[str, str]) -> None:
    _, done = _run(
        "```bash\n$ seq 1 100 > /tmp/n\n```\n\n<!-- livedeck: {input: [{keys: q}]} -->\n"
        "```bash\n$ less /tmp/n\n$ echo after-less\n```\n"
    )
    assert _screens(done)["echo after-less"] == ("after-less",)


def test_a_password_prompt_without_input_fails_at_once_with_a_hint(
    images: dict[str, str],
) -> None:
    started = time.monotonic()
    with pytest.raises(CommandFailed) as caught:
        _run("```bash\n$ echo first\n$ docker login -u me 127.0.0.1:5000\n$ echo never\n```\n")
    assert time.monotonic() - started < 90  # the deck's timeout is 120 s, plus the lab's start
    assert caught.value.line == 3
    assert "waits for input at 'Password:'" in str(caught.value)
    assert "input:" in (caught.value.hint or "") and "secret" in (caught.value.hint or "")
