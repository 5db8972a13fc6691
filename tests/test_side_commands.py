"""Side commands in a lab (container.exec_root): an answer the engine cut is asked again.

A loaded engine sometimes returns an exec's output empty or cut (moby#27289). A cut answer read
as a whole one is silent wrong output: a user made with no home directory, a process table
without its first lines. Here a fake engine cuts answers at their end and at their beginning,
and runs the command for real (sh) when it answers whole.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from livedeck.errors import LabError
from livedeck.run import container


class Engine:
    """The two exec calls exec_root makes; each answer is cut by the next of `cuts`."""

    def __init__(self, cuts: list[str]) -> None:
        self.cuts = cuts
        self.api = self
        self.asked = 0
        self._argv: list[str] = []

    def exec_create(self, container_id: str, argv: list[str], user: str) -> dict[str, Any]:
        self._argv = argv
        return {"Id": "exec"}

    def exec_start(self, exec_id: str) -> bytes:
        self.asked += 1
        whole = subprocess.run(self._argv, capture_output=True, check=False).stdout
        cut = self.cuts.pop(0) if self.cuts else "none"
        if cut == "beginning":
            return whole[len(b"\x1eLDBEGIN\x1e") + 2 :]  # the mark and two bytes of output
        if cut == "end":
            return whole[: whole.rindex(b"\x1eLDEND")]
        if cut == "empty":
            return b""
        return whole


def test_a_whole_answer_is_the_commands_output_and_status() -> None:
    engine = Engine([])
    argv = ["sh", "-c", "printf 'root\\nsecond line\\n'; echo oops >&2; exit 3"]
    assert container.exec_root(engine, "lab", argv) == (3, "root\nsecond line\noops\n")
    assert engine.asked == 1


@pytest.mark.parametrize("cut", ["beginning", "end", "empty"])
def test_an_answer_cut_is_asked_again(cut: str) -> None:
    engine = Engine([cut])
    argv = ["printf", "/home/ubuntu\\n"]
    assert container.exec_root(engine, "lab", argv) == (0, "/home/ubuntu\n")
    assert engine.asked == 2


def test_output_that_looks_like_a_mark_is_output() -> None:
    engine = Engine([])
    argv = ["printf", "a \\036LDEND1\\036 b\\n"]
    assert container.exec_root(engine, "lab", argv) == (0, "a \x1eLDEND1\x1e b\n")


def test_three_cut_answers_are_an_error_never_an_empty_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(container.time, "sleep", lambda seconds: None)
    engine = Engine(["beginning", "beginning", "beginning"])
    with pytest.raises(LabError, match="lost the output"):
        container.exec_root(engine, "lab", ["printf", "/home/ubuntu\\n"])
