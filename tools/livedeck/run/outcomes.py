"""What goes wrong while a deck's command runs, as errors a course author can act on: typed
text that makes two command lines, a prompt that says the command goes elsewhere, a shell that
broke, a command that asked, hung or failed its expectations."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence, Set

from livedeck.deck import secrets
from livedeck.deck.expect import TAIL, check_command
from livedeck.errors import CommandFailed, DeckError
from livedeck.model import Command, Deck
from livedeck.run.session import (
    DriftError,
    EchoError,
    NotRunError,
    Outcome,
    Session,
    SessionError,
)
from livedeck.shellsyntax import command_lines

DRIFT_HINT = "typed text must make exactly one command line; look for a newline in it"


def one_command_line(deck: Deck, command: Command, typed: str) -> None:
    """Typed text must make one command line: one prompt, one screen."""
    if command.program is not None:
        return  # one line of a program's input, never read as bash
    lines = command_lines(typed)
    if len(lines) > 1:
        raise DeckError(
            deck.path,
            command.line,
            f"typed, this command is {len(lines)} command lines (the second:"
            f" {lines[1].splitlines()[0]!r}); each command of a deck has its own prompt"
            " and screen",
            hint="a template put a newline into the command: join its lines, or write the"
            " commands on separate prompt lines",
        )


def shown_prompt(
    session: Session, deck: Deck, command: Command, user: str, host: str
) -> str | None:
    """The prompt to show before the command, when it is not the one the deck has; an error
    when the deck's prompt says the command goes somewhere else than where it would."""
    if not command.prompt:  # a `run` block: the prompt bash's \u@\h:\w\$ shows
        sigil = "#" if user == "root" else "$"
        return session.in_program or f"{user}@{host}:{session.cwd}{sigil} "
    at = f"{command.user}@{command.host}" if command.host else repr(command.prompt.strip())
    program = session.in_program
    if program is not None:
        if (command.user, command.host) == (user, host):
            raise DeckError(
                deck.path,
                command.line,
                f"this line has the prompt of {at}, but a program still runs there: its"
                f" prompt is {program.strip()!r}",
                hint="leave the program first (e.g. `exit`), or write the line with the"
                " program's prompt",
            )
        return program
    if (command.user, command.host) != (user, host):
        raise DeckError(
            deck.path,
            command.line,
            f"this line has the prompt of {at}, but no program of that name runs: the"
            f" command would go to the shell of {user}@{host}",
            hint="start the program in an earlier line (e.g. `docker run -it ... bash`), or"
            " use the shell's prompt",
        )
    return _with_path(command, session.cwd)


def type_command(
    session: Session,
    deck: Deck,
    command: Command,
    text: str,
    limit: float,
    on_output: Callable[[bytes], None] | None = None,
    inputs: Sequence[tuple[str, bool]] = (),
    *,
    hidden: Set[str] = frozenset(),
    in_history: bool = True,
    secret_values: Iterable[str] = (),
    previous: Command | None = None,
) -> Outcome:
    """Type a command into the session; what goes wrong becomes an error naming its line."""
    shown = secrets.redact([text], secret_values)[0]  # for messages
    try:
        return session.type(text, limit, on_output, inputs, hidden=hidden, in_history=in_history)
    except EchoError as error:
        raise DeckError(
            deck.path,
            command.line,
            f"a secret of `input:` was not typed: {error}",
            hint="a secret is typed only at a prompt that hides what is typed (a password"
            " prompt); check that the command asks for it, and that `input:` lists the lines"
            " before it",
        ) from error
    except DriftError as error:
        culprit = previous if error.previous and previous is not None else command
        raise CommandFailed(
            deck.path,
            culprit.line,
            culprit.text,
            f"cannot tell which screen belongs to this command: {error}",
            hint=DRIFT_HINT,
        ) from error
    except NotRunError as error:
        raise CommandFailed(
            deck.path,
            command.line,
            shown,
            str(error),
            hint="a `!` starts a history expansion in bash, as on any terminal: quote it"
            " with '...' or write \\!; a quote left open makes bash ask for more",
        ) from error
    except SessionError as error:
        raise CommandFailed(
            deck.path,
            command.line,
            shown,
            f"the lab's shell broke while running this command: {error}",
            hint="the command may have ended the shell (exit, exec) or changed livedeck's"
            " hooks; run it in a program (bash, docker run -it) instead",
        ) from error


def check_outcome(
    deck: Deck, command: Command, outcome: Outcome, what: str, seconds: float
) -> None:
    """Raise the error a course author can act on when a command asked, hung or failed."""
    if outcome.asked is not None:
        asked = outcome.asked.strip()
        secret = _SECRET_QUESTION.search(asked)
        raise CommandFailed(
            deck.path,
            command.line,
            command.text,
            f"this {what} waits for input at {asked!r} and the deck types nothing there; it"
            " was stopped",
            outcome.lines[-TAIL:],
            hint="give what it asks with `<!-- livedeck: {input: [{secret: NAME}]} -->`"
            " before the block"
            if secret
            else "if it asks a question, answer it with `input:`; if it is the prompt of a"
            " program the next lines are typed into, declare it with"
            f" `<!-- livedeck: {{program: {{prompt: {_quoted(asked)}}}}} -->`",
        )
    if outcome.timed_out:
        raise CommandFailed(
            deck.path,
            command.line,
            command.text,
            f"{what} did not finish within {seconds:g} s and was interrupted",
            outcome.lines[-TAIL:],
            hint="a server left in the foreground never returns: add --detach; a command"
            " that waits for input needs `input:`; or raise the limit with"
            " `<!-- livedeck: {timeout: 300} -->` before the block or `livedeck.timeout`",
        )
    if outcome.status is None and command.expect.exit_given:
        raise DeckError(
            deck.path,
            command.expect.line,
            f"`exit:` cannot be checked for {command.text!r}: it went to a program"
            " (a container's shell, a client) whose commands have no exit status livedeck"
            " can see",
            hint="check the screen with `shows:` instead, or run the command in the lab's"
            " own shell",
        )
    check_command(deck, command, outcome.lines, outcome.status, what)


def _quoted(text: str) -> str:
    """`text` as a regular expression in a single-quoted YAML string."""
    escaped = re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", text)
    return "'" + escaped.replace("'", "''") + "'"


# A question whose answer is a secret: typed with `input: [{secret: NAME}]`.
_SECRET_QUESTION = re.compile(r"(?i)(?:pass(?:word|phrase)|token|secret|\bpin)\b[^:]*: ?$")


def _with_path(command: Command, cwd: str) -> str | None:
    """The deck's prompt with the directory the shell really is in, if it shows another."""
    start, end = command.path_span
    if start < 0 or command.prompt[start:end] == cwd:
        return None
    return command.prompt[:start] + cwd + command.prompt[end:]
