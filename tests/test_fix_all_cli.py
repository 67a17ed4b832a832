"""`gauntlet fix --all FILE [--apply]`: the fix-all patch set from a terminal, and the transaction
every `--apply` writes through (server/transaction.py): all files or none, each file whole even
when the process is killed between two of them."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gauntlet.server import transaction
from gauntlet.server.transaction import ApplyError, StaleFileError, apply_all
from tests.openai_stub import OpenAIStub
from tests.test_compact_fix import BROKEN, FIX_ADD, FIX_CLAMP, ORIGINAL
from tests.test_faults import workspace

GAUNTLET = [sys.executable, "-m", "gauntlet.server.cli"]
TEMP = re.compile(r"^\.(?P<name>.+)\.gauntlet-(?P<pid>\d+)-[a-z0-9_]+\.tmp$")


def broken_workspace(tmp_path: Path) -> Path:
    """The calc fixture with a typo in `add` and one in `clamp` (and its unused `import os`)."""
    ws = workspace(tmp_path)
    (ws / "calc" / "core.py").write_text(BROKEN)
    return ws


def cassette(tmp_path: Path) -> Path:
    """Replies per region: a fix for `add` and one for `clamp`; prose for anything else (the
    module region holding `import os`), so that one region is left unfixed."""
    path = tmp_path / "cassette.json"
    exchanges = [
        {"match": "Task: Fix the diagnostics above in `add`", "replies": [FIX_ADD]},
        {"match": "Task: Fix the diagnostics above in `clamp`", "replies": [FIX_CLAMP]},
        {"match": "Task: Fix", "replies": ["I would leave this as it is."]},
    ]
    path.write_text(json.dumps({"version": 1, "exchanges": exchanges}))
    return path


def gauntlet(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GAUNTLET, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if transaction.TEMP_MARK in p.name)


# -- the command ------------------------------------------------------------------------------


def test_fix_all_shows_the_verified_set_and_writes_it_only_with_apply(tmp_path: Path) -> None:
    ws = broken_workspace(tmp_path)
    target = ws / "calc" / "core.py"
    argv = [
        "fix",
        "--all",
        str(target),
        "--cassette",
        str(cassette(tmp_path)),
        "--candidates",
        "2",
        "--tests",
        "0",
    ]
    proc = gauntlet(*argv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    # The graders' findings are the diagnostics: both typos and the unused import.
    assert "calc/core.py:3: ruff[F401]" in out and "calc/core.py:18: ruff[F821]" in out
    # Tokens and cost over every region, and each region's outcome.
    assert re.search(
        r"^3 region\(s\), 6/6 replies, 2 without usable code, \d+ tokens, cost ", out, re.M
    ), out
    assert "`add` lines 6-7: 3 diagnostics: fixed" in out
    assert re.search(r"lines 1-18: 1 diagnostic: 0/2 candidates usable", out), out
    # One row per edit of the set: kept, lines changed, risk, what it fixes, its evidence.
    kept = re.findall(r"^  (\S+) +kept +2 +\d\.\d\d  line (\d+): ", out, re.M)
    assert [line for _, line in kept] == ["7", "18"], out
    assert out.count("evidence: verified") == 2, out
    # The title, confirmed on every covering test, then the diff of the whole set.
    assert re.search(
        r"^Fix 6 of 7 diagnostics \(verified as a set, \d+/\d+ tests, risk \w+\) "
        r"\(confirmed on 4 tests\)$",
        out,
        re.M,
    ), out
    assert "-    return a + bb\n+    return a + b\n" in out
    assert "-    return max(low, min(x, hihg))\n+    return max(low, min(x, high))\n" in out
    assert "(not written: pass --apply to write it)" in out
    assert target.read_text() == BROKEN

    proc = gauntlet(*argv, "--apply")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"wrote {target}" in proc.stdout
    assert target.read_text() == ORIGINAL
    assert leftovers(target.parent) == []


def test_fix_all_apply_writes_nothing_and_exits_2_when_the_file_changed_since_it_was_read(
    tmp_path: Path,
) -> None:
    ws = broken_workspace(tmp_path)
    target = ws / "calc" / "core.py"
    saved = BROKEN + "\n\ndef saved_meanwhile() -> None:\n    pass\n"

    def route(body: dict[str, Any]) -> list[str]:
        # The user saves the file while the model is asked: the set was made for the old text.
        target.write_text(saved)
        prompt = str(body["messages"][-1]["content"])
        return [FIX_ADD if "in `add`" in prompt else FIX_CLAMP if "in `clamp`" in prompt else "no"]

    with OpenAIStub(route) as stub:
        proc = gauntlet(
            "fix",
            "--all",
            str(target),
            "--apply",
            "--no-confirm",
            "--base-url",
            stub.base_url,
            "--model",
            "stub-model",
            "--candidates",
            "2",
            "--tests",
            "0",
        )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{target} changed since it was read; nothing written" in proc.stderr
    assert "Fix 6 of 7 diagnostics" in proc.stdout  # the set was verified, just not written
    assert target.read_text() == saved
    assert leftovers(target.parent) == []


def test_line_and_all_are_mutually_exclusive_and_one_is_required(tmp_path: Path) -> None:
    f = tmp_path / "a.py"
    f.write_text("x = 1\n")
    both = gauntlet("fix", str(f), "--line", "1", "--all", timeout=60)
    assert both.returncode == 2
    assert "argument --all: not allowed with argument --line" in both.stderr
    neither = gauntlet("fix", str(f), timeout=60)
    assert neither.returncode == 2
    assert "one of the arguments --line --all is required" in neither.stderr
    assert f.read_text() == "x = 1\n"


# -- the transaction --------------------------------------------------------------------------


def three_files(tmp_path: Path) -> dict[Path, tuple[str, str]]:
    """Three files in three directories, each with its old text on disk."""
    changes: dict[Path, tuple[str, str]] = {}
    for name in ("a", "b", "c"):
        path = tmp_path / name / f"{name}.py"
        path.parent.mkdir()
        old = f"{name} = 1\n" * 50
        path.write_text(old)
        changes[path] = (old, f"{name} = 2\n" * 80)
    return changes


def snapshot(paths: Any) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in paths}


def test_apply_all_writes_every_file_with_its_mode_and_line_endings(tmp_path: Path) -> None:
    changes = three_files(tmp_path)
    a, b, _ = changes
    a.chmod(0o640)
    b.write_bytes(b"b = 1\r\nb = 1\r\n")
    changes[b] = ("b = 1\nb = 1\n", "b = 2\n")

    apply_all(changes)

    for path, (_, new) in changes.items():
        assert path.read_text() == new
        assert leftovers(path.parent) == []
    assert stat.S_IMODE(a.stat().st_mode) == 0o640
    assert b.read_bytes() == b"b = 2\r\n"  # a CRLF file stays CRLF


def fail_second(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """`os.<name>` raises ENOSPC on its second call (the second file) and works otherwise."""
    real = getattr(os, name)
    calls = {"n": 0}

    def hook(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return real(*args)

    monkeypatch.setattr(os, name, hook)


@pytest.mark.parametrize("failure", ["changed", "gone", "fsync", "replace", "unwritable"])
def test_a_failure_on_the_second_of_three_files_leaves_every_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    changes = three_files(tmp_path)
    _, b, _ = changes
    if failure == "changed":
        b.write_text(changes[b][0] + "# saved meanwhile\n")
    elif failure == "gone":
        b.unlink()
    elif failure == "unwritable":
        if os.geteuid() == 0:
            pytest.skip("root creates files in a read-only directory")
        b.parent.chmod(0o500)
    before = snapshot(p for p in changes if p.exists())

    if failure in ("fsync", "replace"):
        fail_second(monkeypatch, failure)
    with pytest.raises(ApplyError) as raised:
        apply_all(changes)
    monkeypatch.undo()
    b.parent.chmod(0o755)

    assert raised.value.path == b and str(b) in str(raised.value)
    if failure in ("changed", "gone"):
        assert isinstance(raised.value, StaleFileError)
        assert "nothing written" in str(raised.value)
    elif failure == "replace":
        # The first file had been replaced: it was put back.
        assert f"restored {next(iter(changes))}" in str(raised.value)
    else:
        assert "nothing was changed" in str(raised.value)
    assert snapshot(before) == before
    for path in changes:
        assert leftovers(path.parent) == []


KILLER = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path
    from gauntlet.server.transaction import apply_all

    name, at, spec = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    real, calls = getattr(os, name), [0]

    def hook(*args):
        calls[0] += 1
        if name == "replace":
            real(*args)  # the kill comes right after the at-th file is replaced
        if calls[0] == at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args) if name != "replace" else None

    setattr(os, name, hook)
    apply_all({Path(p): (old, new) for p, (old, new) in spec.items()})
    """
)


@pytest.mark.parametrize(
    ("hook", "at", "new_files"),
    [("fsync", 2, 0), ("replace", 1, 1), ("replace", 2, 2)],
    ids=["while-preparing", "after-first-replace", "after-second-replace"],
)
def test_a_kill_between_files_leaves_each_file_whole_and_the_next_run_cleans_up(
    tmp_path: Path, hook: str, at: int, new_files: int
) -> None:
    changes = three_files(tmp_path)
    spec = {str(p): texts for p, texts in changes.items()}
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, hook, str(at), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr

    # Every file is whole: the first `new_files` hold the new text, the rest the old.
    paths = list(changes)
    for number, path in enumerate(paths):
        old, new = changes[path]
        assert path.read_text() == (new if number < new_files else old), path
    # What is left: the killed run's temp files beside the files it had not replaced yet, named
    # as such, each holding that file's whole new text (a temp file is fsynced before any rename).
    left = {path: leftovers(path.parent) for path in paths}
    for number, path in enumerate(paths):
        names = left[path]
        if number < new_files or (hook == "fsync" and number >= at):
            assert names == [], names  # replaced, or never prepared
            continue
        assert len(names) == 1, names
        match = TEMP.match(names[0])
        assert match is not None and match["name"] == path.name, names
        assert (path.parent / names[0]).read_text() == changes[path][1]

    # The next run over those files finishes the job and removes the dead process's temp files.
    rest = {p: changes[p] for p in paths[new_files:]}
    apply_all(rest)
    for path in paths:
        assert path.read_text() == changes[path][1]
        assert leftovers(path.parent) == []


def test_temp_files_of_a_running_process_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("old\n")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = tmp_path / f".m.py.gauntlet-{dead.stdout.strip()}-abc123.tmp"
    live = tmp_path / f".m.py.gauntlet-{os.getppid()}-def456.tmp"
    other = tmp_path / f".n.py.gauntlet-{dead.stdout.strip()}-abc123.tmp"
    for temp in (stale, live, other):
        temp.write_text("half\n")

    apply_all({path: ("old\n", "new\n")})

    assert path.read_text() == "new\n"
    assert not stale.exists()  # its process is gone
    assert live.exists() and other.exists()  # a live process's, and another file's
