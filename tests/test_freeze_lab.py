"""Two builds in a row of an unchanged deck on real labs leave its committed record untouched.

Every run on a fresh lab has new container IDs, digests in facts and ages: the record and the
slides keep the first run's until the story changes (or --fresh).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from livedeck.cli import main

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DECK = """\
---
marp: true
---

# Two containers

```bash
ubuntu@ip-10-0-1-14:~$ docker pull nginx
ubuntu@ip-10-0-1-14:~$ docker run --detach nginx
ubuntu@ip-10-0-1-14:~$ docker ps
```

{{ docker.image('nginx').short_id }}
"""


def build(deck: Path, out: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> Any:
    capsys.readouterr()
    argv = ["build", str(deck), "--format", "none", "--out", str(out), "--json", "-q", *flags]
    assert main(argv) == 0
    [result] = json.loads(capsys.readouterr().out)["decks"]
    return result


def test_an_unchanged_deck_keeps_its_record_byte_for_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deck = tmp_path / "two.md"
    deck.write_text(DECK, encoding="utf-8")
    record = deck.with_suffix(".record.yaml")
    first = build(deck, tmp_path / "b1", capsys)
    assert first["story"] == "new" and first["lab"]["image nginx"].startswith("sha256:")
    recorded = record.read_bytes()
    assert b"seconds:" not in recorded

    second = build(deck, tmp_path / "b2", capsys)
    assert second["story"] == "kept" and second["changes"] == []
    assert record.read_bytes() == recorded
    assert (tmp_path / "b2" / "two.md").read_bytes() == (tmp_path / "b1" / "two.md").read_bytes()

    third = build(deck, tmp_path / "b3", capsys, "--fresh")
    assert third["story"] == "fresh"
    assert record.read_bytes() != recorded  # a new container ID, new facts
    assert (tmp_path / "b3" / "two.md").read_bytes() != (tmp_path / "b1" / "two.md").read_bytes()
