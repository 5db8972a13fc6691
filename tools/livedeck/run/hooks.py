"""What livedeck types into each bash it hooks, and how it reads what bash prints around a line.

The bash side of run/session.py: the hook line (markers, PROMPT_COMMAND), and the byte patterns
of readline and of the markers that tell typed text, bash's own words and output apart.
"""

from __future__ import annotations

import re

MARKER = re.compile(rb"\x1b\]777;ld;([0-9a-f]{16});([sep])(?:;([^\x07]*))?\x07")
MARKER_PREFIX = b"\x1b]777;ld;"  # every marker livedeck's hooks print starts so

# Typed into each bash as one line (then taken out of its history). Everything it sets is
# livedeck's own (__ld_*), except bracketed paste (on, whatever an inputrc says: commands are
# typed as pastes) and the prompt strings: PS1 is livedeck's 'p' marker only until the
# deck sets its own. The end marker comes from PROMPT_COMMAND's first element, written so that
# nothing of it shows on a screen:
# - It is an `if` whose condition is a function definition with redirections: no simple command
#   runs at the top level, so `set -x` traces nothing and a DEBUG trap does not fire. The marker
#   is printed while the last redirection's word is expanded, by a command substitution (a
#   subshell: DEBUG traps are not inherited, its own trace goes to /dev/null), to /dev/tty
#   (`exec > file` does not take it away), with `$?` still the command's.
# - The word names a file that does not exist, so the `if` ends there. It names /dev/null, and
#   __ld_fix runs (visibly, after the marker), only when a deck put something before livedeck's
#   element (`PROMPT_COMMAND="x; $PROMPT_COMMAND"`: it is put first again) and after a hidden
#   command (typed behind HIDE: it is taken out of the history).
# - `${__ld_u[__ld_q+=1]-}` counts the command (an expansion, not a command).
END = (
    'if { __ld_z() { :; }; } 2>/dev/null 3<"$( { s=$? f=; '
    '[[ ${PS0-} == "$__ld_ps0" ]] || f=0; '
    '[[ ${PROMPT_COMMAND[0]-} == "$__ld_pc" ]] || f+=c; '
    "[[ :${SHELLOPTS-}: == *:emacs:* || :${SHELLOPTS-}: == *:vi:* ]] && f+=r; "
    r"u=\\u h=\\h; "
    r'\builtin printf "\033]777;ld;%s;e;%s;%s;%s\037%s\037%s\037%s\037%s\037%s\007" '
    '"$__ld_n" "$__ld_q" "$s" "$f" "$PWD" "${HOME-}" "${u@P}" "${h@P}" "$$" >/dev/tty; '
    "[[ $f == *c* || -n ${__ld_hide-} ]] && \\builtin echo /dev/null || \\builtin echo /dev/null/x;"
    " } 2>/dev/null )"
    '${__ld_u[__ld_q+=1]-}"; then __ld_fix; fi'
)
HOOKS = (
    "stty echo 2>/dev/null; bind 'set enable-bracketed-paste on' 2>/dev/null; "
    "__ld_n=NONCE; __ld_q=0; "
    r"__ld_ps0='\e]777;ld;NONCE;s;${__ld_q}\a'; PS0=$__ld_ps0; "
    r"PS1='\[\e]777;ld;NONCE;p\a\]'; "
    f"__ld_pc='{END}'; "
    '__ld_fix() { [[ ${PROMPT_COMMAND[0]-} == "$__ld_pc" ]] || '
    'PROMPT_COMMAND=("$__ld_pc" "${PROMPT_COMMAND[@]//"$__ld_pc"/}"); '
    "[[ -n ${__ld_hide-} && $(history 1 2>/dev/null) == *__ld_hide=1\\;* ]] && "
    "history -d -1 2>/dev/null; unset __ld_hide; }; "
    'PROMPT_COMMAND=("$__ld_pc"); '
    "[[ $(history 1 2>/dev/null) == *__ld_n=NONCE\\;* ]] && history -d -1 2>/dev/null; :"
)
VERBOSE = END.encode() + b"\r\n"  # what `set -v` prints of livedeck's PROMPT_COMMAND
HIDE = "__ld_hide=1"  # before a hidden command: the hook takes the command out of the history
# How readline shows it reads a line (bracketed paste on), and that it is done with it.
READLINE_STARTS = b"\x1b[?2004h"
READLINE_ENDS = b"\x1b[?2004l"
PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"
CANONICAL_LINE = 4095  # bytes a terminal in canonical mode keeps of one line (the kernel's limit)
READLINE_SECONDS = 5.0  # a shell whose readline is on shows it reads within this time


def drop_markers(data: bytes) -> bytes:
    """`data` without livedeck's markers."""
    return MARKER.sub(b"", data)


def held(buffer: bytes) -> int:
    """Where a tail of `buffer` starts that may be the start of a marker, or of `set -v`'s
    echo of livedeck's PROMPT_COMMAND and the marker after it; len(buffer) if none does."""
    cut = len(buffer)
    esc = buffer.rfind(b"\x1b")
    tail = buffer[esc:] if esc >= 0 else b""
    if tail and (MARKER_PREFIX.startswith(tail) or tail.startswith(MARKER_PREFIX)):
        cut = esc
    echo = VERBOSE + MARKER_PREFIX
    start = buffer.rfind(echo[:12])
    if start < 0:  # the echo's first bytes at the very end (3 at least: "if " ends few outputs)
        start = next((len(buffer) - k for k in range(11, 2, -1) if buffer.endswith(echo[:k])), -1)
    if start >= 0 and (echo.startswith(buffer[start:]) or buffer[start:].startswith(echo)):
        cut = min(cut, start)
    return cut


def reads_again(before: bytes | bytearray) -> bool:
    """Did readline start reading another line after it was done with the typed one?"""
    ended = before.rfind(READLINE_ENDS)
    return ended >= 0 and before.find(READLINE_STARTS, ended) >= 0


def bash_said(before: bytes, typed: str, *, editing: bool) -> bytes:
    """What bash printed itself between the echo of a typed line and running it: a syntax
    error, `event not found`, the line a history expansion made."""
    if editing:
        _, found, said = before.rpartition(READLINE_ENDS)
        said = said.partition(READLINE_STARTS)[0]  # readline reads the next line from there
        return drop_markers(said.removeprefix(b"\r")) if found else b""
    echo = typed.encode().replace(b"\n", b"\r\n") + b"\r\n"  # the terminal's own
    return drop_markers(before).removeprefix(echo)


def hook_line(nonce: str) -> str:
    """The line that hooks a bash, with its nonce."""
    return HOOKS.replace("NONCE", nonce)
