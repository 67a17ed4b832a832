"""Runs model-written (untrusted) test snippets against one candidate, each under its own time limit.

Usage: python gauntlet_untrusted.py TESTS.json OUT.jsonl PER_TEST_SECONDS. Appends one JSON line per
test as soon as it finishes, so a snippet that kills the process loses only what comes after it.
Standard library only: this runs under the workspace's interpreter.
"""

import json
import signal
import sys
import traceback


class _TestTimeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _TestTimeout()


def _run_one(code, limit):
    namespace = {"__name__": "gauntlet_untrusted_test"}
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        exec(compile(code, "<untrusted test>", "exec"), namespace)
        for name, obj in list(namespace.items()):
            if (
                name.startswith("test")
                and callable(obj)
                and getattr(obj, "__module__", None) == "gauntlet_untrusted_test"
            ):
                obj()
        return "pass", ""
    except _TestTimeout:
        return "timeout", "took longer than %gs" % limit
    except AssertionError:
        return "fail", traceback.format_exc(limit=-1)[-300:]
    except SyntaxError as exc:
        return "invalid", "SyntaxError: %s" % exc
    except BaseException as exc:
        return "error", "%s: %s" % (type(exc).__name__, str(exc)[:200])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def main():
    import gauntlet_audit

    gauntlet_audit.install()
    tests_path, out_path, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(tests_path, encoding="utf-8") as fh:
        tests = json.load(fh)
    with open(out_path, "a", encoding="utf-8") as out:
        for test in tests:
            status, detail = _run_one(test["code"], limit)
            out.write(json.dumps({"id": test["id"], "status": status, "detail": detail}) + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
