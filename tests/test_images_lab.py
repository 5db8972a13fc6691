"""Images in the lab with real registries, real pulls and real labs.

An upstream registry on the host stands in for Docker Hub (the same software, real HTTP); labs
pull from it through the pull-through cache they run. Everything lives in this module's own
namespace (network, label, storage folders: the `lab_env` and `upstream` fixtures) and is removed
at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from livedeck.cli import EXIT_DECK, EXIT_ENVIRONMENT, main
from livedeck.cli.common import mirror_serves
from livedeck.deck import load_deck
from livedeck.images.push import temporary_registry
from livedeck.run.labs import host_client, lab_names
from livedeck.verbs.preflight import preflight, registry_serves
from registries import Upstream, files, save_image

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parent.parent
# A small image this module builds (the base and two COPY layers), named for this test process.
APP = f"livedeck-test/app-{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def app_image() -> Iterator[str]:
    """A three-layer image on the host engine, built here (no Docker Hub)."""
    host = host_client()
    with tempfile.TemporaryDirectory() as context:
        Path(context, "hello.txt").write_text("hello\n")
        Path(context, "Dockerfile").write_text(
            f"FROM {lab_names().base_image}\nCOPY hello.txt /hello.txt\nCOPY hello.txt /again.txt\n"
        )
        host.images.build(path=context, tag=f"{APP}:v1", rm=True)
    try:
        yield f"{APP}:v1"
    finally:
        for tag in (f"{APP}:v1", f"{APP}:v2"):
            with contextlib.suppress(Exception):
                host.images.remove(tag)


def _deck(folder: Path, commands: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = "\n".join(f"ubuntu@ip-10-0-1-14:~$ {c}" for c in commands)
    deck = folder / "images.md"
    deck.write_text(f"---\nmarp: true\n---\n\n# Images\n\n```bash\n{lines}\n```\n")
    return deck


def test_added_images_pull_with_one_pull_complete_per_layer(
    lab_env: dict[str, str],
    app_image: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["images", "add", app_image]) == 0
    archive = tmp_path / "app.tar"
    host_client().images.get(app_image).tag(APP, "v2")
    save_image(f"{APP}:v2", archive)
    assert main(["images", "add", "--from-file", str(archive)]) == 0
    capsys.readouterr()
    assert main(["images", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    added = {i["repo"] + ":" + i["tag"]: i for i in listed["added"]}
    assert added[f"{APP}:v1"]["layers"] == 3
    assert added[f"{APP}:v1"]["source"] == f"host engine ({APP}:v1)"
    assert added[f"{APP}:v2"]["source"] == "file app.tar"
    assert "nginx:latest" in [i["name"] for i in listed["seeded"]]  # and mariadb:10.11
    # One snapshot left: the one the second add made (no lab mounted the first).
    stores = sorted(p.name for p in Path(lab_env["LIVEDECK_IMAGES_DIR"]).glob("store-*"))
    assert stores == ["store-0002"]

    deck = _deck(tmp_path / "slides", [f"docker pull {APP}:v1", "docker pull nginx"])
    out = tmp_path / "build"
    assert (
        main(["build", str(deck), "--out", str(out), "--format", "none", "--images", "mirror"]) == 0
    )
    shown = (out / "images.md").read_text()
    app_pull = shown.split(f"docker pull {APP}:v1")[1].split("docker pull nginx")[0]
    assert app_pull.count(": Pull complete") == 3
    assert f"Status: Downloaded newer image for {APP}:v1" in app_pull
    nginx_pull = shown.split("docker pull nginx")[1]
    assert nginx_pull.count(": Pull complete") == 7  # the seeded mirror still answers after it
    record = (tmp_path / "slides" / "images.record.yaml").read_text()
    assert "  images: mirror\n" in record
    assert added[f"{APP}:v1"]["digest"] in record


def test_two_images_added_at_once_are_served_and_not_warned_about(
    lab_env: dict[str, str], app_image: str, tmp_path: Path
) -> None:
    base = lab_names().base_image
    done = subprocess.run(
        [sys.executable, "-m", "livedeck", "images", "add", app_image, base],
        env={**os.environ, **lab_env, "PYTHONPATH": str(ROOT / "tools")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in done.stderr and done.returncode == 0, done.stderr
    assert (
        f"added {app_image} (3 layers" in done.stdout and f"added {base} (1 layers" in done.stdout
    )
    deck = load_deck(_deck(tmp_path, [f"docker pull {app_image}", f"docker run --rm {base} true"]))
    assert preflight(deck, mirror_serves()) == []  # the lab pulls both: no "not served" warning
    assert [n.line for n in preflight(deck, registry_serves(tmp_path))] == [8, 9]


def test_an_image_name_of_another_registry_is_refused(
    lab_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["images", "add", "quay.io/x/y:1"]) == EXIT_DECK
    assert "Docker Hub names" in capsys.readouterr().err


def test_outdated_asks_the_upstream_without_pulling(
    lab_env: dict[str, str],
    upstream: Upstream,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = upstream.base
    deck = _deck(tmp_path / "slides", ["docker pull nginx", "docker images"])
    out = tmp_path / "build"
    assert main(["build", str(deck), "--out", str(out), "--format", "none", "--images", base]) == 0
    shown = (out / "images.md").read_text()
    assert shown.count(": Pull complete") == 7
    record = (tmp_path / "slides" / "images.record.yaml").read_text()
    assert f"  images: {base}\n" in record
    cache = Path(lab_env["LIVEDECK_PROXY_CACHE"])
    assert any(cache.rglob("data")), "the lab pulled through the cache"

    capsys.readouterr()
    assert main(["outdated", str(deck)]) == 0
    assert f"{deck}:8: nginx:latest: unchanged ({base})" in capsys.readouterr().out

    seven = next(line.split()[-1] for line in record.splitlines() if "image nginx:" in line)
    six = upstream.push_nginx(6)
    cached = files(cache)
    assert main(["outdated", str(deck.parent)]) == EXIT_DECK
    shown_out = capsys.readouterr()
    assert f"{deck}:8: nginx:latest: changed ({base})" in shown_out.out
    assert f"was {seven}" in shown_out.out and f"now {six}" in shown_out.out
    assert "1 image(s) of 1 deck(s) changed" in shown_out.err
    assert files(cache) == cached, "outdated pulled nothing through the cache"

    assert main(["outdated", str(deck), "--json"]) == EXIT_DECK
    (found,) = json.loads(capsys.readouterr().out)["decks"]
    assert found["images"] == base
    assert [(c["image"], c["old"], c["new"], c["changed"]) for c in found["checks"]] == [
        ("nginx:latest", seven, six, True)
    ]


def test_outdated_names_an_unreachable_registry(
    lab_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slides = tmp_path / "slides"
    deck = _deck(slides, ["docker pull nginx"])
    (slides / "images.record.yaml").write_text(
        "format: 1\ndeck: images.md\nlab:\n  image nginx: sha256:"
        + "0" * 64
        + "\ncommands:\n- line: 8\n  command: docker pull nginx\n  exit: 0\n  screen: ''\n"
    )
    # A port on the gateway nothing listens on (the temporary registry is gone once it returns).
    with temporary_registry(tmp_path / "gone", host=lab_env["GATEWAY"]) as gone:
        pass
    assert main(["outdated", str(deck), "--images", gone]) == EXIT_ENVIRONMENT
    err = capsys.readouterr().err
    assert f"livedeck: error: {gone} is unreachable" in err
