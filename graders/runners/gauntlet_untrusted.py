"""Runs model-written (untrusted) test snippets against one candidate, each under its own time limit.

Usage: python gauntlet_untrusted.py TESTS.json OUT.jsonl PER_TEST_SECONDS [TARGET_FILE [MODULE ...]].
TESTS.json is a list of {"id", "code"} objects, or {"tests": [...], "probes": [[function, args]]}.
Appends one JSON line per test as soon as it finishes, so a snippet that kills the process loses
only what comes after it. With a target, the candidate's module is imported first and its public
functions are wrapped, so each line also records what the test's calls returned (a canonical repr)
or raised (the exception type): the outputs that differential testing compares across candidates.
A returned value that contradicts the function's return annotation is marked with "~". Probes
(extra argument lists, as literal reprs) are then called once each, under a shorter limit and a
total budget, and written as {"probe": i, "out": ...} lines.
Standard library only, and no syntax newer than 3.8: this runs under the workspace's interpreter.
"""

import ast
import functools
import hashlib
import importlib
import importlib.util
import inspect
import json
import os
import re
import signal
import sys
import time
import traceback

MAX_CALLS = 20
"""Calls recorded per test; a test that loops over many inputs keeps its first ones."""
MAX_CANON = 120
"""Longer canonical outputs are replaced by their length and a digest."""

PROBE_SECONDS = 0.5
PROBE_BUDGET_SECONDS = 4.0

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_calls = []
_depth = [0]
_returns = {}
"""function name -> the AST of its return annotation, from the target's source."""
_module = [None]
_EXACT = {
    "int": int,
    "float": float,
    "str": str,
    "bytes": bytes,
    "bool": bool,
    "complex": complex,
    "list": list,
    "List": list,
    "dict": dict,
    "Dict": dict,
    "tuple": tuple,
    "Tuple": tuple,
    "set": set,
    "Set": set,
    "frozenset": frozenset,
    "FrozenSet": frozenset,
}


class _TestTimeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _TestTimeout()


def _canon(value, depth=0):
    """A repr that is equal for values that compare equal: sets and dict items sorted, floats
    rounded, memory addresses dropped; types stay visible (1 is not 1.0, [] is not ())."""
    if depth > 12:
        return "..."
    kind = type(value)
    if value is None or kind in (bool, int, str, bytes):
        return repr(value)
    if kind is float:
        return "float(%s)" % format(value, ".12g")
    if kind is complex:
        return "complex(%s,%s)" % (format(value.real, ".12g"), format(value.imag, ".12g"))
    if kind in (list, tuple):
        inner = ", ".join(_canon(v, depth + 1) for v in value)
        return "[%s]" % inner if kind is list else "(%s)" % inner
    if kind in (set, frozenset):
        inner = ", ".join(sorted(_canon(v, depth + 1) for v in value))
        return "%s{%s}" % (kind.__name__, inner)
    if kind is dict:
        items = sorted(_canon(k, depth + 1) + ": " + _canon(v, depth + 1) for k, v in value.items())
        return "{%s}" % ", ".join(items)
    try:
        text = repr(value)
    except Exception as exc:
        text = "<unrepresentable %s>" % type(exc).__name__
    return "%s:%s" % (kind.__name__, _ADDRESS.sub("", text))


def _name(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _conforms(value, node, depth=0):
    """False only when `value` certainly contradicts the annotation `node`; exact types, so an int
    where float is declared, a tuple where list is declared or a bool where int is, do not fit."""
    if node is None or depth > 6:
        return True
    if isinstance(node, ast.Constant):
        if node.value is None:
            return value is None
        if isinstance(node.value, str):
            try:
                return _conforms(value, ast.parse(node.value, mode="eval").body, depth + 1)
            except SyntaxError:
                return True
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _conforms(value, node.left, depth + 1) or _conforms(value, node.right, depth + 1)
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = _name(node)
        if name == "None":
            return value is None
        kind = _EXACT.get(name)
        return kind is None or type(value) is kind
    if not isinstance(node, ast.Subscript):
        return True
    base = _name(node.value)
    inner = node.slice
    if isinstance(inner, getattr(ast, "Index", ())):  # Python 3.8 wraps the slice
        inner = inner.value
    args = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
    if base in ("Optional", "Union"):
        options = args + ([ast.Constant(None)] if base == "Optional" else [])
        return any(_conforms(value, a, depth + 1) for a in options)
    kind = _EXACT.get(base)
    if kind is None:
        return True
    if type(value) is not kind:
        return False
    if kind in (list, set, frozenset):
        return all(_conforms(v, args[0], depth + 1) for v in list(value)[:50])
    if kind is dict and len(args) == 2:
        return all(
            _conforms(k, args[0], depth + 1) and _conforms(v, args[1], depth + 1)
            for k, v in list(value.items())[:50]
        )
    if kind is tuple:
        if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis:
            return all(_conforms(v, args[0], depth + 1) for v in value[:50])
        if len(args) == 1 and isinstance(args[0], ast.Tuple) and not args[0].elts:
            return len(value) == 0
        return len(value) == len(args) and all(
            _conforms(value[j], args[j], depth + 1) for j in range(len(args))
        )
    return True


def _record(name, kind, text):
    """One call: [function, "=" (returned, fits its annotation) | "=~" (returned, does not) |
    "!" (raised; text is the exception type or "timeout"), text]."""
    if len(_calls) < MAX_CALLS:
        _calls.append([name, kind, text])


def _wrap(name, fn):
    @functools.wraps(fn)
    def recorded(*args, **kwargs):
        # Only the test's own calls count: recursion and calls between the module's functions
        # go through the wrapper too (they look the name up in the module) but are not outputs.
        if _depth[0]:
            return fn(*args, **kwargs)
        _depth[0] += 1
        try:
            result = fn(*args, **kwargs)
        except _TestTimeout:
            _record(name, "!", "timeout")
            raise
        except BaseException as exc:
            _record(name, "!", type(exc).__name__)
            raise
        finally:
            _depth[0] -= 1
        try:
            text = _canon(result)
            fits = _conforms(result, _returns.get(name))
        except Exception as exc:  # a hostile or broken __repr__; a timeout still propagates
            text, fits = "<unrepresentable %s>" % type(exc).__name__, True
        if len(text) > MAX_CANON:
            digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]
            text = "#%d:%s" % (len(text), digest)
        _record(name, "=" if fits else "=~", text)
        return result

    return recorded


def _instrument(target, modules, limit):
    """Import the candidate's module under the first name that resolves to `target` and wrap its
    public functions; returns the problem as text, or ""."""
    want = os.path.realpath(target)
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        for name in modules:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                continue
            origin = getattr(spec, "origin", None) if spec else None
            if not origin or os.path.realpath(origin) != want:
                continue
            with open(target, encoding="utf-8") as fh:
                tree = ast.parse(fh.read())
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    _returns[node.name] = node.returns
            module = importlib.import_module(name)
            _module[0] = module
            for attr, obj in list(vars(module).items()):
                if (
                    not attr.startswith("_")
                    and inspect.isfunction(obj)
                    and obj.__module__ == module.__name__
                ):
                    setattr(module, attr, _wrap(attr, obj))
            return ""
        return "the target module is not importable"
    except _TestTimeout:
        return "importing the target took longer than %gs" % limit
    except BaseException as exc:
        return "importing the target failed: %s" % type(exc).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


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
        _depth[0] = 0


def _probe(function, args_repr, limit):
    """Call one wrapped function on literal arguments; what it returned or raised, or "" when the
    probe could not be made."""
    fn = getattr(_module[0], function, None)
    if not callable(fn):
        return "missing"
    try:
        args = ast.literal_eval(args_repr)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return ""
    del _calls[:]
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        fn(*args)
    except _TestTimeout:
        pass
    except BaseException:
        pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _depth[0] = 0
    return _calls[0] if _calls else "none"


def _run_probes(probes, out, limit):
    start = time.monotonic()
    for i, probe in enumerate(probes):
        if time.monotonic() - start > PROBE_BUDGET_SECONDS:
            break
        try:
            function, args_repr = str(probe[0]), str(probe[1])
        except (TypeError, IndexError):
            continue
        result = _probe(function, args_repr, min(limit, PROBE_SECONDS))
        out.write(json.dumps({"probe": i, "out": result}) + "\n")
        out.flush()


def main():
    import gauntlet_audit

    gauntlet_audit.install()
    tests_path, out_path, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(tests_path, encoding="utf-8") as fh:
        payload = json.load(fh)
    tests = payload.get("tests", []) if isinstance(payload, dict) else payload
    probes = payload.get("probes", []) if isinstance(payload, dict) else []
    instrumented = ""
    if len(sys.argv) > 5:
        instrumented = _instrument(sys.argv[4], sys.argv[5:], limit) or "ok"
    with open(out_path, "a", encoding="utf-8") as out:
        for test in tests:
            del _calls[:]
            status, detail = _run_one(test["code"], limit)
            item = {"id": test["id"], "status": status, "detail": detail}
            if instrumented:
                item["calls"] = list(_calls)
            out.write(json.dumps(item) + "\n")
            out.flush()
        if instrumented == "ok" and probes:
            _run_probes(probes, out, limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
