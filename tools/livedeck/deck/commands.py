"""The commands of a block: a command's continuation lines, a `run` block's lines, and the
command that writes a `file:` block into the lab. Pure."""

from __future__ import annotations

import base64
import shlex
from collections.abc import Sequence
from pathlib import Path

from livedeck import shellsyntax
from livedeck.errors import DeckError
from livedeck.model import Block, Command


def file_block(
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


def command_lines(
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


def source_form(body: list[str], opening: int, path: Path) -> list[Command]:
    """A ```` ```bash run ```` block: each line a command, prompts and screens added on build."""
    commands = []
    k = 0
    while k < len(body):
        if not body[k].strip():
            k += 1
            continue
        line_no = opening + 2 + k
        text_lines, _, k = command_lines(body, k, body[k], path, line_no, typed_form=True)
        commands.append(Command(line_no, "", "\n".join(text_lines), "", "", ()))
    if not commands:
        raise DeckError(path, opening + 1, "a `run` block holds no command")
    return commands
