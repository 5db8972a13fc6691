"""The presentation's use case on a real local pty: keys typed into a running program, and a
spare shell on the lab. (The page that sends the keys is tests/test_present.py's.)"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from livedeck.present import open_show
from livedeck.run.lab import LocalLab
from livedeck.verbs.build import BuildOptions, build

DECK = """\
# Keys

<!-- livedeck: {program: {prompt: 'inner#'}} -->
```bash
me@box:~$ PS1='inner# ' sh -i
inner# echo from the deck
inner# exit
```
"""


class Screen:
    """What the show streams to a block, as it comes."""

    def __init__(self) -> None:
        self.data = b""
        self._lock = threading.Lock()

    def __call__(self, chunk: bytes) -> None:
        with self._lock:
            self.data += chunk

    def wait_for(self, text: str, seconds: float = 10) -> None:
        deadline = time.monotonic() + seconds
        while text.encode() not in self.data:
            assert time.monotonic() < deadline, f"{text!r} never came: {self.data!r}"
            time.sleep(0.02)


def test_keys_go_to_the_program_and_a_spare_shell_answers(tmp_path: Path) -> None:
    deck = tmp_path / "keys.md"
    deck.write_text(DECK, encoding="utf-8")
    build([deck], BuildOptions(out_dir=tmp_path / "build", formats=()), LocalLab)  # its record
    show = open_show(deck, LocalLab)
    try:
        assert show.live
        show.step()  # `sh -i`: a program now waits for keys
        assert show.in_program
        program = Screen()
        show.watch_program(program)
        show.keys(b"echo typed in the slide $((6 * 7))\n")
        program.wait_for("typed in the slide 42")

        spare = Screen()
        show.open_spare(spare)
        show.spare_keys(b"echo spare $((7 * 8))\n")
        spare.wait_for("spare 56")
        show.close_spare()

        show.keys(b"exit\n")  # the program ends by a key: the show says so, no guess
        deadline = time.monotonic() + 10
        while show.in_program:
            assert time.monotonic() < deadline, "the show did not see the program end"
            time.sleep(0.05)
    finally:
        show.close()
