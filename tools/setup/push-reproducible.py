#!/usr/bin/env python3
"""Push a host engine image into a registry as a reproducible image (for lab-images.sh).

    push-reproducible.py IMAGE BASE-URL REPO:TAG EPOCH   # prints the pushed manifest's digest

Layers and config are rewritten so that the same inputs give the same digest on any machine
(livedeck.images.reproducible). Needs only the standard library and `docker save`.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from livedeck.errors import RegistryError
from livedeck.images.reproducible import push_reproducible


def main(argv: list[str]) -> int:
    """Save, normalize, push; print the digest."""
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    image, base, target, epoch = argv
    repo, _, tag = target.rpartition(":")
    with tempfile.TemporaryDirectory(prefix="livedeck-reproducible-", dir="/var/tmp") as scratch:
        saved = Path(scratch) / "image.tar"
        with saved.open("wb") as out:
            subprocess.run(["docker", "save", image], stdout=out, check=True)
        try:
            pushed = push_reproducible(saved, base, repo, tag, int(epoch))
        except (RegistryError, ValueError) as error:
            print(f"push-reproducible.py: {error}", file=sys.stderr)
            return 1
    print(pushed.digest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
