"""Which bash waits at the lab's terminal, from process tables of the shapes a lab shows."""

from __future__ import annotations

from livedeck.run.processes import parse_ps, waiting_bash

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
