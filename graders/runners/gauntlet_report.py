"""pytest plugin loaded inside the sandbox: writes each test's outcome to $GAUNTLET_REPORT as JSON.

This file runs under the workspace's interpreter, which may not have gauntlet installed, so it
imports nothing but the standard library and pytest.
"""

import json
import os

import gauntlet_audit

gauntlet_audit.install()

_outcomes = {}
_collect_errors = []


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


def pytest_collectreport(report):
    if report.failed:
        _collect_errors.append({"nodeid": report.nodeid, "message": str(report.longrepr)[-600:]})


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("GAUNTLET_REPORT")
    if not path:
        return
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(
            {"tests": _outcomes, "collect_errors": _collect_errors, "exitstatus": int(exitstatus)},
            fh,
        )
