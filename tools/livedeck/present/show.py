"""A deck presented live: its commands, block by block, in its one shell on a lab. No I/O of its
own beyond the lab; the web page and the terminal front end present what it returns.

A `Show` is live (a `Run` on a lab) or a replay (the record's screens, when `--offline` or when
no lab could start). Either way it steps through the deck's commands in deck order and says, for
each, whether the screen tells the recorded story.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from livedeck.check import compare
from livedeck.errors import LivedeckError
from livedeck.model import Deck, Result, Transcript
from livedeck.present.tapped import TappedLab
from livedeck.run import Run
from livedeck.run.lab import Channel
from livedeck.run.session import MARKER_PREFIX

Output = Callable[[bytes], None]
HEADING = re.compile(r"^#{1,6}\s+(.*\S)")


@dataclass(frozen=True)
class LiveBlock:
    """A transcript block of the deck with commands to run, as a presenter sees it."""

    index: int  # among the deck's transcript blocks (`pre > code` with prompts), in deck order
    line: int
    slide: int
    title: str
    positions: tuple[int, ...]  # where its commands stand in the deck's run
    first: str  # its first command's first line as typed: how the page finds the block


@dataclass(frozen=True)
class Verdict:
    """A live screen against the recorded one, with run-to-run noise set aside."""

    same: bool
    summary: str
    diff: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    """One command that ran (or was replayed, or skipped)."""

    position: int
    result: Result
    verdict: Verdict
    how: str = "live"  # live | replayed | skipped


class Show:
    """The deck's commands, one at a time, on a live lab or from the record."""

    def __init__(
        self,
        deck: Deck,
        recorded: Transcript,
        record_date: str,
        run: Run | None = None,
        lab: TappedLab | None = None,
        why_replay: str = "",
    ) -> None:
        self.deck = deck
        self.recorded = recorded
        self.record_date = record_date
        self.why_replay = why_replay
        self._run = run
        self._lab = lab
        self._replayed = 0
        self._gone_astray = ""  # why the live shell no longer is where the deck expects
        self._keys_lock = threading.Lock()  # one reader of the deck's shell at a time
        self._stepping = False
        self._watching = False
        self._closed = False
        self._spare: Channel | None = None
        self.commands = tuple(c for c in deck.commands if c.runnable)
        self.blocks = live_blocks(deck, recorded)

    @property
    def live(self) -> bool:
        """Commands run on a lab (else the record is replayed)."""
        return self._run is not None

    @property
    def label(self) -> str:
        """What the audience is told: live, or from which day's record."""
        if self.live:
            return "live"
        return f"recorded on {self.record_date}" + (
            f" ({self.why_replay})" if self.why_replay else ""
        )

    @property
    def position(self) -> int:
        """How many commands ran so far."""
        return len(self._run.results) if self._run is not None else self._replayed

    @property
    def done(self) -> bool:
        """Every command ran."""
        return self.position >= len(self.commands)

    @property
    def in_program(self) -> bool:
        """The last command left a program running (a container's shell): it takes keys."""
        results = self._run.results if self._run is not None else ()
        return bool(results) and results[-1].status is None and not self._gone_astray

    def block_of(self, position: int) -> LiveBlock:
        """The block a command of the run belongs to."""
        return next(b for b in self.blocks if position in b.positions)

    def recorded_result(self, position: int) -> Result:
        """What the record says the command at `position` showed."""
        return self.recorded.results[position]

    def shown_command(self, position: int) -> tuple[str, str]:
        """The prompt and the command text a person sees typed for the command at `position`."""
        result = self.recorded.results[position]
        command = result.command
        typed = result.typed or command.text
        if result.prompt is not None:
            return result.prompt, typed
        if command.prompt:
            return command.prompt, typed
        sigil = "#" if command.user == "root" else "$"
        return f"{command.user}@{command.host}:{result.cwd or '~'}{sigil} ", typed

    def step(self, on_output: Output | None = None) -> Step:
        """Run the next command; raise LivedeckError (CommandFailed...) if it goes wrong."""
        position = self.position
        if self._run is None:
            result = self.recorded_result(position)
            if on_output is not None:
                on_output(screen_bytes(result.screen))
            self._replayed += 1
            return Step(position, result, Verdict(True, self.label, ()), "replayed")
        if self._gone_astray:
            raise LivedeckError(
                self._gone_astray,
                hint="restart the lab: the commands so far run again on a fresh one",
            )
        self._stepping = True  # the program's watcher lets go of the shell
        try:
            with self._keys_lock:
                result = self._run.step(on_output)
        finally:
            self._stepping = False
        return Step(position, result, verdict(self.deck, self.recorded_result(position), result))

    def skip(self) -> Step:
        """Go past the next command without running it; its recorded screen stands in."""
        position = self.position
        result = self.recorded_result(position)
        if self._run is None:
            self._replayed += 1
        else:
            # The recorded result stands in for the command, so the next one runs and
            # templates see the story the slides tell.
            self._run.skip(result)
        return Step(position, result, Verdict(True, "skipped: the recorded screen", ()), "skipped")

    # -- keys for a program, and a spare shell ---------------------------------------------

    def keys(self, data: bytes) -> None:
        """Type keys into the program the last command left running (see `watch_program`)."""
        if self._lab is None or not self.in_program:
            raise LivedeckError("no program runs in the live shell: keys have nowhere to go")
        self._lab.deck_channel.send(data)

    def watch_program(self, on_output: Output) -> None:
        """While the last command left a program running and no command runs, pass what it
        prints to on_output (keys typed into it answer there).

        If keys end the program, the live shell is no longer where the deck's next command
        expects it: the show says so instead of guessing."""
        if self._lab is None or not self.in_program or self._watching:
            return
        self._watching = True
        channel = self._lab.deck_channel

        def pump() -> None:
            try:
                while self.in_program and not self._closed:
                    if self._stepping:
                        time.sleep(0.02)
                        continue
                    with self._keys_lock:
                        try:
                            chunk = channel.recv(0.05)
                        except (EOFError, OSError):
                            return
                    cut = chunk.find(MARKER_PREFIX)  # a program ended back in the hooked bash
                    if cut >= 0:
                        on_output(chunk[:cut])
                        self._gone_astray = (
                            "the program ended by keys typed in the slide: the live shell is"
                            " no longer where the deck's next command expects it"
                        )
                        return
                    if chunk:
                        on_output(chunk)
            finally:
                self._watching = False

        threading.Thread(target=pump, name="livedeck-program", daemon=True).start()

    def open_spare(self, on_output: Output) -> None:
        """A second shell on the lab, outside the deck's: to look around after a surprise."""
        if self._lab is None:
            raise LivedeckError("no lab is running: a spare shell needs one")
        self.close_spare()
        spare = self._lab.spare_shell()
        self._spare = spare

        def pump() -> None:
            while self._spare is spare:
                try:
                    chunk = spare.recv(0.2)
                except (EOFError, OSError):
                    return
                if chunk:
                    on_output(chunk)

        threading.Thread(target=pump, name="livedeck-spare", daemon=True).start()

    def spare_keys(self, data: bytes) -> None:
        """Type into the spare shell."""
        if self._spare is None:
            raise LivedeckError("no spare shell is open")
        self._spare.send(data)

    def close_spare(self) -> None:
        """End the spare shell, if one is open."""
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.close()

    def close(self) -> None:
        """End the shells and the lab: nothing of the show keeps running."""
        self._closed = True
        self.close_spare()
        try:
            if self._run is not None:
                self._run.close()
        finally:
            if self._lab is not None:
                self._lab.close()


def verdict(deck: Deck, recorded: Result, live: Result) -> Verdict:
    """'as recorded' when only run-to-run noise differs (livedeck check's rules), else the diff."""
    changes = compare(deck, Transcript(deck.path, (recorded,)), Transcript(deck.path, (live,)))
    if not changes:
        return Verdict(True, "as recorded", ())
    change = changes[0]
    return Verdict(False, f"differs: {change.summary}", change.diff)


def live_blocks(deck: Deck, recorded: Transcript) -> tuple[LiveBlock, ...]:
    """The deck's transcript blocks with the run positions of their commands."""
    positions = {c.line: n for n, c in enumerate(c for c in deck.commands if c.runnable)}
    lines = deck.text.split("\n")
    blocks = []
    for index, block in enumerate(deck.blocks):
        mine = tuple(positions[c.line] for c in block.commands if c.line in positions)
        slide = next((s for s in deck.slides if s.line <= block.line <= s.end), None)
        title = ""
        if slide is not None:
            title = next(
                (m.group(1) for m in map(HEADING.match, lines[slide.line - 1 : slide.end]) if m),
                "",
            )
        first = ""
        if mine:
            result = recorded.results[mine[0]]
            first = (result.typed or result.command.text).split("\n")[0]
        blocks.append(
            LiveBlock(index, block.line, slide.number if slide else 0, title, mine, first)
        )
    return tuple(blocks)


def screen_bytes(lines: Sequence[str]) -> bytes:
    """A recorded screen as a terminal would get it."""
    return "".join(f"{line}\r\n" for line in lines).encode()


def record_date(path: Path) -> str:
    """The day a record was written (its file's time)."""
    return time.strftime("%Y-%m-%d", time.localtime(path.stat().st_mtime))
