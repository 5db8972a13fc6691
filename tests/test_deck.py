"""The deck stage: parsing Marp Markdown into commands, slides and settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from livedeck.deck import load_deck, parse_deck
from livedeck.errors import DeckError

DECKS = Path(__file__).parent / "decks"
FLAGSHIP = Path(__file__).parent.parent / "slides" / "docker-layers.md"


def test_transcript_block_with_several_commands() -> None:
    deck = load_deck(DECKS / "transcripts.md")
    commands = deck.commands
    assert [c.text for c in commands] == [
        "cd /tmp",
        'echo "a b" | tr a-z A-Z',
        "echo $(echo nested) \\\n  continued",
        "",
        "(exit 3)",
    ]
    assert commands[0].line == 11
    assert commands[1].prompt == "me@box:/tmp$ "
    assert commands[1].output == ("OLD OUTPUT",)
    assert commands[2].output == ("old",)
    assert not commands[3].runnable  # the bare trailing prompt
    assert (commands[0].user, commands[0].host) == ("me", "box")


def test_settings_and_directives() -> None:
    deck = load_deck(DECKS / "transcripts.md")
    assert deck.settings.timeout == 30.0
    assert deck.settings.columns == 100
    assert deck.commands[-1].expect.exit == 3
    assert deck.commands[0].expect.exit == 0
    assert len(deck.slides) == 2
    assert deck.slides[1].line == 21


def test_blocks_without_prompt_are_not_transcripts() -> None:
    deck = load_deck(DECKS / "transcripts.md")
    assert len(deck.blocks) == 2


def test_flagship_deck_parses() -> None:
    deck = load_deck(FLAGSHIP)
    runnable = [c for c in deck.commands if c.runnable]
    assert len(runnable) == 21
    assert runnable[0].text == "docker rmi --force $(docker images -aq)"
    failing = [c for c in runnable if c.expect.exit != 0]
    assert [c.text for c in failing] == ["ls -al /var/lib/docker/overlay2"]
    assert deck.front_matter["theme"] == "mspt2"
    assert len(deck.settings.setup) == 3


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [
        ("broken-front-matter.md", 4, "not valid YAML"),
        ("unknown-key.md", 4, "Did you mean 'timeout'"),
        ("unclosed-fence.md", 7, "never closed"),
        ("bad-directive.md", 3, "'echo nope'"),
    ],
)
def test_bad_decks_name_their_line(name: str, line: int, words: str) -> None:
    with pytest.raises(DeckError) as caught:
        load_deck(DECKS / name)
    assert caught.value.line == line
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"{DECKS / name}:{line}: ")


def test_custom_prompt_pattern() -> None:
    text = (
        '---\nlivedeck:\n  prompt: "(?P<user>root)@(?P<host>k8s)#"\n---\n'
        "```\nroot@k8s# kubectl get pods\nNo resources found\n```\n"
    )
    deck = parse_deck(text, Path("k.md"))
    assert [c.text for c in deck.commands] == ["kubectl get pods"]


def test_prompt_pattern_needs_user_and_host() -> None:
    text = '---\nlivedeck:\n  prompt: "\\\\$"\n---\n'
    with pytest.raises(DeckError, match="named groups"):
        parse_deck(text, Path("k.md"))


def test_directives_before_one_block_merge() -> None:
    deck = parse_deck(
        "<!-- livedeck: {shows: 'NEVER PRINTED'} -->\n<!-- livedeck: {timeout: 30} -->\n"
        "```\nme@box:~$ echo hi\n```\n",
        Path("d.md"),
    )
    (command,) = deck.commands
    assert command.expect.shows == ("NEVER PRINTED",)
    assert command.expect.timeout == 30


def test_two_directives_setting_one_key_name_both_lines() -> None:
    with pytest.raises(DeckError) as caught:
        parse_deck(
            "<!-- livedeck: {exit: 1} -->\n\n<!-- livedeck: {exit: 2} -->\n"
            "```\nme@box:~$ false\n```\n",
            Path("d.md"),
        )
    assert caught.value.line == 3
    assert "set twice" in str(caught.value) and "line 1" in str(caught.value)


@pytest.mark.parametrize("between", ["Some prose.\n", "---\n"])
def test_a_directive_separated_from_its_block_is_an_error(between: str) -> None:
    with pytest.raises(DeckError) as caught:
        parse_deck(
            f"<!-- livedeck: {{exit: 2}} -->\n\n{between}\n```\nme@box:~$ false\n```\n",
            Path("d.md"),
        )
    assert caught.value.line == 1
    assert "not followed by a transcript block" in str(caught.value)
