"""Audit hook loaded inside the sandbox: blocks and records what candidate code tries to do.

The sandbox already contains these actions; the hook attributes them. An event counts only when a
frame of the candidate's own file ($GAUNTLET_TARGET) is on the stack, so the test machinery and the
project's other code are left alone. Each attempt is appended as one JSON line to $GAUNTLET_AUDIT
and refused with PermissionError. Standard library only: this runs under the workspace's interpreter.
"""

import json
import os
import sys
import threading

_TARGETS = frozenset(p for p in os.environ.get("GAUNTLET_TARGET", "").split(os.pathsep) if p)
_OUT = os.environ.get("GAUNTLET_AUDIT", "")
_WRITABLE = ("/tmp/", "/dev/shm/", "/dev/null")
_SECRETS = ("/environ", "/.ssh", "/etc/shadow", "/.aws", "/.config/gcloud", "/.netrc", "/.docker")
_local = threading.local()
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

_PROCESS = {
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
}
_FILES = {
    "os.remove",
    "os.rmdir",
    "os.rename",
    "shutil.rmtree",
    "os.symlink",
    "os.link",
    "os.chmod",
    "os.chown",
    "os.truncate",
    "os.utime",
    "os.mkdir",
}


def _path(value):
    if isinstance(value, bytes):
        return os.fsdecode(value)
    if isinstance(value, str):
        return value
    return None


def _outside(path):
    full = os.path.abspath(path)
    return not full.startswith(_WRITABLE) and full not in ("/dev/null",)


def _classify(event, args):
    if event == "open":
        path = _path(args[0])
        if path is None:
            return None
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        if any(s in path for s in _SECRETS):
            return "read a secret file (%s)" % path
        writing = any(c in mode for c in "wax+") or bool(flags & _WRITE_FLAGS)
        if writing and _outside(path):
            return "write %s outside the sandbox's temp dir" % path
        return None
    if event in ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"):
        return "use the network (%s %r)" % (event, args[1] if len(args) > 1 else "")
    if event in _PROCESS:
        return "start a process (%s)" % event
    if event in ("os.kill", "os.killpg", "signal.pthread_kill"):
        return "send a signal (%s)" % event
    if event in _FILES:
        path = _path(args[0]) if args else None
        if path is None or _outside(path):
            return "change files outside the sandbox's temp dir (%s %s)" % (event, path)
        return None
    if event.startswith("ctypes.") or event == "sys.addaudithook":
        return "reach below Python (%s)" % event
    if event == "os.getenv" or event == "os.environ":
        return None
    return None


def _from_candidate():
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename in _TARGETS:
            return True
        frame = frame.f_back
    return False


def _record(why):
    if not _OUT:
        return
    fd = os.open(_OUT, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644)
    try:
        os.write(fd, (json.dumps({"attempt": why}) + "\n").encode())
    finally:
        os.close(fd)


def _hook(event, args):
    if getattr(_local, "busy", False):
        return
    _local.busy = True
    try:
        why = _classify(event, args)
        if why is not None and _from_candidate():
            _record(why)
            raise PermissionError("gauntlet sandbox refused: the candidate tried to " + why)
    finally:
        _local.busy = False


def install():
    if _TARGETS and not getattr(sys, "_gauntlet_audit", False):
        sys._gauntlet_audit = True
        sys.addaudithook(_hook)
