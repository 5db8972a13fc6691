"""Which bash waits at the lab's terminal, and whether what runs there waits for input: read
from the lab's process table. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

# The table waiting_bash and waits_for_input read (wchan: where a sleeping process waits).
PS_ARGV = ("ps", "-eo", "pid=,ppid=,pgid=,tpgid=,stat=,wchan:40=,comm=")
# Two looks at that table 50 ms apart, in one side command (an exec costs the engine a process
# start): ps prints a control character in a name as `?`, so LOOKS_APART cannot come from a row.
LOOKS_APART = "\x1eLDLOOK\x1e"
TWO_LOOKS_ARGV = (
    "sh",
    "-c",
    f'{" ".join(PS_ARGV)} && printf "\\036LDLOOK\\036" && sleep 0.05 && {" ".join(PS_ARGV)}',
)
# Kernel functions a process sleeps in while it waits for something from outside: a read of its
# terminal (n_tty_read sleeps in wait_woken), poll/select/epoll on it, a Go runtime's idle
# threads, a wait for a signal. A process sleeping anywhere else (a timer as in `sleep`, a
# child it waits for, a disk) or running is busy: what it prints next is not typed at yet.
INPUT_WAITS = frozenset(
    {
        "wait_woken",
        "n_tty_read",
        "poll_schedule_timeout",
        "poll_schedule_timeout.constprop.0",
        "do_select",
        "do_sys_poll",
        "core_sys_select",
        "ep_poll",
        "do_epoll_wait",
        "futex_wait_queue",
        "futex_wait_queue_me",
        "futex_do_wait",
        "sigsuspend",
        "sys_pause",
        "do_sigtimedwait",
        "do_sigtimedwait.isra.0",
    }
)


@dataclass(frozen=True)
class Process:
    """A row of PS_ARGV's table."""

    pid: int
    ppid: int
    pgid: int  # its process group
    tpgid: int  # the foreground process group of its terminal
    command: str
    stat: str = "S"  # R running, S sleeping, D disk, T stopped, ...
    wchan: str | None = None  # the kernel function it sleeps in (None: not known)

    @property
    def foreground(self) -> bool:
        """It belongs to the foreground process group of a terminal."""
        return self.tpgid > 0 and self.pgid == self.tpgid

    @property
    def idle(self) -> bool:
        """It sleeps waiting for input (or a signal), not for time, a child or a disk."""
        return self.stat.startswith("S") and (self.wchan is None or self.wchan in INPUT_WAITS)


Table: TypeAlias = dict[int, Process]  # by pid


def one_look(status: int, output: str) -> Table:
    """The table of PS_ARGV's exit status and output ({}: it could not be read)."""
    return parse_ps(output) if status == 0 else {}


def two_looks(status: int, output: str) -> tuple[Table, Table]:
    """The two tables of TWO_LOOKS_ARGV's exit status and output ({}: could not be read)."""
    looks = output.split(LOOKS_APART)
    if status != 0 or len(looks) != 2:
        return {}, {}
    return parse_ps(looks[0]), parse_ps(looks[1])


def parse_ps(table: str) -> dict[int, Process]:
    """The processes of a PS_ARGV table, by pid (rows that do not parse are left out)."""
    found = {}
    for row in table.splitlines():
        parts = row.split(None, 6)
        if len(parts) < 5 or not all(p.lstrip("-").isdigit() for p in parts[:4]):
            continue
        pid, ppid, pgid, tpgid = (int(p) for p in parts[:4])
        if len(parts) == 7:
            found[pid] = Process(pid, ppid, pgid, tpgid, parts[6].strip(), parts[4], parts[5])
        else:  # pid, ppid, pgid, tpgid and comm only
            found[pid] = Process(pid, ppid, pgid, tpgid, row.split(None, 4)[4].strip())
    return found


def waits_for_input(processes: dict[int, Process], shell: int, containers: bool) -> bool:
    """Everything in the foreground of the deck's terminals sleeps waiting for input: the
    processes under `shell` (the lab's first bash) and, with `containers`, under the lab's
    container runtime (a container's shell or client has a terminal of its own). False when
    nothing is in the foreground, or something there runs, sleeps on a timer or waits for a
    child: then a prompt-like line on the screen is output, not a prompt."""
    children: dict[int, list[int]] = {}
    for process in processes.values():
        children.setdefault(process.ppid, []).append(process.pid)
    roots = [shell] if shell in processes else []
    if containers:
        roots += [p.pid for p in processes.values() if p.command.startswith("containerd-shim")]
    scope = list(roots)
    for pid in scope:
        scope.extend(children.get(pid, []))
    front = [processes[p] for p in scope if processes[p].foreground]
    return bool(front) and all(p.idle for p in front)


def waiting_bash(processes: dict[int, Process], shell: int) -> int | None:
    """The bash the terminal of `shell` (a hooked bash) now talks to, if it is a bash.

    That is the deepest bash under the terminal's foreground job: `shell` itself when it is
    idle (or `exec bash` replaced it), a `bash`, `newgrp` or `su -` shell started from it, or
    the one `sudo -i` runs under a terminal of its own. None when the foreground is another
    program (a container's client, a database client) or `shell` is gone.
    """
    if shell not in processes:
        return None
    foreground = processes[shell].tpgid
    children: dict[int, list[int]] = {}
    for process in processes.values():
        children.setdefault(process.ppid, []).append(process.pid)
    depth = {shell: 0}
    queue = [shell]
    for pid in queue:  # every process below the shell, with its depth
        for child in children.get(pid, []):
            depth[child] = depth[pid] + 1
            queue.append(child)
    front = sorted(
        (p for p in depth if processes[p].pgid == foreground), key=lambda p: p != foreground
    )
    if not front:
        return None
    below = [front[0]]
    for pid in below:
        below.extend(children.get(pid, []))
    shells = [p for p in below if processes[p].command == "bash"]
    if not shells:
        return None
    deepest = max(shells, key=lambda p: depth[p])
    # In the foreground between two commands of a loop, a bash runs: it waits only when idle.
    return deepest if processes[deepest].idle else None
