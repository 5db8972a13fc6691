"""Every verb's `--json` is one JSON object of results.schema.json, on success and on failure.

Real runs on the local shell (no Docker); stdout must hold the JSON and nothing else.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from livedeck.cli import main

ROOT = Path(__file__).resolve().parents[1]

DECK = """\
---
marp: true
---

# Story

```bash
me@box:~$ cat {story}
```
"""


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    text = resources.files("livedeck").joinpath("results.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture
def deck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LIVEDECK_REGISTRY_DIR", str(tmp_path / "registry"))
    monkeypatch.setenv("LIVEDECK_IMAGES_DIR", str(tmp_path / "added"))
    monkeypatch.delenv("LIVEDECK_IMAGES", raising=False)
    (tmp_path / "story.txt").write_text("a: Pull complete\n", encoding="utf-8")
    path = tmp_path / "slides" / "story.md"
    path.parent.mkdir()
    path.write_text(DECK.format(story=tmp_path / "story.txt"), encoding="utf-8")
    assert main(["build", str(path), *LOCAL, "--format", "none", "--out", str(tmp_path / "b")]) == 0
    return path


LOCAL = ("--lab", "local", "-q")


def run_json(
    capsys: pytest.CaptureFixture[str], validator: jsonschema.protocols.Validator, *argv: str
) -> tuple[int, dict[str, Any]]:
    """Run livedeck with --json: its exit status and its stdout, validated against the schema."""
    capsys.readouterr()
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    data: dict[str, Any] = json.loads(out)  # the whole of stdout is one JSON document
    validator.validate(data)
    assert data["schema"] == 1 and data["command"] == argv[0]
    assert data["exit"] == code and data["ok"] is (code == 0)
    return code, data


def test_list(deck: Path, capsys: pytest.CaptureFixture[str], validator: Any) -> None:
    code, data = run_json(capsys, validator, "list", str(deck))
    assert code == 0 and data["decks"][0]["name"] == "story" and data["error"] is None
    deck.write_text("---\nmarp: true\nlivedeck:\n  timout: 5\n---\n\n# x\n", encoding="utf-8")
    code, data = run_json(capsys, validator, "list", str(deck))
    assert code == 1 and data["error"]["deck"] == str(deck) and data["error"]["line"] == 4


def test_list_keys_digests_like_images(tmp_path: Path, capsys: Any, validator: Any) -> None:
    for name in ("docker-mariadb.md", "docker-mariadb.record.yaml"):
        shutil.copy(ROOT / "slides" / name, tmp_path / name)
    code, data = run_json(capsys, validator, "list", str(tmp_path / "docker-mariadb.md"))
    (listed,) = data["decks"]
    assert code == 0 and "mariadb:10.11" in listed["images"]
    assert set(listed["digests"]) == {"mariadb:10.11"}


def test_build(deck: Path, tmp_path: Path, capsys: Any, validator: Any) -> None:
    out = ("--format", "none", "--out", str(tmp_path / "b"))
    code, data = run_json(capsys, validator, "build", str(deck), *LOCAL, *out)
    assert code == 0 and data["decks"][0]["story"] == "kept"
    deck.write_text(DECK.format(story="/nonexistent"), encoding="utf-8")
    code, data = run_json(capsys, validator, "build", str(deck), *LOCAL, *out)
    assert code == 1 and data["error"]["kind"] == "CommandFailed"
    assert data["error"]["line"] == 8 and "decks" not in data


def test_check(deck: Path, tmp_path: Path, capsys: Any, validator: Any) -> None:
    code, data = run_json(capsys, validator, "check", str(deck), *LOCAL)
    assert code == 0 and data["decks"][0]["changes"] == []
    (tmp_path / "story.txt").write_text("a: Pull complete\nb: Pull complete\n", encoding="utf-8")
    code, data = run_json(capsys, validator, "check", str(deck), *LOCAL)  # no report before it
    assert code == 1 and data["error"] is None and data["decks"][0]["story"] == "changed"
    deck.with_suffix(".record.yaml").unlink()
    code, data = run_json(capsys, validator, "check", str(deck), *LOCAL)
    assert code == 1 and data["error"]["kind"] == "RecordError"


def test_outdated(deck: Path, tmp_path: Path, capsys: Any, validator: Any) -> None:
    code, data = run_json(capsys, validator, "outdated", str(deck), "--images", "mirror")
    assert code == 0 and data["decks"][0]["status"] == "unchanged"
    for name in ("docker-layers.md", "docker-layers.record.yaml"):
        shutil.copy(ROOT / "slides" / name, tmp_path / name)
    layers = str(tmp_path / "docker-layers.md")
    code, data = run_json(capsys, validator, "outdated", layers, "--images", "mirror")
    assert code == 1 and data["error"] is None and data["decks"][0]["status"] == "changed"
    gone = "http://127.0.0.1:9"  # nothing listens on the discard port
    code, data = run_json(capsys, validator, "outdated", layers, "--images", gone)
    assert code == 3 and data["error"]["kind"] == "RegistryError"


def test_refresh(deck: Path, tmp_path: Path, capsys: Any, validator: Any) -> None:
    argv = ("refresh", str(deck), "--all", *LOCAL, "--images", "mirror")
    argv += ("--out", str(tmp_path / "b"))
    code, data = run_json(capsys, validator, *argv)
    assert code == 0 and data["changed"] is False and data["summary"] is None
    deck.write_text(DECK.format(story="/nonexistent"), encoding="utf-8")
    code, data = run_json(capsys, validator, *argv)
    assert code == 1 and data["error"] is None
    assert data["decks"][0]["error"]["kind"] == "CommandFailed"
    code, data = run_json(capsys, validator, *argv, "--skip", str(tmp_path / "none"))
    assert code == 2 and data["error"]["kind"] == "UsageError"


@pytest.mark.parametrize(
    "shape",
    [
        [{"deck": "slides/a.md", "status": "unchanged", "images": "mirror", "checks": []}],
        {"decks": []},
        {"schema": 1, "command": "build", "ok": True, "exit": 0, "error": None},
        {"schema": 1, "command": "check", "ok": False, "exit": 3, "error": None},
    ],
)
def test_the_schema_rejects_what_the_verbs_printed_before(shape: Any, validator: Any) -> None:
    assert not validator.is_valid(shape)
