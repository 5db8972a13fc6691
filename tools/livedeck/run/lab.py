"""What the run stage needs from a lab host, and the simplest one: a local pseudo-terminal."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import secrets
import select
import signal
import struct
import subprocess
import termios
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from livedeck import reap

SHELL_ARGV = ("bash", "--norc", "--noprofile", "-i")
LOCAL_LAB_ENV = "LIVEDECK_LOCAL_LAB"  # marks every process a local lab's shells start


@dataclass(frozen=True)
class LabSpec:
    """The host a deck expects: the prompt's host name and user, and the terminal size."""

    hostname: str = "ip-10-0-1-14"
    user: str = "ubuntu"
    columns: int = 200
    rows: int = 50
    packages: tuple[str, ...] = ()  # Debian packages on top of the lab's own tools
    images: str = "mirror"  # where its `docker pull` gets images: mirror, hub, or a registry URL
    # The Docker data to start from (a deck's `after:`): a volume run/states.py made, copied
    # into the lab before its Docker engine starts. Only the Docker lab takes one.
    snapshot: str | None = None
    # A volume (made beforehand) to hold the lab's Docker data, left when the lab is removed:
    # the end of a deck that others start from is kept without a copy.
    keep_data: str | None = None


class Channel(Protocol):
    """A byte stream to one interactive shell running under a pseudo-terminal."""

    def send(self, data: bytes) -> None:
        """Write bytes to the terminal, as typed keys."""

    def recv(self, timeout: float) -> bytes:
        """Read what the terminal printed; b"" after `timeout` seconds of silence.

        Raises EOFError once the shell has exited and everything was read.
        """

    def close(self) -> None:
        """End the shell and free the terminal."""


class Lab(Protocol):
    """A host the commands of a deck run on."""

    spec: LabSpec

    def shell(self, env: Mapping[str, str] | None = None) -> Channel:
        """Start SHELL_ARGV as spec.user under a pty of spec's size, with `env` added to its
        environment (how secrets reach it: never as typed text)."""

    def exec_root(self, argv: Sequence[str]) -> tuple[int, str]:
        """Run a side command as root on the lab (not in the deck's shell); exit code and output."""

    def docker(self) -> Any:
        """A Docker SDK client for the lab's own Docker engine, or None if the lab has none."""

    def close(self) -> None:
        """Stop the lab and remove everything it created."""


LabFactory = Callable[[LabSpec], Lab]


def terminal_env(spec: LabSpec) -> dict[str, str]:
    """Environment a shell in a lab gets: a real terminal type and its size."""
    return {
        "TERM": "xterm-256color",
        "COLUMNS": str(spec.columns),
        "LINES": str(spec.rows),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


class PtyChannel:
    """A shell on a pseudo-terminal of this machine."""

    def __init__(self, argv: Sequence[str], spec: LabSpec, env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # child: becomes the shell, in the home directory as a new terminal is
            try:
                with contextlib.suppress(OSError):
                    os.chdir(env.get("HOME", "/"))
                os.execvpe(argv[0], list(argv), env)
            finally:
                os._exit(127)
        self.pid = pid
        self.fd = fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", spec.rows, spec.columns, 0, 0))

    def send(self, data: bytes) -> None:
        """Write bytes to the terminal, as typed keys."""
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def recv(self, timeout: float) -> bytes:
        """Read what the terminal printed; b"" after `timeout` seconds of silence."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return b""
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the other side of the pty is closed
            data = b""
        if not data:
            raise EOFError
        return data

    def kill_foreground(self) -> None:
        """Kill the process group that has the terminal, unless it is the shell itself."""
        with contextlib.suppress(OSError):
            group = os.tcgetpgrp(self.fd)
            if group != self.pid:
                os.killpg(group, signal.SIGKILL)

    def close(self) -> None:
        """End the shell, every job it started (background ones too), and free the terminal.

        Once only: the session and its lab both close a channel, and a second os.close would
        close whatever file took the number meanwhile (a served connection of `watch`)."""
        if self.fd < 0:
            return
        # The shell itself first: a channel closed right after it opened may hold a child that
        # has not yet made its own session, which neither loop below would find.
        for pid in (self.pid, *_session_members(self.pid)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.fd = -1


class LocalLab:
    """The machine livedeck runs on, for decks that need no isolation (and for tests)."""

    def __init__(self, spec: LabSpec | None = None, env: dict[str, str] | None = None) -> None:
        self.spec = spec or LabSpec(hostname=os.uname().nodename, user=_current_user())
        # Owner-marked, so a daemon a deck starts (setsid, nohup) goes at close, or with the
        # next livedeck's sweep when this one was killed.
        self._mark = secrets.token_hex(8)
        self._env = reap.child_env(
            {**os.environ, **(env or {}), **terminal_env(self.spec), LOCAL_LAB_ENV: self._mark}
        )
        self._channels: list[PtyChannel] = []

    def shell(self, env: Mapping[str, str] | None = None) -> PtyChannel:
        """Start an interactive bash on a local pty, with `env` added to its environment."""
        channel = PtyChannel(SHELL_ARGV, self.spec, {**self._env, **(env or {})})
        self._channels.append(channel)
        return channel

    def exec_root(self, argv: Sequence[str]) -> tuple[int, str]:
        """Run a side command on this machine."""
        done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
        return done.returncode, done.stdout + done.stderr

    def docker(self) -> Any:
        """The local lab has no Docker engine of its own."""
        return None

    def close(self) -> None:
        """End every shell this lab started, and whatever they started that still runs."""
        for channel in self._channels:
            channel.close()
        self._channels.clear()
        for pid in reap.processes_with(LOCAL_LAB_ENV, self._mark):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _session_members(sid: int) -> list[int]:
    """Processes of the terminal session `sid` leads: the shell's jobs, in any process group."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # after "pid (comm)": state, ppid, pgrp, session
            members.append(int(entry))
    return members


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name
