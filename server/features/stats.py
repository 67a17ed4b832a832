"""The gauntlet.stats command: read-only counts for soak tests and bug reports (jobs by state,
live tasks, threads, memory, engines, open files, child processes), and the /proc readers."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

from gauntlet.server.features.engines import EngineCache
from gauntlet.server.features.jobs import JobRegistry
from gauntlet.server.lsp import Feature, GauntletServer


class StatsCommand(Feature):
    """gauntlet.stats."""

    name = "stats"

    def __init__(self, server: GauntletServer, engines: EngineCache, jobs: JobRegistry) -> None:
        super().__init__(server)
        self.engines = engines
        self.jobs = jobs

    def register(self) -> None:
        self.server.on_command("gauntlet.stats", self.stats)

    def stats(self, *args: Any) -> dict[str, Any]:
        """Read-only counts: jobs by state, live asyncio tasks, threads, resident memory, children."""
        return {
            "jobs": self.jobs.counts(),
            "tasks": len(asyncio.all_tasks()),
            "threads": threading.active_count(),
            "threadNames": sorted(t.name for t in threading.enumerate()),
            "rssKiB": status_kib("VmRSS"),
            "peakRssKiB": status_kib("VmHWM"),
            "engines": len(self.engines.engines),
            "fds": open_fds(),
            "children": sorted(children(os.getpid())),
        }


def status_kib(field: str) -> int:
    """A memory figure (in KiB) from /proc/self/status; 0 where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def open_fds() -> int:
    """Open file descriptors of this process (0 where there is no /proc)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


def children(pid: int) -> list[int]:
    """The direct child processes of `pid`, from /proc (empty where there is no /proc)."""
    found: list[int] = []
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return found
    for entry in entries:
        try:
            # The command name may hold spaces and parentheses: the fields follow the last ")".
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry))
    return found
