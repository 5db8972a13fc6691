"""The second example deck: MariaDB on a user-defined network with a volume, its password a
secret typed at `Enter password:`. Real lab, real pty; the password must appear nowhere."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from livedeck.deck import load_deck

ROOT = Path(__file__).resolve().parent.parent
DECK = ROOT / "slides" / "docker-mariadb.md"

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _namespace() -> dict[str, str]:
    """The worker's labs, network, subnet and TMPDIR (conftest.py): the lab's default network
    may hold a subnet another test's registry network took."""
    return {k: v for k, v in os.environ.items() if k.startswith("LIVEDECK_LAB") or k == "TMPDIR"}


def test_the_database_deck_builds_and_its_password_shows_nowhere(tmp_path: Path) -> None:
    slides, out = tmp_path / "slides", tmp_path / "build"
    slides.mkdir()
    shutil.copy(DECK, slides / DECK.name)
    password = "pw-" + secrets.token_hex(8)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "livedeck",
            "build",
            str(slides / DECK.name),
            "--out",
            str(out),
            "--format",
            "none",
            "--images",
            "mirror",
        ],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "tools"), "HOME": str(tmp_path)}
        | {"MARIADB_ROOT_PASSWORD": password, "CI": "1"}
        | _namespace(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    written = [p for p in [*out.rglob("*"), *slides.rglob("*")] if p.is_file()]
    assert written and all(password not in p.read_text(errors="replace") for p in written)
    assert password not in done.stdout + done.stderr

    built = [c for c in load_deck(out / DECK.name).commands if c.runnable]
    screens = {c.text: c.output for c in built}
    # The hidden wait let the first query succeed; the volume kept the rows for db2.
    assert any(
        "ready for connections" in line
        for line in screens[next(t for t in screens if t.startswith("docker logs db"))]
    )
    rows = screens["SELECT name FROM shop.items ORDER BY id;"]
    assert "| docker     |" in rows and "| kubernetes |" in rows
    assert "Enter password:" in screens["docker exec -it db mariadb -uroot -p"]
    # Each MariaDB prompt on the slides is the client's real one, database included.
    text = (out / DECK.name).read_text(encoding="utf-8")
    assert "MariaDB [shop]> SELECT * FROM items;" in text
    assert re.search(r"Status: Downloaded newer image for mariadb:10\.11", text)
