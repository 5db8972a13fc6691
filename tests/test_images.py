"""Image names, image sources and which recorded images `outdated` checks: pure logic, no Docker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from livedeck.cli import EXIT_DECK, main
from livedeck.deck import parse_deck
from livedeck.errors import DeckError, RecordError
from livedeck.images.names import Ref, parse_ref, pulled_images
from livedeck.images.sources import (
    HUB,
    MIRROR,
    Choice,
    ImageSource,
    choose,
    for_deck,
    lab_registries,
    parse_source,
)
from livedeck.model import Result, Transcript
from livedeck.verbs.outdated import DeckImages, ImageCheck, source_rule, wanted


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("nginx", Ref("", "library/nginx", "latest")),
        ("ubuntu:22.04", Ref("", "library/ubuntu", "22.04")),
        ("myorg/app:v1", Ref("", "myorg/app", "v1")),
        ("docker.io/library/nginx:1.25", Ref("", "library/nginx", "1.25")),
        ("localhost:5000/web", Ref("localhost:5000", "web", "latest")),
        ("nginx@sha256:" + "a" * 64, Ref("", "library/nginx", "", "sha256:" + "a" * 64)),
    ],
)
def test_image_names_read_as_docker_reads_them(text: str, ref: Ref) -> None:
    assert parse_ref(text) == ref


def test_familiar_names_are_what_docker_images_shows() -> None:
    assert str(parse_ref("nginx")) == "nginx:latest"
    assert str(parse_ref("docker.io/myorg/app:v1")) == "myorg/app:v1"
    with pytest.raises(ValueError, match="not an image name"):
        parse_ref("Not An Image")


@pytest.mark.parametrize(
    ("command", "images"),
    [
        ("docker pull nginx", ["nginx"]),
        ("sudo docker image pull -q ubuntu:22.04", ["ubuntu:22.04"]),
        ("docker run -d --name web -p 8080:80 -e A=b nginx:1.25 nginx -g x", ["nginx:1.25"]),
        ("docker run -it --rm --network=host alpine sh", ["alpine"]),
        ("docker container create -v /a:/b redis", ["redis"]),
        ("docker pull nginx && docker run -d httpd; docker ps", ["nginx", "httpd"]),
        ("docker images", []),
        ("docker run $IMAGE", []),  # the deck does not say which
        ("docker build -t x .", []),
        ("echo docker pull nginx", []),
    ],
)
def test_images_a_command_pulls_or_runs(command: str, images: list[str]) -> None:
    assert list(pulled_images(command)) == images


def test_image_sources_are_mirror_hub_or_a_registry_url() -> None:
    assert parse_source("mirror") == MIRROR
    assert parse_source("hub") == HUB
    assert parse_source("http://10.213.0.1:5000/") == ImageSource(
        "upstream", "http://10.213.0.1:5000"
    )
    for bad in ("docker", "ftp://x", "http://x/path", "10.0.0.1:5000"):
        with pytest.raises(ValueError, match="mirror, hub or a registry URL"):
            parse_source(bad)


def test_the_flag_wins_then_the_environment_then_docker_hub_answering() -> None:
    never = lambda: pytest.fail("probed Docker Hub although the source was given")  # noqa: E731
    assert choose("hub", {"LIVEDECK_IMAGES": "mirror"}, never) == Choice(HUB, "--images", True)
    assert choose(None, {"LIVEDECK_IMAGES": "mirror"}, never).source == MIRROR
    assert choose(None, {}, lambda: True) == Choice(HUB, "Docker Hub answers", False)
    assert choose(None, {}, lambda: False).source == MIRROR


def test_a_decks_front_matter_beats_the_default_but_not_an_explicit_choice() -> None:
    default = Choice(MIRROR, "Docker Hub does not answer", False)
    explicit = Choice(MIRROR, "--images", True)
    assert for_deck(default, "hub") == HUB
    assert for_deck(explicit, "hub") == MIRROR
    assert for_deck(default, None) == MIRROR


def test_added_images_come_first_then_the_seeded_mirror_or_a_cache(tmp_path: Path) -> None:
    dirs = {"seeded": tmp_path / "s", "hub_cache": tmp_path / "h", "proxy_cache": tmp_path / "p"}
    mirror = lab_registries(MIRROR, added=tmp_path / "a", **dirs)
    assert [(r.name, r.upstream) for r in mirror] == [("added", ""), ("mirror", "")]
    assert "enabled: true" in mirror[0].config().split("readonly:")[1]
    hub = lab_registries(HUB, added=None, **dirs)
    assert [(r.name, r.storage) for r in hub] == [("cache", tmp_path / "h")]
    assert 'remoteurl: "https://registry-1.docker.io"' in hub[0].config()
    upstream = lab_registries(parse_source("http://10.213.0.1:5123"), added=None, **dirs)
    assert upstream[0].storage == tmp_path / "p" / "10.213.0.1_5123"
    assert len({r.port for r in (*mirror, *hub)}) == 3


def test_a_bad_image_source_in_the_front_matter_names_its_line() -> None:
    text = "---\nmarp: true\nlivedeck:\n  images: dockerhub\n---\n\n# x\n"
    with pytest.raises(DeckError, match="images must be mirror, hub") as error:
        parse_deck(text, Path("deck.md"))
    assert error.value.line == 4


DECK = """\
---
livedeck:
  images: hub
---

```bash
ubuntu@lab:~$ docker pull nginx
ubuntu@lab:~$ docker run -d redis:7
ubuntu@lab:~$ docker pull localhost:5000/web
ubuntu@lab:~$ docker pull alpine:3.19
ubuntu@lab:~$ docker pull alpine:3.20
ubuntu@lab:~$ docker pull busybox
```
"""


def test_outdated_pairs_the_decks_images_with_the_records_digests() -> None:
    deck = parse_deck(DECK, Path("deck.md"))
    assert deck.settings.images == "hub"
    results = tuple(Result(c, (), 0, 0.0) for c in deck.commands)
    engine = {
        "engine": "20.10.24",
        "image nginx": "sha256:" + "1" * 64,
        "image redis": "sha256:" + "2" * 64,
        "image alpine": "sha256:" + "3" * 64,
        "image localhost:5000/web": "sha256:" + "4" * 64,
    }
    found = {str(w.ref): w for w in wanted(deck, Transcript(deck.path, results, {}, engine))}
    assert found["nginx:latest"].old == "sha256:" + "1" * 64
    assert found["nginx:latest"].line == 7 and not found["nginx:latest"].note
    assert found["redis:7"].old == "sha256:" + "2" * 64
    assert "directly" in found["localhost:5000/web:latest"].note
    assert "tags 3.19, 3.20" in found["alpine:3.19"].note  # one digest, two tags: not guessed
    assert "not in the record" in found["busybox:latest"].note


def test_outdated_and_refresh_ask_the_flag_then_the_records_source_then_the_default() -> None:
    deck = parse_deck(DECK, Path("deck.md"))  # front matter: images: hub
    asked: list[int] = []

    def hub_answers() -> bool:
        asked.append(1)
        return False

    def recorded(images: str) -> Transcript:
        return Transcript(deck.path, (), {}, {"engine": "20.10.24", "images": images})

    upstream = "http://10.213.0.1:5000"
    rule = source_rule(None, {"LIVEDECK_IMAGES": "mirror"}, hub_answers)
    assert rule(deck, recorded(upstream)) == ImageSource("upstream", upstream)  # over the env
    assert rule(deck, None) == MIRROR  # no record: a build's default (the env beats the deck)
    assert source_rule(upstream, {}, hub_answers)(deck, recorded("mirror")).url == upstream
    default = source_rule(None, {}, hub_answers)
    assert asked == []  # Docker Hub is asked only when some deck needs the default ...
    assert default(deck, recorded("")) == HUB  # ... then the deck's front matter wins over it
    assert default(deck, None) == HUB and asked == [1]  # ... and only once
    with pytest.raises(RecordError, match=r"deck.record.yaml:1: the record's `images:`"):
        default(deck, recorded("ftp://x"))


def test_a_deck_is_unchanged_changed_or_without_a_record() -> None:
    old, new = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    same = ImageCheck("nginx:latest", 7, old, old, "hub")
    moved = ImageCheck("nginx:latest", 7, old, new, "hub")
    skipped = ImageCheck("alpine:3.19", 9, "", "", "", "two tags")
    assert DeckImages(Path("a.md"), "hub", (same, skipped)).status == "unchanged"
    assert not DeckImages(Path("a.md"), "hub", (same, skipped)).outdated
    assert DeckImages(Path("a.md"), "hub", (moved,)).status == "changed"
    assert DeckImages(Path("a.md"), "hub", (), recorded=False).status == "no record"
    assert DeckImages(Path("a.md"), "hub", (), recorded=False).outdated


def test_outdated_names_a_deck_without_a_record_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deck = tmp_path / "deck.md"
    deck.write_text(DECK, encoding="utf-8")
    assert main(["outdated", str(deck), "--images", "mirror"]) == EXIT_DECK
    shown = capsys.readouterr()
    assert f"{deck}: no record: no digests to compare; a build records them" in shown.out
    assert "1 deck(s) without a record" in shown.err and "Traceback" not in shown.err
    assert main(["outdated", str(deck), "--images", "mirror", "--json"]) == EXIT_DECK
    (found,) = json.loads(capsys.readouterr().out)["decks"]
    assert (found["status"], found["images"], found["checks"]) == ("no record", "mirror", [])


def test_a_malformed_images_flag_is_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deck = tmp_path / "deck.md"
    deck.write_text(DECK, encoding="utf-8")
    for verb in ("outdated", "refresh"):
        assert main([verb, str(deck), "--images", "ftp://x"]) == EXIT_DECK
        assert "images must be mirror, hub or a registry URL" in capsys.readouterr().err
