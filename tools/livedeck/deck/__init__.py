"""The deck stage: Marp Markdown -> `Deck` (front matter, slides, transcript blocks). Pure."""

from __future__ import annotations

import base64
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from livedeck import programs, shellsyntax
from livedeck.deck import directives, frontmatter
from livedeck.deck.course import Course, course_files, find_course, with_defaults
from livedeck.errors import DeckError
from livedeck.model import Block, Command, Deck, Settings, Slide
from livedeck.paths import lab_path

# Fences whose bare `$ ` lines are prompts: the languages people mark terminal sessions with.
SHELL_FENCES = frozenset(
    {"", "bash", "sh", "shell", "console", "shell-session", "shellsession", "sh-session", "zsh"}
)
# Commands that leave the deck's user in a root shell, where `# ` is the prompt.
ROOT_SHELL = re.compile(r"^\s*(?:sudo\s+(?:-[is]\b|su\b|bash\b|-u\s*root\s+bash\b)|su\b)")
_CONTAINER_ID = re.compile(r"[0-9a-f]{12}")
LAB_USER, LAB_HOST = "ubuntu", "lab"  # a deck without a user@host prompt or settings
FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
DIRECTIVE = re.compile(r"^\s*<!--\s*livedeck:(?P<body>.*?)(?P<close>-->)?\s*$")
HTML_COMMENT = re.compile(r"^\s*<!--.*-->\s*$")  # Marp's own directives may sit in between
RUN_WORD = "run"  # ```bash run: a block of bare commands
_DIRECTIVE_HINT = "a directive applies to the transcript block right after it: move it there"


def load_deck(path: Path) -> Deck:
    """Read and parse a deck file."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DeckError(
            path, 1, f"cannot read the deck: {error.strerror}", hint="is it a readable file?"
        ) from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DeckError(
            path,
            data.count(b"\n", 0, error.start) + 1,
            f"the deck is not UTF-8 text (byte {data[error.start]:#04x})",
            hint="save the deck as UTF-8 (Marp reads UTF-8 only)",
        ) from None
    return parse_deck(plain_text(text), path, find_course(path))


def plain_text(text: str) -> str:
    """A deck's text as livedeck reads it: without the byte order mark some editors put first
    (it would hide the front matter) and with `\n` line ends (Windows editors save `\r\n`,
    which a command typed into the lab would carry). Outputs are written with `\n`."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def parse_deck(text: str, path: Path, course: Course | None = None) -> Deck:
    """Parse a Marp deck held in `text`; `path` only names it in errors and outputs; `course`
    gives the defaults its front matter overrides."""
    lines = text.split("\n")
    front, body_start = frontmatter.front_matter(lines, path)
    own = front.get("livedeck")
    if course is None:
        settings = frontmatter.settings(own, path, lines)
    else:
        settings = frontmatter.settings(with_defaults(course, own), path, lines)
        settings = course_files(course, own, settings)
    prompt = frontmatter.compile_prompt(settings.prompt, path, lines)
    shell = _Shell(root_user=settings.user == "root")
    slides, blocks, found, verbatim = _scan(lines, body_start, prompt, path, shell)
    blocks = _fill_identity(blocks, settings)
    return Deck(
        path=path,
        text=text,
        front_matter=front,
        settings=settings,
        slides=slides,
        blocks=blocks,
        directive_lines=frozenset(found),
        verbatim=tuple(verbatim),
        body_line=body_start + 1,
    )


def _fill_identity(blocks: tuple[Block, ...], settings: Settings) -> tuple[Block, ...]:
    """Commands whose prompt names no user@host (`run` blocks, bare `$ ` prompts, `file:`
    blocks) run as the deck's user on its host: the settings', else the first user@host
    prompt's, else the lab's defaults. A bare `# ` is root's on that host."""
    prompted = None
    bare_first = False
    for command in (c for b in blocks for c in b.commands):
        if command.host and not (bare_first and _container_like(command)):
            prompted = command
            break
        bare_first = bare_first or _bare(command)
    user = settings.user or (prompted.user if prompted else LAB_USER)
    host = settings.host or (prompted.host if prompted else LAB_HOST)

    def filled(command: Command) -> Command:
        if command.program is not None or command.host:
            return command  # typed into a program, or a user@host prompt
        if command.prompt.strip() not in ("", "$", "#"):
            return command  # a program's prompt of the deck's own `prompt:` pattern
        return replace(command, user=command.user or user, host=host)

    return tuple(replace(b, commands=tuple(map(filled, b.commands))) for b in blocks)


def _container_like(command: Command) -> bool:
    """A root prompt, or one whose host is a container ID: after a bare `$ `, such a prompt is
    most likely a container's shell (`root@3f2a9c1b0d4e:/# `), not the deck's host."""
    return command.prompt.rstrip().endswith("#") or bool(_CONTAINER_ID.fullmatch(command.host))


def _bare(command: Command) -> bool:
    """A bare `$ ` or `# ` prompt, or a line typed into a program."""
    return command.program is not None or command.prompt.strip() in ("$", "#")


@dataclass
class _Shell:
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


def _scan(
    lines: list[str], start: int, prompt: re.Pattern[str], path: Path, shell: _Shell
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
    shell: _Shell,
) -> Block | None:
    body = lines[opening + 1 : close]
    info = FENCE.match(lines[opening])
    words = info.group(3).split() if info is not None else []
    written = _file_directive(pending, path)
    if written is not None:
        return _file_block(body, opening, close, written, path)
    if RUN_WORD in words[1:]:
        source = directives.apply(_source_form(body, opening, path), pending.items, path)
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
            text_lines, marks, k = _command_lines(body, k, typed or "", path, line_no)
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


def _file_block(
    body: list[str], opening: int, close: int, written: tuple[int, str], path: Path
) -> Block:
    """A block written to a file in the lab at this point of the deck, shown as it is."""
    _, target = written
    command = Command(
        line=opening + 1,
        prompt="",
        text=file_write(target, body),
        user="",
        host="",
        output=(),
        hidden=True,
    )
    return Block(opening + 1, close + 1, (), (command,), file=target)


def file_write(target: str, body: Sequence[str]) -> str:
    """The command line that writes `body` to `target` (parents made), byte for byte: the text
    goes in base64 through one heredoc, so no byte of it is read as a key, a line length limit,
    a `!` history expansion or the heredoc's end."""
    content = "".join(line + "\n" for line in body).encode()
    encoded = base64.encodebytes(content).decode().split("\n")[:-1]
    folder, _, _ = target.rpartition("/")
    lines = [
        f"mkdir -p {_lab_path(folder or '/')} && base64 -d > {_lab_path(target)} <<'LIVEDECK_EOF'"
    ]
    return "\n".join([*lines, *encoded, "LIVEDECK_EOF"])  # `_` is no base64 character


def file_body(command: str) -> list[str]:
    """The lines a `file_write` command line writes (what the slide's block shows)."""
    encoded = "".join(command.split("\n")[1:-1])
    return base64.b64decode(encoded).decode("utf-8", errors="replace").split("\n")[:-1]


def _lab_path(target: str) -> str:
    """`target` quoted for bash, its leading `~/` left for bash to expand."""
    if target == "~" or target.startswith("~/"):
        rest = target[2:]
        return "~/" + shlex.quote(rest) if rest else "~"
    return shlex.quote(target)


def _command_lines(
    body: list[str], k: int, first: str, path: Path, line: int, *, typed_form: bool = False
) -> tuple[list[str], tuple[bool, ...], int]:
    """The lines of the command starting at body[k], as typed, and which had a `> ` prompt.

    A command goes on while bash would ask for more (a trailing `\\`, an open quote, a heredoc,
    an open `if`/`for`/`{`): in a transcript the next lines show bash's `> ` prompt, which is not
    typed. In a `run` block (`typed_form`) lines are typed as they are.
    """
    text_lines = [first]
    marks: list[bool] = []
    k += 1
    while not shellsyntax.is_complete("\n".join(text_lines)):
        following = body[k] if k < len(body) else None
        backslash = text_lines[-1].endswith("\\")
        if following is not None and following.rstrip() == ">":
            following = shellsyntax.PS2
        if following is None or not (
            typed_form or backslash or following.startswith(shellsyntax.PS2)
        ):
            raise DeckError(
                path,
                line,
                "this command is not complete: bash would wait for another line (an open quote,"
                " heredoc, `if`/`for`/`{`, or a trailing `\\`, `|` or `&&`)",
                hint="in a transcript, the lines that complete it start with bash's `> ` prompt",
            )
        ps2 = not typed_form and following.startswith(shellsyntax.PS2)
        text_lines.append(following[len(shellsyntax.PS2) :] if ps2 else following)
        marks.append(ps2)
        k += 1
    return text_lines, tuple(marks), k


def _source_form(body: list[str], opening: int, path: Path) -> list[Command]:
    """A ```` ```bash run ```` block: each line a command, prompts and screens added on build."""
    commands = []
    k = 0
    while k < len(body):
        if not body[k].strip():
            k += 1
            continue
        line_no = opening + 2 + k
        text_lines, _, k = _command_lines(body, k, body[k], path, line_no, typed_form=True)
        commands.append(Command(line_no, "", "\n".join(text_lines), "", "", ()))
    if not commands:
        raise DeckError(path, opening + 1, "a `run` block holds no command")
    return commands
