"""`livedeck present`: a deck's commands run live inside its slides (or in a plain terminal).

show = open_show(Path("slides/x.md"), start_sandbox)   # the lab is up, `setup:` ran
try:
    present_in_browser(show, 0, print, stop)   # or terminal.present(show, key, write)
finally:
    show.close()                                       # nothing keeps running
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from livedeck import reap
from livedeck.deck import load_deck, record, secrets
from livedeck.errors import LivedeckError
from livedeck.present.show import Show, record_date
from livedeck.present.tapped import TappedLab
from livedeck.publish import publish
from livedeck.publish.themes import resolve_theme, theme_dirs_for
from livedeck.render.context import run_plan
from livedeck.run import Run, lab_spec
from livedeck.run.guard import guarded
from livedeck.run.lab import LabFactory
from livedeck.verbs.build_render import stage_deck


def open_show(path: Path, start_lab: LabFactory | None, *, timeout: float | None = None) -> Show:
    """The deck on a fresh lab with its `setup:` done; a replay of its record when start_lab
    is None (offline) or the lab cannot start (the show's label says why)."""
    deck = load_deck(path)
    recorded = record.read(deck)  # the slides, the verdicts and the fallback all need it
    date = record_date(record.record_path(deck.path))
    if start_lab is None:
        return Show(deck, recorded, date)
    found = secrets.values(deck)  # a missing or too short secret fails before a lab starts
    env = secrets.environment(deck, found)
    try:
        # Under the tap: the program's keys, the spare shell and the Run all read redacted.
        lab = TappedLab(guarded(start_lab(lab_spec(deck)), tuple(found.values()), env))
    except LivedeckError as error:
        return Show(deck, recorded, date, why_replay=f"no lab: {error}")
    run = Run(deck, lab, run_plan(deck), timeout=timeout)
    try:
        run.start()
    except LivedeckError as error:
        run.close()
        lab.close()
        return Show(deck, recorded, date, why_replay=f"the lab's setup failed: {error}")
    except BaseException:
        run.close()
        lab.close()
        raise
    return Show(deck, recorded, date, run, lab)


def render_html(show: Show, out_dir: Path) -> Path:
    """The deck's HTML from its record (as `build --offline --format html`) into out_dir."""
    deck = show.deck
    theme = resolve_theme(deck, theme_dirs_for(deck.path))
    staging = out_dir / "staged"
    staging.mkdir(parents=True, exist_ok=True)
    staged = stage_deck(deck, show.recorded, staging)
    publish([staged], out_dir, ("html",), themes=[theme] if theme else [])
    for source in staging.rglob("*"):  # pictures beside the page, where it looks for them
        target = out_dir / source.relative_to(staging)
        if source.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            source.replace(target)
    return out_dir / f"{deck.name}.html"


def present_in_browser(
    show: Show, port: int, ready: Callable[[str], None], stop: threading.Event
) -> None:
    """Serve the show's page on 127.0.0.1 (its URL to `ready`) until `stop` is set or the
    process is interrupted; the server and its folder are gone afterwards (the lab is the
    caller's: show.close())."""
    from livedeck.present.director import Director
    from livedeck.present.server import PresentServer

    with reap.owned_scratch("livedeck-present-") as folder:
        render_html(show, folder)
        director = Director(show)
        try:
            server = PresentServer(director, folder, show.deck.name, port)
            try:
                ready(server.url)
                while not stop.wait(0.5):
                    pass
            finally:
                server.close()
        finally:
            director.close()


__all__ = ["Show", "open_show", "present_in_browser", "render_html"]
