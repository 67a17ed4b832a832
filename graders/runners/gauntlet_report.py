"""pytest plugin loaded inside the sandbox: writes each test's outcome to $GAUNTLET_REPORT as JSON.

With $GAUNTLET_SELECT (a JSON file listing node ids) only those tests run (the grader's canary
tests always do). With $GAUNTLET_COVER (a file path) coverage.py records, per test, which lines of
that file the test executed: coverage.py's dynamic contexts, one per test node id for its call
and one each for its setup and teardown ("setup|NODEID"), started once collection is over.

This file runs under the workspace's interpreter, which may not have gauntlet installed, so it
imports nothing but the standard library, pytest and (for coverage) coverage.py, from the
workspace's interpreter or else from $GAUNTLET_COVERAGE_PATH.
"""

import json
import os
import signal
import sys
import time

import gauntlet_audit
import pytest

gauntlet_audit.install()


def _limit_cpu():
    """A cold run's CPU budget ($GAUNTLET_CPU_S, counted from the interpreter's start), to the
    kernel's tick: ITIMER_PROF counts every thread's CPU time and SIGPROF's default action ends
    the process. The sandbox's RLIMIT_CPU (whole seconds) stays behind it."""
    budget = os.environ.get("GAUNTLET_CPU_S")
    if not budget:
        return
    try:
        signal.signal(signal.SIGPROF, signal.SIG_DFL)
        signal.setitimer(signal.ITIMER_PROF, max(0.01, float(budget) - time.process_time()))
    except (AttributeError, OSError, ValueError):
        pass


_limit_cpu()

_outcomes = {}
_durations = {}
_collect_errors = []
_cover = {"cov": None, "error": ""}
_clock = {}
CANARY = "test_gauntlet_canary_"


def pytest_runtest_logreport(report):
    prev = _outcomes.get(report.nodeid)
    if report.failed:
        outcome = "failed" if report.when == "call" else "error"
    elif report.skipped:
        outcome = "skipped"
    else:
        outcome = "passed"
    # The worst phase wins: a passing call followed by a failing teardown is an error.
    rank = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
    if prev is None or rank[outcome] > rank[prev]:
        _outcomes[report.nodeid] = outcome
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + float(report.duration or 0.0)


def pytest_collectreport(report):
    if report.failed:
        _collect_errors.append({"nodeid": report.nodeid, "message": str(report.longrepr)[-600:]})


def _base(nodeid):
    """A node id without its parameters: ids made from object reprs differ from run to run."""
    return nodeid.split("[", 1)[0]


def _wanted():
    path = os.environ.get("GAUNTLET_SELECT")
    if not path:
        return None
    with open(path, encoding="utf-8") as fh:
        return {_base(str(n)) for n in json.load(fh)}


def _drop_unselected_files(config, wanted):
    """Test files that hold none of the selected tests are not even imported: the arguments
    pytest is about to collect lose them (the canary file always stays)."""
    files = {n.split("::", 1)[0] for n in wanted}
    root = str(config.rootpath)
    kept = []
    for arg in config.args:
        path = arg.split("::", 1)[0]
        name = os.path.basename(path)
        rel = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
        if not path.endswith(".py") or name.startswith(CANARY) or rel in files:
            kept.append(arg)
    if kept and len(kept) < len(config.args):
        config.args[:] = kept


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session):
    _clock["collect"] = time.monotonic()
    _clock["collect_cpu"] = time.process_time()
    wanted = _wanted()
    if wanted is not None:
        try:
            _drop_unselected_files(session.config, wanted)
        except (AttributeError, TypeError, ValueError):
            pass  # every file is collected; the selection still holds


def pytest_collection_finish(session):
    if "collect" in _clock:
        _clock["collect_s"] = time.monotonic() - _clock["collect"]
        _clock["collect_cpu_s"] = time.process_time() - _clock["collect_cpu"]
    # Started once the tests are collected: what runs on import is not any test's (and unmeasured,
    # collection costs what it costs a candidate's run, which its time limit is drawn from).
    target = os.environ.get("GAUNTLET_COVER")
    if not target or _cover["cov"] is not None:
        return
    try:
        try:
            import coverage
        except ImportError:
            extra = os.environ.get("GAUNTLET_COVERAGE_PATH")
            if not extra:
                raise
            sys.path.append(extra)
            import coverage
        cov = coverage.Coverage(data_file=None, include=[target], config_file=False)
        cov.start()
    except Exception as exc:  # the report says so; the outcomes are still good
        _cover["error"] = ("coverage.py did not start: %r" % (exc,))[:300]
        return
    _cover["cov"] = cov


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector, name, obj):
    """No items for the classes and functions of a selected file that hold none of the selected
    tests: pytest still imports the file (an import error is reported as ever), but builds items
    for what runs only (765 items cost more-itertools' collection 0.13 s of CPU). The canary file
    is never narrowed."""
    picked = _selection()
    if picked is None or os.path.basename(str(collector.path)).startswith(CANARY):
        return None
    prefixes, files = picked
    if collector.nodeid.split("::", 1)[0] not in files:
        return None
    return None if collector.nodeid + "::" + name in prefixes else []


_picked = {}


def _selection():
    """(every prefix of a selected id at a `::`, the files they are in), read once; None: no
    selection."""
    if "ids" not in _picked:
        wanted = _wanted()
        if wanted is None:
            _picked["ids"] = None
        else:
            prefixes = set()
            for nodeid in wanted:
                parts = nodeid.split("::")
                prefixes.update("::".join(parts[:i]) for i in range(2, len(parts) + 1))
            _picked["ids"] = (prefixes, {n.split("::", 1)[0] for n in wanted})
    return _picked["ids"]


def pytest_collection_modifyitems(session, config, items):
    wanted = _wanted()
    if wanted is None:
        return
    keep, drop = [], []
    for item in items:
        canary = os.path.basename(str(getattr(item, "fspath", ""))).startswith(CANARY)
        (keep if canary or _base(item.nodeid) in wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _context(name):
    cov = _cover["cov"]
    if cov is not None:
        cov.switch_context(name)


# A fixture of a wider scope than the test sets up (and tears down) in whichever test of its
# module, class or session comes first (last): what a test's setup or teardown runs is recorded
# apart ("setup|NODEID"), and the map counts it for every test of that test's file.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    _context("setup|" + item.nodeid)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    _context(item.nodeid)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    _context("teardown|" + item.nodeid)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    try:
        yield
    finally:
        _context("")


def _coverage_report():
    cov = _cover["cov"]
    if cov is None:
        return {"error": _cover["error"]} if _cover["error"] else None
    try:
        cov.stop()
        data = cov.get_data()
        lines = {}
        for path in data.measured_files():
            for line, contexts in data.contexts_by_lineno(path).items():
                lines.setdefault(str(line), set()).update(contexts)
        return {"lines": {k: sorted(v) for k, v in lines.items()}}
    except Exception as exc:
        return {"error": ("coverage.py failed: %r" % (exc,))[:300]}


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("GAUNTLET_REPORT")
    if not path:
        return
    report = {
        "tests": _outcomes,
        "durations": _durations,
        "collect_errors": _collect_errors,
        "exitstatus": int(exitstatus),
        "collect_s": _clock.get("collect_s", 0.0),
        "collect_cpu_s": _clock.get("collect_cpu_s", 0.0),
        # CPU time on the clock the run's budget counts: from the interpreter's start, or, in a
        # warm runner, from the candidate's arrival.
        "run_cpu_s": time.process_time() - float(os.environ.get("GAUNTLET_CPU_FROM") or 0.0),
    }
    cover = _coverage_report()
    if cover is not None:
        report["cover"] = cover
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(report, fh)
