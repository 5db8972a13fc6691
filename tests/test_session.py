"""The run stage on a real pseudo-terminal of this machine (LocalLab): no Docker needed."""

from __future__ import annotations

import os
import pty
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from livedeck.deck import load_deck, parse_deck
from livedeck.errors import CommandFailed
from livedeck.run import run_deck
from livedeck.run.lab import LabSpec, LocalLab
from livedeck.run.session import Session

DECKS = Path(__file__).parent / "decks"
ANY_PROMPT = re.compile(r"[$#>] ?$")


@pytest.fixture
def lab() -> Iterator[LocalLab]:
    local = LocalLab(LabSpec(hostname="box", user="me", columns=100, rows=30))
    yield local
    local.close()


def test_state_carries_over_and_statuses_come_back(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    assert session.type("cd /tmp && export GREETING=hello", 5).status == 0
    outcome = session.type('echo "$GREETING from $(pwd)"', 5)
    assert outcome.lines == ("hello from /tmp",)
    assert session.type("(exit 7)", 5).status == 7
    assert session.type("stty size", 5).lines == ("30 100",)


def test_stdout_and_stderr_interleave_as_on_a_terminal(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    outcome = session.type("echo one; echo two >&2; echo three", 5)
    assert outcome.lines == ("one", "two", "three")


def test_carriage_return_redraws_leave_the_final_screen(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    outcome = session.type(r"printf 'Waiting\rDownloading\r\033[KPull complete\n'", 5)
    assert outcome.lines == ("Pull complete",)


def test_commands_go_to_an_interactive_program_until_it_exits(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    entered = session.type("PS1='inner# ' sh -i", 5)
    assert entered.status is None and entered.prompt == "inner# "
    inside = session.type("echo inside", 5)
    assert inside.lines == ("inside",)  # the program's echo of the typed line is not repeated
    assert inside.prompt == "inner# "
    left = session.type("exit", 5)
    assert left.status == 0 and session.in_program is None
    assert session.type("echo back", 5).lines == ("back",)


def test_a_hung_command_is_interrupted_and_the_shell_survives(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    started = time.monotonic()
    outcome = session.type("sleep 60", 1)
    assert outcome.timed_out
    assert time.monotonic() - started < 10
    assert session.type("echo alive", 5).lines == ("alive",)


def test_a_command_that_ignores_ctrl_c_is_killed(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    outcome = session.type("trap '' INT; sleep 60", 1)
    assert outcome.timed_out
    assert session.type("echo alive", 5).lines == ("alive",)


def test_run_deck_fills_every_command(lab: LocalLab) -> None:
    deck = load_deck(DECKS / "transcripts.md")
    transcript = run_deck(deck, lab)
    screens = {r.command.text: r.screen for r in transcript.results}
    assert screens['echo "a b" | tr a-z A-Z'] == ("A B",)
    assert screens["echo $(echo nested) \\\n  continued"] == ("nested continued",)
    assert transcript.results[-1].status == 3  # expected by its directive


def test_unexpected_failure_names_deck_line_and_screen(lab: LocalLab) -> None:
    deck = parse_deck(
        "```\nme@box:~$ echo fine\nme@box:~$ ls /nonexistent-dir\n```\n", Path("d.md")
    )
    with pytest.raises(CommandFailed) as caught:
        run_deck(deck, lab)
    error = caught.value
    assert (error.line, error.command) == (3, "ls /nonexistent-dir")
    assert "exited with status 2, expected 0" in str(error)
    assert any("No such file or directory" in line for line in error.screen_tail)
    assert "exit: 2" in error.hint


def test_hanging_command_fails_with_timeout_message(lab: LocalLab) -> None:
    deck = parse_deck(
        "<!-- livedeck: {timeout: 1} -->\n```\nme@box:~$ echo started; sleep 60\n```\n",
        Path("h.md"),
    )
    with pytest.raises(CommandFailed) as caught:
        run_deck(deck, lab)
    assert caught.value.line == 3
    assert "did not finish within 1 s" in str(caught.value)
    assert caught.value.screen_tail[0] == "started"


def test_background_jobs_end_with_the_local_lab() -> None:
    local = LocalLab(LabSpec(hostname="box", user="me"))
    session = Session(local, ANY_PROMPT)
    session.type("sleep 4321 &", 5)
    pid = int(session.type("echo $!", 5).lines[0])
    assert Path(f"/proc/{pid}").exists()
    local.close()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists()


def test_a_pause_on_a_prompt_like_line_is_output_while_something_runs(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    assert session.type("PS1='inner# ' sh -i", 5).prompt == "inner# "
    paused = session.type("printf 'step 1 of 2 >'; sleep 2; echo ' FIRST-DONE'", 10)
    assert paused.lines == ("step 1 of 2 > FIRST-DONE",) and paused.prompt == "inner# "
    assert session.type("echo SECOND", 5).lines == ("SECOND",)
    assert session.type("exit", 5).status == 0
    bar = session.type("for i in 1 2 3; do printf '#'; sleep 1; done; echo", 10)
    assert bar.lines == ("###",) and bar.status == 0


def test_a_question_nobody_answers_stops_the_command_at_once(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    started = time.monotonic()
    outcome = session.type("sh -c 'printf \"Password: \"; read secret; echo got it'", 60)
    assert outcome.asked == "Password:" and outcome.status is None
    assert time.monotonic() - started < 15
    assert session.type("echo alive", 5).lines == ("alive",)


def test_keys_are_typed_without_enter(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    outcome = session.type(
        "read -n 1 -p 'Continue? ' key; echo \"[$key]\"", 10, inputs=[("y", False)]
    )
    assert outcome.lines[-1] == "Continue? y[y]" and outcome.status == 0  # the echo of y
    assert session.type("echo next", 5).lines == ("next",)  # no stray Enter ran before it


def test_a_channel_closed_twice_leaves_the_file_that_took_its_number_open() -> None:
    """The session and its lab both close a shell: the second close must not close whatever
    file got the terminal's number meanwhile (a connection `watch` is serving)."""
    lab = LocalLab()
    channel = lab.shell()
    number = channel.fd
    channel.close()
    read, write = os.pipe()
    os.dup2(write, number)  # another thread's new file, on the freed number
    try:
        lab.close()
        channel.close()
        os.fstat(number)  # still open
    finally:
        for fd in {read, write, number}:
            os.close(fd)


def test_a_channel_closed_before_its_shell_has_a_session_ends_the_shell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under load the child of pty.fork may run late: closed before it made its own session,
    the channel must still end it (it waited for the shell for ever, and the shell for input)."""

    def late_fork() -> tuple[int, int]:
        master, slave = os.openpty()
        pid = os.fork()
        if pid == 0:  # what pty.fork's child does, half a second late
            time.sleep(0.5)
            os.close(master)
            os.login_tty(slave)
            return 0, -1
        os.close(slave)
        return pid, master

    monkeypatch.setattr(pty, "fork", late_fork)
    lab = LocalLab()
    channel = lab.shell()
    shell = channel.pid
    closing = threading.Thread(target=lab.close, daemon=True)
    closing.start()
    closing.join(10)
    assert not closing.is_alive(), "close waits for a shell it did not end"
    with pytest.raises(ProcessLookupError):
        os.kill(shell, 0)
