"""The package layout is the pipeline: each layer imports only layers below it.

Layers, low to high, and where they live under tools/livedeck/ (the README's "Architecture"
section states the same order). Every import counts: at module level, inside a function, under
TYPE_CHECKING, relative or absolute.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tools" / "livedeck"
README = PACKAGE.parents[1] / "README.md"
LAYERS = (
    "base",  # modules at the package top: errors, model, paths, facts, redaction, ...
    "images",
    "deck",
    "run",
    "render",
    "publish",
    "check",
    "course",
    "verbs",
    "serve",
    "present",
    "cli",
)
MAX_LINES = 330
# Not split yet (one class each that outgrew a file): they may not grow, and leave this list once
# they are under MAX_LINES.
NOT_YET_SPLIT = {"run/session.py": 755, "run/__init__.py": 359}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """`livedeck.run.session` for tools/livedeck/run/session.py; packages by their folder."""
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """The layer a livedeck module belongs to: its subpackage, else base."""
    parts = module.split(".")
    if len(parts) == 1:
        return "base"
    if parts[1] == "__main__":
        return "cli"
    return parts[1] if parts[1] in LAYERS else "base"


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by its dotted name."""
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def imported(name: str, path: Path, known: Mapping[str, Path]) -> list[tuple[int, str]]:
    """Every livedeck module the file imports, with its line, relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            # `from livedeck import deck` imports the module livedeck.deck, not livedeck.
            for alias in node.names:
                whole = f"{source}.{alias.name}"
                found.append((node.lineno, whole if whole in known else source))
    return [(line, m) for line, m in found if m == "livedeck" or m.startswith("livedeck.")]


def upward_imports(root: Path = PACKAGE) -> list[str]:
    """`file:line: layer imports higher layer (module)` for every import against the order."""
    known = modules(root)
    wrong = []
    for name, path in known.items():
        own = LAYERS.index(layer_of(name))
        for line, target in imported(name, path, known):
            other = LAYERS.index(layer_of(target))
            if other > own:
                where = path.relative_to(root.parent)
                wrong.append(f"{where}:{line}: {LAYERS[own]} imports {LAYERS[other]} ({target})")
    return wrong


def test_every_subpackage_is_a_layer() -> None:
    """A new subpackage gets a place in the order; it is not silently counted as base."""
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert packages <= set(LAYERS), sorted(packages - set(LAYERS))


def test_no_module_imports_a_layer_above_it() -> None:
    assert upward_imports() == []


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    """The check itself sees a function-level `from ..verbs import` in a lower layer."""
    root = tmp_path / "livedeck"
    files = {
        "__init__.py": "",
        "errors.py": "",
        "deck/__init__.py": "from livedeck import errors\n",
        "deck/stray.py": "def later():\n    from ..verbs import build\n    return build\n",
        "verbs/__init__.py": "",
        "verbs/build.py": "from livedeck.deck import stray\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    assert upward_imports(root) == [
        "livedeck/deck/stray.py:2: deck imports verbs (livedeck.verbs.build)"
    ]


def test_no_module_is_too_long_to_read_in_one_sitting() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in modules().values()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert {m: n for m, n in long.items() if n > NOT_YET_SPLIT.get(m, MAX_LINES)} == {}
    assert set(long) == set(NOT_YET_SPLIT), "a module was split: take it off NOT_YET_SPLIT"


def test_the_readme_states_the_same_order() -> None:
    """The README's Architecture section names the layers in this order (docs cannot drift)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    stated = re.search(r"^Layers, low to high: (.+)$", section, re.M)
    assert stated is not None, "the Architecture section states no layer order"
    order = tuple(word.strip(" `.") for word in stated.group(1).split("->"))
    assert order == LAYERS
