"""Running trusted tool processes (ruff, the interpreter probe) with a timeout that kills the process group."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcResult:
    """What a finished (or killed) tool process left behind."""

    returncode: int | None
    stdout: bytes
    stderr: bytes
    timed_out: bool
    duration_s: float


class ToolMissing(Exception):
    """The executable could not be started."""


def run_tool(
    argv: Sequence[str],
    *,
    timeout_s: float,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> ProcResult:
    """Run a static tool on text it reads from stdin; these tools never execute candidate code.

    The process gets its own session so that a timeout kills it and anything it started.
    """
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    except OSError as exc:
        raise ToolMissing(f"{argv[0]}: {exc.strerror or exc}") from exc
    try:
        out, err = proc.communicate(stdin, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        return ProcResult(None, out, err, True, time.perf_counter() - start)
    finally:
        if proc.poll() is None:
            kill_group(proc)
    return ProcResult(proc.returncode, out, err, False, time.perf_counter() - start)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill a process started with start_new_session=True together with its descendants."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    except PermissionError:
        proc.kill()
    proc.wait()
