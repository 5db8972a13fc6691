"""`livedeck list`: decks, outputs and images, as CI reads them to fan out. Pure."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from livedeck.cli import main
from livedeck.verbs.inventory import images_used

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "slides" / "docker-layers.md"


@pytest.mark.parametrize(
    ("command", "images"),
    [
        ("docker pull nginx", ["nginx"]),
        ("docker image pull --platform linux/amd64 nginx:1.25", ["nginx:1.25"]),
        ('docker run --detach --label "color=red" nginx', ["nginx"]),
        ("docker run -it --rm -v /tmp:/tmp -e A=1 --name web redis:7 bash", ["redis:7"]),
        ("docker container create --name=x -p 80:80 httpd", ["httpd"]),
        ("cd /tmp && docker pull alpine; docker run -d busybox sleep 9", ["alpine", "busybox"]),
        ("docker images && docker ps -a", []),
        ("docker run -d {{ image }}", []),
        ("docker rmi --force $(docker images -aq)", []),
    ],
)
def test_images_a_command_pulls_or_runs(command: str, images: list[str]) -> None:
    assert list(images_used([command])) == images


def test_list_json_gives_path_outputs_images_and_record_digests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slides = tmp_path / "slides"
    slides.mkdir()
    shutil.copy(FLAGSHIP, slides)
    shutil.copy(FLAGSHIP.with_suffix(".record.yaml"), slides)
    out = tmp_path / "site"
    assert main(["list", str(slides), "--json", "--out", str(out), "--format", "html,pdf"]) == 0
    [deck] = json.loads(capsys.readouterr().out)["decks"]
    assert deck["path"] == str(slides / "docker-layers.md")
    assert deck["name"] == "docker-layers"
    assert deck["outputs"] == [str(out / f"docker-layers.{s}") for s in ("md", "html", "pdf")]
    assert deck["images"] == ["nginx"]
    assert deck["digests"]["nginx"].startswith("sha256:")
    assert deck["record"] == str(slides / "docker-layers.record.yaml")


def test_list_of_a_deck_without_record_has_no_digests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deck = tmp_path / "pull.md"
    deck.write_text("# x\n\n```\nme@box:~$ docker pull debian\n```\n", encoding="utf-8")
    assert main(["list", str(deck), "--json"]) == 0
    [info] = json.loads(capsys.readouterr().out)["decks"]
    assert info["images"] == ["debian"] and info["digests"] == {} and info["record"] is None
