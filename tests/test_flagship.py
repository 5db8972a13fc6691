"""The whole pipeline on the flagship deck: real lab, real pty, real marp-cli and Chromium.

Asserts what the slides must show to tell one consistent story of one run.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from livedeck.deck import load_deck
from livedeck.model import Command
from marps import Lent

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "slides" / "docker-layers.md"
STALE = ("0e901e68141f", "2bcabc23b454", "ecstatic_visvesvaraya", "237e34821eea", "Jun 17")

pytestmark = [pytest.mark.docker, pytest.mark.marp]


@pytest.fixture
def built(flagship_build: tuple[Path, Path]) -> Path:
    """The build folder of the flagship built once, with an image of the user's own on the host
    engine (flagship_build.py checks it and the host's labs)."""
    return flagship_build[1]


def _runs(out: Path) -> list[Command]:
    """The built Markdown is a deck too: its commands' outputs are the new screens."""
    return [c for c in load_deck(out / "docker-layers.md").commands if c.runnable]


def _find(commands: list[Command], text: str, nth: int = 0) -> Command:
    return [c for c in commands if c.text == text][nth]


def _dirs(listing: Command) -> set[str]:
    names = {line.split()[-1] for line in listing.output if line.startswith("d")}
    return names - {".", ".."}


def test_outputs_exist_with_one_pdf_page_per_slide(built: Path) -> None:
    assert {p.name for p in built.iterdir()} >= {
        "docker-layers.md",
        "docker-layers.html",
        "docker-layers.pdf",
    }
    info = subprocess.run(
        ["pdfinfo", str(built / "docker-layers.pdf")], capture_output=True, text=True, check=True
    ).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    assert pages == len(load_deck(FLAGSHIP).slides) == 11
    pictures = sorted((built / "img" / "generated").iterdir())
    assert [p.name for p in pictures] == ["docker-layers-1.svg", "docker-layers-2.svg"]
    assert (built / "index.html").is_file()


def test_nothing_of_the_old_run_is_left(built: Path) -> None:
    text = (built / "docker-layers.md").read_text(encoding="utf-8")
    for stale in STALE:
        assert stale not in text
    assert "livedeck:" not in text.split("---", 2)[2]  # directives are not rendered


def test_one_consistent_run(built: Path) -> None:
    runs = _runs(built)
    denied = _find(runs, "ls -al /var/lib/docker/overlay2")
    assert denied.output == ("ls: cannot access '/var/lib/docker/overlay2': Permission denied",)
    assert _find(runs, "docker images").output == (
        "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE",
    )
    assert _find(runs, "docker info | grep -i storage").output == (" Storage Driver: overlay2",)
    empty = _dirs(_find(runs, "sudo ls -al /var/lib/docker/overlay2"))
    assert empty == {"l"}

    pull = _find(runs, "docker pull nginx")
    layers = [line for line in pull.output if line.endswith(": Pull complete")]
    assert len(layers) == 7
    assert not any("Waiting" in line or "Downloading" in line for line in pull.output)
    pulled = _dirs(_find(runs, "sudo ls -al /var/lib/docker/overlay2", 1))
    assert len(pulled - {"l"}) == len(layers) and "l" in pulled

    red = _find(runs, 'docker run --detach --label "color=red" nginx').output[0]
    assert re.fullmatch(r"[0-9a-f]{64}", red)
    assert _find(runs, "docker ps").output[1].startswith(red[:12])
    with_red = _dirs(_find(runs, "sudo ls -alt /var/lib/docker/overlay2"))
    new = with_red - pulled
    assert len(new) == 2 and {n.removesuffix("-init") for n in new} == {min(new)}

    committed = _find(
        runs, 'docker commit $(docker ps --filter "label=color=red" --quiet) nginx:my-tag'
    )
    image_id = committed.output[0].removeprefix("sha256:")[:12]
    images = _find(runs, "docker images", 2).output
    assert any(line.split()[:3] == ["nginx", "my-tag", image_id] for line in images)

    final = _dirs(_find(runs, "sudo ls -alt /var/lib/docker/overlay2", 3))
    assert pulled <= final and len(final - pulled) == 1  # the pulled layers + the committed one


def test_no_slide_overflows_when_measured_again(built: Path, warm_marp: Lent) -> None:
    """Measure the published Markdown anew, apart from the build's own report."""
    deck = built / "docker-layers.md"
    boxes = warm_marp.measure([deck], themes=[ROOT / "slides/themes/mspt2.css"])[deck]
    assert len(boxes) == 11
    assert [b.number for b in boxes if b.overflow > 0] == []
