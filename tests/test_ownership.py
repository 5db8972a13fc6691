"""The run owns its shell: what a deck does to the shell never moves a screen to another command.

Each case is one a real deck does (a course's `source ~/.bashrc`, a history hook in
PROMPT_COMMAND, a nested shell...), on a real local pseudo-terminal.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from livedeck.errors import CommandFailed, DeckError
from livedeck.model import Transcript
from livedeck.render import render
from livedeck.run.lab import LocalLab
from livedeck.run.session import DriftError, Session
from local_runs import local_lab, run, run_text

BASHRC = r"""PS1='\[\e]0;\u@\h: \w\a\]\[\033[01;32m\]\u@\h\[\033[00m\]:\[\033[01;34m\]\w\[\033[00m\]\$ '
HISTCONTROL=ignoreboth
alias ll='ls -alF'
"""
ANY_PROMPT = re.compile(r"[$#>] ?$")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LocalLab]:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text(BASHRC, encoding="utf-8")
    with local_lab(home) as local:
        yield local


def screens(transcript: Transcript) -> dict[str, tuple[str, ...]]:
    return {r.command.text: r.screen for r in transcript.results}


def test_sourcing_a_bashrc_that_sets_ps1_changes_no_screen(lab: LocalLab) -> None:
    done = run(
        lab,
        "```\nme@box:~$ source ~/.bashrc\nme@box:~$ ll -d /\n"
        "me@box:~$ echo after\nme@box:~$ cd /tmp\nme@box:/tmp$ pwd\n```\n",
    )
    shown = screens(done)
    assert shown["source ~/.bashrc"] == ()
    assert shown["echo after"] == ("after",)
    assert shown["pwd"] == ("/tmp",)
    assert re.match(r"^drwx.* /+$", shown["ll -d /"][0])


def test_a_prompt_command_hook_put_first_keeps_exit_statuses(lab: LocalLab) -> None:
    done = run(
        lab,
        '```\nme@box:~$ PROMPT_COMMAND="history -a ~/h; $PROMPT_COMMAND"\n```\n'
        "<!-- livedeck: {exit: 2} -->\n```\nme@box:~$ ls /nonexistent\n```\n"
        "```\nme@box:~$ echo still\n```\n",
    )
    by_text = {r.command.text: r for r in done.results}
    assert by_text["ls /nonexistent"].status == 2
    assert by_text["echo still"].screen == ("still",)


def test_ps1_ps2_and_terminal_echo_changes_leave_screens_alone(lab: LocalLab) -> None:
    done = run(
        lab,
        "```\nme@box:~$ PS1='$ '\nme@box:~$ echo one\nme@box:~$ PS2='more> '\n"
        "me@box:~$ stty echo\nme@box:~$ echo two \\\n> three\nme@box:~$ set -o emacs\n"
        "me@box:~$ echo four\n```\n",
    )
    shown = screens(done)
    assert shown["echo one"] == ("one",)
    assert shown["echo two \\\nthree"] == ("two three",)
    assert shown["echo four"] == ("four",)


def test_nested_and_replaced_shells_are_followed(lab: LocalLab) -> None:
    done = run(
        lab,
        "```\nme@box:~$ bash\nme@box:~$ cd /tmp\nme@box:/tmp$ echo inner $SHLVL\n"
        "me@box:/tmp$ exit\nme@box:~$ echo outer $SHLVL\nme@box:~$ exec bash\n"
        "me@box:~$ echo replaced $SHLVL\n```\n",
    )
    shown = screens(done)
    level = int(shown["echo outer $SHLVL"][0].split()[1])
    assert shown["echo inner $SHLVL"] == (f"inner {level + 1}",)
    assert shown["exit"] == ("exit",)
    assert shown["echo replaced $SHLVL"] == (f"replaced {level}",)


def test_a_command_that_removes_the_end_hook_fails_at_its_line(lab: LocalLab) -> None:
    with pytest.raises(CommandFailed) as caught:
        run(lab, "```\nme@box:~$ echo fine\nme@box:~$ PROMPT_COMMAND=\n```\n")
    assert caught.value.line == 3
    assert "PROMPT_COMMAND" in str(caught.value)


def test_a_template_that_makes_two_command_lines_is_an_error(lab: LocalLab) -> None:
    with pytest.raises(DeckError) as caught:
        run(lab, "```\nme@box:~$ printf 'a\\nb\\n'\nme@box:~$ echo {{ last.output }}\n```\n")
    assert caught.value.line == 3
    assert "2 command lines" in str(caught.value)


def test_setup_as_a_block_scalar_runs_like_single_items(lab: LocalLab) -> None:
    body = "```\nme@box:~$ cat ~/notes\nme@box:~$ echo done\n```\n"
    scalar = run(
        lab,
        body,
        "livedeck:\n  setup:\n    - |\n      echo one > ~/notes\n      echo two >> ~/notes\n",
    )
    items = run(
        lab, body, "livedeck:\n  setup:\n    - echo one > ~/notes\n    - echo two >> ~/notes\n"
    )
    assert (
        screens(scalar)
        == screens(items)
        == {
            "cat ~/notes": ("one", "two"),
            "echo done": ("done",),
        }
    )


def test_a_heredoc_typed_at_the_prompt_runs_and_keeps_its_continuation_lines(
    lab: LocalLab,
) -> None:
    text = (
        "```\nme@box:~$ cat <<EOF > Dockerfile\n> FROM nginx\n> COPY index.html /usr/share/\n"
        "> EOF\nme@box:~$ cat Dockerfile\nold\n```\n"
    )
    deck, done = run_text(lab, text)
    assert screens(done)["cat Dockerfile"] == ("FROM nginx", "COPY index.html /usr/share/")
    assert render(deck, done).markdown == (
        "```\nme@box:~$ cat <<EOF > Dockerfile\n> FROM nginx\n> COPY index.html /usr/share/\n"
        "> EOF\nme@box:~$ cat Dockerfile\nFROM nginx\nCOPY index.html /usr/share/\n```\n"
    )


def test_output_with_a_fence_cannot_end_the_code_block(lab: LocalLab) -> None:
    text = "# One\n\n```\nme@box:~$ printf '```\\nnot code\\n'\n```\n\n---\n\n# Two\n"
    markdown = render(*run_text(lab, text)).markdown
    assert "````\nme@box:~$ printf '```\\nnot code\\n'\n```\nnot code\n````\n" in markdown


def test_a_program_command_cannot_promise_an_exit_status(lab: LocalLab) -> None:
    with pytest.raises(DeckError) as caught:
        run(
            lab,
            "```\nme@box:~$ PS1='inner# ' sh -i\n```\n<!-- livedeck: {exit: 0} -->\n"
            "```\ninner# ls /nonexistent\n```\n",
            "livedeck:\n  prompt: '(?P<user>me)@(?P<host>box):(?P<path>\\S*)\\$|inner#'\n",
        )
    assert caught.value.line == 8  # the directive's
    assert "`exit:` cannot be checked" in str(caught.value)


def test_a_host_prompt_while_a_program_runs_is_an_error(lab: LocalLab) -> None:
    with pytest.raises(DeckError) as caught:
        run(
            lab,
            "<!-- livedeck: {program: {prompt: 'inner#'}} -->\n"
            "```\nme@box:~$ PS1='inner# ' sh -i\nme@box:~$ echo forgot to exit\n```\n",
        )
    assert caught.value.line == 4
    assert "a program still runs there" in str(caught.value)


def test_a_prompt_nobody_declared_stops_the_command_with_a_hint(lab: LocalLab) -> None:
    started = time.monotonic()
    with pytest.raises(CommandFailed) as caught:
        run(lab, "```\nme@box:~$ PS1='inner# ' sh -i\nme@box:~$ echo forgot to exit\n```\n")
    assert caught.value.line == 2
    assert "waits for input at 'inner#'" in str(caught.value)
    assert "{program: {prompt: 'inner#'}}" in (caught.value.hint or "")
    assert time.monotonic() - started < 30  # not the deck's timeout of 120 s


def test_a_program_prompt_without_a_program_is_an_error(lab: LocalLab) -> None:
    with pytest.raises(DeckError) as caught:
        run(lab, "```\nme@box:~$ echo hi\nroot@0123456789ab:/# ls\n```\n")
    assert caught.value.line == 3
    assert "no program of that name runs" in str(caught.value)


def test_the_prompt_shows_the_real_directory(lab: LocalLab) -> None:
    text = "```\nme@box:~$ cd /tmp\nme@box:~/app$ pwd\n```\n"
    markdown = render(*run_text(lab, text)).markdown
    assert "me@box:/tmp$ pwd\n/tmp\n" in markdown


def test_two_commands_typed_as_one_are_never_split_between_screens(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    # pasted whole, the second line runs right after the first, before any prompt
    with pytest.raises(DriftError) as drift:
        session.type("echo a\necho b", 5)
    assert not drift.value.previous


def test_long_output_keeps_every_line(lab: LocalLab) -> None:
    done = run(lab, "```\nme@box:~$ seq 2500\n```\n")
    lines = done.results[0].screen
    assert len(lines) == 2500
    assert (lines[0], lines[-1]) == ("1", "2500")


def test_a_syntax_error_shows_what_bash_said_and_its_status(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    outcome = session.type("echo (", 5)
    assert outcome.status == 2
    assert outcome.lines == ("bash: syntax error near unexpected token `newline'",)
