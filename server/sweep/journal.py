"""The sweep's journal: one JSON object a line, appended and fsynced as each piece of work ends.

A sweep writes a record when something that cost tokens or time is finished:

- ``{"type": "job", "id": ..., ...}``: a region job's replies are in (the model's tokens are spent);
- ``{"type": "batch", "id": ..., "jobs": [...]}``: a batch was created at the provider (before any
  result: a resumed sweep polls that batch instead of paying for a second one); a later
  ``{"type": "batch", "id": ..., "status": "completed", "end": true}`` says it is over;
- ``{"type": "file", "key": ..., "result": {...}}``: a file's jobs were graded and combined.

Each line is written whole with one ``write`` and fsynced before the sweep goes on, so a sweep
killed at any moment leaves every earlier record readable; a line cut by the kill (the last one) is
skipped when the journal is read again. The journal is never rewritten: a resumed sweep appends.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

JOURNAL_NAME = "journal.jsonl"
VERSION = 1


class Journal:
    """Append-only JSON lines under ``out``; what earlier runs recorded is in ``jobs``,
    ``files`` (the last record of each id wins) and ``batches`` (each batch's records merged, later
    fields over earlier ones)."""

    def __init__(self, out: Path, *, write: bool = True) -> None:
        """Read the journal under `out`; with `write`, open it for appending (made if missing)."""
        self.path = out / JOURNAL_NAME
        self.jobs: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.torn = 0
        """Lines that could not be read (a write cut by a kill)."""
        self._lock = threading.Lock()
        self._load()
        self._fd = -1
        if not write:
            return
        out.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if self.torn:
            # A line cut by a kill has no newline: start the next record on a line of its own.
            os.write(self._fd, b"\n")

    def _load(self) -> None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                self.torn += 1
                continue
            if not isinstance(record, dict):
                self.torn += 1
                continue
            self._index(record)

    def _index(self, record: dict[str, Any]) -> None:
        kind = record.get("type")
        if kind == "job" and isinstance(record.get("id"), str):
            self.jobs[record["id"]] = record
        elif kind == "file" and isinstance(record.get("key"), str):
            self.files[record["key"]] = record
        elif kind == "batch" and isinstance(record.get("id"), str):
            self.batches[record["id"]] = {**self.batches.get(record["id"], {}), **record}

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and make it durable before returning."""
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            if self._fd < 0:
                raise ValueError(f"{self.path} is not open for writing")
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
            self._index(record)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


__all__ = ["JOURNAL_NAME", "VERSION", "Journal"]
