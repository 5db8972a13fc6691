"""CI's nginx refresh end to end: the flagship, an upstream standing in for Docker Hub, real labs.

The flagship is built from the upstream's 7-layer nginx (through the lab's pull-through cache);
the upstream then serves the 6-layer one as nginx:latest. `outdated` names the deck without
pulling, `refresh` rebuilds it and writes the pull request's summary, a second `refresh` changes
nothing, and an unreachable upstream stops it with exit 3. Two runs of the flagship in all.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from livedeck.cli import EXIT_DECK, EXIT_ENVIRONMENT, main
from livedeck.deck import load_deck
from livedeck.images.push import temporary_registry
from registries import Upstream, files

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "slides" / "docker-layers.md"
PNG = b"\x89PNG\r\n\x1a\n"

pytestmark = [pytest.mark.docker, pytest.mark.marp, pytest.mark.slow]


def _copy_flagship(slides: Path) -> Path:
    """The flagship as an author has it: the deck, its theme folder, the link to img/."""
    slides.mkdir()
    shutil.copy(FLAGSHIP, slides / FLAGSHIP.name)
    shutil.copytree(FLAGSHIP.parent / "themes", slides / "themes")
    (slides / "img").symlink_to(ROOT / "img")
    return slides / FLAGSHIP.name


def _hashes(*folders: Path) -> dict[str, str]:
    """Every file under the folders: path -> sha256 of its bytes."""
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _recorded_nginx(deck: Path) -> str:
    text = deck.with_suffix(".record.yaml").read_text(encoding="utf-8")
    return re.search(r"^  image nginx: (sha256:\S+)$", text, re.MULTILINE).group(1)  # type: ignore[union-attr]


def test_a_new_nginx_upstream_is_found_refreshed_and_summarised(
    lab_env: dict[str, str],
    upstream: Upstream,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = upstream.base
    deck = _copy_flagship(tmp_path / "slides")
    slides, out = deck.parent, tmp_path / "build"
    pull = next(c for c in load_deck(deck).commands if c.text == "docker pull nginx")
    shown_pull = f"{deck}:{pull.line}: nginx:latest"

    # 1. Built from the upstream's 7-layer nginx; nothing is outdated.
    build = ["build", str(deck), "--out", str(out), "--format", "none", "-q", "--images", base]
    assert main(build) == 0
    seven = _recorded_nginx(deck)
    assert f"  images: {base}\n" in deck.with_suffix(".record.yaml").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["outdated", str(slides)]) == 0
    assert f"{shown_pull}: unchanged ({base})" in capsys.readouterr().out

    # 2. The upstream's nginx:latest is now the 6-layer one: outdated names the deck, pulls nothing.
    six = upstream.push_nginx(6)
    assert six != seven
    cache = Path(lab_env["LIVEDECK_PROXY_CACHE"])
    cached = files(cache)
    assert any(cache.rglob("data")), "the build pulled through the lab's cache"
    assert main(["outdated", str(slides)]) == EXIT_DECK
    said = capsys.readouterr().out
    assert f"{shown_pull}: changed ({base})\n  was {seven}\n  now {six}" in said
    assert main(["outdated", str(slides), "--json"]) == EXIT_DECK
    (found,) = json.loads(capsys.readouterr().out)["decks"]
    assert (found["status"], found["images"]) == ("changed", base)
    assert files(cache) == cached, "outdated pulled nothing through the cache"

    # 3. refresh rebuilds it from the record's source and writes the pull request's summary.
    summary = tmp_path / "pr" / "refresh.md"
    summary.parent.mkdir()
    refresh = ["refresh", str(slides), "--out", str(out), "-q"]
    assert main([*refresh, "--summary", str(summary)]) == 0
    assert re.search(
        rf"^{re.escape(str(deck))}: \d+ command\(s\) tell another story than the record; record"
        " rewritten$",
        capsys.readouterr().err,
        re.MULTILINE,
    )
    assert _recorded_nginx(deck) == six
    text = summary.read_text(encoding="utf-8")
    assert f"## `{deck}`" in text
    assert re.search(rf"^\| `nginx` \| [^|]+ \| `{seven}` \| `{six}` \|$", text, re.MULTILINE)
    assert f"- line {pull.line}: `docker pull nginx`: `<id>: Pull complete`: 7 -> 6 lines" in text
    numbers = re.search(r"^Slides whose story changed: ([\d, ]+)$", text, re.MULTILINE)
    assert numbers is not None
    changed = [int(n) for n in numbers.group(1).split(", ")]
    pull_slide = next(s.number for s in load_deck(deck).slides if s.line <= pull.line <= s.end)
    assert pull_slide in changed
    pictures = re.findall(r"!\[slide \d+ before\]\((\S+)\) !\[slide \d+ after\]\((\S+)\)", text)
    assert len(pictures) == len(changed)
    for number, (before, after) in zip(changed, pictures, strict=True):
        assert before == f"refresh-pictures/docker-layers/slide-{number}-before.png"
        assert f"Slide {number}, before and after:\n\n![slide {number} before]({before})" in text
        shots = [(summary.parent / p).read_bytes() for p in (before, after)]
        assert shots[0][:8] == shots[1][:8] == PNG
        assert shots[0] != shots[1]
    rendered = (out / "docker-layers.md").read_text(encoding="utf-8")
    assert "layer(6개)" in rendered and (out / "docker-layers.pdf").is_file()

    # 4. Refreshed: nothing is outdated, and a second refresh changes no file.
    assert main(["outdated", str(slides)]) == 0
    before = _hashes(slides, out, summary.parent)
    again = tmp_path / "again" / "refresh.md"
    assert main([*refresh, "--summary", str(again)]) == 0
    assert "nothing changed: no deck is outdated" in capsys.readouterr().err
    assert not again.parent.exists()
    assert _hashes(slides, out, summary.parent) == before

    # 5. An unreachable upstream: exit 3 naming it, before any lab starts; no file changes.
    with temporary_registry(tmp_path / "gone", host=lab_env["GATEWAY"]) as gone:
        pass
    capsys.readouterr()
    assert main([*refresh, "--images", gone, "--summary", str(again)]) == EXIT_ENVIRONMENT
    assert f"livedeck: error: {gone} is unreachable" in capsys.readouterr().err
    assert _hashes(slides, out, summary.parent) == before and not again.parent.exists()
