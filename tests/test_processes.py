"""Which bash waits at the lab's terminal, from process tables of the shapes a lab shows."""

from __future__ import annotations

import subprocess

from livedeck.run.processes import (
    LOOKS_APART,
    TWO_LOOKS_ARGV,
    parse_ps,
    two_looks,
    waiting_bash,
    waits_for_input,
)

# pid ppid pgid tpgid comm: the hooked shell is 100, its terminal's foreground group varies.
IDLE = """\
  100    1  100  100 bash
  150  100  150  100 sleep
"""
NESTED = """\
  100    1  100  200 bash
  200  100  200  200 bash
"""
NEWGRP = """\
  100    1  100  210 bash
  200  100  200  210 newgrp
  210  200  210  210 bash
"""
SUDO = """\
  100    1  100  300 bash
  300  100  300  300 sudo
  301  300  301   -1 sudo
  302  301  302  302 bash
"""
CONTAINER = """\
  100    1  100  400 bash
  400  100  400  400 docker
"""


def test_an_idle_shell_waits_itself_and_background_jobs_do_not_count() -> None:
    assert waiting_bash(parse_ps(IDLE), 100) == 100


def test_a_nested_bash_and_newgrps_shell_are_found() -> None:
    assert waiting_bash(parse_ps(NESTED), 100) == 200
    assert waiting_bash(parse_ps(NEWGRP), 100) == 210


def test_sudos_shell_under_a_terminal_of_its_own_is_found() -> None:
    assert waiting_bash(parse_ps(SUDO), 100) == 302


def test_a_container_client_in_the_foreground_is_no_bash() -> None:
    assert waiting_bash(parse_ps(CONTAINER), 100) is None


def test_a_shell_that_is_gone_waits_for_nothing() -> None:
    assert waiting_bash(parse_ps(IDLE), 999) is None
    assert parse_ps("PID garbage\n\n") == {}


# pid ppid pgid tpgid stat wchan comm, as PS_ARGV reads them on a lab: a container's busybox
# shell (219, its own terminal) under the runtime, the docker client (161) on the deck's.
IN_CONTAINER = """\
    1     0    1   -1 Ss   do_sigtimedwait.isra tini
  156     0  156  161 Ss   do_wait              bash
  161   156  161  161 Sl+  wait_woken           docker
  198     1  198   -1 Sl   futex_do_wait        containerd-shim-runc-v2
  219   198  219  {fg} {sh} {sh_wchan} sh
  252   219  252  252 S+   hrtimer_nanosleep    sleep
"""


def _container(fg: int, sh: str, sh_wchan: str) -> str:
    return IN_CONTAINER.format(fg=fg, sh=sh, sh_wchan=sh_wchan)


def test_a_container_shell_at_its_prompt_waits_for_input() -> None:
    table = parse_ps(_container(219, "Ss+", "poll_schedule_timeout").replace("  252", "# 252"))
    assert table[219].wchan == "poll_schedule_timeout" and table[161].command == "docker"
    assert waits_for_input(table, 156, containers=True)


def test_a_container_shell_running_sleep_does_not_wait() -> None:
    table = parse_ps(_container(252, "Ss", "do_wait"))
    assert not waits_for_input(table, 156, containers=True)
    # Without the containers (a local lab) only the deck's own terminal counts.
    assert waits_for_input(table, 156, containers=False)


def test_nothing_in_the_foreground_is_no_wait() -> None:
    assert not waits_for_input(parse_ps("  156     0  156   -1 Ss   do_wait bash\n"), 156, True)


def test_a_bash_that_runs_between_two_commands_of_a_loop_does_not_wait() -> None:
    running = "  100    1  100  100 R+   -                    bash\n"
    assert waiting_bash(parse_ps(running), 100) is None
    idle = "  100    1  100  100 Ss+  wait_woken           bash\n"
    assert waiting_bash(parse_ps(idle), 100) == 100
    assert waits_for_input(parse_ps(idle), 100, containers=False)


def test_two_looks_come_apart_at_their_separator_and_a_failed_or_odd_one_reads_as_none() -> None:
    first, second = two_looks(0, NESTED + LOOKS_APART + IDLE)
    assert (waiting_bash(first, 100), waiting_bash(second, 100)) == (200, 100)
    assert two_looks(1, NESTED + LOOKS_APART + IDLE) == ({}, {})
    assert two_looks(0, NESTED) == ({}, {})  # the second look never came
    assert two_looks(0, NESTED + LOOKS_APART + IDLE + LOOKS_APART) == ({}, {})


def test_the_two_looks_command_reads_this_machines_table_twice() -> None:
    """The side command as a local lab runs it (a Docker lab runs the same argv as root)."""
    ran = subprocess.run(TWO_LOOKS_ARGV, capture_output=True, text=True, check=False)
    first, second = two_looks(ran.returncode, ran.stdout)
    assert first and second and 1 in first and 1 in second
