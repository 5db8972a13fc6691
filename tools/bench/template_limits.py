"""Benchmark: what the template limits (deadline, memory, output, cost estimates) cost a deck.

    .venv/bin/python tools/bench/template_limits.py [--rounds N]

For every deck under slides/ with a record, renders every prose stretch that holds a template,
N rounds, two ways:
  limits     livedeck's render_template (trace, ceiling, estimates, output count)
  baseline   jinja2's plain immutable sandbox with the same options (what livedeck did before)
and a heavier template of the kind a deck writes (a loop over every result's output), then
prints each side's best time and the ratio limits/baseline. Also the whole render stage of
each deck, to show what share of it templates are. Ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import jinja2  # noqa: E402
from jinja2.sandbox import ImmutableSandboxedEnvironment  # noqa: E402

from livedeck.deck import load_deck, record  # noqa: E402
from livedeck.fences import code_span  # noqa: E402
from livedeck.render import render  # noqa: E402
from livedeck.render import template as template_module  # noqa: E402
from livedeck.render.context import context_at  # noqa: E402
from livedeck.render.template import has_template, protect, render_template  # noqa: E402
from livedeck.render.timeline import prose  # noqa: E402

HEAVY = (
    "{% for r in commands %}{{ r.command }}: {{ r.output | code }}\n"
    "{% for line in r.output.split('\\n') %}{{ line | trim | center(40) }}{% endfor %}"
    "{% endfor %}{{ '-' * 40 }}"
)


def baseline_env() -> ImmutableSandboxedEnvironment:
    """jinja2's immutable sandbox as livedeck configured it before the limits."""
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    env.filters["code"] = lambda value: code_span(str(value))
    return env


class _Plain:
    """A render as before the limits: jinja2's own render, nothing counted."""

    def output(self, template: jinja2.Template, context: Any) -> str:
        return template.render(context)


@contextmanager
def _no_guard(*args: Any) -> Iterator[_Plain]:
    yield _Plain()


@contextmanager
def unguarded(env: jinja2.Environment) -> Iterator[None]:
    """The render stage as it was: the baseline sandbox, no guard."""
    saved = template_module._ENV, template_module.guarded
    template_module._ENV, template_module.guarded = env, _no_guard  # type: ignore[assignment]
    try:
        yield
    finally:
        template_module._ENV, template_module.guarded = saved


def best(rounds: int, work: Callable[[], Any]) -> float:
    """The fastest of `rounds` runs of `work`, in seconds."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def bench_deck(path: Path, rounds: int, env: ImmutableSandboxedEnvironment) -> None:
    """Print one deck's lines: its prose templates, a heavy loop, its whole render stage."""
    deck = load_deck(path)
    recorded = record.read(deck)
    jobs = []
    for stretch in prose(deck):
        if has_template(stretch.text):
            context = context_at(deck, recorded, stretch.position)
            jobs.append((stretch.text, context, stretch.line))
    heavy = [(HEAVY, context_at(deck, recorded, len(recorded.results)), 1)] * 5
    for label, texts in (("prose templates", jobs), ("a loop over outputs x5", heavy)):

        def limited(texts: list[Any] = texts) -> None:
            for text, context, line in texts:
                render_template(text, context, deck.path, line)

        def plain(texts: list[Any] = texts) -> None:
            for text, context, _ in texts:
                env.from_string(protect(text)).render(context)

        with_limits, without = best(rounds, limited), best(rounds, plain)
        print(
            f"{path.name:20} {label:24} {len(texts):3} renders"
            f"  limits {with_limits * 1e3:7.2f} ms  baseline {without * 1e3:7.2f} ms"
            f"  ratio {with_limits / without:.2f}"
        )
    stage = best(rounds, lambda: render(deck, recorded))
    with unguarded(env):
        before = best(rounds, lambda: render(deck, recorded))
    print(
        f"{path.name:20} {'whole render stage':24}            limits {stage * 1e3:7.2f} ms"
        f"  baseline {before * 1e3:7.2f} ms  ratio {stage / before:.2f}"
    )


def main() -> None:
    """Print the ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    env = baseline_env()
    for path in sorted((ROOT / "slides").glob("*.md")):
        if path.with_suffix(".record.yaml").exists():
            bench_deck(path, rounds, env)


if __name__ == "__main__":
    main()
