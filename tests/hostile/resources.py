"""Hostile probe: burn CPU, memory, disk or the output pipe until something stops us."""

import json
import os
import sys

mode = sys.argv[1]
print(f"PROBE-RAN {mode}", flush=True)

if mode == "loop":
    while True:
        pass

elif mode == "memory":
    hog = []
    while True:
        hog.append(bytearray(64 * 1024 * 1024))

elif mode == "fill":
    written = 0
    chunk = b"x" * (1 << 20)
    n = 0
    try:
        while written < (1 << 30):
            with open(os.path.join(sys.argv[2], f"fill{n}"), "wb") as f:
                for _ in range(16):
                    f.write(chunk)
                    f.flush()
                    written += len(chunk)
            n += 1
    except OSError as exc:
        print(json.dumps({"written": written, "error": type(exc).__name__}), flush=True)
    else:
        print(json.dumps({"written": written, "error": None}), flush=True)

elif mode == "flood":
    total = int(sys.argv[2])
    block = b"y" * (1 << 20)
    for _ in range(total // len(block)):
        os.write(1, block)
        os.write(2, block[:16384])
