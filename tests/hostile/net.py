"""Hostile probe: reach a loopback TCP port, a Unix socket path and an abstract socket."""

import json
import socket
import sys

print("PROBE-RAN net", flush=True)
port, unix_path, abstract = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def attempt(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect(addr)
        s.sendall(b"PWNED")
        return "connected"
    except OSError as exc:
        return type(exc).__name__
    finally:
        s.close()


print(
    json.dumps(
        {
            "tcp": attempt(socket.AF_INET, ("127.0.0.1", port)),
            "unix": attempt(socket.AF_UNIX, unix_path),
            "abstract": attempt(socket.AF_UNIX, "\0" + abstract),
            "docker": attempt(socket.AF_UNIX, "/var/run/docker.sock"),
        }
    )
)
