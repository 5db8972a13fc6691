"""What one render of a deck's template may cost: time, memory and output.

A deck may come from a stranger, so its templates are hostile input: the sandbox (template.py)
stops code and changes; this module stops cost. These guards hold by construction, whatever the
template does:

- **Time.** A trace function on the rendering thread only (sys.settrace) stops the render at
  the first line of Python past a deadline, in the template or in what it called. The
  deadline counts the rendering thread's CPU time (looked at every few milliseconds): a
  template cannot wait for anything, and a machine busy with other work (four test processes,
  a lab, Chromium) must not make a render fail, or fail at a line the template had not
  reached. Jinja compiles a template to Python, so every loop turn, macro
  call and filter written in Python (lipsum, wordwrap, sort keys...) passes through it. The
  previous trace function (a debugger, coverage) is restored after the render.
- **Memory grown step by step.** The same trace samples the process's resident memory every few
  milliseconds and stops a render that grew it by more than MEMORY. Per thread, no process-wide
  state: safe while `watch`, `present` and `--jobs` run other threads beside a render.
- **Output.** The render is consumed chunk by chunk and stops past OUTPUT characters.
- **A whole deck.** The renders of one deck's prose (deck_budget, in render()) share
  DECK_DEADLINE and DECK_OUTPUT, or a thousand templates just under each limit would add up.

What no trace sees is one C call that runs long or allocates a lot before returning (`'x' *
10**10`, `10 ** (10 ** 8)`, `'x'.center(10**10)`, `'%0999999999d' % 1`). Two layers handle
those:

- **A memory ceiling** (RLIMIT_AS = the address space now + MEMORY) while the render runs, so
  such an allocation fails with MemoryError instead of waking the kernel's OOM killer. Only
  when the rendering thread is the process's only thread (as in `build --offline`): the
  limit holds for the whole process and is inherited by every child started meanwhile, so with
  other threads alive (a lab starting `docker`, marp starting Chromium) it could break them.
- **Estimates before computing**, in the sandbox (costs.BoundedSandbox). Every list, tuple and
  dict a template writes, every value a call or filter returns and every result of an
  arithmetic operator holds at most SIZE items and characters, counting a nested value each
  time it is referred to; so whatever C walks over one value (a comparison, a join, |tojson)
  walks at most SIZE. Before the call: integer parameters (widths, counts), `%` and `.format`
  widths, the results of `*`, `**`, `+`, replace, join, sum, translate and expandtabs are
  estimated. Those are a list of what is known to run long in one C call; it is what stands
  when the ceiling cannot be used.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
import traceback
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, cast

import jinja2

from livedeck.errors import DeckError

DEADLINE = 5.0  # seconds of the rendering thread's CPU time one render may take
DECK_DEADLINE = 30.0  # the same, for the renders of one deck together (deck_budget)
DECK_OUTPUT = 10_000_000  # characters the renders of one deck may produce together
MEMORY = 512 * 2**20  # bytes one render may add to the process
OUTPUT = 1_000_000  # characters one render may produce
SIZE = 1_000_000  # characters or items of one value a template computes; largest width or count
INT_BITS = 100_000  # bits of an int a template computes (about 30,000 digits)
_COSTS = "livedeck.render.costs"  # the estimates (costs.py): their lines are not traced
_SAMPLE = 0.002  # seconds between two looks at the thread's CPU time and the process's memory
# Python frames one render may nest below where it started. A recursion (a macro calling itself)
# ends here, far below Python's own limit: there, the garbage collector's callbacks found no
# room left, and each failed as "Exception ignored" (a test failed on it once).
DEPTH = 400


class TemplateLimit(Exception):
    """One render went past a limit; raised inside the template so its line is known."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def too_big(what: str, size: int, limit: int, unit: str) -> TemplateLimit:
    """The error for `what` being `size` units where `limit` are allowed."""
    unit = f" {unit}" if unit else ""
    said = f"{size:,}" if size < 10**15 else f"about 2**{size.bit_length() - 1}"
    return TemplateLimit(
        f"refused: {what} would be {said}{unit}",
        hint=f"a template may compute at most {limit:,}{unit} at a time",
    )


@dataclass
class _DeckBudget:
    end: float  # the thread's CPU time by which the deck's renders must be done
    output: int  # characters they may still produce


_DECK: ContextVar[_DeckBudget | None] = ContextVar("livedeck_deck_budget", default=None)


class Render:
    """One guarded render: the template it renders, once `output` is called."""

    def __init__(self, deck: _DeckBudget | None = None) -> None:
        self.template: Any = None  # a jinja2.Template once `output` runs
        self.deck = deck

    def output(self, template: jinja2.Template, context: Mapping[str, Any]) -> str:
        """The template's text, stopped past OUTPUT characters (thrown into the template)."""
        self.template = template
        cap, late = (
            OUTPUT,
            TemplateLimit(
                f"output is past {OUTPUT:,} characters",
                hint=f"one render may produce {OUTPUT:,} characters: show less",
            ),
        )
        if self.deck is not None and self.deck.output < OUTPUT:
            cap, late = (
                self.deck.output,
                TemplateLimit(
                    f"output is past {DECK_OUTPUT:,} characters, with the deck's other templates",
                    hint=f"the templates of one deck may produce {DECK_OUTPUT:,} in all",
                ),
            )
        # The render function itself, not generate(): generate() rewrites the traceback of an
        # error while the render is still under the ceiling, which a MemoryError leaves full.
        chunks = cast(
            Generator[str, None, None],
            template.root_render_func(template.new_context(dict(context))),
        )
        out: list[str] = []
        total = 0
        for chunk in chunks:
            out.append(chunk)
            total += len(chunk)
            if total > cap:
                chunks.throw(late)
        if self.deck is not None:
            self.deck.output -= total
        return "".join(out)

    def line(self, error: BaseException) -> int:
        """The template's line `error` was raised at (1 when not known)."""
        where = 1
        traceback_ = error.__traceback__
        while traceback_ is not None and self.template is not None:
            owner: Any = traceback_.tb_frame.f_globals.get("__jinja_template__")
            if owner is self.template:
                where = owner.get_corresponding_lineno(traceback_.tb_lineno)
            traceback_ = traceback_.tb_next
        return where


_OUTPUT_CODE = Render.output.__code__


@contextmanager
def deck_budget() -> Iterator[None]:
    """Renders inside (one deck's, in this thread) share DECK_DEADLINE and DECK_OUTPUT: a deck
    of a thousand templates of 4.9 s and 999,999 characters each must stop too."""
    token = _DECK.set(_DeckBudget(time.thread_time() + DECK_DEADLINE, DECK_OUTPUT))
    try:
        yield
    finally:
        _DECK.reset(token)


@contextmanager
def guarded(path: Path, line: int, name: str) -> Iterator[Render]:
    """Run one render (template `name`, at deck `path:line`) within DEADLINE, MEMORY and OUTPUT."""
    now = time.thread_time()
    deck = _DECK.get()
    if deck is not None and deck.end < now + DEADLINE:
        limit = TemplateLimit(
            f"ran past {DECK_DEADLINE:g} s, with the deck's other templates",
            hint=f"the templates of one deck may take {DECK_DEADLINE:g} s together",
        )
        watch = _Watch(deck.end, _resident(), limit)
    else:
        limit = TemplateLimit(
            f"ran past {DEADLINE:g} s",
            hint=f"one render may take {DEADLINE:g} s: loop over fewer items",
        )
        watch = _Watch(now + DEADLINE, _resident(), limit)
    previous = sys.gettrace()
    render = Render(deck)
    try:
        with _ceiling():
            sys.settrace(watch)
            try:
                yield render
            finally:
                sys.settrace(previous)
    except TemplateLimit as error:
        where = line + render.line(error) - 1
        raise DeckError(path, where, f"template {error.message}", hint=error.hint) from None
    except MemoryError as error:
        where = line + render.line(error) - 1
        raise DeckError(
            path,
            where,
            "template needs more memory than one render may use",
            hint=f"one render may use {MEMORY // 2**20} MB more than livedeck holds",
        ) from None
    except Exception:
        if render.template is None:
            raise
        # Outside the ceiling and the trace now: errors point at the template's lines.
        render.template.environment.handle_exception()


def template_line(error: BaseException, name: str) -> int:
    """The line of template `name` an error was raised at (1 when no frame of it is known)."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename == name and frame.lineno is not None:
            return frame.lineno
    return 1


class _Watch:
    """The trace function: the thread's CPU time and the memory a render grew, looked at every
    _SAMPLE; past the memory the render stops there, past the deadline at its next line."""

    def __init__(self, deadline: float, resident: int | None, late: TemplateLimit) -> None:
        self.deadline = deadline  # the thread's CPU time (time.thread_time)
        self.resident = resident
        self.late = late
        self.past = False  # the deadline is past
        self.next_sample = 0.0
        self.depth = 0  # frames entered and not yet left
        self.deep = TemplateLimit(
            f"calls itself deeper than {DEPTH} calls",
            hint="a macro that calls itself needs a condition that ends it",
        )

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if frame.f_code is _OUTPUT_CODE:
            return None  # the time is checked in the template's frames: the error names a line
        if frame.f_globals.get("__name__") == _COSTS:
            return None  # counting sizes: loops over what exists already, checked on entry
        if event == "call":
            self.depth += 1
        elif event == "return":
            self.depth -= 1
        now = time.monotonic()
        if now > self.next_sample:  # thread_time is a system call: a look every _SAMPLE
            self.next_sample = now + _SAMPLE
            self.past = self.past or time.thread_time() > self.deadline
            if self.resident is not None and (_resident() or 0) - self.resident > MEMORY:
                raise MemoryError
        # At a line only: the template's generator is resumed (a call) and suspended (a return)
        # at every chunk of output, and an error raised at either leaves its frame out of the
        # traceback (the template's first line would be named). Nor past the render (its end,
        # in guarded): no line would be named.
        if (self.past or self.depth > DEPTH) and event == "line" and _under_template(frame):
            raise self.late if self.past else self.deep
        return self


def _under_template(frame: FrameType | None) -> bool:
    """Whether `frame` is a template's or was called from one (walked past the deadline only)."""
    while frame is not None:
        if "__jinja_template__" in frame.f_globals:
            return True
        frame = frame.f_back
    return False


@contextmanager
def _ceiling() -> Iterator[None]:
    if not _alone():
        yield
        return
    size = _address_space()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if size is None:
        yield
        return
    ceiling = size + MEMORY
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    if soft != resource.RLIM_INFINITY and soft <= ceiling:
        yield  # already tighter than ours
        return
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _alone() -> bool:
    """Whether the rendering thread is the process's only one (a ceiling then harms no other)."""
    return threading.active_count() == 1


def _statm(field: int) -> int | None:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[field]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None  # not Linux: the deadline and the estimates still hold


def _resident() -> int | None:
    return _statm(1)


def _address_space() -> int | None:
    return _statm(0)
