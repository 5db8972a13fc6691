"""Shells and programs on the real lab: nested shells are followed, container prompts are real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from livedeck.deck import parse_deck
from livedeck.errors import DeckError
from livedeck.render import render
from livedeck.render.context import run_plan
from livedeck.run import run_deck
from livedeck.run.lab import LabSpec
from livedeck.run.sandbox import start_sandbox

pytestmark = pytest.mark.docker

NESTED = """\
# Nested shells and a container across slides

```bash
ubuntu@ip-10-0-1-14:~$ newgrp docker
ubuntu@ip-10-0-1-14:~$ id -gn
ubuntu@ip-10-0-1-14:~$ exit
ubuntu@ip-10-0-1-14:~$ sudo -i
root@ip-10-0-1-14:~# whoami
root@ip-10-0-1-14:~# exit
ubuntu@ip-10-0-1-14:~$ docker pull --quiet nginx
ubuntu@ip-10-0-1-14:~$ docker run -it --name web nginx bash
root@0123456789ab:/# echo one \\
> two
root@0123456789ab:/# cd /etc
```

---

```bash
root@0123456789ab:/etc# ls nginx | head -2
root@0123456789ab:/etc#
```

```bash
root@0123456789ab:/etc# exit
ubuntu@ip-10-0-1-14:~$ echo back as $(whoami)
```
"""


def test_nested_shells_and_one_container_across_blocks() -> None:
    deck = parse_deck(NESTED, Path("nested.md"))
    lab = start_sandbox(LabSpec())
    try:
        done = run_deck(deck, lab, run_plan(deck))
    finally:
        lab.close()
    markdown = render(deck, done).markdown
    screens = {r.command.text: r.screen for r in done.results}
    assert screens["id -gn"] == ("docker",)  # newgrp's shell got the commands
    assert screens["whoami"] == ("root",)  # and sudo -i's
    assert screens["echo back as $(whoami)"] == ("back as ubuntu",)
    assert screens["echo one \\\ntwo"] == ("one two",)  # the container's echo is not repeated
    ids = set(re.findall(r"root@([0-9a-f]{12}):", markdown))
    assert len(ids) == 1 and "0123456789ab" not in ids  # one real ID on every slide
    assert f"root@{ids.pop()}:/etc#\n```" in markdown  # the bare prompt too


def test_a_forgotten_exit_is_an_error_at_the_line_not_a_hang() -> None:
    deck = parse_deck(
        "```bash\nubuntu@ip-10-0-1-14:~$ docker pull --quiet nginx\n"
        "ubuntu@ip-10-0-1-14:~$ docker run -it --rm nginx bash\nroot@0123456789ab:/# ls /\n"
        "```\n\n```bash\nubuntu@ip-10-0-1-14:~$ docker ps\n```\n",
        Path("forgot.md"),
    )
    lab = start_sandbox(LabSpec())
    try:
        with pytest.raises(DeckError) as caught:
            run_deck(deck, lab, run_plan(deck))
    finally:
        lab.close()
    assert caught.value.line == 8
    assert "a program still runs there" in str(caught.value)
