"""The `livedeck` command: exit codes, messages and what it leaves in the output folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from livedeck.cli import EXIT_DECK, main

DECKS = Path(__file__).parent / "decks"


def test_build_writes_refreshed_markdown_and_a_record(tmp_path: Path) -> None:
    decks = tmp_path / "slides"
    decks.mkdir()
    for name in ("transcripts.md", "pic.png"):
        shutil.copy(DECKS / name, decks / name)
    out = tmp_path / "build"
    code = main(
        [
            "build",
            str(decks / "transcripts.md"),
            "--lab",
            "local",
            "--format",
            "none",
            "--out",
            str(out),
            "-q",
        ]
    )
    assert code == 0
    built = (out / "transcripts.md").read_text(encoding="utf-8")
    assert 'me@box:/tmp$ echo "a b" | tr a-z A-Z\nA B\n' in built
    assert "OLD OUTPUT" not in built
    assert sorted(p.name for p in out.iterdir()) == ["pic.png", "transcripts.md"]
    assert 'command: echo "a b" | tr a-z A-Z' in (decks / "transcripts.record.yaml").read_text()


def test_broken_deck_reports_deck_line_and_keeps_old_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "unknown-key.md"
    old.write_text("previous build", encoding="utf-8")
    code = main(["build", str(DECKS / "unknown-key.md"), "--lab", "local", "--out", str(tmp_path)])
    assert code == EXIT_DECK
    err = capsys.readouterr().err
    assert f"{DECKS / 'unknown-key.md'}:4: unknown livedeck key 'timout'" in err
    assert old.read_text(encoding="utf-8") == "previous build"
    assert [p.name for p in tmp_path.iterdir()] == ["unknown-key.md"]  # no staging left behind


def test_failing_command_reports_its_screen_and_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deck = tmp_path / "fails.md"
    deck.write_text(
        "# x\n\n```\nme@box:~$ echo before\nme@box:~$ cat /no/such/file\n```\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    code = main(["build", str(deck), "--lab", "local", "--format", "none", "--out", str(out)])
    assert code == EXIT_DECK
    err = capsys.readouterr().err
    assert f"{deck}:5: command exited with status 1, expected 0" in err
    assert "command: cat /no/such/file" in err
    assert "| cat: /no/such/file: No such file or directory" in err
    assert "hint:" in err
    assert list(out.iterdir()) == []


def test_missing_deck_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "no-such-deck.md", "--lab", "local"]) == EXIT_DECK
    assert "no-such-deck.md: no such deck or directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["build", "--columns", "-3"], "at least 20 columns"),
        (["build", "--columns", "0"], "at least 20 columns"),
        (["build", "--timeout", "0"], "positive number of seconds"),
        (["check", "--timeout", "-1"], "positive number of seconds"),
        (["build", "--timeout", "soon"], "positive number of seconds, not soon"),
        (["build", "--out", "pyproject.toml"], "is a file, not a folder"),
    ],
)
def test_bad_options_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
