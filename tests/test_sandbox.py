"""The sandbox against real hostile probes: each asserts the probe ran and the harm did not happen."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gauntlet.graders import sandbox_bwrap
from gauntlet.graders.sandbox import (
    Limits,
    Sandbox,
    SandboxError,
    SandboxJob,
    SandboxResult,
    SandboxUnavailable,
    describe,
)
from gauntlet.graders.tools import HostTools, ToolUnavailable
from tests.fake_tools import FakeTools

HOSTILE = Path(__file__).parent / "hostile"
PY = sys.executable
SHORT = Limits(timeout_s=30.0)


def _isolated_sandbox() -> Sandbox:
    return Sandbox(limits=SHORT)


ISOLATED = _isolated_sandbox().isolated
needs_bwrap = pytest.mark.skipif(not ISOLATED, reason="bubblewrap isolation unavailable here")


@pytest.fixture(scope="module")
def sbx() -> Sandbox:
    if not ISOLATED:
        pytest.skip("bubblewrap isolation unavailable here")
    return _isolated_sandbox()


NO_BWRAP = FakeTools(bwrap_missing="forced off by the test")


@pytest.fixture
def plain() -> Sandbox:
    return Sandbox(limits=SHORT, tools=NO_BWRAP)


@pytest.fixture(params=["isolated", "plain"])
def any_sbx(request: pytest.FixtureRequest) -> Sandbox:
    if request.param == "isolated":
        if not ISOLATED:
            pytest.skip("bubblewrap isolation unavailable here")
        return _isolated_sandbox()
    return Sandbox(limits=SHORT, tools=NO_BWRAP)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "snapshot"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text("VALUE = 1\n")
    (root / "main.py").write_text("print('main')\n")
    (root / "link_to_mod").symlink_to("pkg/mod.py")
    return root


def tree_digest(root: Path) -> dict[str, str]:
    """Content, mode and mtime of every entry: "byte-for-byte unchanged" made checkable."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath, name)
            st = p.lstat()
            if p.is_symlink():
                body = "link:" + os.readlink(p)
            elif p.is_file():
                body = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                body = "dir"
            out[str(p.relative_to(root))] = f"{body} {st.st_mode:o} {st.st_mtime_ns}"
    return out


def probe(job: SandboxJob, script: str, *args: str, limits: Limits | None = None) -> SandboxResult:
    return job.run([PY, str(job.extras_dir / script), *args], limits=limits)


def hostile_extras() -> dict[str, str]:
    return {p.name: p.read_text() for p in HOSTILE.glob("*.py")}


def last_json(res: SandboxResult) -> dict[str, object]:
    lines = [ln for ln in res.stdout.decode().splitlines() if ln.startswith("{")]
    assert lines, f"probe printed no result: {res}"
    data = json.loads(lines[-1])
    assert isinstance(data, dict)
    return data


def marked_pids(marker: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(name))
    return found


@pytest.fixture
def job_of(project: Path) -> Iterator[object]:
    """Factory yielding jobs over `project` with the hostile probes as extras."""
    stack: list[object] = []

    def make(sb: Sandbox, **kw: object) -> SandboxJob:
        cm = sb.job(project, extras=hostile_extras(), **kw)  # type: ignore[arg-type]
        stack.append(cm)
        return cm.__enter__()

    yield make
    for cm in reversed(stack):
        cm.__exit__(None, None, None)  # type: ignore[attr-defined]


# --- API and both modes ---------------------------------------------------------------------


def test_ci_is_isolated() -> None:
    """CI must never silently lose isolation."""
    if os.environ.get("CI") != "true":
        pytest.skip("only enforced in CI")
    sb = Sandbox()
    assert sb.isolated, sb.reason
    assert describe().startswith("bubblewrap")


def test_describe_is_one_line() -> None:
    line = describe()
    assert "\n" not in line
    assert ("isolated" in line) if ISOLATED else line.startswith("not isolated: ")


def test_require_isolation_raises_when_unavailable() -> None:
    tools = FakeTools(bwrap_missing="bwrap not found")
    with pytest.raises(SandboxUnavailable, match="bwrap not found"):
        Sandbox(require_isolation=True, tools=tools)
    sb = Sandbox(tools=tools)
    assert not sb.isolated and sb.reason == "bwrap not found"


def test_host_tools_say_where_bwrap_was_looked_for(tmp_path: Path) -> None:
    """The default discovery, pointed at an empty system dir: the reason names the dir."""
    tools = HostTools(system_path=str(tmp_path))
    with pytest.raises(ToolUnavailable, match="bwrap not found in "):
        tools.bwrap()
    sb = Sandbox(tools=tools)
    assert not sb.isolated and sb.reason == f"bwrap not found in {tmp_path}"


def test_run_overlays_extras_out(any_sbx: Sandbox, project: Path) -> None:
    before = tree_digest(project)
    overlays = {"pkg/mod.py": "VALUE = 2\n", "pkg/new.py": "NEW = 3\n", "top.py": "TOP = 4\n"}
    overlays["fresh/deep/x.py"] = "X = 5\n"
    code = textwrap.dedent("""
        import os, sys
        sys.path[:0] = [os.getcwd(), os.environ["EXTRAS"]]
        from pkg import mod, new
        import top, helper
        from fresh.deep import x
        print(mod.VALUE, new.NEW, top.TOP, helper.H, x.X, sorted(os.listdir(".")))
        open(os.path.join(os.environ["OUT"], "report.json"), "w").write('{"ok": 1}')
        os.makedirs(os.path.join(os.environ["OUT"], "sub"))
        open(os.path.join(os.environ["OUT"], "sub", "n.txt"), "w").write("nested")
        sys.stdout.write(sys.stdin.read())
    """)
    with any_sbx.job(project, overlays=overlays, extras={"helper.py": "H = 6\n"}) as job:
        env = {"EXTRAS": str(job.extras_dir), "OUT": str(job.out_dir)}
        res = job.run([PY, "-c", code], env=env, stdin=b"from-stdin")
        assert res.returncode == 0, res
        assert res.isolated is any_sbx.isolated
        listing = "['fresh', 'link_to_mod', 'main.py', 'pkg', 'top.py']"
        assert res.stdout.decode() == f"2 3 4 6 5 {listing}\nfrom-stdin"
        assert job.read_out("report.json") == b'{"ok": 1}'
        assert job.read_out("sub/n.txt") == b"nested"
        assert job.read_out("report.json", max_bytes=3) == b'{"o'
        assert job.read_out("missing.json") is None
        # out_dir is emptied at the start of every run
        job.run([PY, "-c", "pass"])
        assert job.read_out("report.json") is None
    assert tree_digest(project) == before


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x.py", "a/../../x.py", "", "a//b.py", "./a"])
def test_overlay_paths_validated(any_sbx: Sandbox, project: Path, bad: str) -> None:
    with pytest.raises(ValueError), any_sbx.job(project, overlays={bad: "x"}):
        pass
    with pytest.raises(ValueError), any_sbx.job(project, extras={bad: "x"}):
        pass


def test_overlay_through_symlink_refused(any_sbx: Sandbox, project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "escape").symlink_to(outside)
    with pytest.raises(ValueError), any_sbx.job(project, overlays={"escape/x.py": "x"}):
        pass
    with pytest.raises(ValueError), any_sbx.job(project, overlays={"link_to_mod": "x"}):
        pass
    assert list(outside.iterdir()) == []


def test_env_is_built_from_scratch(
    any_sbx: Sandbox, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-" + uuid.uuid4().hex
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    code = "import os, json; print(json.dumps(dict(os.environ)))"
    with any_sbx.job(project) as job:
        res = job.run([PY, "-c", code], env={"EXTRA": "1"})
    env = json.loads(res.stdout)
    assert secret not in res.stdout.decode()
    assert env["PYTHONHASHSEED"] == "0" and env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["LANG"] == "C.UTF-8" and env["EXTRA"] == "1"
    assert "OPENAI_API_KEY" not in env


def test_timeout_kills(any_sbx: Sandbox, job_of) -> None:  # type: ignore[no-untyped-def]
    job = job_of(any_sbx)
    t0 = time.monotonic()
    res = probe(job, "resources.py", "loop", limits=Limits(timeout_s=2))
    assert b"PROBE-RAN loop" in res.stdout
    assert res.timed_out and res.returncode is None and res.killed_reason == "timeout"
    assert time.monotonic() - t0 < 8


def test_memory_hog_stopped_fast(any_sbx: Sandbox, job_of) -> None:  # type: ignore[no-untyped-def]
    job = job_of(any_sbx)
    res = probe(job, "resources.py", "memory", limits=Limits(memory_bytes=512 * 1024**2))
    assert b"PROBE-RAN memory" in res.stdout
    assert res.returncode != 0 and not res.timed_out
    assert res.killed_reason == "memory"
    assert res.duration_s < 10


def test_cpu_limit(any_sbx: Sandbox, job_of) -> None:  # type: ignore[no-untyped-def]
    job = job_of(any_sbx)
    res = probe(job, "resources.py", "loop", limits=Limits(cpu_s=1, timeout_s=20))
    assert b"PROBE-RAN loop" in res.stdout
    assert res.killed_reason in ("cpu", "killed") and not res.timed_out
    assert res.duration_s < 10


def test_stdout_flood_capped(any_sbx: Sandbox, job_of) -> None:  # type: ignore[no-untyped-def]
    job = job_of(any_sbx)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = probe(job, "resources.py", "flood", str(300 * 1024**2))
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert res.stdout.startswith(b"PROBE-RAN flood")
    assert res.output_truncated
    assert len(res.stdout) == SHORT.output_bytes and len(res.stderr) == SHORT.output_bytes
    assert res.returncode == 0 and res.duration_s < 30
    assert (rss_after - rss_before) * 1024 < 64 * 1024**2  # ru_maxrss is in KiB


def test_setsid_child_is_killed(any_sbx: Sandbox, job_of) -> None:  # type: ignore[no-untyped-def]
    job = job_of(any_sbx)
    marker = f"gauntlet-detached-{uuid.uuid4().hex}"
    res = probe(job, "procs.py", "setsid", marker)
    assert b"DETACHED" in res.stdout, res
    assert marked_pids(marker) == []


def test_kill_ends_a_run_and_its_tree(any_sbx: Sandbox, job_of) -> None:  # type: ignore[no-untyped-def]
    """kill() from another thread ends a running run at once, detached children included, and
    any later run of the job too (work nobody waits for any more)."""
    job = job_of(any_sbx)
    marker = f"gauntlet-killed-{uuid.uuid4().hex}"
    code = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}],"
        " start_new_session=True)\n"
        "print('RUNNING', flush=True)\n"
        "time.sleep(60)\n"
    )
    running = threading.Event()

    def watch(out: bytes) -> None:
        if b"RUNNING" in out:
            running.set()

    killer = threading.Thread(target=lambda: running.wait(30) and job.kill())
    killer.start()
    t0 = time.monotonic()
    res = job.run([PY, "-c", code], limits=Limits(timeout_s=50), on_stdout=watch)
    killer.join(5)
    assert running.is_set() and b"RUNNING" in res.stdout
    assert not res.timed_out and res.returncode != 0
    assert time.monotonic() - t0 < 20
    assert marked_pids(marker) == []
    again = job.run([PY, "-c", "print('ran')"])
    assert b"ran" not in again.stdout and again.returncode != 0


def test_concurrent_runs(any_sbx: Sandbox, project: Path) -> None:
    results: dict[int, tuple[bytes, bytes | None]] = {}

    def work(i: int) -> None:
        with any_sbx.job(project, extras={"n.txt": str(i)}) as job:
            code = (
                "import os; n = open(os.environ['X'] + '/n.txt').read();"
                "open(os.environ['O'] + '/r', 'w').write(n); print(n)"
            )
            for _ in range(3):
                env = {"X": str(job.extras_dir), "O": str(job.out_dir)}
                res = job.run([PY, "-c", code], env=env)
                results[i] = (res.stdout, job.read_out("r"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {i: (f"{i}\n".encode(), str(i).encode()) for i in range(4)}


def test_symlink_swap_in_out_dir(any_sbx: Sandbox, job_of, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    secret = workspace / "secret.txt"
    secret.write_text("user secret")
    job = job_of(any_sbx)
    code = textwrap.dedent(f"""
        import os
        out = {str(job.out_dir)!r}
        print("PROBE-RAN swap", flush=True)
        os.symlink({str(secret)!r}, os.path.join(out, "report.json"))
        os.symlink({str(workspace)!r}, os.path.join(out, "sub"))
        os.mkfifo(os.path.join(out, "fifo"))
    """)
    res = job.run([PY, "-c", code])
    assert b"PROBE-RAN swap" in res.stdout and res.returncode == 0, res
    t0 = time.monotonic()
    assert job.read_out("report.json") is None
    assert job.read_out("sub/secret.txt") is None
    assert job.read_out("fifo") is None
    assert time.monotonic() - t0 < 2
    assert secret.read_text() == "user secret"
    # a second run must not write through whatever the first one planted
    job.run([PY, "-c", "pass"])
    assert secret.read_text() == "user secret" and sorted(os.listdir(workspace)) == ["secret.txt"]


def test_bad_argv_and_cwd(any_sbx: Sandbox, project: Path, tmp_path: Path) -> None:
    with any_sbx.job(project) as job:
        with pytest.raises(ValueError):
            job.run([])
        with pytest.raises(ValueError):
            job.run([PY, "-c", "pass"], env={"A=B": "x"})
        with pytest.raises((SandboxError, OSError)):
            job.run([PY, "-c", "pass"], cwd=tmp_path / "missing")
        res = job.run(["/nonexistent/binary"])
        assert res.returncode == 127 and not res.timed_out


# --- isolation (bubblewrap only) --------------------------------------------------------------


@needs_bwrap
def test_identity_caps_seccomp(sbx: Sandbox, project: Path) -> None:
    code = "print(open('/proc/self/status').read()); print(open('/proc/self/uid_map').read())"
    with sbx.job(project) as job:
        res = job.run([PY, "-c", code])
    status = res.stdout.decode()
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["Uid"].split()[0] == "65534"
    assert fields["CapEff"] == fields["CapPrm"] == fields["CapBnd"] == "0000000000000000"
    assert fields["NoNewPrivs"] == "1" and fields["Seccomp"] == "2"
    if os.geteuid() == 0:
        mapped = [ln.split() for ln in status.splitlines() if ln.strip().startswith("65534")]
        assert mapped and int(mapped[-1][1]) >= sandbox_bwrap.HOST_UID_BASE


@needs_bwrap
def test_snapshot_and_workspace_cannot_be_modified(sbx: Sandbox, job_of, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "user.py").write_text("USER = 1\n")
    snapshot = tmp_path / "snapshot"
    before = tree_digest(snapshot), tree_digest(workspace)
    job = job_of(sbx, overlays={"pkg/mod.py": "VALUE = 9\n"})
    targets = [
        str(snapshot / "main.py"),
        str(snapshot / "pkg" / "mod.py"),
        str(workspace / "user.py"),
        str(job.extras_dir / "tamper.py"),
    ]
    res = probe(job, "tamper.py", *targets)
    assert b"PROBE-RAN tamper" in res.stdout
    results = last_json(res)
    for target, ops in results.items():
        assert isinstance(ops, dict)
        assert "ok" not in ops.values(), (target, ops)
    assert (tree_digest(snapshot), tree_digest(workspace)) == before
    assert sorted(os.listdir(job.extras_dir)) == sorted(hostile_extras())


@needs_bwrap
def test_secrets_unreachable(
    sbx: Sandbox, job_of, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    env_secret = "sk-env-" + uuid.uuid4().hex
    file_secret = "sk-file-" + uuid.uuid4().hex
    monkeypatch.setenv("OPENAI_API_KEY", env_secret)
    home_file = Path.home() / f".gauntlet-probe-{uuid.uuid4().hex}"
    home_file.write_text(file_secret)
    try:
        sb = Sandbox(limits=SHORT)  # built after the secret env var exists
        job = job_of(sb)
        res = probe(job, "exfil.py", str(home_file), str(Path.home() / ".ssh" / "id_rsa"))
    finally:
        home_file.unlink()
    assert b"PROBE-RAN exfil" in res.stdout
    text = res.stdout.decode()
    assert env_secret not in text and file_secret not in text
    data = last_json(res)
    assert "OPENAI_API_KEY" not in str(data["proc1"]) and "OPENAI_API_KEY" not in str(data["self"])
    assert data["shadow"] in ("", "ERR PermissionError", "ERR FileNotFoundError")
    listing = data["listing"]
    assert isinstance(listing, dict)
    for d in ("/run", "/var/run"):
        assert listing[d] in ("ERR FileNotFoundError", []), listing[d]
    assert listing["/home"] in ("ERR FileNotFoundError", [])
    assert ".ssh" not in listing["/root"]


@needs_bwrap
def test_bwrap_processes_carry_no_parent_env(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bwrap's own PID 1 keeps bwrap's environment: read it (and the others) from the host."""
    secret = "sk-bwrap-" + uuid.uuid4().hex
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    marker = f"gauntlet-env-{uuid.uuid4().hex}"
    sb = Sandbox(limits=SHORT)
    environs: dict[int, bytes] = {}
    with sb.job(project) as job:
        t = threading.Thread(
            target=job.run, args=([PY, "-c", "import time; time.sleep(3)", marker],)
        )
        t.start()
        deadline = time.monotonic() + 10
        while len(environs) < 3 and time.monotonic() < deadline:
            for pid in marked_pids(marker):
                try:
                    environs[pid] = Path(f"/proc/{pid}/environ").read_bytes()
                except OSError:
                    continue
            time.sleep(0.05)
        t.join()
    # bwrap outside, bwrap as the namespace's PID 1, and the sleeper itself
    assert len(environs) >= 3, environs
    for env in environs.values():
        assert secret.encode() not in env and b"OPENAI_API_KEY" not in env


@needs_bwrap
def test_network_and_host_sockets_unreachable(sbx: Sandbox, job_of, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(5)
    unix_path = str(tmp_path / "host.sock")
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(unix_path)
    unix.listen(5)
    abstract_name = f"gauntlet-probe-{uuid.uuid4().hex}"
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0" + abstract_name)
    abstract.listen(5)
    try:
        job = job_of(sbx)
        port = str(tcp.getsockname()[1])
        res = probe(job, "net.py", port, unix_path, abstract_name)
        assert b"PROBE-RAN net" in res.stdout
        results = last_json(res)
        assert "connected" not in results.values(), results
        for s in (tcp, unix, abstract):
            s.setblocking(False)
            with pytest.raises(BlockingIOError):
                s.accept()
    finally:
        for s in (tcp, unix, abstract):
            s.close()


@needs_bwrap
def test_killing_parent_and_everything(sbx: Sandbox, job_of) -> None:  # type: ignore[no-untyped-def]
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        job = job_of(sbx)
        res = probe(job, "procs.py", "killparent")
        assert b"PROBE-RAN killparent" in res.stdout
        assert bystander.poll() is None  # a host process of the same (root) uid survived
        # the test process is obviously alive; the sandbox is still usable afterwards
        assert job.run([PY, "-c", "print('again')"]).stdout == b"again\n"
    finally:
        bystander.kill()
        bystander.wait()


@needs_bwrap
def test_fork_bomb_bounded(sbx: Sandbox, job_of) -> None:  # type: ignore[no-untyped-def]
    job = job_of(sbx)
    marker = f"gauntlet-bomb-{uuid.uuid4().hex}"
    lim = Limits(pids=24, timeout_s=30)
    res = probe(job, "procs.py", "forkbomb", marker, "500", limits=lim)
    assert b"PROBE-RAN forkbomb" in res.stdout
    assert int(str(last_json(res)["forked"])) < 24
    assert res.duration_s < 20
    assert marked_pids(marker) == []
    assert subprocess.run(["true"]).returncode == 0  # the host can still fork


@needs_bwrap
def test_nested_user_namespace_refused(sbx: Sandbox, job_of) -> None:  # type: ignore[no-untyped-def]
    job = job_of(sbx)
    res = probe(job, "procs.py", "userns")
    assert b"PROBE-RAN userns" in res.stdout
    data = last_json(res)
    assert data["unshare"] == -1 and data["unshare_errno"] == 1  # EPERM
    cmd = data["unshare_cmd"]
    assert isinstance(cmd, list) and cmd[0] != 0
    assert data["clone3"] == -1 and data["clone3_errno"] == 38  # ENOSYS
    assert data["fork_status"] == 7


@needs_bwrap
@pytest.mark.parametrize("where", ["/tmp", "/dev/shm", "out"])
def test_tmpfs_filling_bounded(sbx: Sandbox, job_of, where: str) -> None:  # type: ignore[no-untyped-def]
    job = job_of(sbx)
    target = str(job.out_dir) if where == "out" else where
    lim = Limits(tmp_bytes=8 * 1024**2)
    res = probe(job, "resources.py", "fill", target, limits=lim)
    assert b"PROBE-RAN fill" in res.stdout
    data = last_json(res)
    assert data["error"] == "OSError" and int(str(data["written"])) <= 8 * 1024**2


@needs_bwrap
@pytest.mark.parametrize("die_with_parent", [True, False], ids=["both", "watchdog-only"])
def test_sandbox_dies_with_its_host_process(tmp_path: Path, die_with_parent: bool) -> None:
    """Killing the host ends its sandbox. bwrap's --die-with-parent is racy upstream, so the
    launcher's watchdog (end of file on a pipe only the host holds) must do it on its own too."""
    marker = f"gauntlet-orphan-{uuid.uuid4().hex}"
    (tmp_path / "p").mkdir()
    host = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        import gauntlet.graders.sandbox_bwrap as bw
        from gauntlet.graders.sandbox import Sandbox
        if not {die_with_parent!r}:
            command = bw.command
            bw.command = lambda *a, **k: [x for x in command(*a, **k) if x != "--die-with-parent"]
        with Sandbox().job(Path({str(tmp_path / "p")!r})) as job:
            job.run([sys.executable, "-c", "import time; time.sleep(60)", {marker!r}])
    """)
    proc = subprocess.Popen([PY, "-c", host])

    def sleeper_runs() -> bool:
        # The host (its script), bwrap and the launcher carry the marker in their arguments
        # from the start; the sleeper runs only once the sandbox is set up. Killing the host
        # before that would only show that an unfinished setup gives up.
        for pid in marked_pids(marker):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if pid != proc.pid and cmdline.startswith(PY.encode() + b"\0-c\0import time"):
                return True
        return False

    deadline = time.monotonic() + 20
    while not sleeper_runs() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleeper_runs(), "the sandboxed sleeper never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while marked_pids(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marked_pids(marker) == []


@needs_bwrap
def test_overhead_figure(sbx: Sandbox, project: Path) -> None:
    n = 10
    with sbx.job(project) as job:
        job.run([PY, "-c", "pass"])
        t0 = time.perf_counter()
        for _ in range(n):
            job.run([PY, "-c", "pass"])
        boxed = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for _ in range(n):
        subprocess.run([PY, "-c", "pass"], check=True)
    bare = (time.perf_counter() - t0) / n
    print(f"\npython -c pass: sandboxed {boxed * 1000:.1f} ms, plain {bare * 1000:.1f} ms")
    assert boxed - bare < 0.5
