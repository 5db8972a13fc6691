"""Attacks on the servers of `watch` and `present` as a web page (or a DNS-rebinding name) in
the person's browser would make them, against the real commands; and what a `kill -9` of them
leaves behind.

Every request below must get a 4xx with a reason, the server must go on answering its own
page, and nothing it says may hold a Python traceback.
"""

from __future__ import annotations

import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from processes import Livedeck, alive
from security import Attack

DECK = "# A deck\n\n```bash\nme@box:~$ echo served\n```\n"


class Server:
    """A running `watch` or `present`: its port, the path prefix of its pages, a good page."""

    def __init__(self, command: Livedeck, url: str, page: str) -> None:
        self.command = command
        parts = urlsplit(url)
        self.port = int(parts.port or 0)
        self.host = f"127.0.0.1:{self.port}"
        self.prefix = parts.path.rsplit("/", 1)[0]  # "" for watch, "/TOKEN" for present
        self.page = page

    def send(self, raw: bytes) -> tuple[int, bytes]:
        """Send raw bytes as one request; the status and everything answered."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=20) as sock:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
                if b"text/event-stream" in answer:
                    break
        found = re.match(rb"HTTP/1\.[01] (\d{3})", answer) or re.search(
            rb"Error code: (\d{3})",
            answer,  # an HTTP/0.9 answer: no status line, only the page
        )
        assert found, f"no HTTP answer: {answer[:200]!r}"
        return int(found.group(1)), answer

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, bytes]:
        """One request with Host (unless headers set it) and Connection: close."""
        lines = [f"{method} {path} HTTP/1.1"]
        fields = {"Host": self.host, "Connection": "close", **(headers or {})}
        lines += [f"{k}: {v}" for k, v in fields.items()]
        return self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


def _url(line: str) -> str:
    found = re.search(r"http://127\.0\.0\.1:\d+/\S*", line)
    assert found, line
    return found.group(0)


@pytest.fixture(scope="module")
def present(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    attack = Attack(tmp_path_factory.mktemp("present"))
    command = Livedeck(
        "present", str(attack.deck), "--offline", env={"DOCKER_HOST": "unix:///nonexistent"}
    )
    try:
        url = _url(command.wait_for("http://127.0.0.1:", 120))
        yield Server(command, url, urlsplit(url).path)
    finally:
        command.stop()


@pytest.fixture(scope="module")
def watch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("watch")
    (folder / "d.md").write_text(DECK, encoding="utf-8")
    command = Livedeck(
        "watch",
        str(folder / "d.md"),
        "--out",
        str(folder / "build"),
        "--lab",
        "local",
        "--format",
        "none",
    )
    try:
        url = _url(command.wait_for("http://127.0.0.1:", 120))
        yield Server(command, url, "/")
    finally:
        command.stop()


@pytest.fixture(params=["watch", "present"])
def server(request: pytest.FixtureRequest) -> Server:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def _json(body: bytes, origin: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Headers of a JSON POST (without Origin when `origin` is None)."""
    return {
        **({"Origin": origin} if origin else {}),
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        **(extra or {}),
    }


# (name, request maker, expected status): for both servers; paths are under the server's prefix.
EITHER = [
    (
        "dns-rebinding Host",
        lambda s: s.request("GET", s.page, {"Host": f"evil.example:{s.port}"}),
        403,
    ),
    ("another port in Host", lambda s: s.request("GET", s.page, {"Host": "127.0.0.1:1"}), 403),
    ("no Host", lambda s: s.send(f"GET {s.page} HTTP/1.0\r\n\r\n".encode()), 403),
    (
        "two Hosts",
        lambda s: s.send(
            f"GET {s.page} HTTP/1.1\r\nHost: {s.host}\r\nHost: evil.example\r\n\r\n".encode()
        ),
        403,
    ),
    ("foreign Origin", lambda s: s.request("GET", s.page, {"Origin": "http://evil.example"}), 403),
    ("null Origin", lambda s: s.request("GET", s.page, {"Origin": "null"}), 403),
    ("cross-site fetch", lambda s: s.request("GET", s.page, {"Sec-Fetch-Site": "cross-site"}), 403),
    ("OPTIONS", lambda s: s.request("OPTIONS", s.page), 405),
    ("PUT", lambda s: s.request("PUT", s.page, {"Content-Length": "0"}), 405),
    ("DELETE", lambda s: s.request("DELETE", s.page), 405),
    ("Content-Length: abc", lambda s: s.request("GET", s.page, {"Content-Length": "abc"}), 400),
    ("a GET with a body", lambda s: s.request("GET", s.page, {"Content-Length": "2"}, b"{}"), 400),
    ("chunked body", lambda s: s.request("GET", s.page, {"Transfer-Encoding": "chunked"}), 411),
    ("not HTTP", lambda s: s.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"), 400),
]


@pytest.mark.marp
@pytest.mark.parametrize(("name", "make", "status"), EITHER, ids=[e[0] for e in EITHER])
def test_both_servers_refuse(server: Server, name: str, make: object, status: int) -> None:
    assert callable(make)
    got, answer = make(server)
    assert got == status, answer[:300]
    assert server.request("GET", server.page)[0] == 200  # and goes on serving its own page
    assert not server.command.said("Traceback"), "\n".join(server.command.lines)


def _act(s: Server) -> str:
    return f"{s.prefix}/_livedeck/act"


GOOD = b'{"action": "reset", "block": 0}'
BAD_BODIES = {
    "block 1e999": b'{"action": "reset", "block": 1e999}',
    "block NaN": b'{"action": "reset", "block": NaN}',
    "block as text": b'{"action": "reset", "block": "0"}',
    "block true": b'{"action": "reset", "block": true}',
    "action a list": b'{"action": ["reset"], "block": 0}',
    "an unknown key": b'{"action": "reset", "block": 0, "shell": "id"}',
    "a list": b"[1, 2]",
    "not JSON": b"not json",
    "not UTF-8": b"\xff\xfe",
    "nested past the stack": b"[" * 60000,
}
PRESENT_ONLY = [
    ("GET without the token", lambda s: s.request("GET", "/" + s.page.rsplit("/", 1)[1]), 403),
    ("HEAD without the token", lambda s: s.request("HEAD", "/" + s.page.rsplit("/", 1)[1]), 403),
    ("a wrong token", lambda s: s.request("GET", "/" + "x" * 32 + "/docker-layers.html"), 403),
    ("POST without Origin", lambda s: s.request("POST", _act(s), _json(GOOD, None), GOOD), 403),
    (
        "POST from another Origin",
        lambda s: s.request("POST", _act(s), _json(GOOD, "http://evil.example"), GOOD),
        403,
    ),
    (
        "Content-Length: abc",
        lambda s: s.request(
            "POST", _act(s), _json(GOOD, f"http://{s.host}", {"Content-Length": "abc"}), GOOD
        ),
        400,
    ),
    (
        "a body past the bound",
        lambda s: s.request(
            "POST", _act(s), _json(GOOD, f"http://{s.host}", {"Content-Length": str(10**9)})
        ),
        413,
    ),
    *[
        (
            f"body {name}",
            lambda s, body=body: s.request("POST", _act(s), _json(body, f"http://{s.host}"), body),
            400,
        )
        for name, body in BAD_BODIES.items()
    ],
    (
        "a form instead of JSON",
        lambda s: s.request(
            "POST",
            _act(s),
            _json(GOOD, f"http://{s.host}", {"Content-Type": "application/x-www-form-urlencoded"}),
            GOOD,
        ),
        415,
    ),
    (
        "POST elsewhere",
        lambda s: s.request("POST", s.page, _json(GOOD, f"http://{s.host}"), GOOD),
        404,
    ),
]


@pytest.mark.marp
@pytest.mark.parametrize(("name", "make", "status"), PRESENT_ONLY, ids=[e[0] for e in PRESENT_ONLY])
def test_present_refuses(present: Server, name: str, make: object, status: int) -> None:
    assert callable(make)
    got, answer = make(present)
    assert got == status, answer[:300]
    assert b"Traceback" not in answer
    assert present.request("GET", present.page)[0] == 200
    assert not present.command.said("Traceback"), "\n".join(present.command.lines)


def test_watch_takes_no_post(watch: Server) -> None:
    body = b"{}"
    got, _ = watch.request("POST", "/", _json(body, f"http://{watch.host}"), body)
    assert got == 405
    assert not watch.command.said("Traceback"), "\n".join(watch.command.lines)


@pytest.mark.parametrize("verb", ["watch", "present"])
@pytest.mark.parametrize("port", ["70000", "-1", "abc", "1e3"])
def test_a_port_out_of_range_is_a_usage_error(verb: str, port: str, tmp_path: Path) -> None:
    command = Livedeck(verb, f"--port={port}", str(tmp_path / "d.md"))
    assert command.proc.wait(60) == 2
    time.sleep(0.2)  # the last lines
    assert command.said("--port: must be a port") and not command.said("Traceback")


def _owned(prefix: str, pid: int) -> list[Path]:
    places = {Path(tempfile.gettempdir()), Path("/tmp")}
    return [p for d in places for p in d.glob(f"{prefix}{pid}.*")]


@pytest.mark.marp
def test_kill_9_of_present_leaves_nothing_after_the_next_command(tmp_path: Path) -> None:
    attack = Attack(tmp_path)
    command = Livedeck(
        "present", str(attack.deck), "--offline", env={"DOCKER_HOST": "unix:///nonexistent"}
    )
    command.wait_for("http://127.0.0.1:", 120)
    pid = command.proc.pid
    assert _owned("livedeck-present-", pid)  # its folder, named for its owner
    command.kill()
    said = attack.run("list", attack.deck.name)
    assert said.code == 0, said.stderr
    assert "temporary folder" in said.stderr  # the sweep says what it removed
    assert not _owned("livedeck-present-", pid)


@pytest.mark.marp
def test_kill_9_of_watch_leaves_no_browser_profile(tmp_path: Path) -> None:
    (tmp_path / "d.md").write_text(DECK, encoding="utf-8")
    command = Livedeck(
        "watch", str(tmp_path / "d.md"), "--out", str(tmp_path / "build"), "--lab", "local"
    )
    command.wait_for("/d.html", 180)
    pid = command.proc.pid
    assert _owned("livedeck-warm-", pid)  # Chromium's profile, named for its owner
    command.kill()
    next_one = Livedeck("list", str(tmp_path / "d.md"))
    assert next_one.proc.wait(120) == 0
    deadline = time.monotonic() + 30
    while _owned("livedeck-warm-", pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _owned("livedeck-warm-", pid)
    assert not alive(pid)
