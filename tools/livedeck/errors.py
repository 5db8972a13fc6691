"""The one error hierarchy of livedeck; only the CLI turns these into messages and exit codes."""

from __future__ import annotations

from pathlib import Path


class LivedeckError(Exception):
    """Base of every error livedeck reports to a user."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(LivedeckError):
    """The command line (or an environment variable standing for an option) is wrong."""


class DeckError(LivedeckError):
    """An error that points at a line of a deck (`deck:line: message`)."""

    def __init__(self, path: Path | str, line: int, message: str, *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.path = Path(path)
        self.line = line

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class RecordError(DeckError):
    """A deck's record is missing, damaged, or from another version of the deck."""


class NewerRecord(RecordError):
    """A record written by a newer livedeck: replaced only when the author asks (--fresh,
    --update), never because a run happened."""


class CommandFailed(DeckError):
    """A deck command exited with an unexpected status or never finished."""

    def __init__(
        self,
        path: Path | str,
        line: int,
        command: str,
        message: str,
        screen_tail: tuple[str, ...] = (),
        *,
        hint: str = "",
    ) -> None:
        super().__init__(path, line, message, hint=hint)
        self.command = command
        self.screen_tail = screen_tail

    def __str__(self) -> str:
        lines = [super().__str__(), f"  command: {self.command}"]
        if self.screen_tail:
            lines.append("  last lines of its screen:")
            lines.extend(f"    | {line}" for line in self.screen_tail)
        return "\n".join(lines)


class Failures(LivedeckError):
    """Every unexpected failure of a deck run with --keep-going, in deck order."""

    def __init__(self, errors: list[DeckError]) -> None:
        super().__init__(
            f"{len(errors)} command(s) failed",
            hint="fix them all, then build again",
        )
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


class LabError(LivedeckError):
    """The lab host could not be started, reached or cleaned up."""


class ToolMissing(LivedeckError):
    """An outside program livedeck needs (Docker, marp-cli, Chromium) is not installed."""


class OutputError(LivedeckError):
    """The output folder (or a record beside its deck) could not be written: a full disk, a
    read-only or immutable folder. What was there before is left as it was."""


class PublishError(LivedeckError):
    """marp-cli failed to turn Markdown into HTML or PDF."""


class RegistryError(LivedeckError):
    """An image registry (Docker Hub, an upstream, a temporary push registry) did not answer."""
