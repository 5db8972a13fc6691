"""Deck themes: find the CSS of a deck's `theme:` in the repository, or say why not.

marp-cli silently falls back to its default theme when it does not know a theme's name; livedeck
finds the theme CSS itself before anything runs, and an unknown name is a DeckError.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Sequence
from pathlib import Path

from livedeck.deck.course import find_course
from livedeck.errors import DeckError, LivedeckError
from livedeck.model import Deck
from livedeck.paths import contained, course_root
from livedeck.publish.marp import REPO_ROOT

BUILTIN_THEMES = frozenset({"default", "gaia", "uncover"})
REPO_THEMES = REPO_ROOT / "slides" / "themes"
# Marp names a theme by the `@theme NAME` line of a CSS comment, not by the file's name.
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_THEME_META = re.compile(r"^[\s*!]*@theme\s+(\S+)", re.MULTILINE)
# A global directive in the body can set the theme too: <!-- theme: NAME --> (or `$theme:`).
_DIRECTIVE = re.compile(r"^\s*<!--\s*\$?theme\s*:\s*(?P<name>\S+?)\s*-->\s*$")
_FRONT_KEY = re.compile(r"^theme\s*:")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def theme_dirs_for(deck_path: Path) -> tuple[Path, ...]:
    """Where a deck's themes are looked for: its course's theme folders, its own folder's
    `themes/`, then `slides/themes/`."""
    own = deck_path.absolute().parent / "themes"
    course = find_course(deck_path).themes  # the course config's `themes:` come first
    found = (
        (*course, own) if own.resolve() == REPO_THEMES.resolve() else (*course, own, REPO_THEMES)
    )
    return tuple(dict.fromkeys(found))


def theme_name(css: str) -> str | None:
    """The name a theme CSS declares in a `/* @theme NAME */` comment, or None."""
    for comment in _COMMENT.findall(css):
        match = _THEME_META.search(comment[2:-2])
        if match:
            return match.group(1)
    return None


def find_themes(theme_dirs: Sequence[Path]) -> dict[str, Path]:
    """Theme name -> CSS file for the `*.css` in theme_dirs; an earlier folder wins a name."""
    found: dict[str, Path] = {}
    for folder in theme_dirs:
        if not folder.is_dir():
            continue
        for css in sorted(folder.glob("*.css")):
            try:
                name = theme_name(css.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as error:
                raise LivedeckError(f"{css}: cannot read the theme: {error}") from error
            if name is not None:
                found.setdefault(name, css)
    return found


def resolve_theme(deck: Deck, theme_dirs: Sequence[Path]) -> Path | None:
    """The CSS file of the deck's theme; None for no theme or one of marp's own.

    Raises DeckError at the line that names the theme when no CSS in theme_dirs declares it
    (marp would silently use its default theme instead).
    """
    named = deck_theme(deck)
    if named is None:
        return None
    name, line = named
    found = find_themes(theme_dirs)
    if name in found:
        return _contained_theme(deck, found[name], line)
    if name in BUILTIN_THEMES:
        return None
    known = sorted(BUILTIN_THEMES | found.keys())
    close = difflib.get_close_matches(name, known, n=1)
    guess = f" Did you mean {close[0]!r}?" if close else ""
    folders = ", ".join(_shown(folder) for folder in theme_dirs)
    raise DeckError(
        deck.path,
        line,
        f"unknown theme {name!r}.{guess} Known themes: {', '.join(known)}",
        hint=f"a theme is a CSS file with a `/* @theme {name} */` comment in: {folders}",
    )


def _contained_theme(deck: Deck, css: Path, line: int) -> Path:
    """The theme's CSS, if it (symlinks followed) is in the deck's folder or livedeck's own
    themes: marp puts the whole file into the published HTML."""
    with contextlib.suppress(LivedeckError, ValueError):
        return contained(REPO_THEMES, css.absolute().relative_to(REPO_THEMES), "theme")
    root = course_root(deck.path)
    try:
        relative = css.absolute().relative_to(deck.path.absolute().parent)
    except ValueError:
        relative = css.absolute()  # named from elsewhere: refused by contained
    return contained(root, relative, "theme", deck=deck.path, line=line)


def deck_theme(deck: Deck) -> tuple[str, int] | None:
    """The theme a deck asks for and the line that asks: the last body directive wins."""
    lines = deck.text.split("\n")
    body_start = deck.slides[0].line if deck.slides else 1
    found: tuple[str, int] | None = None
    theme = deck.front_matter.get("theme")
    if theme is not None:
        line = next(
            (n for n in range(1, body_start) if _FRONT_KEY.match(lines[n - 1])), min(2, len(lines))
        )
        if not isinstance(theme, str) or not theme.strip():
            raise DeckError(deck.path, line, f"`theme:` must be a theme's name, not {theme!r}")
        found = (theme.strip(), line)
    fence: str | None = None
    for number in range(body_start, len(lines) + 1):
        text = lines[number - 1]
        marker = _FENCE.match(text)
        if marker and fence is None:
            fence = marker.group(1)
        elif marker and fence and marker.group(1).startswith(fence) and not _rest(text, fence):
            fence = None
        elif fence is None and (directive := _DIRECTIVE.match(text)):
            found = (directive.group("name").strip("\"'"), number)
    return found


def _rest(line: str, fence: str) -> str:
    return line.strip().strip(fence[0]).strip()


def _shown(folder: Path) -> str:
    try:
        return str(folder.absolute().relative_to(REPO_ROOT))
    except ValueError:
        return str(folder)
