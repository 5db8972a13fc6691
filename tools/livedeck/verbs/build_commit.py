"""A build's staging folder into the output folder: atomic renames, and write errors people
can act on."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from livedeck.errors import OutputError
from livedeck.paths import contained

STAGING = ".staging-"  # in the output folder: `.staging-PID.START-random`, one per build


# A write that fails for want of room or permission: the machine's doing, not the deck's.
WRITE_ERRORS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}
)


@contextlib.contextmanager
def writing(out_dir: Path) -> Iterator[None]:
    """Turn a write that fails (a full disk, a read-only or immutable folder) into OutputError."""
    try:
        yield
    except OSError as error:
        if error.errno not in WRITE_ERRORS:
            raise
        name = str(error.filename or "")
        where = name if name and STAGING not in name else f"into {out_dir}"  # not our staging
        raise OutputError(
            f"could not write {where}: {error.strerror}",
            hint=f"free space on its file system or make the folder writable, then build again;"
            f" {out_dir} and the records were left as they were",
        ) from error


def move_all(staging: Path, out_dir: Path) -> list[Path]:
    """Move the staged Markdown, pictures and index into out_dir, each with an atomic rename."""
    moved = []
    for source in sorted(staging.rglob("*")):
        if source.is_dir():
            continue
        target = contained(out_dir, source.relative_to(staging), "output")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        moved.append(target)
    return moved
