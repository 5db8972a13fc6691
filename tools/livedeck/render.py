"""The render stage: a deck and its transcript -> the Markdown Marp renders. Pure."""

from __future__ import annotations

import re

from livedeck.model import Block, Command, Deck, Transcript

IMAGE = re.compile(r"!\[[^\]]*\]\((?P<src>[^)\s]+)(?:\s+\"[^\"]*\")?\)")


def render(deck: Deck, transcript: Transcript) -> str:
    """The deck's Markdown with every command's output replaced by the screen it showed."""
    lines = deck.text.split("\n")
    out: list[str] = []
    blocks = {block.line: block for block in deck.blocks}
    number = 1
    while number <= len(lines):
        block = blocks.get(number)
        if block is not None:
            out.append(lines[number - 1])
            out.extend(_block_body(block, transcript))
            out.append(lines[block.end - 1])
            number = block.end + 1
            continue
        if number not in deck.directive_lines:
            out.append(lines[number - 1])
        number += 1
    return "\n".join(out)


def _block_body(block: Block, transcript: Transcript) -> list[str]:
    body = list(block.lead)
    for command in block.commands:
        result = transcript.for_line(command.line) if command.runnable else None
        if result is None:
            body.extend(command.source)
            body.extend(command.output)
            continue
        body.extend(_command_lines(command, result.prompt))
        body.extend(result.screen)
    return body


def _command_lines(command: Command, program_prompt: str | None) -> tuple[str, ...]:
    """The command as written, behind the prompt a person saw (a program's own, if any)."""
    if program_prompt is None:
        return command.source
    first, *rest = command.text.split("\n")
    return (program_prompt + first, *rest)


def local_images(markdown: str) -> list[str]:
    """Relative paths of the pictures a rendered deck shows (to copy beside it)."""
    found = []
    for match in IMAGE.finditer(markdown):
        src = match.group("src")
        if "://" in src or src.startswith(("/", "data:", "#")):
            continue
        found.append(src)
    return sorted(set(found))
