"""Records, offline builds and `livedeck check` with the real engine, lab and marp-cli.

Also: a mirror serving an nginx of another shape (6 layers) makes check fail at the pull line,
and the prose that counts layers through a template follows the new image.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from livedeck.cli import EXIT_DECK, main
from livedeck.deck import load_deck
from registries import six_layer_registry

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "slides" / "docker-layers.md"

pytestmark = [pytest.mark.docker, pytest.mark.marp, pytest.mark.slow]


def test_offline_build_needs_no_docker_and_gives_the_same_markdown(
    flagship_build: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slides, online = flagship_build
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker-here.sock")
    offline = tmp_path / "offline"
    assert main(["build", str(slides), "--out", str(offline), "--offline", "-q"]) == 0
    assert (offline / "docker-layers.md").read_bytes() == (online / "docker-layers.md").read_bytes()
    assert (offline / "docker-layers.pdf").stat().st_size > 10_000
    assert (offline / "docker-layers.html").is_file()
    svg = sorted((offline / "img" / "generated").iterdir())
    assert [p.read_bytes() for p in svg] == [
        p.read_bytes() for p in sorted((online / "img" / "generated").iterdir())
    ]


def test_check_passes_on_a_fresh_lab(
    flagship_build: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    slides, _ = flagship_build
    # The check's lab keeps its Docker data on disk, as the build's did: on tmpfs `ls -al` pads
    # its size column otherwise (60 against 4096), which check rightly reports as another screen.
    monkeypatch.setenv("LIVEDECK_LAB_DATA", "disk")
    before = (slides / "docker-layers.record.yaml").read_text(encoding="utf-8")
    assert main(["check", str(slides), "-q"]) == 0
    assert (slides / "docker-layers.record.yaml").read_text(encoding="utf-8") == before


def test_a_six_layer_nginx_fails_check_at_the_pull_and_changes_the_prose(
    flagship_build: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    online = flagship_build[1]
    slides = shutil.copytree(
        flagship_build[0], tmp_path / "slides"
    )  # the build below writes a record
    assert "layer(7개)" in (online / "docker-layers.md").read_text(encoding="utf-8")
    monkeypatch.setenv("LIVEDECK_REGISTRY_DIR", str(six_layer_registry()))
    capsys.readouterr()
    assert main(["check", str(slides), "-q"]) == EXIT_DECK
    shown = capsys.readouterr()
    pull = next(
        c for c in load_deck(slides / FLAGSHIP.name).commands if c.text == "docker pull nginx"
    )
    assert f"{slides / FLAGSHIP.name}:{pull.line}: $ docker pull nginx" in shown.out
    assert "`<id>: Pull complete`: 7 -> 6 lines" in shown.out
    assert "livedeck check --update" in shown.err

    out = tmp_path / "build-6"
    assert main(["build", str(slides), "--out", str(out), "-q", "--format", "html"]) == 0
    assert "layer(6개)" in (out / "docker-layers.md").read_text(encoding="utf-8")
    assert "check failed" in (out / "index.html").read_text(encoding="utf-8")
    assert "command(s) tell another story than the record; record rewritten" in (
        capsys.readouterr().err
    )
