"""Where a deck may point: every path livedeck reads or writes for a deck goes through here.

A deck is code from whoever wrote it. The paths it names (pictures, themes, `files:`) and the
paths livedeck writes for it (staging, outputs, records) must stay inside their folder, with
symlinks followed: `img/logo.png -> /proc/self/environ` or `files: {../../etc/hostname: ~/h}`
would otherwise copy the author's machine into build/ or into the lab.

The course root of a deck is the folder the deck is in, with everything below it: a deck and
its pictures, themes and course files travel together as one folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from livedeck.errors import DeckError, LivedeckError

# Every kind of host path livedeck reads or writes for a deck, as its errors name it. Tests
# attack each one (tests/test_security_paths.py): a kind added here without an attack fails.
HostKey = Literal["picture", "theme", "files", "record", "output"]
HOST_LABELS: dict[HostKey, str] = {
    "picture": "picture",
    "theme": "theme",
    "files": "livedeck.files:",
    "record": "record",
    "output": "output",
}
# Every kind of lab path a deck names.
LabKey = Literal["file", "files"]
LAB_LABELS: dict[LabKey, str] = {"file": "`file:`", "files": "livedeck.files: the lab path"}


def course_root(deck: Path) -> Path:
    """The folder a deck may read from: its own (symlinks resolved)."""
    return deck.absolute().parent.resolve()


def contained(
    root: Path,
    path: str | Path,
    key: HostKey,
    *,
    deck: Path | None = None,
    line: int = 1,
) -> Path:
    """`root / path` with every symlink resolved, if it stays inside `root`; else an error.

    The error is a DeckError at `deck:line` when a deck named the path (`key` says which),
    else a LivedeckError (a path livedeck made itself: a defect, never to be written).
    """
    what = HOST_LABELS[key]
    base = root.absolute().resolve()
    relative = Path(path)
    if "\0" in str(path) or relative.is_absolute():
        return _refuse(base, path, what, deck, line, "is not a path inside")
    found = (base / relative).resolve()  # follows every symlink, also of missing parts' parents
    if found != base and base not in found.parents:
        shown = f" (it leads to {found})" if found != (base / relative).absolute() else ""
        return _refuse(base, path, what, deck, line, f"lies outside{shown} of")
    return found


def lab_path(target: str, key: LabKey, *, deck: Path, line: int) -> str:
    """A path in the lab as a deck names it (`~/app/Dockerfile`, `/etc/x`), checked: absolute
    or under the lab user's home, with no `..` (it would leave the folder a reader sees)."""
    rest = target[2:] if target.startswith("~/") else target
    if (
        not target.startswith(("/", "~/"))
        or any(c in target for c in "\0\n\r")
        or ".." in rest.split("/")
    ):
        raise DeckError(
            deck,
            line,
            f"{LAB_LABELS[key]} must be a path in the lab starting with `/` or `~/`, without `..`,"
            f" not {target!r}",
            hint="for example ~/app/Dockerfile",
        )
    return target


def _refuse(
    base: Path, path: str | Path, what: str, deck: Path | None, line: int, how: str
) -> Path:
    message = f"{what} {str(path)!r} {how} {base}"
    hint = "keep it (and what its symlinks point to) in the deck's folder; copy it in if needed"
    if deck is None:
        raise LivedeckError(message, hint=hint)
    raise DeckError(deck, line, message, hint=hint)
