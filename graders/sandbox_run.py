"""One sandboxed run: limits and result records, the bwrap and unisolated runners, tree kill."""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from gauntlet.graders import sandbox_bwrap as bw
from gauntlet.graders.sandbox_fs import CopyBudget, copy_out, open_dir, walk_dirs
from gauntlet.graders.sandbox_pump import Pump
from gauntlet.graders.sandbox_seccomp import seccomp_program

log = logging.getLogger(__name__)

SETUP_TIMEOUT_S = 30.0
_DRAIN_AFTER_KILL_S = 5.0


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the code it ran)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run."""

    timeout_s: float = 60.0
    """Wall clock; on expiry the whole process tree is killed."""
    cpu_s: int = 60
    """RLIMIT_CPU per process (SIGXCPU at the limit, SIGKILL a second later)."""
    memory_bytes: int = 2 * 1024**3
    """RLIMIT_AS per process."""
    file_size_bytes: int = 64 * 1024**2
    """RLIMIT_FSIZE."""
    output_bytes: int = 2 * 1024**2
    """stdout and stderr are each captured up to this; the rest is drained and dropped."""
    tmp_bytes: int = 64 * 1024**2
    """Size of each tmpfs: /tmp, /dev/shm and the out dir (isolated runs only)."""
    pids: int = 128
    """RLIMIT_NPROC for the code (tasks, threads included)."""


@dataclass(frozen=True)
class SandboxResult:
    """What one run produced."""

    returncode: int | None
    """Exit status (128+N for signal N); None when the sandbox killed it or lost its status."""
    stdout: bytes
    stderr: bytes
    timed_out: bool
    output_truncated: bool
    """True when stdout or stderr went past Limits.output_bytes."""
    duration_s: float
    isolated: bool
    """True when the code ran under bubblewrap."""
    killed_reason: str | None
    """"timeout", "cpu", "file_size", "memory", "killed", "signal N" or "launcher_killed"."""


def child_env(extra: Mapping[str, str], home: str, tmp: str) -> dict[str, str]:
    """The code's environment, built from scratch: the parent's holds API keys."""
    env = {
        "PATH": bw.SYSTEM_PATH,
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }
    for key, value in extra.items():
        if not key or "=" in key or "\0" in key or "\0" in value:
            raise ValueError(f"bad environment entry: {key!r}")
        env[key] = value
    return env


def run_bwrap(
    tools: bw.BwrapTools,
    mounts: bw.MountSpec,
    argv: Sequence[str],
    env: Mapping[str, str],
    stdin: bytes | None,
    lim: Limits,
    cwd: str,
    on_stdout: Callable[[bytes], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> SandboxResult:
    """Run under bubblewrap; the out tmpfs is copied to mounts.out before the namespace dies.

    `on_start` gets the process group of the launcher as soon as it runs (see SandboxJob.kill)."""
    host_uid = bw.UID_POOL.acquire() if tools.as_root else None
    info_r, info_w = os.pipe()
    block_r, block_w = os.pipe()
    sec_r, sec_w = os.pipe()
    status_r, status_w = os.pipe()
    go_r, go_w = os.pipe()
    prog = seccomp_program()
    assert prog is not None and len(prog) < 4096  # fits the pipe buffer: no writer thread
    os.write(sec_w, prog)
    os.close(sec_w)
    fds = bw.Fds(info_w, block_r, sec_r, status_w, go_r)
    cmd = bw.command(tools, bw.mount_args(mounts, lim.tmp_bytes), fds, cwd=cwd, argv=argv, lim=lim)
    start = time.monotonic()
    deadline = start + lim.timeout_s
    to_close = [info_r, block_w, status_r, go_w]
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(env, "/tmp/home", "/tmp"),  # bwrap's PID 1 keeps this one: scrubbed
            pass_fds=(info_w, block_r, sec_r, status_w, go_r),
            start_new_session=True,
        )
    except BaseException:
        for fd in to_close:
            os.close(fd)
        if host_uid is not None:
            bw.UID_POOL.release(host_uid)
        raise
    finally:
        for fd in (info_w, block_r, sec_r, status_w, go_r):
            os.close(fd)
    if on_start is not None:
        on_start(proc.pid)
    pump = Pump(proc, stdin, lim.output_bytes, on_stdout)
    child_pidfd = -1
    rc: int | None = None
    launcher_died = timed_out = False
    try:
        info = bw.read_info(info_r, min(deadline, start + SETUP_TIMEOUT_S))
        child = info.get("child-pid") if info else None
        if not isinstance(child, int):
            pump.drain(time.monotonic() + _DRAIN_AFTER_KILL_S)
            err = bytes(pump.err).decode(errors="replace").strip()
            raise SandboxError(f"bwrap did not start: {err or 'no output'}")
        try:
            child_pidfd = os.pidfd_open(child)  # signalling by pidfd cannot hit a recycled pid
            bw.write_id_maps(child, host_uid)
            os.write(block_w, b"1")
            proc_pidfd = os.pidfd_open(proc.pid)
        except OSError as exc:
            raise SandboxError(f"bwrap setup failed: {exc}") from exc
        to_close.append(proc_pidfd)
        status = b""
        while True:
            ready = pump.until([status_r, proc_pidfd], deadline)
            if ready is None:
                timed_out = time.monotonic() >= deadline
                break
            chunk = os.read(status_r, 64) if ready == status_r else b""
            status += chunk
            if not chunk or b"\n" in status or len(status) > 32:
                break
        with contextlib.suppress(ValueError):
            rc = int(status.split(b"\n")[0])
        launcher_died = rc is None and not timed_out
        if rc is not None:
            _copy_out_of(child, mounts.out, lim.tmp_bytes)
    finally:
        if child_pidfd >= 0:
            # PID 1 of the namespace: its death kills every process inside, setsid'd or not.
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(child_pidfd, signal.SIGKILL)
            os.close(child_pidfd)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        pump.drain(time.monotonic() + _DRAIN_AFTER_KILL_S)
        pump.close()
        reaped = _reap(proc)
        for fd in to_close:
            os.close(fd)
        # bwrap exits only after PID 1, which waits for the whole namespace: the uid is free.
        if host_uid is not None and reaped:
            bw.UID_POOL.release(host_uid)
    if launcher_died and pump.err.startswith(b"bwrap: "):
        # bwrap's own setup failed (e.g. a cwd outside the sandbox): no code ran.
        raise SandboxError(bytes(pump.err).decode(errors="replace").splitlines()[0])
    killed = "timeout" if timed_out else reason_for(rc, bytes(pump.err))
    return SandboxResult(
        returncode=rc,
        stdout=bytes(pump.out),
        stderr=bytes(pump.err),
        timed_out=timed_out,
        output_truncated=pump.truncated,
        duration_s=time.monotonic() - start,
        isolated=True,
        killed_reason="launcher_killed" if launcher_died else killed,
    )


def run_plain(
    argv: Sequence[str],
    env: Mapping[str, str],
    stdin: bytes | None,
    lim: Limits,
    cwd: str,
    scratch: str,
    on_stdout: Callable[[bytes], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> SandboxResult:
    """Unisolated fallback: rlimits, a new session, and a kill of the group and marked strays."""
    home, tmp = os.path.join(scratch, "home"), os.path.join(scratch, "tmp")
    for d in (home, tmp):
        os.makedirs(d, 0o700, exist_ok=True)
    marker = uuid.uuid4().hex
    cenv = child_env(env, home, tmp)
    # Lets us find children that left the process group with setsid (best effort).
    cenv["GAUNTLET_SANDBOX_RUN"] = marker
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cenv,
            start_new_session=True,
            # Only setrlimit runs between fork and exec; no locks are taken there.
            preexec_fn=_rlimits(lim),
        )
    except OSError as exc:
        if exc.filename == cwd or not isinstance(exc, FileNotFoundError | PermissionError):
            raise SandboxError(f"cannot start {argv[0]}: {exc}") from exc
        # Same status a shell gives, as in isolated runs: the command, not the sandbox, failed.
        status = 127 if isinstance(exc, FileNotFoundError) else 126
        return SandboxResult(
            status, b"", f"{exc}\n".encode(), False, False, time.monotonic() - start, False, None
        )
    if on_start is not None:
        on_start(proc.pid)
    pump = Pump(proc, stdin, lim.output_bytes, on_stdout)
    pidfd = os.pidfd_open(proc.pid)
    try:
        ready = pump.until([pidfd], start + lim.timeout_s)
        timed_out = ready is None and time.monotonic() >= start + lim.timeout_s
    finally:
        # The leader is not reaped yet, so its pid (= the group id) cannot be reused.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        _kill_marked(marker)
        pump.drain(time.monotonic() + _DRAIN_AFTER_KILL_S)
        pump.close()
        proc.wait()
        os.close(pidfd)
    code = proc.returncode
    rc = None if timed_out else (128 - code if code < 0 else code)
    return SandboxResult(
        returncode=rc,
        stdout=bytes(pump.out),
        stderr=bytes(pump.err),
        timed_out=timed_out,
        output_truncated=pump.truncated,
        duration_s=time.monotonic() - start,
        isolated=False,
        killed_reason="timeout" if timed_out else reason_for(rc, bytes(pump.err)),
    )


def _reap(proc: subprocess.Popen[bytes]) -> bool:
    try:
        proc.wait(timeout=_DRAIN_AFTER_KILL_S)
        return True
    except subprocess.TimeoutExpired:
        log.error("bwrap %d did not exit after SIGKILL", proc.pid)
        return False


def _copy_out_of(child_pid: int, out_dir: str, max_bytes: int) -> None:
    """Copy the run's out tmpfs to the host dir of the same path, through the namespace's root."""
    parts = tuple(p for p in out_dir.split("/") if p)
    try:
        with (
            open_dir(f"/proc/{child_pid}/root/") as rfd,
            walk_dirs(rfd, parts, create=False) as src,
            open_dir(out_dir) as dst,
        ):
            copy_out(src, dst, CopyBudget(max_bytes))
    except OSError as exc:
        log.info("out dir not copied (sandbox gone?): %s", exc)


def _rlimits(lim: Limits) -> Callable[[], None]:
    nproc = -1
    if os.geteuid() != 0:
        # RLIMIT_NPROC counts every process of our uid (root is exempt), so leave room for them.
        nproc = lim.pids + _count_own_processes()
    cpu, mem, fsize = lim.cpu_s, lim.memory_bytes, lim.file_size_bytes

    def pre() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if nproc > 0:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))

    return pre


def _count_own_processes() -> int:
    uid, n = os.getuid(), 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                n += os.stat(f"/proc/{name}").st_uid == uid
    return n


def _kill_marked(marker: str) -> None:
    """SIGKILL every process whose environment carries marker (children that called setsid)."""
    needle = f"GAUNTLET_SANDBOX_RUN={marker}".encode()
    me = os.getpid()
    for _ in range(3):  # a dying fork loop may spawn while we scan
        found = False
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == me:
                continue
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    if needle not in f.read():
                        continue
                os.kill(int(name), signal.SIGKILL)
                found = True
            except OSError:
                continue
        if not found:
            return


def reason_for(rc: int | None, stderr: bytes) -> str | None:
    """Best-effort name for why the code stopped; None for an ordinary exit."""
    if rc is None:
        return None
    if 128 < rc <= 128 + 64:
        sig = rc - 128
        named = {
            int(signal.SIGXCPU): "cpu",
            int(signal.SIGPROF): "cpu",
            int(signal.SIGXFSZ): "file_size",
            9: "killed",
        }
        return named.get(sig, f"signal {sig}")
    if rc != 0 and b"MemoryError" in stderr[-4096:]:
        return "memory"
    return None
