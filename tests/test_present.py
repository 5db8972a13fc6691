"""`livedeck present`: live blocks in headless Chromium on a real lab, recovery from a failing
command, the offline replay without Docker, the terminal front end in tmux, and the server
refusing requests without the token or from another origin."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from browsers import Browser
from livedeck.present import open_show
from livedeck.present.director import Director
from livedeck.present.server import PresentServer
from livedeck.run.lab import LocalLab
from livedeck.run.labs import host_client, lab_names
from livedeck.serve.policy import Policy, Refused
from livedeck.verbs.build import BuildOptions, build
from processes import Livedeck, alive

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
DOCKER_DECK = """---
marp: true
---

## Images

```bash
ubuntu@ip-10-0-1-14:~$ docker images
```

---

## Pull

```bash
ubuntu@ip-10-0-1-14:~$ docker pull nginx
```
"""
FAILING_DECK = """---
marp: true
---

## Check

```bash
me@box:~$ echo one
me@box:~$ test -e {flag} && echo found
```
"""
SCREEN = "window.livedeck.screen({n})"
BADGE = "window.livedeck.blocks.get({n})?.badge.textContent"
SLOW_DRAWING = (
    "(t => (t.write = ((write) => (data, drawn) => setTimeout(() => write(data, drawn), 300))"
    "(t.write.bind(t)), true))(window.livedeck.blocks.get({n}).term)"
)


def click(selector: str, n: int = 0) -> str:
    """A `wait` expression that clicks the n-th element matching selector once it exists."""
    return f"(e => e && (e.click(), true))(document.querySelectorAll({selector!r})[{n}])"


class Present(Livedeck):
    """`livedeck present` as a user runs it, its messages collected line by line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        super().__init__("present", *args, env=env, stdin=subprocess.DEVNULL)

    def url(self, seconds: float = 90) -> str:
        return self.wait_for("http://127.0.0.1:", seconds).strip()


@pytest.fixture
def own_labs(monkeypatch: pytest.MonkeyPatch) -> str:
    """A lab label of this test's own: what it checks for leftovers is only its own."""
    label = f"livedeck.lab.test-present-{secrets.token_hex(4)}"
    monkeypatch.setenv("LIVEDECK_LAB_LABEL", label)
    return label


def _labs_left(label: str) -> list[str]:
    return [c.name for c in host_client().containers.list(all=True, filters={"label": label})]


@pytest.fixture
def docker_deck(tmp_path: Path, own_labs: str) -> Path:
    from livedeck.run.sandbox import start_sandbox

    path = tmp_path / "pull.md"
    path.write_text(DOCKER_DECK, encoding="utf-8")
    build([path], BuildOptions(out_dir=tmp_path / "build", formats=()), start_sandbox)
    return path


@pytest.mark.docker
@pytest.mark.marp
def test_live_blocks_on_the_docker_lab(docker_deck: Path, own_labs: str, browser: Browser) -> None:
    layers = lab_names().nginx_layers
    present = Present(str(docker_deck), "--lab", "docker")
    try:
        url = present.url()
        assert "/pull.html" in url
        browser.ask(f"open {url}")
        assert browser.ask("wait window.livedeck?.blocks.size === 2")["value"] is True
        assert browser.ask("wait document.querySelector('.livedeck-label')?.textContent")[
            "value"
        ] == ("live")

        browser.ask("wait " + click(".livedeck-run", 0))
        assert browser.ask(f"wait {BADGE.format(n=0)}")["value"] == "as recorded"
        assert "REPOSITORY" in str(browser.ask(f"wait {SCREEN.format(n=0)}")["value"])

        assert browser.ask("key ArrowRight")["hash"] == "#2"  # the presenter goes on
        browser.ask("key r")  # ... and runs the slide's block with its key
        assert browser.ask(f"wait {BADGE.format(n=1)}")["value"] == "as recorded"
        screen = str(browser.ask(f"wait {SCREEN.format(n=1)}")["value"])
        assert "$ docker pull nginx" in screen  # typed into the block
        assert screen.count("Pull complete") == layers  # one line per layer, as on a terminal
        assert "Waiting" not in screen
        assert "docker.io/library/nginx:latest" in screen
    finally:
        code, descendants = present.stop()
    assert code == 0
    assert _labs_left(own_labs) == []  # the lab is gone
    time.sleep(0.5)
    assert {p: n for p, n in descendants.items() if alive(p)} == {}


@pytest.mark.marp
def test_a_failing_command_offers_the_recovery_choices(tmp_path: Path, browser: Browser) -> None:
    flag = tmp_path / "flag"
    flag.touch()
    deck = tmp_path / "failing.md"
    deck.write_text(FAILING_DECK.format(flag=flag), encoding="utf-8")
    build([deck], BuildOptions(out_dir=tmp_path / "build", formats=()), LocalLab)
    flag.unlink()  # live, the second command now fails
    present = Present(str(deck), "--lab", "local")
    try:
        browser.ask(f"open {present.url()}")
        browser.ask("wait window.livedeck?.blocks.size === 1")
        browser.ask("wait " + click(".livedeck-run"))
        failed = browser.ask("wait document.querySelector('.livedeck-failed')?.innerText")
        assert "exit" in str(failed["value"]) and str(deck) in str(failed["value"])
        names = browser.ask(
            "wait [...document.querySelectorAll('.livedeck-choice')].map(b => b.textContent)"
        )
        assert names["value"] == [
            "retry",
            "show the recorded output",
            "skip",
            "open a spare shell on the lab",
        ]
        browser.ask("wait " + click(".livedeck-recorded"))
        browser.ask(f"wait {SCREEN.format(n=0)}.includes('recorded')")
        assert "found" in str(browser.ask(f"wait {SCREEN.format(n=0)}")["value"])
        flag.touch()  # fixed behind the scenes: a retry runs it again, live
        # A busy page draws late: xterm.js parses a write 300 ms after it is given.
        assert browser.ask("wait " + SLOW_DRAWING.format(n=0))["value"] is True
        browser.ask("wait " + click(".livedeck-retry"))
        assert browser.ask(f"wait {BADGE.format(n=0)} === 'as recorded'")["value"] is True
        # The badge comes after the output it speaks of: the live "found" is drawn already.
        found = f"{SCREEN.format(n=0)}.split('\\n').filter(line => line === 'found').length"
        assert browser.ask(f"wait {found}")["value"] == 2  # the recorded one, then the live one
    finally:
        code, _ = present.stop()
    assert code == 0


@pytest.mark.marp
def test_offline_replays_the_record_without_docker(
    docker_deck: Path, own_labs: str, browser: Browser
) -> None:
    layers = lab_names().nginx_layers
    present = Present(str(docker_deck), "--offline", env={"DOCKER_HOST": "unix:///nonexistent"})
    try:
        browser.ask(f"open {present.url()}")
        label = browser.ask("wait document.querySelector('.livedeck-label')?.textContent")
        assert str(label["value"]).startswith("recorded on 20")
        browser.ask("wait " + click(".livedeck-run", 1))  # the later block: the first replays too
        badge = browser.ask(f"wait {BADGE.format(n=1)}")["value"]
        assert str(badge).startswith("recorded on")
        screen = str(browser.ask(f"wait {SCREEN.format(n=1)}")["value"])
        assert screen.count("Pull complete") == layers
        assert "REPOSITORY" in str(browser.ask(f"wait {SCREEN.format(n=0)}")["value"])
    finally:
        code, _ = present.stop()
    assert code == 0
    assert _labs_left(own_labs) == []


@pytest.mark.docker
def test_present_in_a_terminal(docker_deck: Path, own_labs: str, tmp_path: Path) -> None:
    session = f"livedeck-present-{secrets.token_hex(4)}"
    done = tmp_path / "exit-code"
    command = (
        f"cd {ROOT} && PYTHONPATH=tools LIVEDECK_LAB_LABEL={own_labs} {sys.executable} -m"
        f" livedeck present --terminal {docker_deck}; echo $? > {done}"
    )
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "220", "-y", "50", command], check=True
    )

    def screen() -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
        ).stdout

    def wait_for(text: str, seconds: float = 90) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            shown = screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"never showed {text!r}:\n{screen()}")

    try:
        shown = wait_for("ubuntu@ip-10-0-1-14:~$ docker images")  # typed, not run yet
        assert "[slide 1/2] Images" in shown
        assert "REPOSITORY" not in shown
        assert _labs_left(own_labs) != []  # the lab runs
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        shown = wait_for("as recorded")
        assert "REPOSITORY" in shown  # it ran, live, in this terminal
        assert "[slide 2/2] Pull" in wait_for("[slide 2/2] Pull")
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        deadline = time.monotonic() + 60
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)  # SIGHUP: cleans up
    assert done.read_text().strip() == "0"
    assert _labs_left(own_labs) == []  # q left no lab behind


def test_the_server_refuses_requests_without_token_or_from_elsewhere(tmp_path: Path) -> None:
    deck = tmp_path / "d.md"
    deck.write_text(FAILING_DECK.format(flag="/"), encoding="utf-8")
    build([deck], BuildOptions(out_dir=tmp_path / "build", formats=()), LocalLab)
    html = tmp_path / "html"
    html.mkdir()
    (html / "d.html").write_text("<html><body>deck</body></html>", encoding="utf-8")
    director = Director(open_show(deck, None))  # offline: nothing to drive
    server = PresentServer(director, html, "d")
    own = f"http://127.0.0.1:{server.port}"
    act = f"{own}/{server.token}/_livedeck/act"
    body = b'{"action": "run", "block": 0}'
    try:
        assert server.url.startswith(f"{own}/{server.token}/")
        assert _status(server.url) == 200
        with urllib.request.urlopen(server.url, timeout=10) as page:
            assert page.headers["Referrer-Policy"] == "no-referrer"  # the token stays here
            assert page.headers["Cache-Control"] == "no-store"
        assert _status(f"{own}/d.html") == 403  # no token
        assert _status(f"{own}/{'x' * len(server.token)}/d.html") == 403  # a wrong one
        assert _status(server.url, {"Origin": "http://evil.example"}) == 403
        assert _status(server.url, {"Host": f"evil.example:{server.port}"}) == 403
        assert _status(server.url, {"Sec-Fetch-Site": "cross-site"}) == 403
        json_type = {"Content-Type": "application/json"}
        assert _status(act, json_type, body) == 403  # a POST without Origin
        assert _status(act, {**json_type, "Origin": "http://evil.example"}, body) == 403
        assert _status(act, {**json_type, "Origin": own}, body) == 204
    finally:
        server.close()
        director.close()


def test_the_policy_checks_token_host_and_origin() -> None:
    policy = Policy(8000, "tok", frozenset({"_livedeck/act"}))
    host = {"host": ["127.0.0.1:8000"]}
    assert policy.check("GET", "/tok/d.html", host) == "d.html"
    assert policy.check("GET", "/tok", host) == ""
    assert isinstance(policy.check("GET", "/tox/d.html", host), Refused)
    assert isinstance(policy.check("GET", "/d.html", host), Refused)
    assert isinstance(policy.check("GET", "/tok/d.html", {"host": ["127.0.0.1:9"]}), Refused)
    origin = {**host, "origin": ["http://127.0.0.1:8000"], "content-length": ["9"]}
    assert policy.check("POST", "/tok/_livedeck/act", origin) == "_livedeck/act"
    no_origin = {**host, "content-length": ["9"]}
    assert isinstance(policy.check("POST", "/tok/_livedeck/act", no_origin), Refused)


def _status(url: str, headers: dict[str, str] | None = None, data: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
