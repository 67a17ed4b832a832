"""The only way gauntlet runs candidate code: bubblewrap isolation, limits, tree kill, capped output."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from gauntlet.graders import sandbox_bwrap as bw
from gauntlet.graders.sandbox_fs import (
    check_overlays,
    clear_dir,
    open_dir,
    read_regular,
    remove_tree,
    split_relpath,
    write_file,
)
from gauntlet.graders.sandbox_run import (
    SETUP_TIMEOUT_S,
    Limits,
    SandboxError,
    SandboxResult,
    run_bwrap,
    run_plain,
)
from gauntlet.graders.tools import HOST_TOOLS, Tools, ToolUnavailable

__all__ = [
    "Limits",
    "Sandbox",
    "SandboxError",
    "SandboxJob",
    "SandboxJobLike",
    "SandboxLike",
    "SandboxResult",
    "SandboxUnavailable",
    "describe",
]

log = logging.getLogger(__name__)

_DEFAULT_LIMITS = Limits()


class SandboxUnavailable(RuntimeError):
    """Isolation was required but bubblewrap cannot be used here."""


def interpreter_paths() -> list[str]:
    """The interpreter gauntlet runs in: always readable by sandboxed code."""
    cands = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *sys.path]
    return [p for p in cands if p and os.path.isdir(p)]


class SandboxJobLike(Protocol):
    """What the test runners use of a job (`SandboxJob` is the one gauntlet makes)."""

    @property
    def root(self) -> Path:
        """Where the project is visible to the code (the default cwd)."""
        ...

    @property
    def extras_dir(self) -> Path:
        """Holds the job's `extras` files; read-only to the code."""
        ...

    @property
    def out_dir(self) -> Path:
        """Writable by the code, emptied at the start of every run."""
        ...

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] = ...,
        stdin: bytes | None = ...,
        limits: Limits | None = ...,
        cwd: Path | None = ...,
        on_stdout: Callable[[bytes], None] | None = ...,
    ) -> SandboxResult: ...

    def kill(self) -> None: ...

    def add_extra(self, name: str, data: str | bytes) -> None: ...

    def read_out(self, name: str, max_bytes: int = ...) -> bytes | None: ...


class SandboxLike(Protocol):
    """What the engine, the test runners and the server use of a sandbox: jobs to run code in, and
    whether (and why not) they are isolated. `Sandbox` is the one gauntlet makes; a caller (a test)
    may pass any object of this shape to `Engine(sandbox=...)`, `run_pytest`, `WarmPool`..."""

    @property
    def isolated(self) -> bool: ...

    @property
    def reason(self) -> str:
        """Why runs are not isolated; "" when they are."""
        ...

    @property
    def description(self) -> str:
        """One line for `gauntlet doctor`."""
        ...

    def job(
        self,
        root: Path,
        *,
        overlays: Mapping[str, str | bytes] = ...,
        extras: Mapping[str, str | bytes] = ...,
    ) -> AbstractContextManager[SandboxJobLike]:
        """Fresh private dirs for runs over a read-only view of root with overlays applied."""
        ...


class Sandbox:
    """Runs untrusted code under bubblewrap when it works here, else with rlimits only."""

    def __init__(
        self,
        *,
        read_only: Sequence[Path] = (),
        limits: Limits = _DEFAULT_LIMITS,
        require_isolation: bool = False,
        tools: Tools = HOST_TOOLS,
    ) -> None:
        """`tools` says where bubblewrap and its helpers are (or why they are not: then runs
        are not isolated)."""
        self.limits = limits
        self._ro_paths = bw.dedupe_paths([*map(str, read_only), *interpreter_paths()])
        self._tools: bw.BwrapTools | None = None
        found: bw.BwrapTools | str
        try:
            found = tools.bwrap()
        except ToolUnavailable as exc:
            found = str(exc) or "bubblewrap is unavailable"
        self._reason = found if isinstance(found, str) else self._probe(found)
        if isinstance(found, bw.BwrapTools) and not self._reason:
            self._tools = found
            mode = "code as a pooled non-root host uid" if found.as_root else "code as our uid"
            self._description = (
                f"{found.version}: isolated (user+pid+net+ipc+uts+cgroup namespaces, {mode}, "
                "cap-drop ALL, seccomp: no nested userns, rlimits cpu/as/fsize/nproc, "
                "size-capped tmpfs /tmp /dev/shm out)"
            )
        else:
            self._description = f"not isolated: {self._reason}"
            if require_isolation:
                raise SandboxUnavailable(self._reason)
            log.warning("sandbox not isolated: %s", self._reason)

    def _probe(self, tools: bw.BwrapTools) -> str:
        """Run `echo ok` through the full bwrap path; return why it failed, "" on success."""
        self._tools = tools
        try:
            with tempfile.TemporaryDirectory(prefix="gauntlet-probe-") as d, self.job(Path(d)) as j:
                res = j.run([tools.sh, "-c", "echo ok"], limits=Limits(timeout_s=SETUP_TIMEOUT_S))
        except (OSError, SandboxError, RuntimeError) as exc:
            return f"bwrap probe failed: {exc}"
        finally:
            self._tools = None
        if res.returncode != 0 or res.stdout != b"ok\n":
            tail = res.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            return f"bwrap probe failed (rc={res.returncode}): {tail[0]}"
        return ""

    @property
    def isolated(self) -> bool:
        """True when runs go through bubblewrap (probed once, at construction)."""
        return self._tools is not None

    @property
    def reason(self) -> str:
        """Why the sandbox is not isolated; "" when it is."""
        return self._reason

    @property
    def description(self) -> str:
        """One line for `gauntlet doctor`."""
        return self._description

    @contextlib.contextmanager
    def job(
        self,
        root: Path,
        *,
        overlays: Mapping[str, str | bytes] = {},
        extras: Mapping[str, str | bytes] = {},
    ) -> Iterator[SandboxJob]:
        """Fresh private dirs for runs over a read-only view of root with overlays applied.

        overlays: {path relative to root: content} replacing or adding project files.
        extras: {relative path: content} placed in job.extras_dir, read-only to the code.
        """
        root_s = os.path.realpath(root)
        if root_s == "/" or not os.path.isdir(root_s):
            raise ValueError(f"root must be a directory other than /: {root}")
        over = {split_relpath(k): v for k, v in overlays.items()}
        extra = {split_relpath(k): v for k, v in extras.items()}
        plan = check_overlays(root_s, over)
        jobdir = tempfile.mkdtemp(prefix="gauntlet-job-")
        try:
            yield SandboxJob(
                self._tools, self._ro_paths, self.limits, jobdir, root_s, plan, over, extra
            )
        finally:
            remove_tree(jobdir)


class SandboxJob:
    """One project view; run() may be called several times (runs of one job are serialised)."""

    def __init__(
        self,
        tools: bw.BwrapTools | None,
        ro_paths: list[str],
        limits: Limits,
        jobdir: str,
        root: str,
        plan: dict[tuple[str, ...], int],
        overlays: Mapping[tuple[str, ...], str | bytes],
        extras: Mapping[tuple[str, ...], str | bytes],
    ) -> None:
        self._tools = tools
        self._limits = limits
        self._jobdir = jobdir
        self._snapshot = root
        self._overlays = overlays
        self._extras = extras
        self._lock = threading.Lock()
        self._runs = 0
        self._pgid: int | None = None
        self._killed = False
        self._kill_lock = threading.Lock()
        self.extras_dir = Path(jobdir, "extras")
        """Holds the `extras` files; read-only to the code."""
        self.out_dir = Path(jobdir, "out")
        """Writable by the code, size-bounded, emptied at the start of every run."""
        os.mkdir(self.out_dir, 0o700)
        self._write_extras()
        self._mounts: bw.MountSpec | None = None
        if tools is not None:
            self.root = Path(root)
            """Where the project is visible to the code (the default cwd)."""
            self._mounts = bw.plan_mounts(ro_paths, jobdir, root, plan, overlays)
        else:
            self.root = Path(jobdir, "root")
            self._copy_root()

    def _write_extras(self) -> None:
        remove_tree(str(self.extras_dir))
        os.mkdir(self.extras_dir, 0o755)
        os.chmod(self.extras_dir, 0o755)  # the code runs as another uid: it must be able to read
        with open_dir(self.extras_dir) as fd:
            for parts, data in self._extras.items():
                write_file(fd, parts, data)

    def _copy_root(self) -> None:
        remove_tree(str(self.root))
        shutil.copytree(self._snapshot, self.root, symlinks=True)
        with open_dir(self.root) as fd:
            for parts, data in self._overlays.items():
                orig = os.path.join(self._snapshot, *parts)
                avoid = os.lstat(orig).st_mtime_ns if os.path.lexists(orig) else None
                write_file(fd, parts, data, avoid)

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] = {},
        stdin: bytes | None = None,
        limits: Limits | None = None,
        cwd: Path | None = None,
        on_stdout: Callable[[bytes], None] | None = None,
    ) -> SandboxResult:
        """Run argv in the sandbox; returns only once the whole process tree is dead.

        `on_stdout` sees the captured stdout as it grows (the first 4 KiB), while the code runs."""
        if not argv or not all(isinstance(a, str) and "\0" not in a for a in argv):
            raise ValueError("argv must be a non-empty sequence of strings")
        lim = limits or self._limits
        workdir = str(cwd) if cwd is not None else str(self.root)
        with self._lock:
            # Fresh state per run: nothing the code left behind is seen by the next run.
            clear_dir(str(self.out_dir))
            if self._killed:
                return self._killed_result()
            try:
                if self._tools is not None and self._mounts is not None:
                    return run_bwrap(
                        self._tools,
                        self._mounts,
                        argv,
                        env,
                        stdin,
                        lim,
                        workdir,
                        on_stdout,
                        self._started,
                    )
                if self._runs:
                    self._copy_root()
                    self._write_extras()
                self._runs += 1
                scratch = os.path.join(self._jobdir, "scratch")
                remove_tree(scratch)
                os.mkdir(scratch, 0o700)
                return run_plain(argv, env, stdin, lim, workdir, scratch, on_stdout, self._started)
            except SandboxError:
                if self._killed:  # killed while the sandbox was starting
                    return self._killed_result()
                raise
            finally:
                with self._kill_lock:
                    self._pgid = None

    def _killed_result(self) -> SandboxResult:
        return SandboxResult(
            None,
            b"",
            b"gauntlet: the run was stopped\n",
            False,
            False,
            0.0,
            self._tools is not None,
            "killed",
        )

    def _started(self, pgid: int) -> None:
        with self._kill_lock:
            self._pgid = pgid
            if self._killed:
                _killpg(pgid)

    def kill(self) -> None:
        """End the job's run now (its whole process tree), and any run it starts from now on:
        for work nobody waits for any more (a cancelled job, a runner at shutdown). The run
        returns as if it was killed; its files go with the job as usual."""
        with self._kill_lock:
            self._killed = True
            if self._pgid is not None:
                _killpg(self._pgid)

    def add_extra(self, name: str, data: str | bytes) -> None:
        """Publish one more read-only file to code that is already running (e.g. a warm test runner
        waiting for its candidate): written under a temporary name, then renamed into place."""
        parts = split_relpath(name)
        if len(parts) != 1:
            raise ValueError("add_extra takes a plain file name")
        with open_dir(self.extras_dir) as fd:
            write_file(fd, (f".{name}.tmp",), data)
            os.rename(f".{name}.tmp", name, src_dir_fd=fd, dst_dir_fd=fd)

    def read_out(self, name: str, max_bytes: int = 8 * 1024**2) -> bytes | None:
        """Up to max_bytes of out_dir/name if it is a regular file reached without symlinks."""
        parts = split_relpath(name)
        with open_dir(self.out_dir) as fd:
            return read_regular(fd, parts, max_bytes)


def _killpg(pgid: int) -> None:
    # The launcher leads its own session: in bwrap's case its PID namespace (and everything in
    # it) dies with it; otherwise the run's own clean-up kills what left the group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def describe() -> str:
    """One line for `gauntlet doctor`."""
    return Sandbox().description
