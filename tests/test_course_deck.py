"""Course decks as people write them: bare `$ ` prompts, root shells, `file:` blocks, settings."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from livedeck.deck import parse_deck
from livedeck.deck.commands import file_write
from livedeck.errors import DeckError
from livedeck.model import Result, Transcript
from livedeck.render import render
from livedeck.run import lab_spec
from livedeck.shellsyntax import command_lines


def _deck(body: str, front: str = "") -> tuple[list[str], list[tuple[str, str]]]:
    text = f"---\nmarp: true\n{front}---\n\n{body}"
    deck = parse_deck(text, Path("course.md"))
    commands = [c for c in deck.commands if c.runnable]
    return [c.text for c in commands], [(c.user, c.host) for c in commands]


@pytest.mark.parametrize("language", ["", "bash", "sh", "shell", "console", "shell-session"])
def test_bare_dollar_prompts_in_shell_fences(language: str) -> None:
    texts, who = _deck(f"```{language}\n$ docker run alpine ls -l\ntotal 56\n$ echo hi\nhi\n```\n")
    assert texts == ["docker run alpine ls -l", "echo hi"]
    assert who == [("ubuntu", "lab"), ("ubuntu", "lab")]  # the lab's defaults


@pytest.mark.parametrize("language", ["python", "dockerfile", "yaml", "text"])
def test_bare_prompts_in_other_fences_are_text(language: str) -> None:
    texts, _ = _deck(f"```{language}\n$ not a command\n# a comment\nprint(1)\n```\n")
    assert texts == []


def test_a_fence_of_comments_is_not_a_transcript() -> None:
    texts, _ = _deck("```bash\n# install the tools\napt-get install -y jq\n```\n")
    assert texts == []


def test_comments_in_a_files_output_stay_output() -> None:
    deck = parse_deck(
        "```console\n$ cat run.sh\n#!/bin/sh\n# say hello\n#\necho hello\n$ sh run.sh\nhello\n```\n",
        Path("c.md"),
    )
    cat, run = deck.commands
    assert cat.output == ("#!/bin/sh", "# say hello", "#", "echo hello")
    assert run.text == "sh run.sh"


def test_hash_is_roots_prompt_after_sudo_i_until_exit() -> None:
    texts, who = _deck(
        "```console\n$ sudo -i\n# whoami\nroot\n# exit\nlogout\n```\n\n"
        "```bash\n# just a comment\n$ whoami\nubuntu\n```\n"
    )
    assert texts == ["sudo -i", "whoami", "exit", "whoami"]
    assert [u for u, _ in who] == ["ubuntu", "root", "root", "ubuntu"]


def test_hash_prompts_when_the_decks_user_is_root() -> None:
    texts, who = _deck("```\n# id -un\nroot\n```\n", "livedeck: {user: root}\n")
    assert texts == ["id -un"]
    assert who == [("root", "lab")]


def test_bare_prompts_take_the_first_user_at_host_prompt() -> None:
    _, who = _deck("```\n$ hostname\n```\n\n```bash\nme@box:~$ id -un\n```\n")
    assert who == [("me", "box"), ("me", "box")]
    deck = parse_deck("```\n$ hostname\n```\n\n```bash\nme@box:~$ id -un\n```\n", Path("c.md"))
    assert (lab_spec(deck).user, lab_spec(deck).hostname) == ("me", "box")


def test_bare_prompts_take_the_decks_settings() -> None:
    _, who = _deck("```\n$ hostname\n```\n", "livedeck: {user: dev, host: course-vm}\n")
    assert who == [("dev", "course-vm")]


def test_full_prompts_still_work_in_any_fence() -> None:
    texts, _ = _deck("```text\nubuntu@ip-10-0-1-14:~$ docker ps\n```\n")
    assert texts == ["docker ps"]


FILE_DECK = """\
<!-- livedeck: {file: ~/app/Dockerfile} -->
```dockerfile
FROM alpine
# a comment, not a prompt
RUN echo built > /built
```

```
$ docker build -q ~/app
```

{{ last.command }}
"""


def test_a_file_block_is_a_hidden_command_and_shown_as_written() -> None:
    deck = parse_deck(FILE_DECK, Path("f.md"))
    write, build = deck.commands
    assert write.hidden and not build.hidden
    assert write.text == file_write(
        "~/app/Dockerfile", ["FROM alpine", "# a comment, not a prompt", "RUN echo built > /built"]
    )
    assert write.text.startswith(
        "mkdir -p ~/app && base64 -d > ~/app/Dockerfile <<'LIVEDECK_EOF'\n"
    )
    assert len(command_lines(write.text)) == 1  # one command line for the shell
    assert (write.user, write.host) == ("ubuntu", "lab")
    results = tuple(Result(c, ("screen",), 0, 0.1) for c in deck.commands)
    markdown = render(deck, Transcript(deck.path, results)).markdown
    assert "FROM alpine\n# a comment, not a prompt\nRUN echo built > /built\n```" in markdown
    assert "mkdir" not in markdown
    assert markdown.rstrip().endswith("docker build -q ~/app")  # `last` is the visible command


def test_file_write_carries_any_text_in_base64_lines() -> None:
    body = ["LIVEDECK_EOF", "#!/bin/sh", "tab\there !! \x1b[31m", "x" * 5211, ""]
    text = file_write("/etc/x y", body)
    first, *encoded, last = text.split("\n")
    assert first == "mkdir -p /etc && base64 -d > '/etc/x y' <<'LIVEDECK_EOF'"
    assert last == "LIVEDECK_EOF" and "LIVEDECK_EOF" not in encoded
    assert all(len(line) <= 76 for line in encoded)
    assert base64.b64decode("".join(encoded)).decode() == "\n".join(body) + "\n"


@pytest.mark.parametrize(
    ("directive", "words"),
    [
        ("{file: app/Dockerfile}", "must be a path in the lab"),
        ("{file: ~/app/}", "names a folder"),
        ("{file: ~/x, exit: 2}", "stands alone"),
    ],
)
def test_bad_file_directives(directive: str, words: str) -> None:
    with pytest.raises(DeckError, match=words) as caught:
        parse_deck(f"<!-- livedeck: {directive} -->\n```\nx\n```\n", Path("f.md"))
    assert caught.value.line == 1


def test_files_and_packages_settings() -> None:
    deck = parse_deck(
        "---\nlivedeck:\n  files: {hands_on/ch05: ~/course/ch05, a.txt: /tmp/a.txt}\n"
        "  packages: [make, python3-venv, make]\n---\n",
        Path("s.md"),
    )
    assert deck.settings.files == (("hands_on/ch05", "~/course/ch05"), ("a.txt", "/tmp/a.txt"))
    assert deck.settings.packages == ("make", "python3-venv")


@pytest.mark.parametrize(
    ("setting", "line", "words"),
    [
        ("files: [a]", 4, "maps files or folders"),
        ("files: {/etc/passwd: ~/p}", 4, "relative to the deck"),
        ("files: {a: course}", 4, "not a lab path"),
        ("packages: ['make; rm -rf /']", 4, "not a package name"),
    ],
)
def test_bad_files_and_packages(setting: str, line: int, words: str) -> None:
    with pytest.raises(DeckError, match=words) as caught:
        parse_deck(f"---\nmarp: true\nlivedeck:\n  {setting}\n---\n", Path("s.md"))
    assert caught.value.line == line
