"""`livedeck watch`: saving a deck rebuilds it; prose edits render from the record."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from livedeck.build import BuildOptions, Built
from livedeck.errors import LivedeckError
from livedeck.run.lab import LocalLab
from livedeck.watch import watch

DECK = "# {title}\n\n```bash\nme@box:~$ echo {word}\n```\n"


def test_saving_rebuilds_from_the_record_or_on_the_lab(tmp_path: Path) -> None:
    deck = tmp_path / "slides" / "d.md"
    deck.parent.mkdir()
    deck.write_text(DECK.format(title="One", word="first"), encoding="utf-8")
    out = tmp_path / "build"
    seen: list[tuple[str, bool]] = []
    stop = threading.Event()

    def report(path: Path, outcome: Built | LivedeckError, ran: bool) -> None:
        seen.append((str(outcome) if isinstance(outcome, LivedeckError) else "built", ran))

    options = BuildOptions(out_dir=out, formats=())
    worker = threading.Thread(target=watch, args=([deck.parent], options, LocalLab, report, stop))
    worker.start()
    try:
        _wait(lambda: len(seen) == 1)
        assert seen == [("built", True)]  # no record yet: ran
        assert "me@box:~$ echo first\nfirst\n" in (out / "d.md").read_text(encoding="utf-8")

        deck.write_text(DECK.format(title="Two", word="first"), encoding="utf-8")
        _wait(lambda: len(seen) == 2)
        assert seen[1] == ("built", False)  # prose only: from the record
        assert (out / "d.md").read_text(encoding="utf-8").startswith("# Two")

        deck.write_text(DECK.format(title="Two", word="second"), encoding="utf-8")
        _wait(lambda: len(seen) == 3)
        assert seen[2] == ("built", True)  # a new command: ran again
        assert "second\n```" in (out / "d.md").read_text(encoding="utf-8")

        deck.write_text("---\nlivedeck: {timout: 3}\n---\n", encoding="utf-8")
        _wait(lambda: len(seen) == 4)
        assert "unknown livedeck key 'timout'" in seen[3][0]
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()


def _wait(condition: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the watcher did not rebuild in time"
        time.sleep(0.05)
