"""The whole pipeline on the flagship deck: real lab, real pty, real marp-cli and Chromium.

Asserts what the slides must show to tell one consistent story of one run.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from livedeck.cli import main
from livedeck.deck import load_deck
from livedeck.model import Command
from livedeck.publish.measure import measure
from livedeck.run.labs import lab_names

ROOT = Path(__file__).resolve().parent.parent
# An image of "the user's own" on the host engine, named for this test process: suites of
# two checkouts share the engine.
KEEP = f"livedeck-test/keep-{secrets.token_hex(4)}"
FLAGSHIP = ROOT / "slides" / "docker-layers.md"
STALE = ("0e901e68141f", "2bcabc23b454", "ecstatic_visvesvaraya", "237e34821eea", "Jun 17")

pytestmark = [pytest.mark.docker, pytest.mark.marp, pytest.mark.usefixtures("lab_data_on_disk")]


@pytest.fixture(scope="module")
def host() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    client.ping()
    subprocess.run([ROOT / "tools/setup/lab-images.sh"], check=True)
    yield client
    client.close()


@pytest.fixture(scope="module")
def built(host: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Build the flagship once, with an image of the user's own on the host engine."""
    out = tmp_path_factory.mktemp("build")
    slides = tmp_path_factory.mktemp("slides")
    shutil.copy(FLAGSHIP, slides / FLAGSHIP.name)  # its record is written beside it
    base = host.images.get("livedeck/debian:bookworm")
    base.tag(KEEP, "1")
    before = _host_state(host)
    assert main(["build", str(slides / FLAGSHIP.name), "--out", str(out), "-q", "--strict"]) == 0
    assert (slides / "docker-layers.record.yaml").is_file()
    after = _host_state(host)
    assert after == before, "the build left containers, volumes or networks on the host"
    yield out
    host.images.get(f"{KEEP}:1")  # the user's image is still there
    host.images.remove(f"{KEEP}:1")


def _host_state(host: docker.DockerClient) -> tuple[list[str], list[str], list[str]]:
    """This test run's labs, their volumes and the labs' network: other tests' labs come and
    go beside this build (namespaces.py)."""
    names = lab_names()
    return (
        sorted(c.id for c in host.containers.list(all=True, filters={"label": names.label})),
        sorted(v.id for v in host.volumes.list(filters={"label": names.label})),
        sorted(n.id for n in host.networks.list(names=[names.network])),
    )


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


def test_no_slide_overflows_when_measured_again(built: Path) -> None:
    """Measure the published Markdown anew, apart from the build's own report."""
    boxes = measure(built / "docker-layers.md", themes=[ROOT / "slides/themes/mspt2.css"])
    assert len(boxes) == 11
    assert [b.number for b in boxes if b.overflow > 0] == []
