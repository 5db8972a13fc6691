"""The lab of a live presentation, with the deck's shell kept at hand for keys a program reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from livedeck.run.lab import Channel, Lab, LabSpec


class TappedLab:
    """A lab whose first shell (the deck's) stays reachable: keys for a program go to it."""

    def __init__(self, lab: Lab) -> None:
        self._lab = lab
        self.spec: LabSpec = lab.spec
        self._deck_channel: Channel | None = None

    @property
    def deck_channel(self) -> Channel:
        """The shell the deck's Run types into."""
        assert self._deck_channel is not None
        return self._deck_channel

    @property
    def hidden(self) -> tuple[str, ...]:
        """The secret values the lab below hides (run/guard.py)."""
        return tuple(getattr(self._lab, "hidden", ()))

    def shell(self, env: Mapping[str, str] | None = None) -> Channel:
        """The deck's shell (the Run opens one)."""
        channel = self._lab.shell(env)
        if self._deck_channel is None:
            self._deck_channel = channel
        return channel

    def spare_shell(self) -> Channel:
        """Another shell on the same lab."""
        return self._lab.shell()

    def exec_root(self, argv: Sequence[str]) -> tuple[int, str]:
        """As the lab's."""
        return self._lab.exec_root(argv)

    def docker(self) -> Any:
        """As the lab's."""
        return self._lab.docker()

    def close(self) -> None:
        """Stop the lab."""
        self._lab.close()
