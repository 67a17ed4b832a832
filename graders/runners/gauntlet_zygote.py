"""A warm test runner: starts in its own sandbox before its candidate exists, then runs it once.

Usage: python gauntlet_zygote.py EXTRAS_DIR MODULE TARGET_PATH WAIT_S TEST_S -- PYTEST_ARGS...
It imports pytest and every auto-loaded pytest plugin, then waits for EXTRAS_DIR/go.json, which
holds the candidate's source. An import hook serves that source as MODULE (compiled with
TARGET_PATH as its file name, never from a cached .pyc), and pytest runs in this process. Each
sandbox, and so each warm runner, serves exactly one candidate. Standard library and pytest only:
this runs under the workspace's interpreter.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import signal
import sys
import time


class _CandidateLoader(importlib.abc.Loader):
    def __init__(self, source, path, package):
        self.source = source
        self.path = path
        self.package = package

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__file__ = self.path
        if self.package:
            module.__path__ = [os.path.dirname(self.path)]
        code = compile(self.source, self.path, "exec", dont_inherit=True)
        exec(code, module.__dict__)

    def get_source(self, fullname):
        return self.source


class _CandidateFinder(importlib.abc.MetaPathFinder):
    def __init__(self, module, source, path):
        self.module = module
        self.loader = _CandidateLoader(source, path, path.endswith("__init__.py"))

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.module:
            return None
        spec = importlib.util.spec_from_loader(
            fullname, self.loader, origin=self.loader.path, is_package=self.loader.package
        )
        spec.has_location = True
        return spec


def _warm_up(extras):
    """Run pytest once on a trivial test, so that what pytest and its plugins load lazily (some
    plugins import whole libraries at session end) is loaded before the candidate arrives."""
    import pytest

    dry = os.path.join(extras, "test_gauntlet_warmup.py")
    if not os.path.exists(dry):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(1), os.dup(2)
    started = time.monotonic()
    outcome = "ok"
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        outcome = str(pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", extras, dry]))
    except BaseException as exc:
        outcome = repr(exc)  # a broken plugin shows up again, and is reported, in the real run
    finally:
        sys.stdout.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(devnull)
    if os.environ.get("GAUNTLET_ZYGOTE_DEBUG"):
        sys.stderr.write(
            "gauntlet-zygote warm-up: %.3fs %s\n" % (time.monotonic() - started, outcome)
        )
    sys.modules.pop("test_gauntlet_warmup", None)


def main():
    extras, module, target, wait_s, test_s = sys.argv[1:6]
    pytest_args = sys.argv[sys.argv.index("--") + 1 :]
    import gauntlet_audit

    gauntlet_audit.install()
    _warm_up(extras)
    # The host watches stdout for this line to know the runner is warm.
    os.write(1, b"gauntlet-ready\n")
    go = os.path.join(extras, "go.json")
    deadline = time.monotonic() + float(wait_s)
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            return 3
        time.sleep(0.002)
    with open(go, encoding="utf-8") as fh:
        order = json.load(fh)
    if order.get("stop"):
        return 0
    # The whole test run gets TEST_S seconds from now; SIGALRM's default action ends the process.
    signal.alarm(max(1, int(float(test_s))))
    sys.meta_path.insert(0, _CandidateFinder(module, order["source"], target))
    sys.path.insert(0, os.getcwd())
    import pytest

    started = time.monotonic()
    code = int(pytest.main(pytest_args))
    if os.environ.get("GAUNTLET_ZYGOTE_DEBUG"):
        sys.stderr.write("gauntlet-zygote: %.3fs\n" % (time.monotonic() - started))
    return code


if __name__ == "__main__":
    sys.exit(main())
