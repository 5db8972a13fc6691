"""Templates in decks: Jinja2 for livedeck, shell and Go templates left alone. Pure, with fakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from livedeck.check import check_asserts
from livedeck.deck import parse_deck
from livedeck.errors import DeckError
from livedeck.model import Deck, Result, Transcript
from livedeck.render import render
from livedeck.render.template import has_template, protect, render_template

P = Path("t.md")


def run_fake(deck: Deck, screens: dict[str, tuple[str, ...]], cwd: str = "~") -> Transcript:
    results = tuple(
        Result(c, screens.get(c.text, ()), 0, 0.1, typed=c.text, cwd=cwd)
        for c in deck.commands
        if c.runnable
    )
    return Transcript(deck.path, results)


@pytest.mark.parametrize(
    "text",
    [
        "docker ps --format '{{.ID}}\\t{{.Names}}'",
        "docker inspect --format '{{json .RootFS.Layers}}' nginx",
        "docker inspect -f '{{index .Config.Labels \"color\"}}' web",
        "docker ps --format '{{range .Mounts}}{{.Source}}{{end}}'",
        'echo "${#ARRAY[@]} items"',
        "{{- .Name -}}",
    ],
)
def test_shell_and_go_templates_pass_through(text: str) -> None:
    assert not has_template(text)
    assert render_template(text, {}, P, 1) == text


def test_jinja_next_to_go_template_in_one_line() -> None:
    text = "docker ps --filter id={{ red }} --format '{{.Names}}'"
    assert has_template(text)
    assert (
        render_template(text, {"red": "abc"}, P, 1)
        == "docker ps --filter id=abc --format '{{.Names}}'"
    )
    assert "{% raw %}" in protect(text)


def test_undefined_name_is_an_error_at_its_line_never_empty() -> None:
    with pytest.raises(DeckError) as caught:
        render_template("one\ntwo {{ layers }}\n", {"pull": 1}, P, 40)
    assert caught.value.line == 41
    assert "'layers' is undefined" in str(caught.value)
    assert "pull" in caught.value.hint  # the names there are


def test_syntax_error_is_an_error_at_its_line() -> None:
    with pytest.raises(DeckError) as caught:
        render_template("a\nb\n{{ n + }}", {"n": 1}, P, 10)
    assert caught.value.line == 12
    assert "template syntax error" in str(caught.value)


DECK = """\
---
marp: true
---

<!-- livedeck: {name: pull} -->
```bash
ubuntu@lab:~$ docker pull nginx
old
```
> **Command**: `{{ last.command }}`

The pull showed {{ pull.layers | length }} layers: {{ pull.layers | join(", ") }}.

```bash
ubuntu@lab:~$ docker ps --format '{{.ID}}'
```

```python
print("{{ not a template }}")
```
"""


def test_prose_and_callouts_use_earlier_results() -> None:
    deck = parse_deck(DECK, P)
    screens = {
        "docker pull nginx": (
            "Using default tag: latest",
            "aaaaaaaaaaaa: Pull complete",
            "bbbbbbbbbbbb: Pull complete",
        )
    }
    out = render(deck, run_fake(deck, screens)).markdown
    assert "> **Command**: `docker pull nginx`" in out
    assert "The pull showed 2 layers: aaaaaaaaaaaa, bbbbbbbbbbbb." in out
    assert "docker ps --format '{{.ID}}'" in out
    assert 'print("{{ not a template }}")' in out  # other code blocks are not templates


def test_an_undefined_name_in_prose_names_the_deck_line() -> None:
    deck = parse_deck(DECK.replace("pull.layers | length", "pulled.layers | length"), P)
    with pytest.raises(DeckError) as caught:
        render(deck, run_fake(deck, {}))
    assert caught.value.line == 12
    assert str(caught.value).startswith("t.md:12: template error: 'pulled' is undefined")


def test_source_form_blocks_get_the_shells_prompt() -> None:
    deck = parse_deck(
        "---\nlivedeck: {user: ubuntu, host: ip-10-0-1-14}\n---\n\n```bash run\ncd /tmp\npwd\n```\n",
        P,
    )
    assert deck.blocks[0].source_form
    results = (
        Result(deck.commands[0], (), 0, 0.0, typed="cd /tmp", cwd="~"),
        Result(deck.commands[1], ("/tmp",), 0, 0.0, typed="pwd", cwd="/tmp"),
    )
    out = render(deck, Transcript(P, results)).markdown
    assert out.endswith(
        "```bash\nubuntu@ip-10-0-1-14:~$ cd /tmp\nubuntu@ip-10-0-1-14:/tmp$ pwd\n/tmp\n```\n"
    )


def test_a_false_assertion_names_its_directive_line() -> None:
    deck = parse_deck(
        "# x\n\n<!-- livedeck: {name: pull, assert: 'pull.layers | length == 7'} -->\n"
        "```bash\nubuntu@lab:~$ docker pull nginx\n```\n",
        P,
    )
    transcript = run_fake(deck, {"docker pull nginx": ("aaaaaaaaaaaa: Pull complete",) * 6})
    with pytest.raises(DeckError) as caught:
        check_asserts(deck, transcript)
    assert caught.value.line == 3
    assert "assertion failed: pull.layers | length == 7" in str(caught.value)
    check_asserts(deck, run_fake(deck, {"docker pull nginx": ("aaaaaaaaaaaa: Pull complete",) * 7}))
