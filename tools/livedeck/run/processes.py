"""Which bash waits at the lab's terminal: read from its process table. Pure."""

from __future__ import annotations

from dataclasses import dataclass

PS_ARGV = ("ps", "-eo", "pid=,ppid=,pgid=,tpgid=,comm=")  # the table waiting_bash reads


@dataclass(frozen=True)
class Process:
    """A row of `ps -eo pid,ppid,pgid,tpgid,comm`."""

    pid: int
    ppid: int
    pgid: int  # its process group
    tpgid: int  # the foreground process group of its terminal
    command: str


def parse_ps(table: str) -> dict[int, Process]:
    """The processes of a PS_ARGV table, by pid (rows that do not parse are left out)."""
    found = {}
    for row in table.splitlines():
        parts = row.split(None, 4)
        if len(parts) == 5 and all(p.lstrip("-").isdigit() for p in parts[:4]):
            pid, ppid, pgid, tpgid = (int(p) for p in parts[:4])
            found[pid] = Process(pid, ppid, pgid, tpgid, parts[4].strip())
    return found


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
    return max(shells, key=lambda p: depth[p]) if shells else None
