"""One interactive shell on a lab: type a command, wait until it is done, keep its screen."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from livedeck.run.lab import Channel, Lab
from livedeck.run.screen import Terminal

# Quiet this long with a prompt on the cursor line: an interactive program waits for input.
SETTLE_SECONDS = 0.6
# After Ctrl-C and after a kill, how long to wait for the shell to come back each time.
RECOVER_SECONDS = 3.0


@dataclass(frozen=True)
class Outcome:
    """How one typed command ended."""

    lines: tuple[str, ...]  # the screen under the command line
    status: int | None  # exit status; None when a program still runs and shows `prompt`
    prompt: str | None  # the program's prompt on the last line, when status is None
    duration: float
    timed_out: bool = False


class SessionError(Exception):
    """The shell itself went away or never started."""


class Session:
    """A persistent `bash -i` on a lab; cwd, variables and programs carry over between commands."""

    def __init__(self, lab: Lab, program_prompt: re.Pattern[str]) -> None:
        self._lab = lab
        self._columns = lab.spec.columns
        self._program_prompt = program_prompt
        self._nonce = secrets.token_hex(8)
        self._marker = re.compile(
            rb"\x1b\]777;livedeck;"
            + self._nonce.encode()
            + rb";(\d+)\x1f([^\x07]*)\x1f([^\x07]*)\x07"
        )
        self._channel: Channel = lab.shell()
        self._pending = b""
        self.in_program: str | None = None  # prompt of the program commands now go to
        self.cwd = "~"  # the shell's directory as its prompt would show it (bash's \\w)
        self._start()

    def _start(self) -> None:
        # The marker is an OSC sequence a terminal ignores: invisible, and carries $? out.
        setup = (
            "stty -echo; set +H; PS1=''; PS2=''; "
            f'PROMPT_COMMAND=\'printf "\\033]777;livedeck;{self._nonce};%s\\037%s\\037%s\\007"'
            ' $? "$PWD" "$HOME"\'\n'
        )
        self._channel.send(setup.encode())
        data, status, _ = self._read(timeout=30.0, watch_programs=False)
        if status is None:
            raise SessionError(f"the lab's shell did not start; it printed: {data[-400:]!r}")

    def type(
        self, text: str, timeout: float, on_output: Callable[[bytes], None] | None = None
    ) -> Outcome:
        """Type `text` and Enter; return once the shell or a program asks for the next command."""
        started = time.monotonic()
        program = self.in_program
        self._channel.send(text.encode() + b"\n")
        data, status, prompt = self._read(timeout, watch_programs=True, on_output=on_output)
        duration = time.monotonic() - started
        timed_out = status is None and prompt is None
        if timed_out:
            data += self._recover()
        lines = _screen(data, self._columns, echo=text if program else None, prompt=prompt)
        self.in_program = prompt
        return Outcome(lines, status, prompt, duration, timed_out)

    def _read(
        self,
        timeout: float,
        *,
        watch_programs: bool,
        on_output: Callable[[bytes], None] | None = None,
    ) -> tuple[bytes, int | None, str | None]:
        """Bytes up to the shell's next marker (status) or a program's settled prompt."""
        buffer = self._pending
        self._pending = b""
        terminal = Terminal(self._columns)
        terminal.feed(buffer)
        deadline = time.monotonic() + timeout
        while True:
            found = self._marker.search(buffer)
            if found:
                self._pending = buffer[found.end() :]
                self.cwd = _tilde(found.group(2).decode(errors="replace"), found.group(3).decode())
                return buffer[: found.start()], int(found.group(1)), None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return buffer, None, None
            try:
                chunk = self._channel.recv(min(remaining, SETTLE_SECONDS))
            except EOFError:
                raise SessionError("the lab's shell exited") from None
            if chunk:
                buffer += chunk
                terminal.feed(chunk)
                if on_output is not None:
                    on_output(chunk)
                continue
            if watch_programs and self._marker_free(buffer):
                prompt = terminal.cursor_line()
                if prompt.strip() and self._program_prompt.search(prompt):
                    return buffer, None, prompt

    def _marker_free(self, buffer: bytes) -> bool:
        return b"\x1b]777;livedeck;" not in buffer[-4096:]

    def _recover(self) -> bytes:
        """Bring a hung command back to the shell: Ctrl-C, then kill its process group.

        No Ctrl-D: a command that does not read its input leaves it queued, and the shell
        would read it and exit.
        """
        collected = b""
        for action in (b"\x03", None):
            if action is None:
                self._kill_foreground()
            else:
                self._channel.send(action)
            data, status, _ = self._read(RECOVER_SECONDS, watch_programs=False)
            collected += data
            if status is not None:
                self.in_program = None
                return collected
        raise SessionError("the command hung and the shell could not be brought back")

    def _kill_foreground(self) -> None:
        kill = getattr(self._channel, "kill_foreground", None)
        if callable(kill):
            kill()
            return
        # On a lab host the deck's shells are the only terminals: kill each terminal's
        # foreground process group that is not a session leader (a shell).
        self._lab.exec_root(
            [
                "sh",
                "-c",
                "ps -eo tpgid=,pgid=,sid= | awk '$1==$2 && $1!=$3 && $1>0 {print $1}' | sort -u"
                " | while read g; do kill -KILL -- -$g 2>/dev/null; done",
            ]
        )

    def close(self) -> None:
        """End the shell."""
        self._channel.close()


def _tilde(cwd: str, home: str) -> str:
    if home not in ("", "/") and (cwd == home or cwd.startswith(home.rstrip("/") + "/")):
        return "~" + cwd[len(home.rstrip("/")) :]
    return cwd


def _screen(data: bytes, columns: int, *, echo: str | None, prompt: str | None) -> tuple[str, ...]:
    """The lines a person sees under the command line."""
    terminal = Terminal(columns)
    terminal.feed(data)
    lines = list(terminal.lines())
    if echo is not None and lines and lines[0].strip() == echo.split("\n")[0].strip():
        lines.pop(0)  # a program's terminal echoes what was typed; the slide shows it already
    if prompt is not None and lines and lines[-1] == prompt.rstrip():
        lines.pop()  # the program's prompt belongs to the next command line
    return tuple(lines)
