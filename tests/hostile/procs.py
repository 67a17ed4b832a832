"""Hostile probe: escape the process tree, fork-bomb, kill the host, make a user namespace."""

import ctypes
import json
import os
import signal
import subprocess
import sys
import time

mode = sys.argv[1]
print(f"PROBE-RAN {mode}", flush=True)

if mode == "setsid":
    # Double fork + setsid: the grandchild leaves our process group and session.
    marker = sys.argv[2]
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", marker])
        os._exit(0)
    time.sleep(0.5)
    print("DETACHED", flush=True)

elif mode == "forkbomb":
    # Bounded: at most `limit` children, each sleeping, so a failed test cannot take the host down.
    marker, limit = sys.argv[2], int(sys.argv[3])
    made = 0
    for _ in range(limit):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", marker])
        made += 1
    print(json.dumps({"forked": made}), flush=True)
    time.sleep(1)

elif mode == "killparent":
    results = {}
    for name, pid in (("ppid", os.getppid()), ("pid1", 1), ("all", -1)):
        try:
            os.kill(pid, signal.SIGKILL)
            results[name] = "ok"
        except OSError as exc:
            results[name] = type(exc).__name__
    print(json.dumps(results), flush=True)

elif mode == "userns":
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newuser = 0x10000000
    res = {"unshare": libc.unshare(clone_newuser), "unshare_errno": ctypes.get_errno()}
    try:
        p = subprocess.run(["unshare", "-U", "-r", "id", "-u"], capture_output=True, timeout=10)
        res["unshare_cmd"] = [p.returncode, p.stdout.decode().strip()]
    except OSError as exc:
        res["unshare_cmd"] = [-1, type(exc).__name__]
    # clone3 cannot be filtered by flags; it must be refused outright (glibc then uses clone).
    res["clone3"] = libc.syscall(435, None, 0)
    res["clone3_errno"] = ctypes.get_errno()
    pid = os.fork()  # ordinary forks and threads must still work
    if pid == 0:
        os._exit(7)
    res["fork_status"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    print(json.dumps(res), flush=True)
