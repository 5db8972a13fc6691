"""Input, secrets, hidden steps and waits, and --keep-going, on a real local pseudo-terminal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from livedeck.deck.record import dump
from livedeck.errors import CommandFailed, DeckError, Failures
from livedeck.render import render
from livedeck.run.lab import LocalLab
from local_runs import local_lab, run, run_text


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LocalLab]:
    with local_lab(tmp_path) as local:
        yield local


def test_input_is_typed_when_the_command_waits_and_shows_as_on_a_terminal(lab: LocalLab) -> None:
    done = run(
        lab,
        "<!-- livedeck: {input: [Ada, '42']} -->\n```\n"
        "me@box:~$ read -p 'Name: ' name; read -p 'Age: ' age; echo \"$name is $age\"\n```\n",
    )
    assert done.results[0].screen == ("Name: Ada", "Age: 42", "Ada is 42")


def test_a_secret_is_typed_and_appears_nowhere(
    lab: LocalLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "s3cr3t-pw")
    text = (
        "<!-- livedeck: {input: ['{{ secret.DB_PASSWORD }}']} -->\n```\n"
        "me@box:~$ read -s -p 'Enter password: ' pw; echo; echo \"${#pw} characters\"\n```\n"
        "<!-- livedeck: {input: [{secret: DB_PASSWORD}]} -->\n```\n"
        'me@box:~$ read -s pw; echo "you typed $pw"\n```\n'
    )
    deck, done = run_text(lab, text)
    assert done.results[0].screen == ("Enter password:", "9 characters")
    assert done.results[1].screen == ("you typed ********",)
    assert "s3cr3t-pw" not in render(deck, done).markdown + dump(deck, done)


def test_a_missing_secret_fails_before_anything_runs(
    lab: LocalLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOPE_PW", raising=False)
    with pytest.raises(DeckError) as caught:
        run(lab, "<!-- livedeck: {input: [{secret: NOPE_PW}]} -->\n```\nme@box:~$ touch ran\n```\n")
    assert "secret NOPE_PW is not set" in str(caught.value)
    assert not (Path(lab._env["HOME"]) / "ran").exists()


def test_hidden_steps_and_a_wait_run_before_the_block_and_show_nowhere(lab: LocalLab) -> None:
    text = (
        "```\nme@box:~$ (sleep 1; echo up > ~/service.log) &\n```\n"
        "<!-- livedeck:\nbefore: ['echo hidden > ~/made']\n"
        "wait: {until: 'grep -q up ~/service.log', timeout: 10}\n-->\n"
        "```\nme@box:~$ cat ~/service.log ~/made\n```\n"
    )
    deck, done = run_text(lab, text)
    assert done.results[-1].screen == ("up", "hidden")
    assert "grep" not in render(deck, done).markdown


def test_a_wait_that_never_holds_fails_at_its_directive(lab: LocalLab) -> None:
    with pytest.raises(CommandFailed) as caught:
        run(
            lab,
            "<!-- livedeck: {wait: {until: 'false', timeout: 1}} -->\n```\nme@box:~$ true\n```\n",
        )
    assert caught.value.line == 1
    assert "waited 1 s" in str(caught.value)


def test_keep_going_reports_every_failure_at_once(lab: LocalLab) -> None:
    with pytest.raises(Failures) as caught:
        run(
            lab,
            "```\nme@box:~$ ls /no-1\nme@box:~$ echo fine\nme@box:~$ ls /no-2\n```\n"
            "<!-- livedeck: {shows: never} -->\n```\nme@box:~$ echo x\n```\n",
            keep_going=True,
        )
    assert [e.line for e in caught.value.errors] == [2, 4, 8]


def test_secrets_exported_into_the_shell_are_redacted_from_screens(
    lab: LocalLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_TOKEN", "tok en'quoted")
    text = (
        "---\nlivedeck:\n  secrets: [APP_TOKEN]\n---\n"
        '```\nme@box:~$ echo ${#APP_TOKEN} "$APP_TOKEN"\n```\n'
    )
    deck, done = run_text(lab, text)
    assert done.results[0].screen == ("13 ********",)
    assert "tok en" not in render(deck, done).markdown + dump(deck, done)
