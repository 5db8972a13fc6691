"""themes: a deck's `theme:` -> the repository's theme CSS, or an error at deck:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from livedeck.deck import load_deck, parse_deck
from livedeck.errors import DeckError
from livedeck.model import Deck
from livedeck.publish.marp import REPO_ROOT
from livedeck.publish.themes import (
    REPO_THEMES,
    deck_theme,
    find_themes,
    resolve_theme,
    theme_dirs_for,
    theme_name,
)

MSPT2 = REPO_THEMES / "mspt2.css"


def _deck(front: str, body: str = "# Title\n", path: str = "slides/x.md") -> Deck:
    return parse_deck(f"---\nmarp: true\n{front}---\n\n{body}", Path(path))


def _theme(folder: Path, file_name: str, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    css = folder / file_name
    css.write_text(f"/*\n * A theme.\n *\n * @theme {name}\n * @auto-scaling true\n */\n")
    return css


def test_theme_name_comes_from_the_theme_comment_not_the_file_name() -> None:
    assert theme_name("/* @theme mspt2 */\n@import 'gaia';") == "mspt2"
    assert theme_name("/*!\n * Course.\n *\n * @theme course-2\n */") == "course-2"
    assert theme_name("section { color: red; } /* no theme here */") is None
    assert theme_name("a::after { content: '@theme x'; }") is None


def test_find_themes_reads_each_folder_and_the_first_folder_wins(tmp_path: Path) -> None:
    own = _theme(tmp_path / "deck" / "themes", "a.css", "course")
    _theme(tmp_path / "repo", "b.css", "course")
    other = _theme(tmp_path / "repo", "c.css", "other")
    (tmp_path / "repo" / "notes.css").write_text("section { color: red; }")
    found = find_themes([tmp_path / "deck" / "themes", tmp_path / "repo", tmp_path / "none"])
    assert found == {"course": own, "other": other}


def test_the_flagship_deck_gets_the_course_theme() -> None:
    deck = load_deck(REPO_ROOT / "slides" / "docker-layers.md")
    assert theme_dirs_for(deck.path) == (REPO_THEMES,)
    assert resolve_theme(deck, theme_dirs_for(deck.path)) == MSPT2
    assert deck_theme(deck) == ("mspt2", 5)


def test_a_deck_elsewhere_looks_in_its_own_themes_then_the_repositorys(tmp_path: Path) -> None:
    assert theme_dirs_for(tmp_path / "deck.md") == (tmp_path / "themes", REPO_THEMES)
    own = _theme(tmp_path / "themes", "whatever.css", "mine")
    deck = _deck("theme: mine\n", path=str(tmp_path / "deck.md"))
    assert resolve_theme(deck, theme_dirs_for(tmp_path / "deck.md")) == own
    course = _deck("theme: mspt2\n", path=str(tmp_path / "deck.md"))
    assert resolve_theme(course, theme_dirs_for(tmp_path / "deck.md")) == MSPT2


@pytest.mark.parametrize("front", ["", "theme: default\n", "theme: gaia\n", "theme: uncover\n"])
def test_no_theme_or_marps_own_needs_no_css(tmp_path: Path, front: str) -> None:
    assert resolve_theme(_deck(front), [tmp_path]) is None


def test_an_unknown_theme_is_an_error_at_its_line_with_a_guess(tmp_path: Path) -> None:
    _theme(tmp_path, "course.css", "mspt2")
    deck = _deck("paginate: true\ntheme: mspt3\n")
    with pytest.raises(DeckError) as caught:
        resolve_theme(deck, [tmp_path])
    error = caught.value
    assert (str(error.path), error.line) == ("slides/x.md", 4)
    assert str(error) == (
        "slides/x.md:4: unknown theme 'mspt3'. Did you mean 'mspt2'? "
        "Known themes: default, gaia, mspt2, uncover"
    )
    assert "@theme mspt3" in error.hint and str(tmp_path) in error.hint


def test_a_theme_directive_in_the_body_counts_and_the_last_one_wins(tmp_path: Path) -> None:
    body = (
        "# Title\n\n<!-- theme: gaia -->\n\n```\n<!-- theme: in-code -->\n```\n\n"
        "---\n\n<!-- $theme: nosuch -->\n"
    )
    deck = _deck("theme: mspt2\n", body)
    assert deck_theme(deck) == ("nosuch", 16)
    with pytest.raises(DeckError, match=r"x.md:16: unknown theme 'nosuch'"):
        resolve_theme(deck, [tmp_path])


def test_a_theme_that_is_not_a_name_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DeckError, match=r"x.md:3: `theme:` must be a theme's name"):
        resolve_theme(_deck("theme: [a, b]\n"), [tmp_path])
