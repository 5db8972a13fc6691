"""`after: OTHER-DECK`: the chain checked before anything runs (pure), and a chained deck that
sees, without any setup, what the earlier deck left in its lab (real Docker labs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from livedeck.course.chain import resolve
from livedeck.course.schedule import _run, default_jobs
from livedeck.deck import load_deck, parse_deck
from livedeck.errors import DeckError
from livedeck.model import Deck
from livedeck.run.lab import Lab, LabFactory, LabSpec
from livedeck.run.labs import lab_names
from livedeck.run.sandbox import start_sandbox
from livedeck.verbs.build import BuildOptions, build

pytestmark = pytest.mark.slow


def deck_text(after: str | None, *commands: str) -> str:
    front = f"livedeck:\n  after: {after}\n" if after else ""
    lines = "\n".join(f"ubuntu@ip-10-0-1-14:~$ {c}" for c in commands)
    return f"---\nmarp: true\n{front}---\n\n# Slide\n\n```bash\n{lines}\n```\n"


def write(folder: Path, name: str, after: str | None, *commands: str) -> Path:
    path = folder / f"{name}.md"
    path.write_text(deck_text(after, *commands), encoding="utf-8")
    return path


def test_a_missing_deck_is_an_error_at_the_after_line(tmp_path: Path) -> None:
    write(tmp_path, "basics", None, "true")
    second = load_deck(write(tmp_path, "storage", "basic", "true"))
    with pytest.raises(DeckError) as raised:
        resolve([second], load_deck)
    assert raised.value.line == 4
    assert "Did you mean 'basics'" in str(raised.value)


def test_a_cycle_is_an_error_at_an_after_line(tmp_path: Path) -> None:
    write(tmp_path, "a", "c", "true")
    write(tmp_path, "b", "a", "true")
    write(tmp_path, "c", "b", "true")
    with pytest.raises(DeckError) as raised:
        resolve([load_deck(tmp_path / "b.md")], load_deck)
    assert raised.value.line == 4
    assert "circle" in str(raised.value)
    assert {"a", "b", "c"} <= set(str(raised.value).replace(">", " ").split())


def test_a_deck_that_continues_itself_is_a_cycle(tmp_path: Path) -> None:
    with pytest.raises(DeckError, match="circle"):
        resolve([load_deck(write(tmp_path, "a", "a", "true"))], load_deck)


def test_a_changed_earlier_deck_changes_every_key_after_it(tmp_path: Path) -> None:
    write(tmp_path, "one", None, "docker pull nginx")
    write(tmp_path, "two", "one", "true")
    write(tmp_path, "three", "two", "true")
    write(tmp_path, "other", None, "true")
    decks = [load_deck(tmp_path / f"{n}.md") for n in ("three", "other")]
    chains = resolve(decks, load_deck)  # one and two are loaded: the chain needs them
    assert chains.needed() == {tmp_path / "one.md", tmp_path / "two.md"}
    before = chains.keys("lab")
    write(tmp_path, "two", "one", "true", "echo changed")
    after = resolve(decks, load_deck).keys("lab")
    assert after[tmp_path / "one.md"] == before[tmp_path / "one.md"]
    assert after[tmp_path / "two.md"] != before[tmp_path / "two.md"]
    assert after[tmp_path / "three.md"] != before[tmp_path / "three.md"]
    assert after[tmp_path / "other.md"] == before[tmp_path / "other.md"]
    assert resolve(decks, load_deck).keys("another lab") != after


def test_a_changed_course_file_changes_the_key(tmp_path: Path) -> None:
    (tmp_path / "ch01").mkdir()
    (tmp_path / "ch01" / "app.py").write_text("print(1)\n", encoding="utf-8")
    path = write(tmp_path, "one", None, "ls ~/ch01")
    path.write_text(
        path.read_text().replace("marp: true\n", "marp: true\nlivedeck:\n  files: {ch01: ~/ch01}\n")
    )
    decks = [load_deck(path)]
    before = resolve(decks, load_deck).keys("lab")
    (tmp_path / "ch01" / "app.py").write_text("print(2)\n", encoding="utf-8")
    assert resolve(decks, load_deck).keys("lab") != before


def test_the_schedule_waits_for_the_earlier_deck_and_keeps_the_order() -> None:
    started: list[str] = []
    names = ["a", "b", "c", "d"]
    tasks = {Path(n): (lambda n=n: started.append(n) or n.upper()) for n in names}
    waits = {Path("a"): Path("c")}  # a continues c
    for jobs in (1, 2, 3):
        started.clear()
        assert _run(tasks, waits, [Path(n) for n in names], jobs) == ["A", "B", "C", "D"]
        assert started.index("c") < started.index("a")


def test_a_failure_is_raised_for_the_first_deck_in_order_and_nothing_new_starts() -> None:
    ran: list[str] = []

    def fail(name: str) -> str:
        ran.append(name)
        raise ValueError(name)

    tasks = {Path("a"): lambda: fail("a"), Path("b"): lambda: fail("b")}
    tasks[Path("c")] = lambda: ran.append("c") or "c"  # type: ignore[func-returns-value]
    with pytest.raises(ValueError, match="a"):
        _run(tasks, {Path("c"): Path("a")}, [Path("a"), Path("b"), Path("c")], 2)
    assert "c" not in ran


def test_default_jobs_follow_cores_and_memory() -> None:
    assert default_jobs(cores=2, available=8 * 2**30) == 2
    assert default_jobs(cores=16, available=1 * 2**30) == 1
    assert default_jobs(cores=1, available=0) == 1


FIRST = (
    "docker pull --quiet nginx",
    "docker run --detach --name web nginx",
    "echo 'from the first deck' > ~/note.txt",
)
SECOND = (
    "docker images --format '{{.Repository}}'",
    "docker ps --format '{{.Names}} {{.Status}}'",
    "cat ~/note.txt",
    "docker exec web nginx -v 2>&1 | cut -d/ -f1",
)


@pytest.fixture
def kept_states(
    lab_namespace: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    folder = tmp_path / "states"
    monkeypatch.setenv("LIVEDECK_SNAPSHOTS", str(folder))
    yield folder
    host = docker.from_env()
    label = f"{lab_names().label}.state"
    for volume in host.volumes.list(filters={"label": label}):
        volume.remove(force=True)
    host.close()


@pytest.mark.docker
def test_a_chained_deck_starts_where_the_earlier_one_ended(
    tmp_path: Path, kept_states: Path
) -> None:
    course = tmp_path / "course"
    course.mkdir()
    write(course, "first", None, *FIRST)
    write(course, "second", "first", *SECOND)
    built = build(
        [course], BuildOptions(out_dir=tmp_path / "out", formats=(), jobs=2), start_sandbox
    )
    second = next(r for r in built.decks if r.deck.name == "second.md")
    assert second.transcript is not None
    screens = [r.screen for r in second.transcript.results]
    assert screens[0] == ("nginx",)
    assert screens[1][0].startswith("web Up ")
    assert screens[2] == ("from the first deck",)
    assert screens[3] == ("nginx version: nginx",)
    # Built alone, the second deck starts from the kept state: the first deck does not run.
    host = docker.from_env()
    volumes = host.volumes.list(filters={"label": f"{lab_names().label}.state"})
    host.close()
    assert len(volumes) == 1
    started: list[LabSpec] = []

    def counting(spec: LabSpec) -> Lab:
        started.append(spec)
        return start_sandbox(spec)

    again = build(
        [course / "second.md"], BuildOptions(out_dir=tmp_path / "out2", formats=()), counting
    )
    assert len(started) == 1 and started[0].snapshot == volumes[0].name
    assert again.decks[0].story == "kept"  # the same story as the record the first build wrote


@pytest.mark.docker
def test_without_after_the_deck_starts_from_an_empty_lab(tmp_path: Path, kept_states: Path) -> None:
    deck = parse_deck(deck_text(None, *SECOND[:2]), tmp_path / "alone.md")
    (tmp_path / "alone.md").write_text(deck.text, encoding="utf-8")
    built = build(
        [tmp_path / "alone.md"], BuildOptions(out_dir=tmp_path / "out", formats=()), start_sandbox
    )
    assert built.decks[0].transcript is not None
    assert built.decks[0].transcript.results[0].screen == ()


class FakeLab:
    """A lab for planning tests: nothing runs, closing is all it does."""

    def __init__(self, spec: LabSpec) -> None:
        self.spec = spec

    def close(self) -> None:
        pass


def test_only_states_not_kept_are_made_and_each_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from livedeck.course import schedule, snapshot

    write(tmp_path, "one", None, "true")
    write(tmp_path, "two", "one", "true")
    write(tmp_path, "three", "two", "true")
    write(tmp_path, "four", "two", "true")
    kept: set[str] = set()
    events: list[str] = []
    monkeypatch.setattr(snapshot, "kept", lambda state: state.deck in kept)
    monkeypatch.setattr(snapshot, "prepare", lambda state: None)
    monkeypatch.setattr(snapshot, "take", lambda lab, user, state: {"deck": state.deck})
    monkeypatch.setattr(snapshot, "commit", lambda state, meta: kept.add(state.deck))
    monkeypatch.setattr(snapshot, "start_from", lambda state, lab: None)
    monkeypatch.setattr(snapshot, "forget", lambda state: None)

    def obtain(deck: Deck, labs: LabFactory) -> str:
        lab = labs(LabSpec())
        events.append(f"{deck.name} from {lab.spec.snapshot is not None}")
        lab.close()
        return deck.name

    def run_only(deck: Deck, labs: LabFactory) -> None:
        obtain(deck, labs)

    decks = [load_deck(tmp_path / f"{n}.md") for n in ("three", "four")]
    for jobs in (1, 2):
        kept.clear()
        events.clear()
        found = schedule.run_course(
            decks, obtain, FakeLab, jobs=jobs, run_only=run_only, salt=lambda: "lab"
        )
        assert found == ["three", "four"]
        assert sorted(events) == [
            "four from True",
            "one from False",
            "three from True",
            "two from True",
        ]
        assert (
            events.index("one from False")
            < events.index("two from True")
            < events.index("three from True")
        )
        assert len(kept) == 2  # one and two: kept once, though two decks start from two
        events.clear()
        schedule.run_course(
            decks, obtain, FakeLab, jobs=jobs, run_only=run_only, salt=lambda: "lab"
        )
        assert sorted(events) == ["four from True", "three from True"]  # the chain is not run again
        one = next(iter(k for k in kept if k == snapshot.state_for(tmp_path / "one.md", "x").deck))
        kept.discard(one)  # the first deck's state is gone; the second's is still kept
        events.clear()
        schedule.run_course(
            decks, obtain, FakeLab, jobs=jobs, run_only=run_only, salt=lambda: "lab"
        )
        assert sorted(events) == ["four from True", "three from True"]
