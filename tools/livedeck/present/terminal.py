"""`livedeck present --terminal`: the deck's commands in a plain terminal, as an instructor demos.

Slide number and title, then the next command typed behind its prompt; any key runs it (as
doitlive does) live in the deck's shell on the lab, then the verdict against the record.
Keys: any key (Enter, space, n) next; b back (the previous screen again); r re-run a command
that failed; s skip; o the recorded output; q quit.
"""

from __future__ import annotations

import contextlib
import os
import termios
import time
import tty
from collections.abc import Callable, Iterator

from livedeck.errors import LivedeckError
from livedeck.present.show import Show, Step, screen_bytes

Keys = Callable[[], str]
Write = Callable[[bytes], None]
TYPING_SECONDS = 0.03
HELP = "any key: next  b: back  r: re-run  s: skip  o: recorded output  q: quit"
BOLD, DIM, GREEN, YELLOW, RED, RESET = (
    "\x1b[1m",
    "\x1b[2m",
    "\x1b[32m",
    "\x1b[33m",
    "\x1b[31m",
    "\x1b[0m",
)


@contextlib.contextmanager
def single_keys(fd: int) -> Iterator[Keys]:
    """Keys one at a time, unechoed, from a terminal; the terminal's mode is restored after."""
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield lambda: os.read(fd, 16).decode(errors="replace")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def present(show: Show, key: Keys, write: Write) -> None:
    """Step through the show until `q` or the end of the deck."""

    def say(text: str) -> None:
        write(text.replace("\n", "\r\n").encode())

    say(f"{BOLD}livedeck present{RESET}: {show.deck.path} ({show.label}); {HELP}\n")
    steps: list[Step] = []
    slides = len(show.deck.slides)
    typed = -1  # the position whose command is typed already
    while not show.done:
        position = show.position
        block = show.block_of(position)
        prompt, text = show.shown_command(position)
        say(f"\n{BOLD}[slide {block.slide}/{slides}] {block.title}{RESET}\n{prompt}")
        if typed == position:
            say(text)
        else:
            for char in text:
                say(char)
                time.sleep(TYPING_SECONDS)
            typed = position
        pressed = key()
        if pressed == "q":
            say("\n")
            return
        if pressed == "b":
            say(f"\n{DIM}the previous command's screen:{RESET}\n")
            if steps:
                write(screen_bytes(steps[-1].result.screen))
            continue
        if pressed == "o":
            say(f"\n{DIM}recorded:{RESET}\n")
            write(screen_bytes(show.recorded_result(position).screen))
            continue
        if pressed == "s":
            steps.append(show.skip())
            say(f"\n{DIM}skipped; the recorded screen:{RESET}\n")
            write(screen_bytes(steps[-1].result.screen))
            continue
        say("\n")
        step = _run(show, key, write, say)
        if step is None:
            return
        steps.append(step)
    say(f"\n{BOLD}end of the deck{RESET}; any key quits\n")
    key()


def _run(show: Show, key: Keys, write: Write, say: Callable[[str], None]) -> Step | None:
    """Run the next command until it ran or was skipped; None if the presenter quits."""
    while True:
        try:
            step = show.step(write)
        except LivedeckError as error:
            say(f"\n{RED}{error}{RESET}\n")
            if error.hint:
                say(f"hint: {error.hint}\n")
            say("r: re-run  o: recorded output  s: skip  q: quit\n")
            while True:
                pressed = key()
                if pressed == "q":
                    return None
                if pressed == "o":
                    write(screen_bytes(show.recorded_result(show.position).screen))
                elif pressed == "s":
                    step = show.skip()
                    say(f"{DIM}skipped{RESET}\n")
                    return step
                elif pressed == "r":
                    break
            continue
        if step.how == "replayed":
            say(f"{DIM}({show.label}){RESET}\n")
        elif step.verdict.same:
            say(f"{GREEN}as recorded{RESET}\n")
        else:
            say(f"{YELLOW}{step.verdict.summary}{RESET}\n")
            for line in step.verdict.diff:
                say(f"  {line}\n")
        if show.in_program:
            say(f"{DIM}a program runs: the deck's next lines go to it{RESET}\n")
        return step
