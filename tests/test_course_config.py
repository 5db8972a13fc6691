"""The course config: defaults for every deck, overridden by its front matter, errors at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from livedeck.deck import load_deck
from livedeck.deck.course import load_course
from livedeck.errors import DeckError
from livedeck.publish.themes import theme_dirs_for
from livedeck.verbs.build import find_decks

DECK = """\
---
marp: true
{front}---

# One

```bash
{prompt} echo hello
hello
```
"""


def deck(folder: Path, name: str, front: str = "", prompt: str = "student@box:~$") -> Path:
    path = folder / f"{name}.md"
    path.write_text(DECK.format(front=front, prompt=prompt), encoding="utf-8")
    return path


def test_the_course_config_gives_every_deck_its_defaults(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # the course is a repository: nothing above it counts
    (tmp_path / "livedeck.yaml").write_text(
        "user: student\nhost: box\ntimeout: 300\nimages: hub\nsetup: [touch ~/ready]\n",
        encoding="utf-8",
    )
    plain = load_deck(deck(tmp_path, "plain"))
    assert (plain.settings.user, plain.settings.host) == ("student", "box")
    assert plain.settings.timeout == 300.0
    assert plain.settings.images == "hub"
    assert plain.settings.setup == ("touch ~/ready",)
    own = load_deck(deck(tmp_path, "own", "livedeck:\n  timeout: 5\n  images: mirror\n"))
    assert own.settings.timeout == 5.0  # the deck's front matter wins, key by key
    assert own.settings.images == "mirror"
    assert own.settings.user == "student"


def test_pyproject_table_is_a_course_config(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.livedeck]\ntimeout = 42\ncolumns = 120\n',
        encoding="utf-8",
    )
    slides = tmp_path / "slides"
    slides.mkdir()
    found = load_deck(deck(slides, "a"))
    assert (found.settings.timeout, found.settings.columns) == (42.0, 120)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("user: student\ntimeuot: 3\n", 2, ["'timeuot'", "Did you mean 'timeout'"]),
        ("host: box\n\norder: [a]\nafter: a\n", 4, ["front matter"]),
        ("columns: 5\n", 1, ["at least 20"]),
        ("user: x\nprompt: '(?P<user>x'\n", 2, ["prompt"]),
        ("a: [\n", 2, ["not valid YAML"]),
        ("user: a\norder: [one, one]\n", 2, ["twice"]),
    ],
)
def test_a_wrong_course_key_is_an_error_at_its_line(
    tmp_path: Path, text: str, line: int, words: list[str]
) -> None:
    (tmp_path / "livedeck.yaml").write_text(text, encoding="utf-8")
    (tmp_path / ".git").mkdir()
    with pytest.raises(DeckError) as raised:
        load_deck(deck(tmp_path, "one"))
    assert raised.value.path.name == "livedeck.yaml"
    assert raised.value.line == line, str(raised.value)
    for word in words:
        assert word in str(raised.value)


def test_a_wrong_key_in_pyproject_points_at_its_line(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.livedeck]\nuser = "a"\nprmpt = "x"\n', encoding="utf-8"
    )
    with pytest.raises(DeckError) as raised:
        load_deck(deck(tmp_path, "one"))
    assert (raised.value.path.name, raised.value.line) == ("pyproject.toml", 6)
    assert "Did you mean 'prompt'" in str(raised.value)


def test_order_themes_files_and_secrets_come_from_the_course(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "livedeck.yaml").write_text(
        "order: [zeta, alpha]\nthemes: [style]\nfiles_root: hands_on\n"
        "files: {ch01: ~/ch01}\nsecrets_file: secret.env\n",
        encoding="utf-8",
    )
    for name in ("alpha", "beta", "zeta"):
        deck(tmp_path, name)
    assert [p.stem for p in find_decks([tmp_path])] == ["zeta", "alpha", "beta"]
    found = load_deck(tmp_path / "alpha.md")
    assert theme_dirs_for(found.path)[0] == tmp_path / "style"
    assert found.settings.files == ((str(tmp_path / "hands_on" / "ch01"), "~/ch01"),)
    assert load_course(tmp_path / "livedeck.yaml").secrets_file == tmp_path / "secret.env"


def test_a_deck_in_order_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "livedeck.yaml").write_text("user: a\norder: [alpah]\n", encoding="utf-8")
    deck(tmp_path, "alpha")
    with pytest.raises(DeckError) as raised:
        find_decks([tmp_path])
    assert raised.value.line == 2
    assert "Did you mean 'alpha'" in str(raised.value)


def test_without_a_config_nothing_changes(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    found = load_deck(deck(tmp_path, "plain"))
    assert found.settings.timeout == 120.0
    assert found.settings.user is None


def test_init_writes_a_config_that_builds_the_same_decks(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    course = tmp_path / "course"
    shutil.copytree(root / "slides", course)
    (course / ".git").mkdir()
    env = {"PYTHONPATH": str(root / "tools"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "livedeck", "init", str(course)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "2 deck(s)" in done.stderr
    assert "prompt ubuntu@ip-10-0-1-14" in done.stderr
    assert "images needed: nginx, mariadb:10.11" in done.stderr
    written = load_course(course / "livedeck.yaml")
    assert written.order == ("docker-layers", "docker-mariadb")
    assert written.defaults == {"user": "ubuntu", "host": "ip-10-0-1-14"}
    before = load_deck(root / "slides" / "docker-layers.md")
    after = load_deck(course / "docker-layers.md")
    assert after.commands == before.commands  # same prompts, users and hosts as without it
    again = subprocess.run(
        [sys.executable, "-m", "livedeck", "init", str(course)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert again.returncode != 0
    assert "already configures" in again.stderr
