"""A lab whose secrets reach its shells through their environment and come back hidden.

`SecretLab` wraps any lab: every shell it starts gets the deck's `secrets:` as environment
variables (never typed: nothing in the shell's history, its echo or a `set -x` trace), and every
byte read from a shell, and every side command's output, goes through one `Redactor` first. So
whatever reads the lab - the emulator, screens, records, the live page, error messages - sees
the values hidden, by construction.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from livedeck.redaction import Redactor
from livedeck.run.lab import Channel, Lab, LabSpec

# A stream that pauses this long with bytes held back (they may start a value) gets them: no
# program prints a value in pieces that far apart.
HOLD_SECONDS = 0.15


class RedactedChannel:
    """A shell's byte stream with the secret values hidden before anyone reads it."""

    def __init__(self, channel: Channel, values: Sequence[str]) -> None:
        self._channel = channel
        self._redactor = Redactor(values)
        self._last = time.monotonic()
        self._ended = False

    def send(self, data: bytes) -> None:
        """Write bytes to the terminal, as typed keys."""
        self._channel.send(data)

    def recv(self, timeout: float) -> bytes:
        """What the terminal printed, values hidden; b"" after `timeout` seconds of silence."""
        if self._ended:
            raise EOFError
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            wait = deadline - now
            if self._redactor.holding:
                wait = min(wait, self._last + HOLD_SECONDS - now)
            try:
                chunk = self._channel.recv(max(wait, 0.0))
            except EOFError:
                self._ended = True
                held = self._redactor.flush()
                if held:
                    return held
                raise
            now = time.monotonic()
            if chunk:
                self._last = now
                shown = self._redactor.feed(chunk)
                if shown:
                    return shown
                continue
            if self._redactor.holding and now >= self._last + HOLD_SECONDS:
                return self._redactor.flush()
            if now >= deadline:
                return b""

    def close(self) -> None:
        """End the shell and free the terminal."""
        self._channel.close()

    def __getattr__(self, name: str) -> Any:
        # What else a channel offers (a local pty's kill_foreground) stays reachable.
        return getattr(self._channel, name)


class SecretLab:
    """A lab whose shells get the secrets in their environment and show them nowhere."""

    def __init__(self, lab: Lab, values: Sequence[str], env: Mapping[str, str]) -> None:
        self._lab = lab
        self.spec: LabSpec = lab.spec
        self.hidden = tuple(values)
        self._env = dict(env)
        self._redactor = Redactor(self.hidden)

    def shell(self, env: Mapping[str, str] | None = None) -> RedactedChannel:
        """A shell of the lab with the secrets as variables; what it prints is redacted."""
        return RedactedChannel(self._lab.shell({**self._env, **(env or {})}), self.hidden)

    def exec_root(self, argv: Sequence[str]) -> tuple[int, str]:
        """As the lab's, its output redacted (a process table may show a value)."""
        status, output = self._lab.exec_root(argv)
        hidden = self._redactor.hide(output.encode()).decode("utf-8", errors="replace")
        return status, hidden

    def docker(self) -> Any:
        """As the lab's."""
        return self._lab.docker()

    def close(self) -> None:
        """Stop the lab."""
        self._lab.close()


def guarded(lab: Lab, values: Sequence[str], env: Mapping[str, str]) -> Lab:
    """`lab` as a SecretLab for these values, unless it already is one (or wraps one)."""
    if set(getattr(lab, "hidden", ())) == set(values):
        return lab
    return SecretLab(lab, values, env)
