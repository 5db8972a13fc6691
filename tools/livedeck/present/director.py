"""What the page asks for, done one action at a time on a worker thread, told to every open page.

Events are plain dicts (sent as JSON): `start` (a command is typed), `output` (terminal bytes,
base64), `end` (its screen and verdict), `failed` (what happened and the choices), `note`,
`program` (a program runs and takes keys), `recorded`, `spare`, `spare-output`.
"""

from __future__ import annotations

import base64
import queue
import threading
import time
from typing import Any

from livedeck.errors import CommandFailed, LivedeckError
from livedeck.present.show import Show, Step

Event = dict[str, Any]
CHOICES = ("retry", "recorded", "skip", "spare")
ACTIONS = frozenset({"run", *CHOICES, "keys", "spare-keys", "close-spare"})
TYPING_SECONDS = 0.035  # per character of a typed command, at most MAX_TYPING in all
MAX_TYPING = 1.5


def typing_seconds(text: str) -> float:
    """How long the typing effect of a command takes on the page."""
    return min(MAX_TYPING, TYPING_SECONDS * len(text))


class Director:
    """Runs a show's actions in order and broadcasts what happens."""

    def __init__(self, show: Show) -> None:
        self.show = show
        self._actions: queue.Queue[tuple[str, int, str] | None] = queue.Queue()
        self._listeners: list[queue.Queue[Event | None]] = []
        self._lock = threading.Lock()
        self._worker = threading.Thread(target=self._work, name="livedeck-present", daemon=True)
        self._worker.start()

    def state(self) -> Event:
        """What a page that just opened needs: the blocks, where the show stands, its label."""
        return {
            "kind": "state",
            "live": self.show.live,
            "label": self.show.label,
            "position": self.show.position,
            "columns": self.show.deck.settings.columns,
            "rows": self.show.deck.settings.rows,
            "blocks": [
                {"index": b.index, "line": b.line, "positions": b.positions, "first": b.first}
                for b in self.show.blocks
            ],
        }

    def subscribe(self) -> queue.Queue[Event | None]:
        """A queue of every event from now on; None once the show is over."""
        listener: queue.Queue[Event | None] = queue.Queue()
        with self._lock:
            self._listeners.append(listener)
        return listener

    def unsubscribe(self, listener: queue.Queue[Event | None]) -> None:
        """Stop sending to a page that went away."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def act(self, action: str, block: int, data: str = "") -> None:
        """Ask for an action on a block; keys go straight through, the rest waits its turn."""
        if action not in ACTIONS:
            raise LivedeckError(f"unknown action {action!r}")
        if not 0 <= block < len(self.show.blocks):
            raise LivedeckError(f"no transcript block {block}")
        if action == "keys":
            self.show.keys(data.encode())
        elif action == "spare-keys":
            self.show.spare_keys(data.encode())
        else:
            self._actions.put((action, block, data))

    def close(self) -> None:
        """Finish: the worker stops, the pages are told, the show's lab is gone."""
        self._actions.put(None)
        self._worker.join(10)
        with self._lock:
            for listener in self._listeners:
                listener.put(None)
        self.show.close()

    def _emit(self, event: Event) -> None:
        with self._lock:
            for listener in self._listeners:
                listener.put(event)

    def _work(self) -> None:
        while True:
            item = self._actions.get()
            if item is None:
                return
            action, block, _ = item
            try:
                self._do(action, block)
            except LivedeckError as error:
                self._emit({"kind": "note", "block": block, "text": str(error), "error": True})

    def _do(self, action: str, index: int) -> None:
        show = self.show
        if action == "recorded":
            position = min(show.position, len(show.commands) - 1)
            screen = show.recorded_result(position).screen
            self._emit({"kind": "recorded", "block": index, "screen": list(screen)})
            return
        if action == "spare":
            show.open_spare(self._output(index, "spare-output"))
            self._emit({"kind": "spare", "block": index})
            return
        if action == "close-spare":
            show.close_spare()
            return
        if action == "skip" and not show.done:
            self._ended(show.skip())
        self._run_block(index)

    def _run_block(self, index: int) -> None:
        show = self.show
        block = show.blocks[index]
        if not block.positions:
            return
        last = block.positions[-1]
        if show.position > last:
            self._emit({"kind": "note", "block": index, "text": "this block already ran"})
            return
        behind = block.positions[0] - show.position
        if behind > 0:
            self._emit(
                {
                    "kind": "note",
                    "block": index,
                    "text": f"first running the {behind} skipped command(s) before this block"
                    " in the background",
                }
            )
        while show.position <= last:
            position = show.position
            owner = show.block_of(position).index
            background = owner != index
            prompt, text = show.shown_command(position)
            seconds = 0.0 if background else typing_seconds(text)
            self._emit(
                {
                    "kind": "start",
                    "block": owner,
                    "position": position,
                    "prompt": prompt,
                    "text": text,
                    "background": background,
                    "typing": seconds,
                }
            )
            time.sleep(seconds)  # the page types it meanwhile
            try:
                step = show.step(self._output(owner, "output"))
            except LivedeckError as error:
                self._failed(owner, position, error)
                return
            self._ended(step)
            if show.in_program:
                self._emit({"kind": "program", "block": owner})
                show.watch_program(self._output(owner, "output"))

    def _output(self, block: int, kind: str) -> Any:
        def send(data: bytes) -> None:
            if data:
                self._emit({"kind": kind, "block": block, "data": base64.b64encode(data).decode()})

        return send

    def _ended(self, step: Step) -> None:
        result = step.result
        self._emit(
            {
                "kind": "end",
                "block": self.show.block_of(step.position).index,
                "position": step.position,
                "screen": list(result.screen),
                "status": result.status,
                "same": step.verdict.same,
                "summary": step.verdict.summary,
                "diff": list(step.verdict.diff),
                "how": step.how,
                "recorded": list(self.show.recorded_result(step.position).screen),
            }
        )

    def _failed(self, block: int, position: int, error: LivedeckError) -> None:
        tail = list(error.screen_tail) if isinstance(error, CommandFailed) else []
        self._emit(
            {
                "kind": "failed",
                "block": block,
                "position": position,
                "message": str(error),
                "hint": error.hint,
                "tail": tail,
                "choices": list(CHOICES if self.show.live else ("recorded", "skip")),
            }
        )
