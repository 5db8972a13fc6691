"""Stand-in for actions/upload-artifact (see ../README.md): inputs from INPUT_*."""

from __future__ import annotations

import glob
import os
import shutil
import sys
from pathlib import Path

STORE = Path(os.environ.get("LIVEDECK_STAND_IN_ARTIFACTS", "/livedeck-stand-in/artifacts"))


def _files(patterns: list[str], hidden: bool) -> list[Path]:
    """The files the patterns name; a hidden one (a name under the match starting with a dot)
    only with `hidden`."""
    found: set[Path] = set()
    for pattern in patterns:
        for match in glob.glob(os.path.expanduser(pattern), recursive=True):
            path = Path(match).resolve()
            files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
            found |= {
                f
                for f in files
                if hidden
                or not any(part.startswith(".") for part in f.relative_to(path.parent).parts)
            }
    return sorted(found)


def upload() -> None:
    name = os.environ["INPUT_NAME"]
    patterns = [line.strip() for line in os.environ["INPUT_PATH"].splitlines() if line.strip()]
    files = _files(patterns, os.environ.get("INPUT_INCLUDE_HIDDEN_FILES") == "true")
    if not files:
        rule = os.environ.get("INPUT_IF_NO_FILES_FOUND", "warn")
        message = f"No files were found with the provided path: {' '.join(patterns)}"
        if rule == "error":
            sys.exit(f"::error::{message}. No artifacts will be uploaded.")
        print(
            f"::warning::{message}. No artifacts will be uploaded." if rule == "warn" else message
        )
        return
    root = Path(os.path.commonpath([str(f.parent) for f in files]))
    target = STORE / name
    if target.exists():
        if os.environ.get("INPUT_OVERWRITE") != "true":
            sys.exit(f"::error::an artifact named {name} exists already")
        shutil.rmtree(target)
    for file in files:
        copy = target / file.relative_to(root)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, copy)
    print(f"Artifact {name} has {len(files)} files (root {root})")


if __name__ == "__main__":
    upload()
