"""A deck's body -> slides and transcript blocks: fences, directives, prompts. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from livedeck import programs
from livedeck.deck import directives
from livedeck.deck.commands import command_lines, file_block, source_form
from livedeck.errors import DeckError
from livedeck.model import Block, Command, Slide
from livedeck.paths import lab_path

# Fences whose bare `$ ` lines are prompts: the languages people mark terminal sessions with.
SHELL_FENCES = frozenset(
    {"", "bash", "sh", "shell", "console", "shell-session", "shellsession", "sh-session", "zsh"}
)
# Commands that leave the deck's user in a root shell, where `# ` is the prompt.
ROOT_SHELL = re.compile(r"^\s*(?:sudo\s+(?:-[is]\b|su\b|bash\b|-u\s*root\s+bash\b)|su\b)")
FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
DIRECTIVE = re.compile(r"^\s*<!--\s*livedeck:(?P<body>.*?)(?P<close>-->)?\s*$")
HTML_COMMENT = re.compile(r"^\s*<!--.*-->\s*$")  # Marp's own directives may sit in between
RUN_WORD = "run"  # ```bash run: a block of bare commands
_DIRECTIVE_HINT = "a directive applies to the transcript block right after it: move it there"


@dataclass
class Shell:
    """Where the deck's commands go at this point of the deck, followed in order across blocks:
    whether the shell is root's (then a bare `# ` is a prompt), and whether the last command was
    typed into a program (then the program's continuation prompt counts)."""

    root_user: bool  # the deck's user is root
    depth: int = 0  # root shells entered (`sudo -i`, `su`) and not left yet
    seen: bool = False  # a command came before: a program's prompt may follow
    program: programs.Program | None = None  # the program the last command was typed into

    @property
    def root(self) -> bool:
        return self.root_user or self.depth > 0

    def after(self, command: Command, program: programs.Program | None) -> None:
        self.seen = True
        self.program = program
        if program is not None:
            return
        if ROOT_SHELL.match(command.text):
            self.depth += 1
        elif self.depth and command.prompt.rstrip().endswith("#") and _leaves(command.text):
            self.depth -= 1


def _leaves(text: str) -> bool:
    return text.strip() in ("exit", "logout")


@dataclass
class _Pending:
    """Directives read since the last block, waiting for the next one."""

    items: list[directives.Directive]


def scan(
    lines: list[str], start: int, prompt: re.Pattern[str], path: Path, shell: Shell
) -> tuple[tuple[Slide, ...], tuple[Block, ...], list[int], list[tuple[int, int]]]:
    slides: list[Slide] = []
    blocks: list[Block] = []
    directive_lines: list[int] = []
    verbatim: list[tuple[int, int]] = []
    pending = _Pending([])
    slide_start = start
    i = start
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            close = _closing_fence(lines, i, fence.group(2))
            if close is None:
                raise DeckError(
                    path,
                    i + 1,
                    "code block opened here is never closed",
                    hint=f"end it with a line of {fence.group(2)}: everything after it is code",
                )
            block = _block(lines, i, close, prompt, path, pending, shell)
            if block is not None:
                blocks.append(block)
            else:
                verbatim.append((i + 1, close + 1))
            pending = _Pending([])
            i = close + 1
            continue
        directive = DIRECTIVE.match(line)
        if directive:
            i = _directive(lines, i, directive, path, pending, directive_lines)
            continue
        if pending.items and line.strip() and not HTML_COMMENT.match(line):
            raise DeckError(
                path,
                pending.items[0][0],
                "livedeck directive is not followed by a transcript block"
                f" (line {i + 1} comes first)",
                hint=_DIRECTIVE_HINT,
            )
        if line.rstrip() == "---":
            slides.append(Slide(len(slides) + 1, slide_start + 1, i))
            slide_start = i + 1
        i += 1
    if pending.items:
        raise DeckError(
            path,
            pending.items[0][0],
            "livedeck directive is not followed by a transcript block (the deck ends first)",
            hint=_DIRECTIVE_HINT,
        )
    slides.append(Slide(len(slides) + 1, slide_start + 1, len(lines)))
    return tuple(slides), tuple(blocks), directive_lines, verbatim


def _closing_fence(lines: list[str], opening: int, marker: str) -> int | None:
    for j in range(opening + 1, len(lines)):
        stripped = lines[j].strip()
        if stripped.startswith(marker[0] * len(marker)) and set(stripped) == {marker[0]}:
            return j
    return None


def _directive(
    lines: list[str],
    i: int,
    match: re.Match[str],
    path: Path,
    pending: _Pending,
    directive_lines: list[int],
) -> int:
    """Read a `<!-- livedeck: {...} -->` comment (one or more lines); return the next index."""
    body = [match.group("body")]
    end = i
    if not match.group("close"):
        end = next((j for j in range(i + 1, len(lines)) if "-->" in lines[j]), -1)
        if end < 0:
            raise DeckError(path, i + 1, "`<!-- livedeck:` comment is never closed with `-->`")
        body.extend(lines[i + 1 : end])
        body.append(lines[end].split("-->")[0])
    directive_lines.extend(range(i + 1, end + 2))
    yaml = YAML(typ="safe", pure=True)
    try:
        data = yaml.load("\n".join(body))
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise DeckError(
            path,
            i + 1 + (mark.line if mark is not None else 0),
            f"livedeck directive is not valid YAML: {error.problem or error.context}",
            hint="a directive is one YAML mapping: <!-- livedeck: {exit: 2, shows: [a, b]} -->",
        ) from error
    except YAMLError as error:
        raise DeckError(path, i + 1, f"livedeck directive is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise DeckError(
            path, i + 1, "a livedeck directive is a mapping, e.g. `<!-- livedeck: {exit: 2} -->`"
        )
    directives.check_keys(data, i + 1, path)
    pending.items.append((i + 1, data))
    return end + 1


def _block(
    lines: list[str],
    opening: int,
    close: int,
    prompt: re.Pattern[str],
    path: Path,
    pending: _Pending,
    shell: Shell,
) -> Block | None:
    body = lines[opening + 1 : close]
    info = FENCE.match(lines[opening])
    words = info.group(3).split() if info is not None else []
    written = _file_directive(pending, path)
    if written is not None:
        return file_block(body, opening, close, written, path)
    if RUN_WORD in words[1:]:
        source = directives.apply(source_form(body, opening, path), pending.items, path)
        return Block(opening + 1, close + 1, (), tuple(source), source_form=True)
    in_shell = (words[0].lower() if words else "") in SHELL_FENCES
    declared = directives.programs(pending.items, path)
    known = (*declared, *programs.KNOWN)
    commands: list[Command] = []

    def prompt_at(k: int) -> tuple[re.Match[str], programs.Program | None, bool] | None:
        """The prompt that starts body[k], if it is one here, the program it is of, and
        whether it is the program's continuation prompt."""
        match = prompt.match(body[k])
        if match is not None and match.group("host") is not None:
            return match, None, False
        # A program's prompt, once a command could have started it (in a shell block, or in a
        # block whose prompts made it a transcript).
        if shell.seen and (in_shell or commands):
            found = programs.match_line(body[k], known, shell.program)
            if found is not None:
                return found[1], found[0], found[2]
        if match is None:
            return None
        bare = match.group("prompt").rstrip()
        if bare not in ("$", "#"):  # a prompt of the deck's own `prompt:` pattern
            return match, None, False
        return (match, None, False) if in_shell and (bare == "$" or shell.root) else None

    k = next((k for k in range(len(body)) if prompt_at(k)), len(body))
    if k == len(body):
        if pending.items:
            raise DeckError(
                path,
                pending.items[0][0],
                "livedeck directive is not followed by a transcript block: the block after it"
                " has no prompt line",
                hint=_DIRECTIVE_HINT,
            )
        return None
    lead = tuple(body[:k])
    while k < len(body):
        found = prompt_at(k)
        assert found is not None
        match, program, continued = found
        line_no = opening + 2 + k
        typed = match.group("command")
        text_lines: list[str] = [typed or ""]
        marks: tuple[bool, ...] = ()
        if program is not None:  # one line of the program's input, never parsed as bash
            k += 1
        else:
            text_lines, marks, k = command_lines(body, k, typed or "", path, line_no)
        output_start = k
        host_prompt = program is None
        command = Command(
            line=line_no,
            prompt=match.group("prompt") + (" " if typed is not None else ""),
            text="\n".join(text_lines),
            # A bare prompt: the deck's user (root's for `#`) and host, filled in afterwards.
            user=(match.group("user") or ("root" if match.group("prompt").startswith("#") else ""))
            if host_prompt
            else "",
            host=(match.group("host") or "") if host_prompt else "",
            output=(),
            ps2=marks,
            path_span=match.span("path")
            if host_prompt and "path" in prompt.groupindex
            else (-1, -1),
            program=program.prompt if program is not None else None,
            # A continuation prompt alone (`... `) is Enter: it ends a Python block.
            enter=continued and not (typed or "").strip(),
        )
        shell.after(command, program)
        while k < len(body) and not prompt_at(k):
            k += 1
        commands.append(replace(command, output=tuple(body[output_start:k])))
    applied = directives.apply(commands, pending.items, path)
    return Block(
        opening + 1, close + 1, lead, tuple(applied), programs=tuple(p.prompt for p in declared)
    )


def _file_directive(pending: _Pending, path: Path) -> tuple[int, str] | None:
    """The line and lab path of a `file:` directive before this block, if there is one."""
    found = [(line, data) for line, data in pending.items if "file" in data]
    if not found:
        return None
    line, data = found[0]
    others = [key for key in data if key != "file"]
    if others or len(pending.items) > 1:
        raise DeckError(
            path,
            line,
            "a `file:` directive stands alone: its block is written to the lab, not run",
            hint="move the other keys to the directive of a transcript block",
        )
    target = data["file"]
    if not isinstance(target, str):
        raise DeckError(
            path,
            line,
            f"`file:` must be a path in the lab starting with `/` or `~/`, not {target!r}",
            hint="for example <!-- livedeck: {file: ~/app/Dockerfile} -->",
        )
    lab_path(target, "file", deck=path, line=line)
    if target.endswith("/"):
        raise DeckError(path, line, f"`file:` names a folder ({target}); name the file")
    return line, target
