"""Checks before any lab starts: pictures, course files, template names, silent fences, images."""

from __future__ import annotations

from pathlib import Path

import pytest

from livedeck.deck import parse_deck
from livedeck.errors import DeckError
from livedeck.run.lab import Lab, LabSpec
from livedeck.verbs.build import BuildOptions, build
from livedeck.verbs.preflight import images_pulled, preflight, registry_serves, split_ref


def _write(tmp_path: Path, body: str, front: str = "") -> Path:
    deck = tmp_path / "deck.md"
    deck.write_text(f"---\nmarp: true\n{front}---\n\n{body}", encoding="utf-8")
    return deck


def _no_lab(spec: LabSpec) -> Lab:
    raise AssertionError("a lab was started")


def test_a_missing_picture_fails_before_any_lab_starts(tmp_path: Path) -> None:
    deck = _write(tmp_path, "# One\n\n```\n$ echo hi\n```\n\n---\n\n![w:300](./img/nope.png)\n")
    out = tmp_path / "build"
    with pytest.raises(DeckError, match=r"picture \./img/nope\.png not found") as caught:
        build([deck], BuildOptions(out_dir=out, formats=()), _no_lab)
    assert caught.value.line == 13
    assert not out.exists() or not any(out.iterdir())


def test_missing_course_files_fail_before_any_lab_starts(tmp_path: Path) -> None:
    deck = _write(tmp_path, "```\n$ ls ~/course\n```\n", "livedeck:\n  files: {ch05: ~/course}\n")
    with pytest.raises(DeckError, match=r"livedeck\.files: ch05 not found") as caught:
        build([deck], BuildOptions(out_dir=tmp_path / "b", formats=()), _no_lab)
    assert caught.value.line == 4


def test_a_name_read_before_its_command_fails_before_any_lab_starts(tmp_path: Path) -> None:
    body = (
        "{{ pull.layers | length }} layers\n\n<!-- livedeck: {name: pull} -->\n"
        "```\n$ docker pull nginx\n```\n\n{{ nope.output }}\n"
    )
    with pytest.raises(DeckError, match=r"'pull'.*runs later") as caught:
        build([_write(tmp_path, body)], BuildOptions(out_dir=tmp_path / "b", formats=()), _no_lab)
    assert caught.value.line == 5
    body = body.replace("{{ pull.layers | length }} layers", "")
    with pytest.raises(DeckError, match=r"'nope'.*no command is named so") as caught:
        build([_write(tmp_path, body)], BuildOptions(out_dir=tmp_path / "b", formats=()), _no_lab)
    assert caught.value.line == 12


def test_a_deck_of_unknown_prompts_is_warned_about() -> None:
    text = "```console\nme@box ~ % docker ps\nCONTAINER ID\n```\n\n```python\nprint(1)\n```\n"
    notices = preflight(parse_deck(text, Path("d.md")))
    assert [(n.line, "no command" in n.message) for n in notices] == [(1, True)]
    assert str(notices[0]).startswith("d.md:1: warning: ")


def test_no_warning_once_a_command_is_found() -> None:
    text = "```console\n$ docker ps\n```\n\n```bash\n~ $ ls\n```\n"
    assert preflight(parse_deck(text, Path("d.md"))) == []


def test_images_no_source_serves_are_warned_about() -> None:
    text = (
        "```\n$ docker pull nginx\n$ docker run -d --name db -e A=1 -p 5432:5432 postgres:16\n"
        "$ docker build -t myapp .\n$ docker run --rm myapp\n```\n\n"
        "<!-- livedeck: {file: ~/app/Dockerfile} -->\n```dockerfile\n"
        "FROM golang:1.22 AS build\nFROM build\nFROM scratch\n```\n"
    )
    notices = preflight(parse_deck(text, Path("d.md")), lambda image: image == "nginx")
    assert [(n.line, n.message.split(" is ")[0]) for n in notices] == [
        (3, "image postgres:16"),
        (10, "image golang:1.22"),
    ]


def test_images_pulled_by_a_command_line() -> None:
    assert images_pulled("docker run -it --rm -v /a:/b alpine:3 sh") == ["alpine:3"]
    assert images_pulled("sudo docker image pull -q busybox && docker ps") == ["busybox"]
    assert images_pulled("docker run $IMAGE") == []


def test_what_a_registry_storage_serves(tmp_path: Path) -> None:
    tags = tmp_path / "docker/registry/v2/repositories/library/nginx/_manifests/tags"
    (tags / "latest").mkdir(parents=True)
    serves = registry_serves(tmp_path)
    assert serves("nginx") and serves("docker.io/library/nginx:latest")
    assert not serves("nginx:1.25") and not serves("ghcr.io/library/nginx")
    assert split_ref("me/app:2") == ("me/app", "2")
    assert split_ref("localhost:5000/app") == ("localhost:5000/app", "latest")


def test_a_file_without_marp_true_is_published_as_one_page(tmp_path: Path) -> None:
    from livedeck.run.lab import LocalLab

    doc = tmp_path / "notes.md"
    doc.write_text("# Lab notes\n\nRun this:\n\n```\n$ echo hello\nstale\n```\n", "utf-8")
    out = tmp_path / "build"
    built = build([doc], BuildOptions(out_dir=out, formats=("html", "pdf")), LocalLab)
    assert "$ echo hello\nhello\n```" in (out / "notes.md").read_text()
    page = (out / "notes.html").read_text()
    assert "<h1>Lab notes</h1>" in page
    assert "<pre><code>$ echo hello\nhello\n</code></pre>" in page
    assert "<section" not in page  # no slides
    assert not (out / "notes.pdf").exists()
    assert built.overflows == []
    assert 'href="notes.html"' in (out / "index.html").read_text()
