"""What a deck cannot do to the machine that builds it: templates, front matter and records."""

from __future__ import annotations

from pathlib import Path

import pytest

from livedeck.check import check_asserts
from livedeck.deck import load_deck, parse_deck, record
from livedeck.errors import DeckError
from livedeck.model import Transcript
from livedeck.render import render
from livedeck.render.template import evaluate, render_template

P = Path("evil.md")

ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ cycler.__init__.__globals__.os.system('touch /tmp/pwned') }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
]


@pytest.mark.parametrize("template", ESCAPES)
def test_a_template_cannot_reach_python_internals(template: str) -> None:
    with pytest.raises(DeckError) as caught:
        render_template(f"fine\n{template}\n", {"last": "x"}, P, 20)
    assert caught.value.line == 21
    assert str(caught.value).startswith("evil.md:21: template error: access to attribute")
    assert "unsafe" in str(caught.value)


@pytest.mark.parametrize("expression", [e.strip("{} ") for e in ESCAPES])
def test_an_assertion_cannot_reach_python_internals(expression: str) -> None:
    with pytest.raises(DeckError) as caught:
        evaluate(expression, {}, P, 7)
    assert caught.value.line == 7
    assert "unsafe" in str(caught.value)


def test_an_escape_in_prose_stops_the_build_at_its_line() -> None:
    deck = parse_deck("# Slide\n\nText {{ lipsum.__globals__ }}\n", P)
    with pytest.raises(DeckError) as caught:
        render(deck, Transcript(P, ()))
    assert (caught.value.path, caught.value.line) == (P, 3)


def test_an_escape_in_a_deck_assertion_is_an_error_not_a_false() -> None:
    deck = parse_deck(
        "---\nlivedeck:\n  assert:\n    - cycler.__init__.__globals__\n---\n\n# x\n", P
    )
    with pytest.raises(DeckError) as caught:
        check_asserts(deck, Transcript(P, ()))
    assert "unsafe" in str(caught.value)


def test_ordinary_templates_still_call_methods_and_filters() -> None:
    class Result:
        lines = ("a: Pull complete", "b: Pull complete", "Digest: x")

        def count(self, pattern: str) -> int:
            return sum(1 for line in self.lines if pattern in line)

    text = "{{ pull.count('Pull complete') }} of {{ pull.lines | length }}: {{ range(2) | list }}"
    assert render_template(text, {"pull": Result()}, P, 1) == "2 of 3: [0, 1]"


def test_front_matter_refuses_python_objects() -> None:
    text = "---\nmarp: true\nevil: !!python/object/apply:os.system ['touch /tmp/pwned']\n---\n"
    with pytest.raises(DeckError) as caught:
        parse_deck(text, P)
    assert caught.value.line in (2, 3)
    assert "front matter is not valid YAML" in str(caught.value)


def test_a_directive_refuses_python_objects() -> None:
    text = (
        "# x\n\n<!-- livedeck: {name: !!python/object:os.system {}} -->\n```bash\nu@h:~$ ls\n```\n"
    )
    with pytest.raises(DeckError) as caught:
        parse_deck(text, P)
    assert caught.value.line == 3


def test_a_record_refuses_python_objects(tmp_path: Path) -> None:
    deck_path = tmp_path / "d.md"
    deck_path.write_text("# x\n\n```bash\nu@h:~$ echo hi\n```\n", encoding="utf-8")
    deck = load_deck(deck_path)
    path = record.record_path(deck_path)
    path.write_text(
        "deck: d.md\ncommands: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
        encoding="utf-8",
    )
    with pytest.raises(DeckError) as caught:
        record.read(deck)
    assert caught.value.path == path
    assert "not valid YAML" in str(caught.value)
