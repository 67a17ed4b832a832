"""Bubblewrap backend of the sandbox: tool discovery, mount plan, argv and uid maps."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gauntlet.graders.sandbox_fs import open_dir, write_file
from gauntlet.graders.sandbox_seccomp import seccomp_program

log = logging.getLogger(__name__)

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
SANDBOX_UID = 65534  # "nobody" inside the user namespace
# Host uids the code runs as when gauntlet is root: never root, one per concurrent run, so
# RLIMIT_NPROC is enforced (the kernel exempts uid 0) and runs never share a process count.
HOST_UID_BASE = 1_000_000_000
HOST_UID_COUNT = 4096

# Mounted read-only at their own paths (or recreated as the same symlink).
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
# Credentials and host secrets under /etc that no test needs.
_HIDDEN_ETC = (
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssh",
    "/etc/ssl/private",
    "/etc/security",
    "/etc/environment",
    "/etc/pip.conf",
    "/etc/apt/auth.conf",
    "/etc/apt/auth.conf.d",
    "/etc/docker",
)


@dataclass(frozen=True)
class BwrapTools:
    """Host executables the bwrap backend needs, all under a system dir visible in the sandbox."""

    bwrap: str
    version: str
    sh: str
    """bash: dash cannot redirect the fds above 9 that Popen passes through."""
    prlimit: str
    setpriv: str
    as_root: bool


def find_tools(system_path: str = SYSTEM_PATH) -> BwrapTools | str:
    """Locate bwrap and helpers in system_path; return a reason string when something is missing.

    Callers go through `tools.Tools.bwrap()` (graders/tools.py), which a caller may replace."""
    found: dict[str, str] = {}
    for name in ("bwrap", "bash", "prlimit", "setpriv"):
        path = shutil.which(name, path=system_path)
        if path is None:
            return f"{name} not found in {system_path}"
        found[name] = path
    try:
        out = subprocess.run(
            [found["bwrap"], "--version"], capture_output=True, timeout=10, env={}, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap --version failed: {exc}"
    version = out.stdout.decode(errors="replace").strip() or "bubblewrap (unknown version)"
    if seccomp_program() is None:
        return f"no seccomp filter for architecture {platform.machine()}"
    return BwrapTools(
        found["bwrap"],
        version,
        found["bash"],
        found["prlimit"],
        found["setpriv"],
        as_root=os.geteuid() == 0,
    )


class UidPool:
    """Hands out distinct non-root host uids to concurrent runs."""

    def __init__(self, base: int = HOST_UID_BASE, count: int = HOST_UID_COUNT) -> None:
        self._free = list(range(base + count - 1, base - 1, -1))
        self._lock = threading.Lock()

    def acquire(self) -> int:
        with self._lock:
            if not self._free:
                raise RuntimeError("too many concurrent sandboxed runs")
            return self._free.pop()

    def release(self, uid: int) -> None:
        with self._lock:
            self._free.append(uid)


UID_POOL = UidPool()


# Never bound wholesale, even when sys.path names them (a script run from /tmp puts /tmp
# there): they hold other users' files, host sockets and credentials.
_NEVER_BIND = (
    "/tmp", "/var/tmp", "/dev", "/dev/shm", "/proc", "/sys", "/run", "/var/run", "/var",
    "/home", "/root", "/mnt", "/media", "/srv", "/opt", "/boot",
)  # fmt: skip


def _home_dirs() -> set[str]:
    homes = {os.path.expanduser("~")}
    with contextlib.suppress(OSError):
        homes |= {os.path.join("/home", n) for n in os.listdir("/home")}
    return {os.path.realpath(h) for h in homes if h and h != "/"}


def dedupe_paths(paths: Sequence[str]) -> list[str]:
    """Sorted real paths to bind read-only: no nesting, nothing a system dir already covers,
    and never a directory that would expose the host wholesale (/, /tmp, a home dir...)."""
    real = sorted({os.path.realpath(p) for p in paths if p and os.path.isdir(p)})
    kept: list[str] = []
    system = [d for d in _SYSTEM_DIRS if not os.path.islink(d)]
    forbidden = {os.path.realpath(p) for p in _NEVER_BIND} | _home_dirs()
    for p in real:
        if p == "/" or any(_inside(f, p) for f in forbidden):
            log.info("sandbox: not exposing %s (too broad)", p)
            continue
        if any(_inside(p, k) for k in kept + system):
            continue
        kept.append(p)
    return kept


def _inside(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


@dataclass
class Shadow:
    """A host dir mounted over root/<rel> so overlays can add files to a read-only tree."""

    host_dir: str
    dest: str
    entry_binds: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class MountSpec:
    """What a job mounts; turned into bwrap arguments per run (limits may differ per run)."""

    ro_paths: list[str]
    root: str
    shadows: list[Shadow]
    file_binds: list[tuple[str, str]]
    extras: str
    out: str


def plan_mounts(
    ro_paths: list[str],
    jobdir: str,
    root: str,
    plan: Mapping[tuple[str, ...], int],
    overlays: Mapping[tuple[str, ...], str | bytes],
) -> MountSpec:
    """Overlay files are bind-mounted over the snapshot's files; new files live in shadow dirs.

    A shadow dir replaces the deepest existing directory above a new file: it holds the new
    file plus a mount point per original entry, onto which that entry is bind-mounted, so
    the snapshot itself is never written.
    """
    file_binds: list[tuple[str, str]] = []
    anchors: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    overlay_dir = os.path.join(jobdir, "overlay")
    os.mkdir(overlay_dir, 0o755)
    for n, (parts, data) in enumerate(overlays.items()):
        missing = plan[parts]
        if missing == len(parts):
            dest = os.path.join(root, *parts)
            with open_dir(overlay_dir) as fd:
                write_file(fd, (str(n),), data, os.lstat(dest).st_mtime_ns)
            file_binds.append((os.path.join(overlay_dir, str(n)), dest))
        else:
            anchors.setdefault(parts[:missing], []).append(parts)
    shadows: list[Shadow] = []
    for n, anchor in enumerate(sorted(anchors, key=len)):
        shadow = Shadow(os.path.join(jobdir, "shadow", str(n)), os.path.join(root, *anchor))
        os.makedirs(shadow.host_dir, 0o755)
        os.chmod(shadow.host_dir, 0o755)
        with os.scandir(shadow.dest) as it:
            for e in it:
                target = os.path.join(shadow.host_dir, e.name)
                if e.is_symlink():
                    os.symlink(os.readlink(e.path), target)
                elif e.is_dir():
                    os.mkdir(target, 0o755)
                    shadow.entry_binds.append((e.path, e.path))
                elif e.is_file():
                    open(target, "xb").close()
                    shadow.entry_binds.append((e.path, e.path))
        with open_dir(shadow.host_dir) as fd:
            for parts in anchors[anchor]:
                write_file(fd, parts[len(anchor) :], overlays[parts])
        shadows.append(shadow)
    return MountSpec(
        ro_paths=ro_paths,
        root=root,
        shadows=shadows,
        file_binds=file_binds,
        extras=os.path.join(jobdir, "extras"),
        out=os.path.join(jobdir, "out"),
    )


class _Args:
    """Accumulates bwrap arguments and creates 0755 parents (bwrap 0.8 makes them 0700)."""

    def __init__(self) -> None:
        self.argv: list[str] = []
        self._binds: list[str] = []
        self._made: set[str] = {"/tmp", "/dev", "/dev/shm", "/proc"}

    def parents(self, dest: str) -> None:
        parts = dest.strip("/").split("/")
        for i in range(1, len(parts)):
            anc = "/" + "/".join(parts[:i])
            if anc in self._made or any(_inside(anc, b) for b in self._binds):
                continue
            self.argv += ["--perms", "0755", "--dir", anc]
            self._made.add(anc)

    def ro_bind(self, src: str, dest: str, *, same_tree: bool = True) -> None:
        self.parents(dest)
        self.argv += ["--ro-bind", src, dest]
        if same_tree and os.path.isdir(src):
            self._binds.append(dest)

    def tmpfs(self, dest: str, size: int, perms: str) -> None:
        self.parents(dest)
        self.argv += ["--perms", perms, "--size", str(size), "--tmpfs", dest]
        self._made.add(dest)


def mount_args(spec: MountSpec, tmp_bytes: int) -> list[str]:
    a = _Args()
    for d in _SYSTEM_DIRS:
        if os.path.islink(d):
            a.argv += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            a.ro_bind(d, d)
    for p in _HIDDEN_ETC:
        if os.path.islink(p):
            continue
        if os.path.isdir(p):
            a.argv += ["--tmpfs", p]
        elif os.path.exists(p):
            a.argv += ["--ro-bind", "/dev/null", p]
    a.argv += ["--dev", "/dev", "--proc", "/proc"]
    a.tmpfs("/tmp", tmp_bytes, "1777")
    a.tmpfs("/dev/shm", tmp_bytes, "1777")
    a.argv += ["--perms", "0777", "--dir", "/tmp/home"]
    for p in spec.ro_paths:
        a.ro_bind(p, p)
    a.ro_bind(spec.root, spec.root)
    for sh in spec.shadows:
        a.ro_bind(sh.host_dir, sh.dest)
        for src, dest in sh.entry_binds:
            a.ro_bind(src, dest, same_tree=False)
    for src, dest in spec.file_binds:
        a.ro_bind(src, dest, same_tree=False)
    a.ro_bind(spec.extras, spec.extras)
    a.tmpfs(spec.out, tmp_bytes, "0777")
    return a.argv


def launcher_script(status_fd: int, go_fd: int) -> str:
    """Shell run inside the sandbox around the command.

    It reports the command's exit status on status_fd and then waits, which keeps the namespace
    (and the out tmpfs) alive until the host has copied the out dir and kills it. The command
    itself never sees either fd.

    A watchdog reads go_fd, whose other end only the host holds and never writes: it reads end of
    file once the host is gone (or has killed the namespace anyway), and then kills every process
    of the run. bwrap's --die-with-parent does the same through PR_SET_PDEATHSIG, which has known
    races (a sandbox left running after its host was SIGKILLed); the pipe does not depend on it.
    """
    s, g = status_fd, go_fd
    watchdog = f"{{ read -r _ <&{g}; kill -KILL -1; }} {s}>&- &"
    return f'{watchdog} "$@" {s}>&- {g}<&-; echo "$?" >&{s}; exec {s}>&- {g}<&-; wait'


class RunLimits(Protocol):
    """The parts of sandbox_run.Limits that end up on the command line."""

    @property
    def cpu_s(self) -> int: ...
    @property
    def memory_bytes(self) -> int: ...
    @property
    def file_size_bytes(self) -> int: ...
    @property
    def pids(self) -> int: ...


@dataclass(frozen=True)
class Fds:
    """Pipe ends handed to bwrap (child side) for one run."""

    info_w: int
    block_r: int
    seccomp_r: int
    status_w: int
    go_r: int


def command(
    tools: BwrapTools, mounts: list[str], fds: Fds, *, cwd: str, argv: Sequence[str], lim: RunLimits
) -> list[str]:
    """The full bwrap argv for one run."""
    caps = ["--cap-drop", "ALL"]
    inner: list[str] = [
        tools.prlimit,
        f"--nproc={lim.pids}",
        f"--as={lim.memory_bytes}",
        f"--cpu={lim.cpu_s}:{lim.cpu_s + 1}",
        f"--fsize={lim.file_size_bytes}",
        "--core=0",
        "--",
    ]
    if tools.as_root:
        # Setup runs as namespace root (= host root, so it can read e.g. /root/.pyenv);
        # setpriv then drops to uid 65534, mapped to a pooled non-root host uid.
        caps += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
        inner += [
            tools.setpriv,
            f"--reuid={SANDBOX_UID}",
            f"--regid={SANDBOX_UID}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
        ]
    inner += [tools.sh, "-c", launcher_script(fds.status_w, fds.go_r), "gauntlet-run", *argv]
    return [
        tools.bwrap,
        "--unshare-all",
        "--unshare-user",
        "--userns-block-fd",
        str(fds.block_r),
        "--info-fd",
        str(fds.info_w),
        "--seccomp",
        str(fds.seccomp_r),
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
        *caps,
        *mounts,
        "--chdir",
        cwd,
        "--",
        *inner,
    ]


def read_info(info_r: int, deadline: float) -> dict[str, object] | None:
    """Read bwrap's --info-fd JSON (written once the namespaces exist); None on early exit."""
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([info_r], [], [], left)
        if not ready:
            return None
        chunk = os.read(info_r, 4096)
        if not chunk:
            break
        data += chunk
    try:
        info = json.loads(data)
    except ValueError:
        return None
    return info if isinstance(info, dict) else None


def write_id_maps(child_pid: int, host_uid: int | None) -> None:
    """Map the sandbox uid/gid 65534 to a host id.

    As root: namespace 0 stays host root for bwrap's setup (it must traverse e.g. /root), and
    65534 maps to a pooled host uid the code drops to. Otherwise: 65534 maps to our own ids.
    """
    if host_uid is not None:
        uid_map = f"0 0 1\n{SANDBOX_UID} {host_uid} 1\n"
        gid_map = uid_map
    else:
        uid_map = f"{SANDBOX_UID} {os.geteuid()} 1\n"
        gid_map = f"{SANDBOX_UID} {os.getegid()} 1\n"
        with open(f"/proc/{child_pid}/setgroups", "w") as f:
            f.write("deny")
    with open(f"/proc/{child_pid}/uid_map", "w") as f:
        f.write(uid_map)
    with open(f"/proc/{child_pid}/gid_map", "w") as f:
        f.write(gid_map)
