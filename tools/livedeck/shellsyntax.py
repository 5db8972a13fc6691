"""Where a typed command line ends, as bash reads it from a terminal. Pure.

bash reads one *command line* per prompt: a line, plus the lines it needs to complete it (after a
trailing backslash, inside quotes, a heredoc's body, an open `if`/`for`/`{`/`(`, after a trailing
`|`, `&&` or `||`). livedeck types each deck command in one go and counts on exactly one prompt
coming back for it, so it must know where command lines end: to join a transcript's continuation
lines (`> ` in a terminal) into one command, and to refuse typed text that would make two.

This is a careful approximation of bash's grammar, not a parser: it errs towards "incomplete",
and the run stage checks every prompt's sequence number anyway.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

PS2 = "> "  # bash's default continuation prompt, as a terminal shows it
_HEREDOC = re.compile(r"<<(-?)[ \t]*(?:'([^']*)'|\"([^\"]*)\"|\\?([^\s;&|<>()]+))")
_CLOSERS = {"if": "fi", "case": "esac", "for": "done", "while": "done", "until": "done"}
_CLOSERS |= {"select": "done", "{": "}"}
# Words after which the next word is again in command position.
_COMMAND_STARTERS = {"then", "do", "else", "elif", "if", "while", "until", "!", "{", "time"}


@dataclass
class _State:
    nest: list[str] = field(default_factory=list)  # open ' " $' ` and ( (subshells, $(...))
    blocks: list[str] = field(default_factory=list)  # closing words awaited: fi, done, }, esac
    heredocs: list[tuple[str, bool]] = field(default_factory=list)  # (delimiter, strip tabs)
    in_heredoc: list[tuple[str, bool]] = field(default_factory=list)  # bodies being read
    continued: bool = False  # the line ended with a backslash or an operator

    def complete(self) -> bool:
        return not (self.nest or self.blocks or self.heredocs or self.in_heredoc or self.continued)

    @property
    def quoted(self) -> bool:
        return bool(self.nest) and self.nest[-1] != "("


def command_lines(text: str) -> list[str]:
    """Split `text` into the command lines bash reads from it, one per prompt.

    The last one may be incomplete (bash would wait for more input).
    """
    found: list[str] = []
    current: list[str] = []
    state = _State()
    for line in text.split("\n"):
        current.append(line)
        _feed(state, line)
        if state.complete():
            found.append("\n".join(current))
            current = []
    if current:
        found.append("\n".join(current))
    return found


def simple_commands(command: str) -> list[list[str]] | None:
    """The words of each simple command of a shell command (split at `|`, `&&`, `;`, `(`...),
    quotes removed; None where a quote is left open (nothing certain to read)."""
    lexer = shlex.shlex(command.replace("\\\n", " "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:
        return None
    found: list[list[str]] = [[]]
    for word in words:
        if set(word) <= _OPERATOR_CHARS:
            found.append([])
        else:
            found[-1].append(word)
    return found


_OPERATOR_CHARS = frozenset("&|;()\n")


def is_complete(text: str) -> bool:
    """Whether bash would run `text` without asking for another line."""
    state = _State()
    for line in text.split("\n"):
        _feed(state, line)
    return state.complete()


def _feed(state: _State, line: str) -> None:
    """Advance the state over one line of input."""
    if state.in_heredoc:
        delimiter, strip = state.in_heredoc[0]
        if (line.lstrip("\t") if strip else line) == delimiter:
            state.in_heredoc.pop(0)
        return
    state.continued = False
    _scan(state, line)
    if not state.quoted and state.heredocs:
        state.in_heredoc, state.heredocs = state.heredocs, []


def _scan(state: _State, line: str) -> None:
    i, n = 0, len(line)
    word = ""
    operator = False  # the line so far ends in |, || or &&
    command_position = not state.quoted
    while i < n:
        char = line[i]
        top = state.nest[-1] if state.nest else ""
        if top == "'":
            if char == "'":
                state.nest.pop()
            i += 1
            continue
        if top in ('"', "$'", "`"):
            if char == "\\":
                if i == n - 1:
                    state.continued = top != "$'"
                    return
                i += 2
                continue
            if char == ("'" if top == "$'" else top):
                state.nest.pop()
            elif top == '"' and line.startswith("$(", i):
                state.nest.append("(")
                command_position = True
                i += 2
                continue
            elif top == '"' and char == "`":
                state.nest.append("`")
            i += 1
            continue
        # outside quotes: the top level, or inside ( ) or $( )
        if char == "\\":
            if i == n - 1:
                state.continued = True
                return
            word += line[i : i + 2]
            operator = False
            i += 2
            continue
        if char in "'\"`":
            state.nest.append("$'" if char == "'" and word.endswith("$") else char)
            word += char
            operator = False
            i += 1
            continue
        if char == "#" and not word:
            break  # a comment runs to the end of the line (a trailing operator still counts)
        if char in " \t;&|()<>":
            command_position = _end_word(state, word, command_position)
            word = ""
            if char == "<" and line.startswith("<<", i) and not line.startswith("<<<", i):
                heredoc = _HEREDOC.match(line, i)
                if heredoc:
                    delimiter = next(g for g in heredoc.groups()[1:] if g is not None)
                    state.heredocs.append((delimiter, heredoc.group(1) == "-"))
                    i = heredoc.end()
                    operator = False
                    continue
            pair = line[i : i + 2]
            if pair in ("&&", "||", "|&"):
                operator = command_position = True
                i += 2
                continue
            if char == "(":
                state.nest.append("(")
                command_position = True
            elif char == ")":
                if state.nest and state.nest[-1] == "(":
                    state.nest.pop()  # else a `case` pattern's ), which has no (
                command_position = True
            elif char in ";&|":
                operator = char == "|"
                command_position = True
            elif char in "<>":
                operator = False
            i += 1
            continue
        if char == "$" and line.startswith("$(", i):
            state.nest.append("(")
            word += "$("
            operator = False
            command_position = True
            i += 2
            continue
        word += char
        operator = False
        i += 1
    _end_word(state, word, command_position)
    if not state.quoted and operator:
        state.continued = True  # a line ending in |, || or && goes on on the next line


def _end_word(state: _State, word: str, command_position: bool) -> bool:
    """Track reserved words in command position; whether the next word is in one."""
    if not word:
        return command_position
    if not command_position:
        return False
    if state.blocks and word == state.blocks[-1]:
        state.blocks.pop()
        return False
    if word in _CLOSERS:
        state.blocks.append(_CLOSERS[word])
    return word in _COMMAND_STARTERS or word in _CLOSERS
