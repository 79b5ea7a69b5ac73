"""The processes of a process group, read from /proc (Linux): how the shutdown and orphan tests
see "every process of the hub" — grandchildren included, zombies not (nothing runs in them)."""
from __future__ import annotations

import os


def live_members(leader: int) -> list[int]:
    """The live (not zombie) processes of the process group ``leader`` leads."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == leader:
            found.append(int(entry))
    return found


def command_of(pid: int) -> bytes:
    """The process's command line (NUL-separated), or b"" once it is gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except OSError:
        return b""
