"""A secret that the lab's tools cut short is no more shown than a whole one: `livedeck build`
run as a user runs it, on the Docker lab, with a deck whose commands print the beginning of a
random secret (`cut -c`, in bytes and inside a character; `printf %.16s...`; `head -c` right
before the next prompt; `docker ps -a`'s `…`), its ending (`tail -c`) and its hex digits
(`od -tx1`, spaces taken out). No 8 characters in a row of it are in build/ (Markdown and HTML), the record,
stdout (--json) or stderr."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "ubuntu@ip-10-0-1-14:~$"
CUTS_DECK = f"""---
marp: true
livedeck:
  secrets: [APP_SECRET]
  fit: shrink
---

## Cut short

```bash
{PROMPT} echo "$APP_SECRET" | cut -c1-12
{PROMPT} echo "$APP_SECRET" | cut -c1-16
{PROMPT} printf '%.16s...\\n' "$APP_SECRET"
{PROMPT} printf '%s' "$APP_SECRET" | head -c 12
{PROMPT} echo "$APP_SECRET" | tail -c 15
{PROMPT} printf '%s' "$APP_SECRET" | od -An -v -tx1 | tr -d ' \\n'; echo
```

---

## In a container's command

```bash
{PROMPT} docker create --name holder --entrypoint "$APP_SECRET" nginx
{PROMPT} docker ps -a
```
"""

BUILD = ("--out", "build", "--format", "html", "--images", "mirror", "--json")

pytestmark = pytest.mark.docker


def secret_value() -> str:
    """A fresh value of 39 characters with an accent (two bytes: a byte cut may split it)."""
    return f"Cut-{secrets.token_hex(4)}é$'x-{secrets.token_hex(10)}"


def shown(text: str, value: str) -> list[str]:
    """The runs of 8 characters of the value, or of its hex digits, that are in text."""
    flat = text.replace("\r", "")
    found = []
    for form in (value, value.encode().hex(), value.encode().hex().upper()):
        runs = {form[i : i + 8] for i in range(len(form) - 7)}
        found += sorted(r for r in runs if r in flat or r in flat.replace("\n", ""))
    return found


def files_text(*folders: Path) -> str:
    """Every file under the folders, as text."""
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    )


def test_a_cut_secret_is_on_no_slide_record_or_page(
    tmp_path: Path, lab_namespace: dict[str, str]
) -> None:
    slides = tmp_path / "slides"
    slides.mkdir()
    (slides / "cuts.md").write_text(CUTS_DECK, encoding="utf-8")
    value = secret_value()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tools"), "APP_SECRET": value, "CI": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "livedeck", "build", "slides/cuts.md", *BUILD],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    everything = {
        "build/": files_text(tmp_path / "build"),
        "slides/ and the record": files_text(slides),
        "stdout (--json)": done.stdout,
        "stderr": done.stderr,
    }
    found = {where: shown(text, value) for where, text in everything.items()}
    assert not any(found.values()), found
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "build" / "cuts.html").is_file()
    markdown = (tmp_path / "build" / "cuts.md").read_text(encoding="utf-8")
    # The commands did print the pieces: each stands hidden on the slide.
    lines = [line.strip() for line in markdown.splitlines()]
    assert lines.count("********") >= 4, markdown  # cut -c twice, tail -c, od
    assert "********..." in lines, markdown
    assert f"{PROMPT} docker create" in markdown
    assert "********…" in markdown, markdown  # docker ps -a's COMMAND column
