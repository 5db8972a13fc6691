"""Stand-in for actions/download-artifact (see ../README.md): inputs from INPUT_*."""

from __future__ import annotations

import fnmatch
import os
import shutil
import sys
from pathlib import Path

STORE = Path(os.environ.get("LIVEDECK_STAND_IN_ARTIFACTS", "/livedeck-stand-in/artifacts"))


def download() -> None:
    name, pattern = os.environ.get("INPUT_NAME", ""), os.environ.get("INPUT_PATTERN", "")
    where = Path(os.environ.get("INPUT_PATH") or os.environ["GITHUB_WORKSPACE"]).expanduser()
    stored = sorted(p.name for p in STORE.iterdir()) if STORE.is_dir() else []
    if name:
        if name not in stored:
            sys.exit(
                f"::error::Unable to download artifact(s): Artifact not found for name: {name}"
            )
        chosen = [name]
    else:
        chosen = [n for n in stored if fnmatch.fnmatchcase(n, pattern or "*")]
    # One artifact by name goes into `path` itself; by pattern, each into a folder of its name.
    merge = bool(name) or os.environ.get("INPUT_MERGE_MULTIPLE") == "true"
    for artifact in chosen:
        into = where if merge else where / artifact
        shutil.copytree(STORE / artifact, into, dirs_exist_ok=True)
        print(f"Artifact {artifact} downloaded to {into}")
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write(f"download-path={where.resolve()}\n")


if __name__ == "__main__":
    download()
