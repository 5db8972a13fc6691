"""Terminal emulation on byte streams recorded from a real lab (tests/streams/*.bytes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from livedeck.run import screen
from livedeck.run.screen import Terminal, render_bytes

STREAMS = Path(__file__).parent / "streams"


def test_docker_pull_shows_one_line_per_layer_and_no_progress_states() -> None:
    raw = (STREAMS / "docker-pull.bytes").read_bytes()
    assert b"Waiting" in raw and b"\x1b[" in raw  # the stream really is redrawn in place
    lines = render_bytes(raw, 200)
    assert lines[:2] == ("Using default tag: latest", "latest: Pulling from library/nginx")
    layers = lines[2:9]
    assert all(
        line.endswith(": Pull complete") and len(line.split(":")[0]) == 12 for line in layers
    )
    assert lines[9].startswith("Digest: sha256:")
    assert lines[10:] == (
        "Status: Downloaded newer image for nginx:latest",
        "docker.io/library/nginx:latest",
    )


def test_a_programs_prompt_is_on_the_cursor_line() -> None:
    terminal = Terminal(200)
    terminal.feed((STREAMS / "docker-run-it.bytes").read_bytes())
    assert terminal.cursor_line().startswith("root@")
    assert terminal.cursor_line().endswith(":/# ")


def test_narrow_terminal_wraps_long_lines() -> None:
    assert render_bytes(b"x" * 25 + b"\r\n", 10) == ("x" * 10, "x" * 10, "x" * 5)


def test_wide_characters_keep_their_columns() -> None:
    assert render_bytes("이미지 목록\r\n".encode(), 40) == ("이미지 목록",)


def test_huge_output_is_cut_with_a_visible_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screen, "MAX_BYTES", 8000)
    terminal = Terminal(80, lines=50)
    chunk = b"y" * 79 + b"\r\n"
    for _ in range(200):
        terminal.feed(chunk)
    assert terminal.fed == 8000
    assert terminal.truncated
    assert terminal.lines()[-1].startswith("[livedeck: output cut after")
