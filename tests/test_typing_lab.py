"""Typing into the real lab's bash: long lines, `file:` blocks, `sudo !!`, and getting a hung
command back (the lab's /bin/sh is dash)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from livedeck.deck import parse_deck
from livedeck.run import run_deck
from livedeck.run.lab import LabSpec
from livedeck.run.sandbox import DockerLab, start_sandbox
from livedeck.run.session import Session

pytestmark = pytest.mark.docker

ANY_PROMPT = re.compile(r"[$#>] ?$")
P = "ubuntu@ip-10-0-1-14:~$ "


@pytest.fixture(scope="module")
def lab() -> Iterator[DockerLab]:
    started = start_sandbox(LabSpec())
    yield started
    started.close()


@pytest.mark.parametrize("length", [5000, 20000])
def test_a_long_line_is_typed_whole(lab: DockerLab, length: int) -> None:
    session = Session(lab, ANY_PROMPT)
    try:
        assert session.type(f"echo {'x' * length} | wc -c", 20).lines == (str(length + 1),)
    finally:
        session.close()


def test_a_file_block_with_a_long_line_is_written_byte_for_byte(lab: DockerLab) -> None:
    long = "z" * 5211
    text = (
        "<!-- livedeck: {file: ~/app/long.txt} -->\n"
        f"```text\n!! `x` $y\n\t{long}\n```\n\n"
        f"```bash\n{P}wc -c < ~/app/long.txt && md5sum < ~/app/long.txt\n```\n"
    )
    transcript = run_deck(parse_deck(text, Path("file.md")), lab)
    content = f"!! `x` $y\n\t{long}\n".encode()
    assert transcript.results[-1].screen == (
        str(len(content)),
        f"{hashlib.md5(content).hexdigest()}  -",
    )


def test_sudo_bang_bang_runs_the_last_command_as_root(lab: DockerLab) -> None:
    session = Session(lab, ANY_PROMPT)
    try:
        denied = session.type("ls -d /root/.", 10)
        assert denied.status == 2
        again = session.type("sudo !!", 10)
        assert again.lines == ("sudo ls -d /root/.", "/root/.")
        assert again.status == 0
    finally:
        session.close()


def test_a_command_that_ignores_ctrl_c_is_killed_and_the_shell_goes_on(lab: DockerLab) -> None:
    session = Session(lab, ANY_PROMPT)
    try:
        hung = session.type("sh -c \"trap '' INT; echo stuck; sleep 120\"", 2)
        assert hung.timed_out and hung.lines[0] == "stuck"
        assert session.type("echo back", 10).lines == ("back",)
    finally:
        session.close()


def test_less_that_times_out_is_stopped_and_the_shell_goes_on(lab: DockerLab) -> None:
    session = Session(lab, ANY_PROMPT)
    try:
        assert session.type("less /etc/services", 2).timed_out
        assert session.type("echo back", 10).lines == ("back",)
    finally:
        session.close()
