"""The render stage: a deck and its transcript -> the Markdown Marp renders. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from livedeck.deck.blocks import FENCE, RUN_WORD
from livedeck.fences import fence
from livedeck.model import Block, Command, Deck, Result, Transcript
from livedeck.render import fit
from livedeck.render.context import Drawings, context_at
from livedeck.render.limits import deck_budget
from livedeck.render.template import render_template
from livedeck.render.timeline import DIRECTIVE_PLACEHOLDER, prose

IMAGE = re.compile(r"!\[[^\]]*\]\((?P<src>[^)\s]+)(?:\s+\"[^\"]*\")?\)")


@dataclass(frozen=True)
class Rendered:
    """A deck ready for Marp, and the pictures it embeds that livedeck drew."""

    markdown: str
    pictures: Mapping[str, str]  # relative path -> SVG


def render(deck: Deck, transcript: Transcript) -> Rendered:
    """The deck with prose templates filled in and every command's output replaced by its screen."""
    with deck_budget():  # a deck's templates share one deadline and one output cap
        return _render(deck, transcript)


def _render(deck: Deck, transcript: Transcript) -> Rendered:
    lines = deck.text.split("\n")
    out = lines[: deck.body_line - 1]  # the front matter, as written
    drawings = Drawings(deck.name)  # the pictures `picture` draws, path -> SVG
    stretches = {stretch.line: stretch for stretch in prose(deck)}
    blocks = {block.line: block for block in deck.blocks}
    verbatim = dict(deck.verbatim)
    number = deck.body_line
    while number <= len(lines):
        block = blocks.get(number)
        if block is not None:
            out.extend(_block(block, lines, transcript, deck.settings.elide))
            number = block.end + 1
            continue
        if number in verbatim:  # code that is not a transcript: as written, no templates
            out.extend(lines[number - 1 : verbatim[number]])
            number = verbatim[number] + 1
            continue
        stretch = stretches[number]
        context = context_at(deck, transcript, stretch.position, drawings.keep)
        text = render_template(stretch.text, context, deck.path, stretch.line)
        out.extend(line for line in text.split("\n") if line != DIRECTIVE_PLACEHOLDER)
        number = stretch.end + 1
    return Rendered("\n".join(out), drawings.made())


def _block(
    block: Block, lines: list[str], transcript: Transcript, elide: tuple[int, ...]
) -> list[str]:
    opening = lines[block.line - 1]
    if block.file is not None:  # written into the lab by a hidden command; shown as written
        return lines[block.line - 1 : block.end]
    if block.source_form:
        fence = FENCE.match(opening)
        assert fence is not None
        words = [w for w in fence.group(3).split() if w != RUN_WORD]
        opening = fence.group(1) + fence.group(2) + " ".join(words)
    body = list(block.lead)
    for command in block.commands:
        result = transcript.for_line(command.line) if command.runnable else None
        if result is None:
            bare = None if command.runnable else transcript.bare_prompt(command.line)
            body.extend((bare,) if bare is not None else command.source)
            body.extend(command.output)
            continue
        body.extend(_command_lines(command, result))
        keep = command.elide or elide
        body.extend(fit.elide(result.screen, keep[0], keep[1]) if keep else result.screen)
    return _fenced(opening, body, lines[block.end - 1])


def _fenced(opening: str, body: list[str], closing: str) -> list[str]:
    """The block between fences longer than any run of the fence character inside it: a
    screen that prints ``` must not end the code block."""
    found = FENCE.match(opening)
    assert found is not None
    written = found.group(2)
    marker = fence(body, written[0], least=len(written))
    if marker == written:
        return [opening, *body, closing]
    return [found.group(1) + marker + found.group(3), *body, closing.replace(written, marker, 1)]


def _command_lines(command: Command, result: Result) -> tuple[str, ...]:
    """The command as typed, behind the prompt a person saw."""
    if result.prompt is not None:  # the real one: a program's, or the shell's directory
        prompt = result.prompt
    elif command.prompt:
        prompt = command.prompt
    else:  # a `run` block in a record without prompts: bash's \u@\h:\w\$
        sigil = "#" if command.user == "root" else "$"
        prompt = f"{command.user}@{command.host}:{result.cwd or '~'}{sigil} "
    first, *rest = command.shown(result.typed or command.text)
    return (prompt + first[len(command.prompt) :], *rest)


def local_images(markdown: str) -> list[str]:
    """The pictures on this machine a rendered deck shows (to copy beside it): relative paths,
    and absolute ones and `file:` URLs, which the copy refuses (marp would embed them)."""
    found = []
    for match in IMAGE.finditer(markdown):
        src = match.group("src")
        web = "://" in src and not src.startswith("file:")
        if web or src.startswith(("data:", "#")):
            continue
        found.append(src)
    return sorted(set(found))
