"""Programs with a prompt of their own (a container's shell, a database client, a REPL). Pure.

A deck line is typed into a program when it starts with a program's prompt, never because of a
word in an earlier command: the run then checks that the screen really shows a program's prompt
and that the terminal waits for input there. These are the prompts known without any setting;
a block may declare another (`<!-- livedeck: {program: {prompt: 'sqlite> '}} -->`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Program:
    """A kind of program: the regular expression of its prompt, and of its continuation prompt
    (a statement that goes on over several lines), which counts only right after its prompt."""

    name: str
    prompt: str
    continuation: str | None = None


KNOWN: tuple[Program, ...] = (
    # busybox/alpine ash shows the directory: `/ # `, `~ # `, `/app $ `
    Program("busybox sh", r"[/~][^\s#$>]*\s[#$]"),
    # bash or sh without a prompt setting: `sh-5.2# `, `bash-5.1$ `
    Program("sh", r"(?:ba|da)?sh-\d+(?:\.\d+)*[#$]"),
    Program("mysql", r"mysql>", r"\s*->"),
    Program("MariaDB", r"MariaDB \[[^\]\n]*\]>", r"\s*->"),
    Program("psql", r"[A-Za-z_][\w-]*=[#>]", r"[A-Za-z_][\w-]*[-'\"(][#>]"),
    Program("python", r">>>", r"\.\.\."),
    Program("redis-cli", r"\d{1,3}(?:\.\d{1,3}){3}:\d+(?:\[\d+\])?>"),
)


def declared(prompt: str) -> Program:
    """A program a deck declares by its prompt (`program: {prompt: RE}`)."""
    return Program("declared", prompt)


def line_pattern(prompt: str) -> re.Pattern[str]:
    """A deck line that starts with `prompt`: groups `prompt` and `command` (None for a bare
    prompt with nothing typed)."""
    return re.compile(rf"^(?P<prompt>(?:{prompt}))(?: (?P<command>.*)|\s*)$")


def match_line(
    line: str, programs: Iterable[Program], after: Program | None
) -> tuple[Program, re.Match[str], bool] | None:
    """The program whose prompt starts `line`, the match, and whether it is the continuation
    prompt, which counts only when the line before was typed into the same program (`after`)."""
    if after is not None and after.continuation is not None:
        found = line_pattern(after.continuation).match(line)
        if found is not None:
            return after, found, True
    for program in programs:
        found = line_pattern(program.prompt).match(line)
        if found is not None:
            return program, found, False
    return None


def screen_pattern(programs: Iterable[Program]) -> str:
    """A regular expression for a terminal's cursor line that shows one of these prompts (or
    a continuation prompt) and nothing after it."""
    parts = []
    for program in programs:
        parts.append(program.prompt)
        if program.continuation is not None:
            parts.append(program.continuation)
    return rf"^(?:{'|'.join(f'(?:{p})' for p in parts)})\s?$"
