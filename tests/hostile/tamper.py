"""Hostile probe: try to modify, delete or replace each path given on the command line."""

import json
import os
import sys

print("PROBE-RAN tamper", flush=True)


def attempt(fn, *args):
    try:
        fn(*args)
        return "ok"
    except OSError as exc:
        return type(exc).__name__


def write(path, mode):
    with open(path, mode) as f:
        f.write("pwned")


def tamper(path):
    d = os.path.dirname(path)
    return {
        "append": attempt(write, path, "a"),
        "chmod": attempt(os.chmod, path, 0o777),
        "utime": attempt(os.utime, path, (0, 0)),
        "rename": attempt(os.rename, path, path + ".moved"),
        "unlink": attempt(os.unlink, path),
        "create": attempt(write, os.path.join(d, "planted.py"), "w"),
        "mkdir": attempt(os.makedirs, os.path.join(d, "planted_dir")),
    }


print(json.dumps({path: tamper(path) for path in sys.argv[1:]}))
