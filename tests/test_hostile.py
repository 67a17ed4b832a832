"""Hostile candidates through `gauntlet select`: each is rejected with a clear reason, nothing escapes.

Every candidate is a correct fix of `mean` plus an attack at import time, so only the defences can
reject it. After each run: the workspace and home are unchanged, no secret is in any output, no
process is left behind, and select answered with its normal JSON.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import tempfile
import threading
from pathlib import Path

import pytest

from tests.conftest import fingerprint
from tests.test_select import GOOD_MEAN, run_select

SECRET = "sk-hostile-" + secrets.token_hex(8)
HOME_TARGET = Path.home() / f".gauntlet-hostile-{secrets.token_hex(4)}"


def attacks(ws: Path, tcp_port: int, unix_path: str) -> dict[str, tuple[str, str]]:
    """name -> (code prepended to the candidate, words expected in the rejection reason)."""
    core = ws / "calc" / "core.py"
    # Paths built at run time, so that bandit's hard-coded /tmp check does not reject them first.
    core_expr = f"__import__('os').path.join(*{list(core.parts)!r})"
    ws_expr = f"__import__('os').path.join(*{list(ws.parts)!r})"
    return {
        "write_home": (f"open({str(HOME_TARGET)!r}, 'w').write('pwned')\n", "outside the sandbox"),
        "rewrite_workspace": (f"open({core_expr}, 'w').write('pwned')\n", "that passed before"),
        "delete_workspace": (f"import shutil\nshutil.rmtree({ws_expr})\n", "that passed before"),
        "symlink_report": (
            f"import os\nos.symlink({core_expr}, os.environ['GAUNTLET_REPORT'])\n",
            "without a report",
        ),
        "tcp_loopback": (
            f"import socket\nsocket.create_connection(('127.0.0.1', {tcp_port}), timeout=2)\n",
            "network",
        ),
        "unix_socket": (
            f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect(__import__('os').path.join(*{list(Path(unix_path).parts)!r}))\n",
            "network",
        ),
        "steal_key": (
            "import os\nleak = os.environ.get('OPENAI_API_KEY', '') + open('/proc/1/environ').read()\n"
            "import tempfile\nopen(tempfile.gettempdir() + '/leak', 'w').write(leak)\nprint(leak)\n",
            "secret",
        ),
        "read_ssh_key": (
            "open(__import__('os').path.expanduser('~/.ssh/id_rsa')).read()\n",
            "secret",
        ),
        "kill_parent": ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n", "signal"),
        "detached_sleeper": (
            "import subprocess\nsubprocess.Popen(['sleep', '97'], start_new_session=True)\n",
            "process",
        ),
        "fork_bomb": ("import os\nwhile True:\n    os.fork()\n", "process"),
        "nested_userns": (
            "import subprocess\nsubprocess.run(['unshare', '-U', 'true'])\n",
            "process",
        ),
        # Zeroing 2 GB of pages costs CPU: the run's CPU budget may end it before MemoryError.
        "memory_hog": (
            "hog = [bytearray(64 * 1024 * 1024) for _ in range(10_000)]\n",
            "that passed before|CPU time limit exceeded",
        ),
        "fill_tmp": (
            "with open(__import__('tempfile').gettempdir() + '/fill', 'wb') as fh:\n    for _ in range(4096):\n        fh.write(b'x' * 1024 * 1024)\n",
            # Writing costs CPU: the run's CPU budget may end it before the size limit does.
            "that passed before|CPU time limit exceeded",
        ),
        # The run's output goes to a size-limited file: the writes fail (EFBIG) at import time,
        # so the module never imports and the tests that passed before do not run.
        "flood_stdout": (
            "import sys\nfor _ in range(300):\n    sys.__stdout__.write('x' * 1024 * 1024)\n",
            "3 test(s) that passed before now fail: tests/test_core.py::test_add, "
            "tests/test_core.py::test_clamp, tests/test_core.py::test_mean (3 did not run)"
            # or, as for fill_tmp, the CPU budget ends the writes first.
            "|CPU time limit exceeded",
        ),
        "exit_zero_dynamic": (
            "getattr(__import__('o' + 's'), '_e' + 'xit')(0)\n",
            "without a report",
        ),
        "exit_zero_static": ("import os\nos._exit(0)\n", "os._exit"),
        "skip_test_bodies_static": (
            "import _pytest.python\n_pytest.python.Function.runtest = lambda self: None\n",
            "_pytest",
        ),
        "skip_test_bodies_dynamic": (
            "import importlib\nm = importlib.import_module('_py' + 'test.python')\n"
            "m.Function.runtest = lambda self: None\n",
            "tampered",
        ),
    }


@pytest.fixture(scope="module")
def listeners() -> tuple[int, str, list[str]]:
    """A loopback TCP server and a host Unix socket that record any connection."""
    seen: list[str] = []
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    unix_dir = tempfile.mkdtemp(prefix="gauntlet-hostile-sock-")
    unix_path = os.path.join(unix_dir, "host.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(unix_path)
    unix.listen()
    for srv, name in ((tcp, "tcp"), (unix, "unix")):
        srv.settimeout(0.2)

        def accept(srv: socket.socket = srv, name: str = name) -> None:
            while True:
                try:
                    conn, _ = srv.accept()
                    seen.append(name)
                    conn.close()
                except TimeoutError:
                    continue
                except OSError:
                    return

        threading.Thread(target=accept, daemon=True).start()
    return tcp.getsockname()[1], unix_path, seen


def leftovers(marker: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = (
                Path(f"/proc/{pid}/cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode(errors="replace")
            )
        except OSError:
            continue
        if marker in cmd:
            found.append(f"{pid}: {cmd}")
    return found


@pytest.mark.parametrize("name", sorted(attacks(Path("/w"), 1, "/s")))
def test_hostile_candidate_is_rejected_and_contained(
    calc_ws: Path, name: str, listeners: tuple[int, str, list[str]]
) -> None:
    port, unix_path, seen = listeners
    # Without a ruff or mypy config their findings do not block, so the runtime defences must.
    (calc_ws / "pyproject.toml").write_text('[project]\nname = "calc"\nversion = "0.1.0"\n')
    code, words = attacks(calc_ws, port, unix_path)[name]
    before = fingerprint(calc_ws)
    proc = run_select(
        calc_ws,
        [(name, code + GOOD_MEAN), ("good", GOOD_MEAN)],
        "--test-timeout",
        "20",
        env=dict(os.environ, OPENAI_API_KEY=SECRET, GAUNTLET_TEST_SECRET=SECRET),
        timeout=240,
    )
    try:
        assert proc.returncode == 0, proc.stderr[-2000:]
        data = json.loads(proc.stdout)
        verdict = {c["id"]: c for c in data["candidates"]}[name]
        assert data["selected"] == "good"
        assert verdict["verified"] is False
        assert verdict["summary"].startswith("rejected by"), verdict["summary"]
        assert any(w.lower() in verdict["summary"].lower() for w in words.split("|")), verdict[
            "summary"
        ]
        assert SECRET not in proc.stdout + proc.stderr
        assert fingerprint(calc_ws) == before
        assert not HOME_TARGET.exists()
        assert seen == []
        assert leftovers("sleep 97") == []
        assert len(proc.stdout) < 200_000
    finally:
        HOME_TARGET.unlink(missing_ok=True)
