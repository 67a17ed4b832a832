"""Running candidate code: a fresh scratch tree per job, limits, and a process-tree kill (minimal)."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 60.0
    cpu_s: int = 60
    memory_bytes: int = 2 * 1024**3
    file_size_bytes: int = 64 * 1024**2
    output_bytes: int = 2 * 1024**2
    tmp_bytes: int = 64 * 1024**2
    pids: int = 128


@dataclass(frozen=True)
class SandboxResult:
    returncode: int | None
    stdout: bytes
    stderr: bytes
    timed_out: bool
    output_truncated: bool
    duration_s: float
    isolated: bool
    killed_reason: str | None


class Sandbox:
    def __init__(
        self,
        *,
        read_only: Sequence[Path] = (),
        limits: Limits = Limits(),
        require_isolation: bool = False,
    ) -> None:
        self.limits = limits

    @property
    def isolated(self) -> bool:
        return False

    @property
    def reason(self) -> str:
        return "minimal sandbox"

    @contextmanager
    def job(
        self,
        root: Path,
        *,
        overlays: Mapping[str, str | bytes] = {},
        extras: Mapping[str, str | bytes] = {},
    ) -> Iterator[SandboxJob]:
        tmp = Path(tempfile.mkdtemp(prefix="gauntlet-job-"))
        try:
            proj = tmp / "project"
            shutil.copytree(root, proj, symlinks=True)
            for rel, data in overlays.items():
                (proj / rel).parent.mkdir(parents=True, exist_ok=True)
                (proj / rel).write_bytes(data.encode() if isinstance(data, str) else data)
            ex = tmp / "extras"
            ex.mkdir()
            for rel, data in extras.items():
                (ex / rel).write_bytes(data.encode() if isinstance(data, str) else data)
            out = tmp / "out"
            out.mkdir()
            yield SandboxJob(proj, ex, out, self.limits)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class SandboxJob:
    def __init__(self, root: Path, extras_dir: Path, out_dir: Path, limits: Limits) -> None:
        self.root, self.extras_dir, self.out_dir, self.limits = root, extras_dir, out_dir, limits

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] = {},
        stdin: bytes | None = None,
        limits: Limits | None = None,
        cwd: Path | None = None,
    ) -> SandboxResult:
        lim = limits or self.limits
        full_env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.out_dir),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        full_env.update(env)

        def pre() -> None:
            resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_s, lim.cpu_s))
            resource.setrlimit(resource.RLIMIT_AS, (lim.memory_bytes, lim.memory_bytes))

        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd or self.root,
            env=full_env,
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=pre,
        )
        timed_out = False
        try:
            out, err = proc.communicate(stdin, timeout=lim.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, 9)
            out, err = proc.communicate()
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        return SandboxResult(
            None if timed_out else proc.returncode,
            out[: lim.output_bytes],
            err[: lim.output_bytes],
            timed_out,
            len(out) > lim.output_bytes,
            time.perf_counter() - t0,
            False,
            "timeout" if timed_out else None,
        )

    def read_out(self, name: str, max_bytes: int = 8 * 1024**2) -> bytes | None:
        try:
            fd = os.open(self.out_dir / name, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            return fh.read(max_bytes)
