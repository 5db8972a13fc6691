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


def test_a_line_goes_to_a_program_by_its_prompt_never_by_a_word_in_a_command() -> None:
    deck = parse_deck(
        "```bash\n$ docker run -d --name mysql --network-alias mysql mariadb\nabc\n"
        "ubuntu@lab:~$ docker exec -it mysql mariadb -uroot -ppw\n"
        "MariaDB [(none)]> select * from t\n    -> where a = 'x';\n"
        "MariaDB [(none)]> exit\n$ docker run -it alpine /bin/sh\n/ # ls\nbin\n/ # uname -a\n"
        "Linux\n/ # exit\n$ python3\n>>> for i in range(2):\n...     print(i)\n...\n0\n1\n"
        ">>> exit()\n$ echo '>>> not typed'\n>>> not typed\n```\n",
        Path("d.md"),
    )
    typed = [(c.prompt, c.text, c.program is not None) for c in deck.commands if c.runnable]
    assert typed[:5] == [
        ("$ ", "docker run -d --name mysql --network-alias mysql mariadb", False),
        ("ubuntu@lab:~$ ", "docker exec -it mysql mariadb -uroot -ppw", False),
        ("MariaDB [(none)]> ", "select * from t", True),  # SQL, never parsed as bash
        ("    -> ", "where a = 'x';", True),
        ("MariaDB [(none)]> ", "exit", True),
    ]
    assert [t for p, t, _ in typed if p == "/ # "] == ["ls", "uname -a", "exit"]
    assert [(p, t) for p, t, _ in typed if p.startswith(("...", ">>>"))][:4] == [
        (">>> ", "for i in range(2):"),
        ("... ", "    print(i)"),
        ("...", ""),  # Enter alone ends the block
        (">>> ", "exit()"),
    ]
    # A prompt-like line in a command's output is a program's line: the run checks it.
    assert typed[-1] == (">>> ", "not typed", True)


def test_continuation_prompts_count_only_after_their_program() -> None:
    deck = parse_deck("```bash\n$ cat notes\n... and more\n    -> arrow\n```\n", Path("d.md"))
    assert [c.text for c in deck.commands] == ["cat notes"]
    assert deck.commands[0].output == ("... and more", "    -> arrow")


def test_a_block_declares_the_prompt_of_its_program() -> None:
    deck = parse_deck(
        "<!-- livedeck: {program: {prompt: '#'}} -->\n"
        "```bash\n$ docker run -it debian dash\n# echo hi\nhi\n# exit\n```\n",
        Path("d.md"),
    )
    assert [(c.prompt, c.text, c.program) for c in deck.commands[1:]] == [
        ("# ", "echo hi", "#"),
        ("# ", "exit", "#"),
    ]
    assert deck.blocks[0].programs == ("#",)
    for bad in ("'#'", "{prompt: '('}", "{prompt: '(a)b'}", "{regex: x}"):
        with pytest.raises(DeckError) as caught:
            parse_deck(f"<!-- livedeck: {{program: {bad}}} -->\n```bash\n$ a\n```\n", Path("d.md"))
        assert caught.value.line == 1 and "`program:`" in str(caught.value)


def test_keys_are_typed_without_enter() -> None:
    deck = parse_deck(
        "<!-- livedeck: {input: [{keys: q}, line]} -->\n```bash\n$ less f\n```\n", Path("d.md")
    )
    assert [(i.text, i.enter) for i in deck.commands[0].input] == [("q", False), ("line", True)]
