"""The sweep's progress on stderr: a rich progress bar when stderr is a terminal, nothing otherwise.

The bar counts jobs (regions) done of the total, with the diagnostics fixed and left so far, the
tokens and cost spent by this run, an ETA, and what is going on now (findings, a batch's status).
It leaves the terminal when the sweep ends; the summary follows on stdout.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)


class SweepProgress:
    """Counts for the bar; a no-op when `enabled` is False (CI, pipes, --json into a file)."""

    def __init__(self, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        stream = stream or sys.stderr
        self.enabled = stream.isatty() if enabled is None else enabled
        self.fixed = 0
        self.left = 0
        self.tokens = 0
        self.cost = 0.0
        self.status = ""
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._stream = stream
        self._console: Console | None = None
        if self.enabled:
            self._console = Console(file=stream)
            self._progress = Progress(
                BarColumn(bar_width=16),
                MofNCompleteColumn(),
                TextColumn(
                    "jobs [green]{task.fields[fixed]} fixed[/] [red]{task.fields[left]} left[/]"
                ),
                TextColumn("{task.fields[tokens]} tok ${task.fields[cost]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                console=self._console,
                transient=True,
            )

    def __enter__(self) -> SweepProgress:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task(
                "sweep", total=None, fixed=0, left=0, tokens=0, cost="0.0000", status=""
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Take the bar off the terminal (before the summary is printed); idempotent."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def note(self, line: str) -> None:
        """A line on stderr, above the bar while it shows."""
        if self._progress is not None and self._console is not None:
            self._console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            self._stream.write(line + "\n")
            self._stream.flush()

    def total(self, jobs: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=jobs)

    def say(self, status: str) -> None:
        self.status = status
        self._refresh()

    def spent(self, tokens: int, cost: float) -> None:
        self.tokens += tokens
        self.cost += cost
        self._refresh()

    def done(self, jobs: int, fixed: int, left: int) -> None:
        self.fixed += fixed
        self.left += left
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, jobs)
        self._refresh()

    def _refresh(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task,
                fixed=self.fixed,
                left=self.left,
                tokens=self.tokens,
                cost=f"{self.cost:.4f}",
                status=self.status[:60],
            )


__all__ = ["SweepProgress"]
