"""Typing into the lab's bash on a real pseudo-terminal (LocalLab): lines of any length, and
livedeck's hooks invisible to `set -x`, `history`, DEBUG traps and `!!`, as on a terminal."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from livedeck.errors import CommandFailed
from livedeck.run.lab import LocalLab
from livedeck.run.session import NotRunError, Session, SessionError
from local_runs import local_lab, run, run_text

ANY_PROMPT = re.compile(r"[$#>] ?$")
P = "me@box:~$ "


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LocalLab]:
    with local_lab(tmp_path) as local:
        yield local


@pytest.mark.parametrize("length", [4096, 5000, 12345, 20000])
def test_a_line_of_any_length_is_typed_whole(lab: LocalLab, length: int) -> None:
    session = Session(lab, ANY_PROMPT)
    outcome = session.type(f"echo {'x' * length} | wc -c", 10)
    assert outcome.lines == (str(length + 1),)
    assert outcome.status == 0


def test_a_long_line_inside_a_heredoc_and_a_continuation(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    body = "y" * 9000
    assert session.type(f"cat > out <<'EOF'\n\t{body}\nEOF", 10).status == 0
    assert session.type("wc -c < out", 10).lines == (str(len(body) + 2),)
    assert session.type(f"echo start \\\n{body} | wc -c", 10).lines == (str(len(body) + 7),)


FILE_BLOCK = """\
<!-- livedeck: {{file: ~/app/run.sh}} -->
```sh
#!/bin/sh
	echo "tabbed!" !! $HOME `date`
{long}
```

```bash
me@box:~$ wc -c < ~/app/run.sh && md5sum < ~/app/run.sh
```
"""


def test_a_file_block_is_written_byte_for_byte(lab: LocalLab) -> None:
    long = "z" * 5211
    transcript = run(lab, FILE_BLOCK.format(long=long))
    content = f'#!/bin/sh\n\techo "tabbed!" !! $HOME `date`\n{long}\n'.encode()
    shown = transcript.results[-1].screen
    assert shown == (str(len(content)), f"{hashlib.md5(content).hexdigest()}  -")


def test_set_x_traces_the_decks_commands_only(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    assert session.type("set -x", 5).lines == ()
    assert session.type("echo one", 5).lines == ("+ echo one", "one")
    assert session.type("cd /tmp", 5).lines == ("+ cd /tmp",)
    assert session.type("set +x", 5).lines == ("+ set +x",)


def test_a_debug_trap_fires_for_the_decks_commands_only(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    assert session.type("trap 'echo \"[$BASH_COMMAND]\"' DEBUG", 5).lines == ()
    assert session.type("echo one", 5).lines == ("[echo one]", "one")
    assert session.type("false", 5).status == 1
    assert session.type("echo $?", 5).lines == ("[echo $?]", "1")


HISTORY = """\
---
livedeck:
  setup: [mkdir -p ~/work]
---

<!-- livedeck: {file: ~/work/notes.txt} -->
```text
a note
```

```bash
me@box:~$ cd ~/work
me@box:~/work$ cat notes.txt
a note
me@box:~/work$ history
```
"""


def test_history_holds_the_decks_commands_and_nothing_of_livedeck(lab: LocalLab) -> None:
    transcript = run(lab, HISTORY.split("---\n", 2)[2], "livedeck:\n  setup: [mkdir -p ~/work]\n")
    assert transcript.results[-1].screen == (
        "    1  cd ~/work",
        "    2  cat notes.txt",
        "    3  history",
    )


def test_history_expansion_works_as_on_a_terminal(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    session.type("echo one", 5)
    # bash shows the line it made, then runs it
    assert session.type("echo !!", 5).lines == ("echo echo one", "echo one")
    assert session.type("command !!", 5).lines == ("command echo echo one", "echo one")
    assert session.type('echo "Done!"', 5).lines == ("Done!",)


def test_a_history_expansion_bash_refuses_is_an_error_at_once(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    with pytest.raises(NotRunError, match="event not found"):
        session.type("echo !nothing-like-this", 30)
    assert session.type("echo back", 5).lines == ("back",)


def test_a_refused_line_in_a_deck_names_the_line_and_the_cause(lab: LocalLab) -> None:
    with pytest.raises(CommandFailed) as failed:
        run(lab, f"```bash\n{P}echo hi\n{P}echo !nothing-like-this\n```\n")
    assert failed.value.line == 3
    assert "event not found" in str(failed.value)


def test_output_redirected_with_exec_goes_to_the_file(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    assert session.type("exec 3>&1 >out.txt", 5).status == 0
    assert session.type("echo into-the-file", 5).lines == ()
    assert session.type("exec >&3", 5).status == 0
    assert session.type("cat out.txt", 5).lines == ("into-the-file",)


def test_a_prompt_command_put_before_livedecks_keeps_statuses(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    session.type('PROMPT_COMMAND="true; $PROMPT_COMMAND"', 5)
    assert session.type("(exit 4)", 5).status == 4
    assert session.type("echo $?", 5).lines == ("4",)


def test_the_alternate_screen_is_gone_when_the_program_leaves_it(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    shown = session.type("echo before; tput smcup; seq 1 100; tput rmcup; echo after", 5)
    assert shown.lines == ("before", "after")


def test_less_that_times_out_is_stopped_and_the_shell_goes_on(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    session.type("seq 1 500 > numbers", 5)
    outcome = session.type("less numbers", 2)
    assert outcome.timed_out
    assert session.type("echo back", 5).lines == ("back",)


def test_with_line_editing_off_a_long_line_is_an_error_never_cut(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    assert session.type("set +o emacs", 5).status == 0
    assert session.type("echo short", 5).lines == ("short",)
    with pytest.raises(SessionError, match="5,005 bytes"):
        session.type("echo " + "z" * 5000, 5)
    session.type("set -o emacs", 5)
    assert session.type("echo " + "z" * 5000 + " | wc -c", 5).lines == ("5001",)


def test_a_nested_bash_is_hooked_invisibly_too(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    session.type("bash --norc", 5)
    assert session.type("history", 5).lines == ("    1  history",)
    assert session.type("set -x", 5).lines == ()
    assert session.type("echo inner", 5).lines == ("+ echo inner", "inner")
    assert session.type("echo " + "w" * 8000 + " | wc -c", 5).lines[-1] == "8001"


def test_a_command_that_is_a_run_block_line_of_20000_bytes(lab: LocalLab) -> None:
    _, transcript = run_text(lab, f"```bash\n{P}echo {'q' * 20000} | wc -c\n```\n")
    assert transcript.results[0].screen == ("20001",)


def test_set_v_shows_the_decks_lines_only(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    assert session.type("set -v", 5).lines == ()
    assert session.type("echo v", 5).lines == ("echo v", "v")  # bash shows the line it read
    assert session.type("set +v", 5).lines == ("set +v",)


def test_the_shells_own_output_sent_away_is_named(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    session.type("exec 2>/dev/null", 5)
    with pytest.raises(SessionError, match="exec 2>file"):
        session.type("echo after", 5)


def test_set_vs_echo_of_the_hook_is_held_back_at_every_split() -> None:
    from livedeck.run.hooks import VERBOSE as _VERBOSE
    from livedeck.run.hooks import held as _held

    output = b"line one\r\nif you like\r\n"
    marker = b"\x1b]777;ld;0123456789abcdef;e;3;0;r\x1fx\x07"
    stream = output + _VERBOSE + marker
    for end in range(len(output), len(stream)):
        cut = _held(stream[:end])
        seen = end - len(output)  # bytes of the echo and marker read so far
        assert cut == (len(output) if seen >= 3 else end), end
    assert _held(output) == len(output)


def test_aliases_a_deck_defines_do_not_reach_the_hooks(lab: LocalLab) -> None:
    session = Session(lab, ANY_PROMPT)
    session.type("alias builtin=false printf=false echo='echo aliased'", 5)
    assert session.type("echo x", 5).lines == ("aliased x",)
    assert session.type("(exit 5)", 5).status == 5


def test_an_inputrc_that_turns_bracketed_paste_off_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / ".inputrc").write_text("set enable-bracketed-paste off\n")
    with local_lab(tmp_path) as lab:
        session = Session(lab, ANY_PROMPT)
        assert session.type(f"echo {'x' * 6000} | wc -c", 10).lines == ("6001",)
