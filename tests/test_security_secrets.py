"""A secret never leaves the lab: `livedeck` run as a user runs it (subprocesses, the real Docker
lab), with a random secret of quotes, spaces, `$`, a backslash and accents that the deck's
commands print in every form they can (plain, wrapped by the terminal, `declare -p`,
`printf %q`, `${v@Q}`, a `set -x` trace, JSON, URL-encoded, base64 at all three alignments,
`docker inspect`'s Env, `history`). Each form is looked for in build/ (every file), the record,
stdout and stderr, `--json`, the present and watch event streams and the refresh summary; and
inside the lab, in the shell's history, `ps` and every /proc/*/cmdline."""

from __future__ import annotations

import base64
import json
import os
import queue
import secrets
import shlex
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from processes import Livedeck

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "ubuntu@ip-10-0-1-14:~$"
FORMS_DECK = f"""---
marp: true
livedeck:
  secrets: [APP_SECRET]
  fit: shrink
---

## Plain and wrapped

```bash
{PROMPT} echo "plain: $APP_SECRET"
{PROMPT} printf '%188s%s\\n' wrapped "$APP_SECRET"
```

---

## Quoted

```bash
{PROMPT} declare -p APP_SECRET
{PROMPT} printf '%q\\n' "$APP_SECRET"
{PROMPT} echo "${{APP_SECRET@Q}}"
```

---

## Traced

```bash
{PROMPT} set -x; : "$APP_SECRET"; set +x
```

---

## JSON and URL

```bash
{PROMPT} jq -cn --arg v "$APP_SECRET" '{{json: $v}}'
{PROMPT} jq -rn --arg v "$APP_SECRET" '$v|@uri'
```

---

## Base64

```bash
{PROMPT} printf '%s' "$APP_SECRET" | base64
{PROMPT} printf 'u%s' "$APP_SECRET" | base64 -w 12
{PROMPT} printf 'u:%s' "$APP_SECRET" | base64
```

---

## In a container

```bash
{PROMPT} docker run -d --name holder -e APP_SECRET nginx
```

---

## Its Env, and the history

```bash
{PROMPT} docker inspect holder | grep -A1 '"Env"'
{PROMPT} history | tail -3
```
"""
FAILING_SETUP_DECK = f"""---
marp: true
livedeck:
  secrets: [APP_SECRET]
  setup: ['ls "/nowhere/$APP_SECRET"']
---

## Never runs

```bash
{PROMPT} echo unreachable
```
"""

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def secret_value() -> str:
    """A fresh value with what breaks naive redaction: quotes, a space, `$`, `\\`, accents."""
    return f"Lv'd \"$x\\é-{secrets.token_hex(5)}-ß"


def encodings(value: str) -> dict[str, str]:
    """The value as the lab's programs print it, made here without livedeck."""
    data = value.encode()
    found = {
        "plain": value,
        "shell-quoted": shlex.quote(value),
        "xtrace": "'" + value.replace("'", "'\\''") + "'",
        "declare -p": '"' + "".join("\\" + c if c in '"\\$`' else c for c in value) + '"',
        "printf %q": "".join("\\" + c if c in " '\"\\$`|&;()<>!{}[]*?^," else c for c in value),
        "json": json.dumps(value, ensure_ascii=False)[1:-1],
        "json ascii": json.dumps(value)[1:-1],
        "url": quote(value, safe=""),
        "url plus": quote_plus(value),
    }
    for offset in range(3):  # the characters that depend on the value's bytes alone
        encoded = base64.b64encode(bytes(offset) + data + bytes(2)).decode()
        found[f"base64+{offset}"] = encoded[-(-8 * offset // 6) : (8 * (offset + len(data))) // 6]
    return found


def leaks(text: str, value: str) -> list[str]:
    """The forms of which any 8 characters in a row are in text (a wrapped line, a half value
    give a secret away too)."""
    flat = text.replace("\r", "")
    found = []
    for name, form in encodings(value).items():
        pieces = {form[i : i + 8] for i in range(len(form) - 7)}
        if any(p in flat or p in flat.replace("\n", "") for p in pieces):
            found.append(name)
    return found


def files_text(*folders: Path) -> str:
    """Every file under the folders, as text."""
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    )


def livedeck(*args: str, value: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m livedeck ARGS` with the secret in its environment, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tools"), "APP_SECRET": value, "CI": "1"}
    return subprocess.run(
        [sys.executable, "-m", "livedeck", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, lab_namespace: dict[str, str]
) -> Iterator[tuple[Path, str, subprocess.CompletedProcess[str]]]:
    """The forms deck built once on the Docker lab: its folder, its secret, the build."""
    folder = tmp_path_factory.mktemp("secrets")
    slides = folder / "slides"
    slides.mkdir()
    (slides / "forms.md").write_text(FORMS_DECK, encoding="utf-8")
    value = secret_value()
    done = livedeck(
        "build",
        "slides/forms.md",
        "--out",
        "build",
        "--format",
        "html",
        "--images",
        "mirror",
        "--json",
        value=value,
        cwd=folder,
    )
    yield folder, value, done


def test_a_build_shows_every_form_of_a_secret_nowhere(
    built: tuple[Path, str, subprocess.CompletedProcess[str]],
) -> None:
    folder, value, done = built
    everything = {
        "build/": files_text(folder / "build"),
        "slides/ and the record": files_text(folder / "slides"),
        "stdout (--json)": done.stdout,
        "stderr": done.stderr,
    }
    found = {where: leaks(text, value) for where, text in everything.items()}
    assert not any(found.values()), found
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)
    markdown = (folder / "build" / "forms.md").read_text(encoding="utf-8")
    # The commands did print the value: each of its forms stands hidden on the slides.
    for shown in (
        "plain: ********",
        'declare -x APP_SECRET="********"',
        '{"json":"********"}',
        "APP_SECRET=********",
    ):
        assert shown in markdown
    assert markdown.count("********") >= 12
    assert "export" not in markdown  # nothing was typed to give the shell its secrets


def test_present_streams_no_form_of_a_secret(
    built: tuple[Path, str, subprocess.CompletedProcess[str]],
) -> None:
    folder, value, done = built
    assert done.returncode == 0, done.stderr
    present = Livedeck("present", str(folder / "slides" / "forms.md"), env={"APP_SECRET": value})
    try:
        url = present.wait_for("http://127.0.0.1:", 120).strip()
        events = _events(url.rsplit("/", 1)[0] + "/_livedeck/events")
        state = events.get(timeout=30)
        assert state["kind"] == "state" and state["live"], state
        origin = "/".join(url.split("/")[:3])
        for block in state["blocks"]:
            _act(url.rsplit("/", 1)[0] + "/_livedeck/act", origin, block["index"])
        seen, output = [], b""
        ends = 0
        while ends < sum(len(b["positions"]) for b in state["blocks"]):
            event = events.get(timeout=180)
            seen.append(json.dumps(event, ensure_ascii=False))
            assert event["kind"] != "failed", event
            if event["kind"] == "output":
                output += base64.b64decode(event["data"])
            ends += event["kind"] == "end"
    finally:
        present.stop()
    streamed = output.decode("utf-8", errors="replace")
    found = {
        "output events": leaks(streamed, value),
        "events": leaks("\n".join(seen), value),
        "messages": leaks("\n".join(present.lines), value),
    }
    assert not any(found.values()), found
    assert "plain: ********" in streamed  # the live output did carry the (hidden) value


def test_refresh_summarises_without_a_secret(
    built: tuple[Path, str, subprocess.CompletedProcess[str]],
) -> None:
    folder, value, done = built
    assert done.returncode == 0, done.stderr
    record = folder / "slides" / "forms.record.yaml"
    text = record.read_text(encoding="utf-8")
    assert "plain: ********" in text
    record.write_text(text.replace("plain: ********", "plain: before"), encoding="utf-8")
    refreshed = livedeck(
        "refresh",
        "slides/forms.md",
        "--all",
        "--out",
        "build",
        "--images",
        "mirror",
        "--summary",
        "refresh.md",
        value=value,
        cwd=folder,
    )
    assert refreshed.returncode == 0, refreshed.stderr
    summary = (folder / "refresh.md").read_text(encoding="utf-8")
    assert "plain: ********" in summary and "plain: before" in summary
    found = {
        "summary": leaks(summary, value),
        "stdout": leaks(refreshed.stdout, value),
        "stderr": leaks(refreshed.stderr, value),
        "build/ and slides/": leaks(files_text(folder / "build", folder / "slides"), value),
    }
    assert not any(found.values()), found


def test_a_failing_setup_shows_its_output_without_the_secret(
    tmp_path: Path, lab_namespace: dict[str, str]
) -> None:
    slides = tmp_path / "slides"
    slides.mkdir()
    (slides / "setup.md").write_text(FAILING_SETUP_DECK, encoding="utf-8")
    value = secret_value()
    done = livedeck(
        "build", "slides/setup.md", "--format", "none", "--json", value=value, cwd=tmp_path
    )
    assert not leaks(done.stdout + done.stderr, value), done.stderr
    assert done.returncode != 0
    assert "setup command 1" in done.stderr and "/nowhere/********" in done.stderr

    watch = Livedeck(
        "watch", str(slides), "--out", str(tmp_path / "build"), env={"APP_SECRET": value}
    )
    try:
        url = watch.wait_for("previewing on", 60).split("previewing on ")[1].split()[0]
        events = _events(url.rstrip("/") + "/_livedeck/events?deck=setup", sse_json=False)
        state = ""
        while "setup command 1" not in state:
            state = events.get(timeout=180)
    finally:
        watch.stop()
    assert not leaks(state + "\n".join(watch.lines), value), state
    assert "/nowhere/********" in state


def test_short_secrets_are_refused_before_a_lab_starts(
    tmp_path: Path, lab_namespace: dict[str, str]
) -> None:
    import docker

    slides = tmp_path / "slides"
    slides.mkdir()
    (slides / "forms.md").write_text(FORMS_DECK, encoding="utf-8")
    done = livedeck("build", "slides/forms.md", "--format", "none", value="root", cwd=tmp_path)
    assert done.returncode != 0
    assert "forms.md:4: secret APP_SECRET is shorter than 8 characters" in done.stderr
    assert "Traceback" not in done.stderr
    host = docker.from_env()
    label = lab_namespace["LIVEDECK_LAB_LABEL"]
    assert host.containers.list(all=True, filters={"label": label}) == []
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.parent != slides]


def test_an_input_secret_is_not_typed_where_the_terminal_echoes(tmp_path: Path) -> None:
    deck = tmp_path / "echo.md"
    deck.write_text(
        "<!-- livedeck: {input: [{secret: APP_SECRET}]} -->\n```bash\n"
        "me@box:~$ read line; echo got it\n```\n",
        encoding="utf-8",
    )
    value = secret_value()
    done = livedeck(
        "build", str(deck), "--lab", "local", "--format", "none", value=value, cwd=tmp_path
    )
    assert done.returncode != 0
    assert "echo.md:3: a secret of `input:` was not typed" in done.stderr
    assert not leaks(done.stdout + done.stderr + files_text(tmp_path), value)


def test_inside_the_lab_the_secret_is_in_no_history_ps_or_cmdline(
    tmp_path: Path, lab_namespace: dict[str, str]
) -> None:
    """The deck's shell gets the value in its environment: nothing typed holds it."""
    from livedeck.deck import load_deck
    from livedeck.run import Run, lab_spec
    from livedeck.run.sandbox import start_sandbox

    deck_path = tmp_path / "inside.md"
    deck_path.write_text(
        "---\nlivedeck:\n  secrets: [APP_SECRET]\n---\n\n```bash\n"
        f'{PROMPT} sleep 300 &\n{PROMPT} echo "${{#APP_SECRET}}"\n'
        f"{PROMPT} history > ~/typed.txt\n```\n",
        encoding="utf-8",
    )
    value = secret_value()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("APP_SECRET", value)
        deck = load_deck(deck_path)
        lab = start_sandbox(lab_spec(deck))
        try:
            run = Run(deck, lab)
            run.start()
            done = run.finish()
            assert done.results[1].screen == (str(len(value)),)  # the shell has the value
            looked = {
                "history": lab.exec_root(["sh", "-c", "cat /home/*/typed.txt"])[1],
                "ps": lab.exec_root(["ps", "-eo", "args"])[1],
                "cmdline": lab.exec_root(["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"])[
                    1
                ],
            }
            run.close()  # the shell ends and writes its history file
            looked[".bash_history"] = lab.exec_root(
                ["sh", "-c", "sleep 1; cat /home/*/.bash_history"]
            )[1]
        finally:
            lab.close()
    assert "history > ~/typed.txt" in looked["history"]
    assert "sleep 300" in looked["ps"]
    found = {where: leaks(text, value) for where, text in looked.items()}
    assert not any(found.values()), found


def _events(url: str, *, sse_json: bool = True) -> queue.Queue:  # type: ignore[type-arg]
    """The server's event stream, one event per item (decoded JSON, or the raw data text)."""
    got: queue.Queue = queue.Queue()  # type: ignore[type-arg]
    port_host = url.split("/")[2]

    def read() -> None:
        request = urllib.request.Request(url, headers={"Host": port_host})
        with urllib.request.urlopen(request, timeout=600) as stream:
            for raw in stream:
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                if line.startswith("data: "):
                    data = line.removeprefix("data: ")
                    got.put(json.loads(data) if sse_json else data)

    threading.Thread(target=read, daemon=True).start()
    return got


def _act(url: str, origin: str, block: int) -> None:
    body = json.dumps({"action": "run", "block": block}).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", "Origin": origin}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 204
