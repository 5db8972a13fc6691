"""Attacks by a deck's templates on the machine that builds it: payloads generated from the
template context itself, never a list of cases someone thought of.

The walk starts at every name the flagship deck's templates see (its recorded run: named
results, `commands`, `last`, `docker` facts, `picture`) and follows every public attribute,
property, item and argument-less method to everything a template can reach. Against every
object found it calls every method that changes a list, dict, set or bytearray (taken from
Python's own types) and every method of the object's own type, with probe arguments that name
a file outside the course. Each call must be refused at its deck line, or leave every value of
the context and every file as they were.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from livedeck.deck import load_deck, record
from livedeck.errors import DeckError
from livedeck.frozen import require_plain
from livedeck.render.context import Drawings, context_at
from livedeck.render.template import render_template
from security import FLAGSHIP, Attack

MUTABLE_TWINS = ((list, tuple), (dict, Mapping), (set, frozenset), (bytearray, bytes))
# Every method a mutable builtin has and its immutable twin lacks: the ways to change a value.
MUTATORS = sorted(
    {name for mutable, frozen in MUTABLE_TWINS for name in set(dir(mutable)) - set(dir(frozen))}
    | {"__setattr__", "__delattr__", "__init__", "__setstate__"}
)
LEAVES = (str, int, float, bool, type(None))


def probes(canary: str) -> list[str]:
    """Arguments a mutator or method is called with: none, a path and text, a mapping of them."""
    return ["", f"{canary!r}, 'pwned'", f"{{{canary!r}: 'pwned'}}", "0", f"{canary!r}"]


def flagship_context() -> Mapping[str, Any]:
    """What the flagship's last slide sees, from its record: every kind of value there is."""
    deck = load_deck(FLAGSHIP)
    recorded = record.read(deck)
    return context_at(deck, recorded, len(recorded.results), Drawings(deck.name).keep)


def reachable(context: Mapping[str, Any], depth: int = 6) -> dict[str, Any]:
    """Template expression -> value, for everything a template can reach from `context`:
    names, attributes, properties, argument-less methods, the first item of every tuple and
    mapping, up to `depth` steps. One expression per path shape (`x.images[*].layers[*]`)."""
    found: dict[str, Any] = {}
    shapes: set[str] = set()
    todo = [(name, value, 0) for name, value in context.items()]
    while todo:
        expression, value, steps = todo.pop(0)
        shape = re.sub(r"\[[^\]]*\]", "[*]", expression)
        if shape in shapes or steps > depth:
            continue
        shapes.add(shape)
        found[expression] = value
        if isinstance(value, LEAVES):
            continue
        if isinstance(value, tuple) and value:
            todo.append((f"{expression}[0]", value[0], steps + 1))
        if isinstance(value, Mapping) and value:
            key, item = next(iter(value.items()))
            todo.append((f"{expression}[{key!r}]", item, steps + 1))
        for name in public_names(value):
            member = getattr(value, name)
            if not callable(member):
                todo.append((f"{expression}.{name}", member, steps + 1))
            elif _no_arguments(member):
                try:
                    todo.append((f"{expression}.{name}()", member(), steps + 1))
                except Exception:
                    continue  # a method that needs the lab to hold something: nothing to reach
    return found


def public_names(value: object) -> list[str]:
    """The attributes and methods a template may name (the sandbox refuses `_` names)."""
    return sorted(n for n in dir(value) if not n.startswith("_"))


def _no_arguments(member: Any) -> bool:
    try:
        parameters = inspect.signature(member).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters
    )


CONTEXT = flagship_context()
REACHED = reachable(CONTEXT)
# One expression per type of value a template can reach: the subprocess attacks.
BY_TYPE = {type(v).__qualname__: e for e, v in reversed(list(REACHED.items()))}


def test_the_walk_reaches_every_kind_of_value_a_deck_uses() -> None:
    kinds = set(BY_TYPE)
    assert {"Shown", "Facts", "Image", "Layer", "Container", "Pictures", "FrozenMap"} <= kinds
    assert {"tuple", "str", "int"} <= kinds
    assert {"update", "append", "setdefault", "add", "clear", "pop"} <= set(MUTATORS)


@pytest.mark.parametrize("expression", sorted(REACHED))
def test_everything_a_template_reaches_is_frozen_plain_data(expression: str) -> None:
    require_plain(REACHED[expression], expression)
    value = REACHED[expression]
    if dataclasses.is_dataclass(value):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, dataclasses.fields(value)[0].name, None)


@pytest.mark.parametrize("kind", sorted(BY_TYPE))
def test_no_method_changes_a_value_or_writes_a_file(kind: str, tmp_path: Path) -> None:
    """Every mutator and every own method of one kind of value, with every probe."""
    canary = str(tmp_path / "canary")
    expression = BY_TYPE[kind]
    value = REACHED[expression]
    before = repr(dict(CONTEXT))
    names = sorted(set(MUTATORS) | set(public_names(value)))
    for name in names:
        for args in probes(canary):
            text = f"{{{{ {expression}.{name}({args}) }}}}"
            try:
                render_template(f"prose\n{text}\n", CONTEXT, Path("evil.md"), 40)
            except DeckError as error:  # refused (or a method given nonsense): at its line
                assert (error.path, error.line) == (Path("evil.md"), 41), text
                continue
            allowed = not name.startswith("_") and callable(getattr(value, name, None))
            assert allowed and name in public_names(value), f"{text} ran"
    assert repr(dict(CONTEXT)) == before, f"{expression}: the context changed"
    assert not Path(canary).exists()


@pytest.mark.parametrize(
    ("kind", "mutator"),
    [(kind, m) for kind in sorted(BY_TYPE) for m in ("update", "setdefault")],
)
def test_a_deck_cannot_change_what_its_templates_see(
    kind: str, mutator: str, tmp_path: Path
) -> None:
    """Subprocess: `build --offline` of the flagship with a prose payload against one kind."""
    attack = Attack(tmp_path)
    canary = str(attack.outside / f"canary-{kind}")
    args = f"{{{canary!r}: 'pwned'}}" if mutator == "update" else f"{canary!r}, 'pwned'"
    line = attack.add_prose(f"{{{{ {BY_TYPE[kind]}.{mutator}({args}) or '' }}}}")
    said = attack.build()
    said.refused_at(attack.deck, line, "template error")
    attack.nothing_outside()
    assert not Path(canary).exists()


@pytest.mark.parametrize(
    "payload",
    [
        # The attacks that wrote files on the author's machine before livedeck 0.x froze them.
        "{{ picture.made.update({'/tmp/livedeck-canary-TOKEN': 'any'}) or '' }}",
        "{{ picture.made.update({'../../livedeck-canary-TOKEN': 'any'}) or '' }}",
        "{{ picture._keep('<svg/>') }}",
        "{{ picture.__dict__ }}",
        "{{ (picture|attr('_keep'))('x') }}",
        "{{ docker.images.__class__ }}",
    ],
)
def test_the_known_escapes_are_refused(payload: str, tmp_path: Path) -> None:
    attack = Attack(tmp_path)
    token = secrets.token_hex(4)
    line = attack.add_prose(payload.replace("TOKEN", token))
    said = attack.build()
    said.refused_at(attack.deck, line, "template error")
    attack.nothing_outside()
    assert not list(Path("/tmp").glob(f"livedeck-canary-{token}"))
    assert not list(tmp_path.rglob(f"livedeck-canary-{token}"))


def test_pictures_are_livedecks_files_whatever_a_template_asks(tmp_path: Path) -> None:
    """A template asks for a picture; livedeck names its file, in build/img/generated."""
    attack = Attack(tmp_path)
    attack.add_prose("{{ picture.container_layers(image='nginx', at=two_running) }}")
    said = attack.build()
    assert said.code == 0, said.stderr
    made = sorted(p.name for p in (attack.course / "build" / "img" / "generated").iterdir())
    assert made == [f"docker-layers-{n}.svg" for n in (1, 2, 3)]
    attack.nothing_outside()
