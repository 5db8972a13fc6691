"""The run stage on the real lab: interactive programs, hangs, failures and clean-up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from livedeck.cli import EXIT_DECK, main
from livedeck.deck import parse_deck
from livedeck.run import run_deck
from livedeck.run.lab import LabSpec
from livedeck.run.labs import lab_names
from livedeck.run.sandbox import start_sandbox

pytestmark = pytest.mark.docker

INTERACTIVE = """\
```bash
ubuntu@ip-10-0-1-14:~$ docker pull --quiet nginx
ubuntu@ip-10-0-1-14:~$ docker run -it --rm nginx bash
root@0123456789ab:/# ls /usr/share/nginx/html
root@0123456789ab:/# exit
ubuntu@ip-10-0-1-14:~$ echo "back as $(whoami) on $(hostname)"
```
"""


@pytest.fixture(scope="module")
def host() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    client.ping()
    yield client
    client.close()


def _labs(host: docker.DockerClient) -> list[str]:
    label = lab_names().label
    return [c.name for c in host.containers.list(all=True, filters={"label": label})]


def test_commands_go_to_an_interactive_container_shell(host: docker.DockerClient) -> None:
    deck = parse_deck(INTERACTIVE, Path("it.md"))
    lab = start_sandbox(LabSpec())
    try:
        transcript = run_deck(deck, lab)
    finally:
        lab.close()
    by_text = {r.command.text: r for r in transcript.results}
    inside = by_text["ls /usr/share/nginx/html"]
    assert inside.prompt is not None and inside.prompt.startswith("root@")
    assert inside.prompt != "root@0123456789ab:/# "  # the real container's ID, not the deck's
    assert inside.screen == ("50x.html  index.html",)
    assert by_text["exit"].status == 0
    assert by_text['echo "back as $(whoami) on $(hostname)"'].screen == (
        "back as ubuntu on ip-10-0-1-14",
    )


def test_a_server_left_in_the_foreground_fails_with_deck_line_and_leaves_nothing(
    host: docker.DockerClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deck = tmp_path / "hang.md"
    deck.write_text(
        "# Hang\n\n<!-- livedeck: {command: docker run nginx, timeout: 5} -->\n```bash\n"
        "ubuntu@ip-10-0-1-14:~$ docker pull --quiet nginx\n"
        "ubuntu@ip-10-0-1-14:~$ docker run nginx\n```\n",
        encoding="utf-8",
    )
    out = tmp_path / "build"
    out.mkdir()
    (out / "hang.md").write_text("the previous build", encoding="utf-8")
    before = _labs(host)
    started = time.monotonic()
    code = main(["build", str(deck), "--out", str(out), "--format", "none"])
    assert code == EXIT_DECK
    assert time.monotonic() - started < 60
    err = capsys.readouterr().err
    assert f"{deck}:6: command did not finish within 5 s and was interrupted" in err
    assert "command: docker run nginx" in err
    assert "--detach" in err  # the hint
    assert (out / "hang.md").read_text(encoding="utf-8") == "the previous build"
    assert sorted(p.name for p in out.iterdir()) == ["hang.md"]
    assert _labs(host) == before


def test_missing_docker_engine_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    deck = tmp_path / "d.md"
    deck.write_text("```\nubuntu@lab:~$ echo hi\n```\n", encoding="utf-8")
    code = main(["build", str(deck), "--out", str(tmp_path / "out"), "--format", "none"])
    assert code == 3
    err = capsys.readouterr().err
    assert "Docker" in err and "hint:" in err


def test_lab_up_status_and_down(
    host: docker.DockerClient, capsys: pytest.CaptureFixture[str], lab_namespace: dict[str, str]
) -> None:
    """In labs of its own: `lab down` removes every lab, and must not remove anyone else's."""
    before = _labs(host)
    assert main(["lab", "up", "--host", "class-host", "--user", "student"]) == 0
    out = capsys.readouterr().out
    [name] = [n for n in _labs(host) if n not in before]
    assert f"docker exec -it -u student -w /home/student {name} bash" in out
    lab = host.containers.get(name)
    assert lab.attrs["Config"]["Hostname"] == "class-host"
    status, whoami = lab.exec_run(
        ["sudo", "-u", "student", "sh", "-c", "whoami; sudo -n true && echo sudo"]
    )
    assert status == 0 and whoami.decode().split() == ["student", "sudo"]
    assert main(["lab", "status"]) == 0
    assert f"{name}: running, host name class-host" in capsys.readouterr().out
    assert main(["lab", "down"]) == 0
    assert _labs(host) == []
