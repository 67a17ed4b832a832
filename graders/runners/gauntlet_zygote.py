"""A warm test runner: starts in its own sandbox before its candidate exists, then runs it once.

Usage: python gauntlet_zygote.py EXTRAS_DIR MODULE TARGET_PATH WAIT_S TEST_S -- PYTEST_ARGS...

Before the candidate exists it imports pytest and every auto-loaded pytest plugin, imports what
EXTRAS_DIR/gauntlet_preload.json lists (what the tests import that cannot reach MODULE), rewrites
the asserts of the test files, and starts the real pytest session up to the point where it would
collect: configured, plugins and conftest.py files loaded, fixtures parsed. MODULE cannot be
imported in all that time (an import hook refuses it); where something tried anyway, the runner
starts over as a fresh process without the session head start (a preload that touched it is undone
instead). Without the head start (the plan says a conftest.py imports MODULE), it runs pytest once
on a trivial test instead, which loads most of what pytest and its plugins load lazily.

Then it waits for EXTRAS_DIR/go.json, which holds the candidate's source (the host rings the FIFO
EXTRAS_DIR/go.bell once it is there). An import hook serves that source as MODULE (compiled with
TARGET_PATH as its file name, never from a cached .pyc), and the session goes on to collect and
run the tests in this process. The process ends as soon as the report is written. Each sandbox,
and so each warm runner, serves exactly one candidate. A runner started for a candidate that is
already waiting skips the head start. Standard library and pytest only: this runs under the
workspace's interpreter.
"""

import gc
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import pathlib
import select
import signal
import sys
import time

import pytest

PRELOAD_S = 20
"""The most the preloading may take; what is left when it runs out is imported by the tests."""
READY = b"gauntlet-ready\n"
PLAIN = "GAUNTLET_ZYGOTE_PLAIN"
"""Set when the runner started over: no session head start this time."""


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


class _Blocked(importlib.abc.MetaPathFinder):
    """Until the candidate is here: the target module (and its submodules) cannot be imported."""

    def __init__(self, module):
        self.module = module
        self.hit = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.module or fullname.startswith(self.module + "."):
            self.hit = True
            raise ImportError("gauntlet: %s is the candidate's module" % fullname)
        return None


class _PreloadTimeout(BaseException):
    pass


class _Quiet:
    """fds 1 and 2 to /dev/null: what warming up prints is nobody's business."""

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.devnull = os.open(os.devnull, os.O_WRONLY)
        self.saved = os.dup(1), os.dup(2)
        os.dup2(self.devnull, 1)
        os.dup2(self.devnull, 2)
        return self

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        for fd in (*self.saved, self.devnull):
            os.close(fd)
        return False


def _debug(message):
    if os.environ.get("GAUNTLET_ZYGOTE_DEBUG"):
        sys.stderr.write("gauntlet-zygote: %s\n" % message)
        sys.stderr.flush()


def _warm_up(extras):
    """Run pytest once on a trivial test, so that what pytest and its plugins load lazily (some
    plugins import whole libraries at session end) is loaded before the candidate arrives."""
    dry = os.path.join(extras, "test_gauntlet_warmup.py")
    if not os.path.exists(dry):
        return
    started = time.monotonic()
    outcome = "ok"
    try:
        with _Quiet():
            outcome = str(pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", extras, dry]))
    except BaseException as exc:
        outcome = repr(exc)  # a broken plugin shows up again, and is reported, in the real run
    _debug("warm-up: %.3fs %s" % (time.monotonic() - started, outcome))
    sys.modules.pop("test_gauntlet_warmup", None)


def _read_plan(extras):
    try:
        with open(os.path.join(extras, "gauntlet_preload.json"), encoding="utf-8") as fh:
            plan = json.load(fh)
    except (OSError, ValueError):
        return {}
    return plan if isinstance(plan, dict) else {}


def _preload(plan, guard, root):
    """Import what the tests import and what cannot reach the target, each in a clean attempt:
    one that fails or touches the target is undone (its new modules are dropped), and a project
    module must come from the project's own file."""
    names = [n for n in plan.get("modules", []) if isinstance(n, str)]
    files = plan.get("files", {})
    if not names or not isinstance(files, dict):
        return
    started = time.monotonic()
    kept = dropped = 0
    before = set(sys.modules)

    def out_of_time(signum, frame):
        raise _PreloadTimeout()

    def undo():
        for new in set(sys.modules) - before:
            del sys.modules[new]

    previous = signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(PRELOAD_S)
    try:
        with _Quiet():
            for name in names:
                if name in sys.modules:
                    continue
                before = set(sys.modules)
                guard.hit = False
                try:
                    importlib.import_module(name)
                    ok = not guard.hit
                except _PreloadTimeout:
                    raise
                except BaseException:
                    ok = False
                if ok and _from_expected_files(set(sys.modules) - before, files, root):
                    kept += 1
                else:
                    dropped += 1
                    undo()
    except _PreloadTimeout:
        dropped += 1
        undo()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        guard.hit = False
    _debug("preload: %.3fs, %d kept, %d dropped" % (time.monotonic() - started, kept, dropped))


def _from_expected_files(new, files, root):
    """Whether every newly imported project module is the project's own file for that name."""
    for name in new:
        top = name.partition(".")[0]
        path = getattr(sys.modules.get(name), "__file__", None)
        if name in files:
            mine = os.path.realpath(os.path.join(root, str(files[name])))
            if not path or os.path.realpath(path) != mine:
                return False
        elif top in files and path:
            # A module of a project package that the plan does not know: not ours to keep.
            return False
    return True


def _test_sources(args, root):
    """The test files among pytest's arguments and the conftest.py files above them."""
    found = []
    for arg in args:
        path = os.path.abspath(arg)
        if not (arg.endswith(".py") and os.path.isfile(path)):
            continue
        found.append(path)
        d = os.path.dirname(path)
        while d.startswith(root):
            conftest = os.path.join(d, "conftest.py")
            if os.path.isfile(conftest) and conftest not in found:
                found.append(conftest)
            if d == root:
                break
            d = os.path.dirname(d)
    return found


def _precompile(paths):
    """pytest rewrites the asserts of each test file and conftest.py it imports, from scratch
    (bytecode is not written here): do that now, and hand pytest the result for a file whose bytes
    are still the same (and when the assertion pass hook, which changes the rewrite, is off)."""
    try:
        from _pytest.assertion import rewrite

        original = rewrite._rewrite_test
    except (ImportError, AttributeError):
        return
    done = {}
    for path in paths:
        try:
            with open(path, "rb") as fh:
                source = fh.read()
            done[os.path.realpath(path)] = (source, original(pathlib.Path(path), None))
        except BaseException:
            continue  # pytest rewrites it again, and reports what is wrong with it

    def rewrite_test(fn, config):
        hit = done.get(os.path.realpath(str(fn)))
        if hit is not None and not (
            config is not None and config.getini("enable_assertion_pass_hook")
        ):
            try:
                with open(fn, "rb") as fh:
                    same = fh.read() == hit[0]
            except OSError:
                same = False
            if same:
                return hit[1]
        return original(fn, config)

    if done:
        rewrite._rewrite_test = rewrite_test


def _wait_for_order(extras, wait_s, bell):
    """The candidate's order (go.json), or None when none came within wait_s."""
    go = os.path.join(extras, "go.json")
    deadline = time.monotonic() + wait_s
    while not os.path.exists(go):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        if bell is None:
            time.sleep(0.002)
            continue
        ready, _, _ = select.select([bell], [], [], min(left, 1.0))
        if ready:
            try:
                rung = os.read(bell, 64)
            except BlockingIOError:
                rung = b"."
            if not rung:  # every writer closed: the FIFO stays readable from now on
                os.close(bell)
                bell = None
    with open(go, encoding="utf-8") as fh:
        return json.load(fh)


class _Runner:
    """What the runner knows, and the plugin of the real session: it waits for the candidate at
    the end of session start (with `guard` set) or gets it beforehand (with `finder` set); keeps
    the candidate's import hook ahead of pytest's assertion rewriter; and ends the process once the
    session is over and the report written: pytest's unconfigure (a few full garbage collections)
    and the interpreter's teardown change no outcome."""

    def __init__(self, extras, module, target, wait_s, test_s, bell):
        self.extras = extras
        self.module = module
        self.target = target
        self.wait_s = wait_s
        self.test_s = test_s
        self.out = os.dup(1), os.dup(2)
        """The host's stdout and stderr, kept from before pytest captures fds 1 and 2."""
        self.bell = bell
        self.guard = None
        self.finder = None
        self.started = time.monotonic()
        self.cpu = time.process_time()

    def ready(self):
        # What is alive now lives until the end: keep it out of every garbage collection.
        gc.collect()
        if hasattr(gc, "freeze"):
            gc.freeze()
        # The host watches stdout for this line to know the runner is warm.
        os.write(self.out[0], READY)

    def take_order(self):
        """Wait for the candidate, then serve it as the target from now on; or end the process."""
        order = _wait_for_order(self.extras, self.wait_s, self.bell)
        if order is None:
            _exit(3)
        if order.get("stop"):
            _exit(0)
        # What this run measures and which tests it runs (see gauntlet_report.py).
        for key, value in (order.get("env") or {}).items():
            if str(key).startswith("GAUNTLET_"):
                os.environ[str(key)] = str(value)
        # The whole test run gets TEST_S seconds (or the order's own limit, when lower) from now;
        # SIGALRM's default action ends it.
        limit = min(float(order.get("timeout_s") or self.test_s), self.test_s)
        signal.alarm(max(1, int(limit + 0.999)))
        if order.get("cpu_s"):
            _limit_cpu(float(order["cpu_s"]))
        self.started = time.monotonic()
        self.cpu = time.process_time()
        # The report says what the run cost from here, the clock its CPU budget counts on.
        os.environ["GAUNTLET_CPU_FROM"] = repr(self.cpu)
        self.serve(order["source"])

    def serve(self, source):
        self.finder = _CandidateFinder(self.module, source, self.target)
        if self.guard is not None and self.guard in sys.meta_path:
            sys.meta_path.remove(self.guard)
        sys.meta_path.insert(0, self.finder)

    # pytest puts its rewriter first in sys.meta_path, and it would load the target from its file
    # if the target is a module marked for rewriting; conftest.py files import after this.
    @pytest.hookimpl(tryfirst=True)
    def pytest_load_initial_conftests(self, early_config, parser, args):
        if self.finder is not None:
            sys.meta_path.remove(self.finder)
            sys.meta_path.insert(0, self.finder)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session):
        if self.finder is not None:
            return
        if self.guard is None or self.guard.hit:
            # Something tried to import the target before its candidate was here.
            _start_over(self.out)
        _debug("session head start: %.3fs" % (time.monotonic() - self.started))
        self.ready()
        self.take_order()

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session):
        if self.finder is None:  # the session start did not wait: never collect without it
            _start_over(self.out)

    # The last session-finish hook: after the report plugin has written its file.
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        if self.finder is None:  # the session start failed before the candidate came
            _start_over(self.out)
        _debug(
            "session %.3fs, %.3fs CPU"
            % (time.monotonic() - self.started, time.process_time() - self.cpu)
        )
        _exit(int(exitstatus))


def _limit_cpu(seconds):
    """At most `seconds` more CPU time for this process from now: a candidate that loops is
    stopped by the CPU it burns, however busy the machine is. ITIMER_PROF counts every thread's
    CPU time to the kernel's tick and SIGPROF's default action ends the process; RLIMIT_CPU (whole
    seconds, so up to one more) still ends it should the tests reset that timer."""
    try:
        import resource

        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = used.ru_utime + used.ru_stime
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        want = int(spent + seconds + 0.999)
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        if soft == resource.RLIM_INFINITY or want < soft:
            resource.setrlimit(resource.RLIMIT_CPU, (want, hard))
    except (ImportError, OSError, ValueError):
        pass  # the wall clock still bounds the run
    try:
        signal.signal(signal.SIGPROF, signal.SIG_DFL)
        signal.setitimer(signal.ITIMER_PROF, max(0.01, seconds))
    except (AttributeError, OSError, ValueError):
        pass  # RLIMIT_CPU and the wall clock still bound the run


def _exit(code):
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _start_over(out):
    """Run this runner again as a fresh process (no candidate has been here), without the session
    head start: the fds pytest captured go back to the host's first."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(out[0], 1)
    os.dup2(out[1], 2)
    os.environ[PLAIN] = "1"
    _debug("starting over without the session head start")
    os.execv(sys.executable, [sys.executable, *sys.argv])


def main():
    extras, module, target, wait_s, test_s = sys.argv[1:6]
    pytest_args = sys.argv[sys.argv.index("--") + 1 :]
    started_over = bool(os.environ.pop(PLAIN, ""))  # the tests do not see it
    import gauntlet_audit

    gauntlet_audit.install()
    try:
        bell = os.open(os.path.join(extras, "go.bell"), os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        bell = None
    runner = _Runner(extras, module, target, float(wait_s), float(test_s), bell)
    root = os.getcwd()
    go = os.path.join(extras, "go.json")
    if os.path.exists(go):
        # Started for a candidate that is already waiting: a head start would only cost.
        sys.path.insert(0, root)
        runner.take_order()
        return int(pytest.main(pytest_args, plugins=[runner]))
    plan = _read_plan(extras)
    head_start = bool(plan.get("head_start")) and not started_over
    if not head_start:
        # What pytest and its plugins load lazily; a session's head start loads it itself.
        _warm_up(extras)
    sys.path.insert(0, root)
    runner.guard = _Blocked(module)
    sys.meta_path.insert(0, runner.guard)
    _preload(plan, runner.guard, root)
    _precompile(_test_sources(pytest_args, root))
    if not head_start or os.path.exists(go):
        runner.ready()
        runner.take_order()
        return int(pytest.main(pytest_args, plugins=[runner]))
    runner.started = time.monotonic()
    code = int(pytest.main(pytest_args, plugins=[runner]))
    if runner.finder is None:
        # The session ended before its start was over (say, a conftest.py that does not import):
        # the candidate has not been here, and a plain run reports what is wrong.
        _start_over(runner.out)
    return code


if __name__ == "__main__":
    sys.exit(main())
