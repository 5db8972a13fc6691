"""One interactive shell on a lab: type a command, wait until it is done, keep its screen.

How livedeck is sure which bytes belong to which command:
- Every bash it types into is *hooked* (run/hooks.py): PS0 prints an invisible start marker
  right before bash runs a command line, and PROMPT_COMMAND prints an end marker right after
  it, without running a command of its own (no `set -x` trace, no DEBUG trap, no history
  entry). Both are OSC sequences (a terminal shows nothing) carrying the shell's random nonce
  and the command's sequence number; the end marker also carries `$?`, the directory, user and
  host, and whether readline edits the shell's lines.
- A command is typed as one bracketed paste into readline, once readline reads (it turns
  bracketed paste on): any length, taken as it is. A shell with line editing off gets lines
  through the terminal's canonical mode, which keeps 4095 bytes of a line: longer is an error.
- A command's screen is exactly the bytes between its two markers. The echo of typed text, `> `
  continuation prompts and the prompt itself fall outside, whatever a deck does to PS1, PS2,
  `stty echo` or readline; a marker with an unexpected nonce or number is an error, never a guess.
- A deck may change the hooks' own state: a PROMPT_COMMAND that runs something before livedeck's
  function is put back in order (so `$?` stays the command's), a PS0 or PROMPT_COMMAND that is
  gone is an error naming the command.
- A command that starts another bash (`bash`, `exec bash`, `newgrp`, `su -`, `sudo -i`) is noticed
  when the new shell waits at its prompt (the lab's process table says what waits); livedeck
  hooks it too and keeps a stack of shells, so `exit` comes back to the one below.
- Other programs (a container's shell, a database client) cannot be hooked: a command typed into
  them ends when their prompt shows and the terminal waits for input there (the lab's process
  table says nothing in the terminal's foreground runs, sleeps on a timer or waits for a child),
  and its exit status is unknown. A line that only looks like a prompt while something still
  runs (`printf 'step 1 >'; sleep 2`, a `#` progress bar) is output.
- A command that waits for input at a line that is no program's prompt (`Password: `) with
  nothing left to type is stopped at once, never left to its timeout.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field

from wcwidth import wcswidth

from livedeck.run import processes
from livedeck.run.hooks import (
    CANONICAL_LINE,
    HIDE,
    MARKER,
    PASTE_END,
    PASTE_START,
    READLINE_SECONDS,
    READLINE_STARTS,
    VERBOSE,
    bash_said,
    drop_markers,
    held,
    hook_line,
    reads_again,
)
from livedeck.run.hooks import MARKER_PREFIX as MARKER_PREFIX  # the present stage reads it too
from livedeck.run.lab import Channel, Lab
from livedeck.run.screen import Terminal

# Quiet this long with a prompt on the cursor line: an interactive program waits for input.
SETTLE_SECONDS = 0.6
# Quiet this long behind a prompt (`Enter password: `) while `input:` lines are left: the
# command waits for the next one. A program that reads without a prompt gets it after a longer
# quiet: typed too early (before `docker run -it` has attached), input would be lost.
INPUT_SECONDS = 0.3
SILENT_INPUT_SECONDS = 5.0
# After Ctrl-C and after a kill, how long to wait for the shell to come back each time.
RECOVER_SECONDS = 5.0
HOOK_SECONDS = 30.0
RECHECK_SECONDS = 3.0  # a pause that looked like no prompt is looked at again this often
MOVED_SECONDS = 0.05  # after reading the process table, output that came in the meantime
# Before typing, read what already came: a command line nobody typed shows within this time.
DRAIN_SECONDS = 0.002  # a shell that does not answer its hooks in this time is not a bash

# A pause on such a line may be a shell or a program waiting for input: worth a look.
_LOOKS_LIKE_PROMPT = re.compile(r"(?:[$#>:?]|\[[yY]/[nN]\]) ?$")
_FIELD = "\x1f"


@dataclass(frozen=True)
class Outcome:
    """How one typed command ended."""

    lines: tuple[str, ...]  # the screen under the command line
    status: int | None  # exit status; None when a program still runs (see `prompt`)
    prompt: str | None  # the program's prompt on the last line, when status is None
    duration: float
    timed_out: bool = False
    cwd: str = "~"  # the shell's directory afterwards, as bash's \w shows it
    user: str = ""  # the shell's user and host afterwards (\u, \h)
    host: str = ""
    asked: str | None = None  # the line it waits for input at, with nothing left to type


class SessionError(Exception):
    """The shell itself went away, never started, or lost livedeck's hooks."""


class EchoError(SessionError):
    """A secret was due at a prompt that would show it (the terminal echoes what is typed)."""


class NotRunError(SessionError):
    """bash did not run the typed line: it refused it (`event not found`) or wants more."""


class DriftError(SessionError):
    """What came back does not belong to the command just typed: never guess whose it is."""

    def __init__(self, message: str, *, previous: bool = False) -> None:
        super().__init__(message)
        self.previous = previous  # it was the command typed before this one that drifted


@dataclass
class _Shell:
    """A hooked bash: its nonce, the number of its next command, and where it stands."""

    nonce: str
    pid: int
    seq: int = 1
    cwd: str = "~"
    user: str = ""
    host: str = ""
    editing: bool = False  # readline reads its lines (emacs or vi mode)


@dataclass(frozen=True)
class _Marker:
    nonce: str
    kind: str  # s: a command starts, e: it ended, p: the prompt shows
    seq: int
    status: int = 0
    flags: str = ""
    fields: tuple[str, ...] = field(default_factory=tuple)  # PWD, HOME, user, host, pid

    @staticmethod
    def parse(match: re.Match[bytes]) -> _Marker:
        nonce, kind = match.group(1).decode(), match.group(2).decode()
        body = (match.group(3) or b"").decode("utf-8", errors="replace")
        if kind == "p":
            return _Marker(nonce, kind, -1)
        if kind == "s":
            return _Marker(nonce, kind, int(body or -1))
        head, *fields = body.split(_FIELD)
        seq, status, flags = [*head.split(";"), "", "", ""][:3]
        return _Marker(nonce, kind, int(seq), int(status), flags, tuple(fields))


class Session:
    """A persistent `bash -i` on a lab; cwd, variables and programs carry over between commands."""

    def __init__(self, lab: Lab, program_prompt: re.Pattern[str]) -> None:
        self._lab = lab
        self._columns = lab.spec.columns
        self._rows = lab.spec.rows
        self._program_prompt = program_prompt
        self._channel: Channel = lab.shell()
        self._pending = b""  # read, not yet looked at
        self._shells: list[_Shell] = []
        self.in_program: str | None = None  # prompt of the program commands now go to
        self._settle_seen: tuple[int, ...] = ()  # the output a pause was last looked at
        self._inputs: list[tuple[str, bool]] = []  # still to type for the running command, and
        # whether Enter follows
        self._hidden: Set[str] = frozenset()  # those of them typed only with echo off
        self._asked: tuple[int, int, str] | None = None  # an unanswered question seen once
        self._hook(replace_pid=None)

    @property
    def cwd(self) -> str:
        """The hooked shell's directory as its prompt would show it (bash's \\w)."""
        return self._shells[-1].cwd

    @property
    def identity(self) -> tuple[str, str]:
        """The user and host of the shell commands now go to (or of the one a program runs in)."""
        shell = self._shells[-1]
        return shell.user, shell.host

    def type(
        self,
        text: str,
        timeout: float,
        on_output: Callable[[bytes], None] | None = None,
        inputs: Sequence[str | tuple[str, bool]] = (),
        *,
        hidden: Set[str] = frozenset(),
        in_history: bool = True,
    ) -> Outcome:
        """Type `text` and Enter; return once the shell or a program asks for the next command.

        `inputs` are lines typed, one at each pause, while the command waits for input (a pair
        (keys, False) is typed without Enter); those in `hidden` (secrets) only where the
        terminal does not echo them (else EchoError). A command not `in_history` (setup, a
        `file:` block) is taken out of the shell's history.
        """
        started = time.monotonic()
        deadline = started + timeout
        self._inputs = [(i, True) if isinstance(i, str) else i for i in inputs]
        self._hidden = hidden
        self._asked = None
        if self.in_program is None:
            typed = text if in_history else f"{HIDE}; {text}"
            lines, status, prompt, timed_out = self._type_to_shell(typed, deadline, on_output)
        else:
            lines, status, prompt, timed_out = self._type_to_program(text, deadline, on_output)
        shell = self._shells[-1]
        asked = None
        if prompt == _ASKED:  # stopped at a question: the line it asked
            asked, prompt = self._asked[2].rstrip() if self._asked is not None else "", None
        return Outcome(
            lines,
            status,
            prompt,
            time.monotonic() - started,
            timed_out,
            shell.cwd,
            shell.user,
            shell.host,
            asked,
        )

    # -- a command typed into a hooked bash ------------------------------------------------

    def _type_to_shell(
        self, text: str, deadline: float, on_output: Callable[[bytes], None] | None
    ) -> tuple[tuple[str, ...], int | None, str | None, bool]:
        shell = self._shells[-1]
        self.sync()
        self._type_line(text, shell, deadline)
        # Before the start marker: the echo of the typed text, `> ` prompts, the last prompt,
        # and last what bash says itself once it has the line (a history expansion's result).
        before = b""
        while True:
            data, marker = self._next_marker(deadline, asks_again=shell.editing)
            before += data
            if (marker is None or marker.kind == "p") and shell.editing and reads_again(before):
                # readline reads again, and nothing ran: bash refused the line (`event not
                # found`) or waits for the rest of it (an open quote)
                terminal = self._terminal()
                said = bash_said(before, text, editing=shell.editing)
                self._recover(terminal)
                shown = said.decode(errors="replace").strip()
                raise NotRunError(
                    f"bash did not run the line: {shown}"
                    if shown
                    else "bash asks for more of this command line (an open quote?)"
                )
            if marker is None:  # no start marker: hung before running (an open quote?)
                return self._hung(self._terminal(), before)
            if marker.kind == "p":
                continue  # the previous prompt, shown late
            self._expect(marker, shell, "s", "e")
            if marker.kind == "e":  # bash ran nothing: a syntax error is all it printed
                return self._ended(
                    self._terminal(), bash_said(before, text, editing=shell.editing), marker
                )
            break
        terminal = self._terminal()
        said = bash_said(before, text, editing=shell.editing) if shell.editing else b""
        if said:  # `sudo !!`: bash shows the line it runs, as on a terminal
            terminal.feed(said)
            if on_output is not None:
                on_output(said)
        return self._output(terminal, deadline, on_output, shell)

    def _type_line(self, text: str, shell: _Shell, deadline: float) -> None:
        """Type `text` and Enter into the hooked bash.

        With line editing on (as in any interactive bash) the text is one bracketed paste,
        sent once readline reads: readline takes it whole, at any length, and inserts it as it
        is (a tab completes nothing). With editing off (`set +o emacs`, `bash --noediting`) the
        terminal's canonical mode keeps 4095 bytes of a line: a longer line is an error, never
        cut.
        """
        if any((ord(c) < 32 and c not in "\t\n") or ord(c) == 127 for c in text):
            raise SessionError(f"the command holds a control character: {text[:60]!r}")
        data = text.encode()
        if shell.editing:
            self._await_readline(shell, deadline)
            self._channel.send(PASTE_START + data + PASTE_END + b"\r")
            return
        longest = max(len(line) for line in data.split(b"\n"))
        if longest > CANONICAL_LINE:
            raise SessionError(
                f"a line of {longest:,} bytes cannot be typed into a shell with line editing"
                f" off (the terminal keeps {CANONICAL_LINE} bytes of a line): turn it on"
                " again (set -o emacs)"
            )
        self._channel.send(data + b"\n")

    def _await_readline(self, shell: _Shell, deadline: float) -> None:
        """Wait until readline reads the next line (it turns bracketed paste on): typed
        earlier, the text would meet the terminal's canonical mode."""
        until = min(deadline, time.monotonic() + READLINE_SECONDS)
        while READLINE_STARTS not in self._pending:
            left = until - time.monotonic()
            if left <= 0:
                raise SessionError(
                    "the shell edits lines with readline but did not show that it reads the"
                    " next one: the last command sent the shell's own output elsewhere"
                    " (exec 2>file), or turned bracketed paste off (bind 'set"
                    " enable-bracketed-paste off'); livedeck types each command as one paste"
                )
            try:
                self._pending += self._channel.recv(left)
            except EOFError:
                raise SessionError("the lab's shell exited") from None

    def _output(
        self,
        terminal: Terminal,
        deadline: float,
        on_output: Callable[[bytes], None] | None,
        shell: _Shell,
    ) -> tuple[tuple[str, ...], int | None, str | None, bool]:
        """The command's output up to its end marker, or up to a program's settled prompt."""
        while True:
            data, marker = self._next_marker(deadline, terminal, on_output, watch=True)
            if marker is None:
                if data is not _SETTLED:
                    return self._hung(terminal, b"")
                if self._inputs:
                    self._send_input()
                    continue
                settled = self._settled(terminal)
                if settled is not None:
                    return settled
                continue  # it only looked like a prompt: go on reading
            if marker.kind == "p":
                raise SessionError(
                    "the command replaced PROMPT_COMMAND, and with it livedeck's function that"
                    " sees where a command ends",
                )
            self._expect(marker, shell, "e")
            return self._ended(terminal, b"", marker)

    def _ended(
        self, terminal: Terminal, data: bytes, marker: _Marker
    ) -> tuple[tuple[str, ...], int | None, str | None, bool]:
        terminal.feed(data)
        self._update(marker)
        return terminal.lines(), marker.status, None, False

    def _settled(
        self, terminal: Terminal
    ) -> tuple[tuple[str, ...], int | None, str | None, bool] | None:
        """Something waits at a prompt: a bash is hooked, a program gets the next lines;
        None if it is neither (the output only paused on a line that looks like a prompt)."""
        prompt = terminal.cursor_line()
        lines = list(terminal.lines())
        if lines and lines[-1] == prompt.rstrip():
            lines.pop()  # the prompt belongs to the next command line
        # Two looks: `ps` reads each process at another moment, and one look may catch a bash
        # in the foreground between two commands of a loop.
        first, table = self._two_looks()
        waiting = processes.waiting_bash(table, self._shells[-1].pid)
        if waiting != processes.waiting_bash(first, self._shells[-1].pid) or self._moved():
            return None  # it changed, or output came while looking: look again
        if waiting is not None:
            self._hook(replace_pid=waiting if self._hooked(waiting) else None)
            return tuple(lines), None, None, False
        if not (self._waits(first) and self._waits(table)):
            return None  # something still runs: the line only looks like a prompt
        if self._program_prompt.search(prompt):
            self.in_program = prompt
            return tuple(lines), None, prompt, False
        if self._unanswered(terminal, prompt):
            return self._give_up(terminal)
        return None

    def _moved(self) -> bool:
        """Output came while the process table was read: what it says may be about a later
        moment than the screen (the command ended, its shell waits at its prompt). The output is
        kept for the next read."""
        try:
            chunk = self._channel.recv(MOVED_SECONDS)
        except EOFError:
            raise SessionError("the lab's shell exited") from None
        self._pending += chunk
        return bool(chunk)

    def _waits(self, table: processes.Table) -> bool:
        """Whatever runs in the deck's terminals waits for input."""
        local = callable(getattr(self._channel, "kill_foreground", None))
        return processes.waits_for_input(table, self._shells[0].pid, containers=not local)

    def _unanswered(self, terminal: Terminal, prompt: str) -> bool:
        """The command waits at a question (no program's prompt) and nothing is left to type:
        seen so on two looks, with no output in between."""
        if self._inputs or not prompt.strip():
            return False
        seen = (id(terminal), terminal.fed, prompt)
        if self._asked == seen:
            return True
        self._asked = seen
        return False

    def _give_up(self, terminal: Terminal) -> tuple[tuple[str, ...], int | None, str | None, bool]:
        """Stop a command that waits for input nobody types, and say where it waited."""
        lines, status, _, _ = self._hung(terminal, b"")
        return lines, status, _ASKED, False

    # -- a command typed into a program (a container's shell, a database client) -----------

    def _type_to_program(
        self, text: str, deadline: float, on_output: Callable[[bytes], None] | None
    ) -> tuple[tuple[str, ...], int | None, str | None, bool]:
        prompt = self.in_program or ""
        shell = self._shells[-1]
        terminal = self._terminal()
        raw = bytearray()

        def keep(data: bytes) -> None:
            raw.extend(data)
            if on_output is not None:
                on_output(data)

        self._send(text)
        while True:
            data, marker = self._next_marker(deadline, terminal, keep, watch=True)
            if marker is not None or data is not _SETTLED:
                break
            if self._inputs:
                self._send_input()
                continue
            looks = all(self._waits(table) for table in self._two_looks())
            if self._moved() or not looks:
                continue  # something still runs: the line only looks like a prompt
            if self._program_prompt.search(terminal.cursor_line()):
                break
            if self._unanswered(terminal, terminal.cursor_line()):
                lines, status, asked, _ = self._give_up(terminal)
                return self._program_screen(bytes(raw), prompt, text, None), status, asked, False
        if marker is None and data is not _SETTLED:
            _, status, _, timed_out = self._hung(terminal, b"")
            return self._program_screen(bytes(raw), prompt, text, None), status, None, timed_out
        if marker is None:  # the program's next prompt
            self.in_program = terminal.cursor_line()
            lines = self._program_screen(bytes(raw), prompt, text, self.in_program)
            return lines, None, self.in_program, False
        # The program ended: the shell that started it shows its prompt again.
        self._expect(marker, shell, "e")
        self.in_program = None
        self._update(marker)
        return self._program_screen(bytes(raw), prompt, text, None), marker.status, None, False

    def _program_screen(
        self, raw: bytes, prompt: str, typed: str, next_prompt: str | None
    ) -> tuple[str, ...]:
        """What a command typed into a program printed: without the program's echo of the
        typed text (the slide shows that line already) and without its next prompt.

        The echo follows the program's prompt on the same row, so it is cut from an emulation
        that starts with the prompt, where it must hold exactly the typed text; a program that
        does not echo (a password prompt, a shell without line editing) prints output only.
        """
        echoed = self._terminal()
        echoed.feed(prompt.encode() + raw)
        lines = _without_echo(echoed.lines(), prompt, typed, self._columns)
        if lines is None:
            plain = self._terminal()
            plain.feed(raw)
            lines = list(plain.lines())
        if next_prompt is not None and lines and lines[-1] == next_prompt.rstrip():
            lines.pop()  # the program's prompt belongs to the next command line
        return tuple(lines)

    # -- markers ------------------------------------------------------------------------------

    def _next_marker(
        self,
        deadline: float,
        terminal: Terminal | None = None,
        on_output: Callable[[bytes], None] | None = None,
        *,
        watch: bool = False,
        asks_again: bool = False,
    ) -> tuple[bytes, _Marker | None]:
        """Bytes up to the next marker of a known shell, and the marker.

        With a terminal, the bytes go into it as they come (and to on_output) and are not
        returned. Returns (_SETTLED, None) when `watch` is set and a program's prompt settled,
        (bytes, None) at the deadline, or with `asks_again` as soon as readline reads a line
        again after the typed one.
        """
        collected = bytearray()

        def take(data: bytes) -> None:
            if data and terminal is None:
                collected.extend(data)
            elif data and terminal is not None:
                terminal.feed(data)
                if on_output is not None:
                    on_output(data)

        buffer, self._pending = self._pending, b""
        quiet_since = time.monotonic()
        while True:
            found = MARKER.search(buffer)
            if found is not None:
                before = buffer[: found.start()]
                if found.group(2) == b"e" and before.endswith(VERBOSE):
                    before = before[: -len(VERBOSE)]  # `set -v` shows livedeck's own line
                take(before)
                self._pending = buffer[found.end() :]
                marker = _Marker.parse(found)
                if all(marker.nonce != s.nonce for s in self._shells):
                    raise DriftError(f"a marker from an unknown shell ({marker.nonce})")
                return bytes(collected), marker
            # Hold back what may be the start of a marker split across two reads.
            cut = held(buffer)
            take(buffer[:cut])
            buffer = buffer[cut:]
            now = time.monotonic()
            if now >= deadline or (asks_again and reads_again(collected)):
                self._pending = buffer
                return bytes(collected), None
            try:
                wait = INPUT_SECONDS if self._inputs else SETTLE_SECONDS
                chunk = self._channel.recv(min(deadline - now, wait))
            except EOFError:
                raise SessionError("the lab's shell exited") from None
            if chunk:
                buffer += chunk
                quiet_since = time.monotonic()
                continue
            quiet = time.monotonic() - quiet_since
            if watch and terminal is not None and quiet >= INPUT_SECONDS:
                prompt = terminal.cursor_line()
                # Looked at again after new output, a line typed, or a while: a shell that has
                # just started may not lead the terminal's foreground yet when first looked at.
                seen = (
                    id(terminal),
                    terminal.fed,
                    len(self._inputs),
                    int(quiet // RECHECK_SECONDS),
                )
                waits_for_input = self._inputs and (prompt.strip() or quiet >= SILENT_INPUT_SECONDS)
                if seen != self._settle_seen and (
                    waits_for_input
                    or (
                        quiet >= SETTLE_SECONDS
                        and (
                            _LOOKS_LIKE_PROMPT.search(prompt) or self._program_prompt.search(prompt)
                        )
                    )
                ):
                    self._settle_seen = seen
                    self._pending = buffer
                    return _SETTLED, None

    def _expect(self, marker: _Marker, shell: _Shell, *kinds: str) -> None:
        """The marker must be the one this shell prints next; else nothing can be trusted."""
        if marker.kind not in kinds or marker.nonce != shell.nonce or marker.seq != shell.seq:
            lower = next((s for s in self._shells[:-1] if s.nonce == marker.nonce), None)
            if lower is not None and marker.kind == "e" and marker.seq == lower.seq:
                # A shell further down shows its prompt: the ones above it have exited.
                while self._shells[-1] is not lower:
                    self._shells.pop()
                return
            raise DriftError(
                f"expected the {'start' if 's' in kinds else 'end'} of command {shell.seq}"
                f" of shell {shell.nonce}, got {marker.kind} {marker.seq} of {marker.nonce}:"
                " more than one command ran"
            )
        if "0" in marker.flags:
            raise SessionError(
                "the command changed PS0, which livedeck needs to see where output starts"
            )

    def _update(self, marker: _Marker) -> None:
        shell = next(s for s in self._shells if s.nonce == marker.nonce)
        shell.seq = marker.seq + 1
        shell.editing = "r" in marker.flags
        if len(marker.fields) >= 4:
            pwd, home, shell.user, shell.host = marker.fields[:4]
            shell.cwd = _tilde(pwd, home)

    # -- nested shells ------------------------------------------------------------------------

    def _hook(self, replace_pid: int | None) -> None:
        """Install the markers into the bash that waits for input, and put it on the stack."""
        nonce = secrets.token_hex(8)
        self._send(hook_line(nonce))
        shell = _Shell(nonce, pid=-1, seq=0)
        self._shells.append(shell)
        deadline = time.monotonic() + HOOK_SECONDS
        while True:
            try:
                data, marker = self._next_marker(deadline)
            except DriftError:
                self._shells.pop()
                raise
            if marker is None:
                self._shells.pop()
                raise SessionError(f"the shell did not start; it printed: {data[-400:]!r}")
            if marker.nonce == nonce and marker.kind == "e":
                break
        self._update(marker)
        shell.pid = int(marker.fields[4]) if len(marker.fields) > 4 else -1
        if replace_pid is not None:  # the same process, e.g. after `exec bash`
            self._shells = [s for s in self._shells if s.pid != replace_pid or s is shell]

    def _hooked(self, pid: int) -> bool:
        return any(s.pid == pid for s in self._shells)

    def _waiting_shell(self) -> int | None:
        """The pid of a bash that waits for input in the terminal's foreground, if one does."""
        table = processes.one_look(*self._lab.exec_root(processes.PS_ARGV))
        return processes.waiting_bash(table, self._shells[-1].pid)

    def _two_looks(self) -> tuple[processes.Table, processes.Table]:
        """The lab's processes at two moments 50 ms apart, read in one side command."""
        return processes.two_looks(*self._lab.exec_root(processes.TWO_LOOKS_ARGV))

    # -- ends -----------------------------------------------------------------------------------

    def _hung(
        self, terminal: Terminal, data: bytes
    ) -> tuple[tuple[str, ...], int | None, str | None, bool]:
        terminal.feed(drop_markers(data))
        idle = self.in_program is None and self._waiting_shell() == self._shells[-1].pid
        try:
            self._recover(terminal)
        except SessionError:
            if idle:  # the shell waits at its prompt, and no end marker ever came
                raise SessionError(
                    "the shell shows its prompt again, but livedeck's end-of-command marker did"
                    " not come: the command removed livedeck's hooks (PROMPT_COMMAND, PS0)"
                ) from None
            raise
        return terminal.lines(), None, None, True

    def _recover(self, terminal: Terminal) -> None:
        """Bring a hung command back to the shell: Ctrl-C, then kill its process group.

        No Ctrl-D: a command that does not read its input leaves it queued, and the shell
        would read it and exit.
        """
        shell = self._shells[-1]
        for action in (b"\x03", None):
            if action is None:
                self._kill_foreground()
            else:
                self._channel.send(action)
            deadline = time.monotonic() + RECOVER_SECONDS
            while True:
                data, marker = self._next_marker(deadline)
                terminal.feed(data)
                if marker is None:
                    break
                if marker.kind == "e" and marker.nonce == shell.nonce:
                    self._update(marker)
                    self.in_program = None
                    return
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
                " | while read g; do kill -9 -$g 2>/dev/null; done",  # dash: no `--`
            ]
        )

    def sync(self, quiet: float = DRAIN_SECONDS) -> None:
        """Make sure nothing ran that was not typed: a command line typed after the last one
        (a newline in typed text) shows its start marker right after the last prompt."""
        if self.in_program is not None:
            return
        while True:
            try:
                chunk = self._channel.recv(quiet)
            except EOFError:
                raise SessionError("the lab's shell exited") from None
            if not chunk:
                break
            self._pending += chunk
        for found in MARKER.finditer(self._pending):
            if found.group(2) != b"p":
                raise DriftError(
                    "the shell ran one more command line than was typed (a newline in the"
                    " typed text?)",
                    previous=True,
                )

    def _terminal(self) -> Terminal:
        """A fresh screen of the lab terminal's size (lines scrolled off the top are kept)."""
        return Terminal(self._columns, self._rows)

    def _send(self, text: str, enter: bool = True) -> None:
        self._channel.send(text.encode() + (b"\n" if enter else b""))

    def _send_input(self) -> None:
        """Type the next `input:` line; a secret only if the terminal will not show it."""
        line, enter = self._inputs.pop(0)
        if line in self._hidden and self._echoes():
            self._inputs.clear()
            raise EchoError(
                "the terminal echoes what is typed at this moment (no password prompt waits):"
                " the value would show on the screen and could reach the shell's history"
            )
        self._send(line, enter)

    def _echoes(self) -> bool:
        """Typed keys would show (or cannot be asked about). A password prompt turns echo off
        and keeps the line mode; with the line mode off too, readline may be reading the
        shell's own next command (it echoes itself): only a program in the foreground
        (`docker exec -it` relaying keys to a password prompt in a container) may then get a
        secret, and what it echoes is redacted on the stream like any output."""
        pid = self._shells[-1].pid
        status, found = self._lab.exec_root(
            ["sh", "-c", 'stty -a -F "/proc/$1/fd/0" && ps -o tpgid= -p "$1"', "sh", str(pid)]
        )
        words = found.split()
        if pid < 0 or status != 0 or "-echo" not in words:
            return True
        return "-icanon" in words and words[-1] == str(pid)  # the shell reads its next line

    def close(self) -> None:
        """End the shell."""
        self._channel.close()


_SETTLED = b"\x00settled\x00"  # a sentinel: the identity matters, not the value
_ASKED = "\x00asked\x00"  # the prompt of a command stopped at an unanswered question


def _tilde(cwd: str, home: str) -> str:
    if home not in ("", "/") and (cwd == home or cwd.startswith(home.rstrip("/") + "/")):
        return "~" + cwd[len(home.rstrip("/")) :]
    return cwd


def _without_echo(rows: tuple[str, ...], prompt: str, typed: str, columns: int) -> list[str] | None:
    """The rows after the echo of `typed` behind `prompt`; None if they do not start with it."""
    first, *rest = typed.split("\n")
    dropped = 0
    for text in [prompt + first, *(f"> {line}" for line in rest)]:
        span = max(1, -(-max(wcswidth(text), 1) // columns))
        joined = "".join(rows[dropped : dropped + span]).rstrip()
        if joined not in (text.rstrip(), text.removeprefix("> ").rstrip()):
            return None if dropped == 0 else list(rows[dropped:])
        dropped += span
    return list(rows[dropped:])
