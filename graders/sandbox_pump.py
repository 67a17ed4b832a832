"""Pipe pump for sandboxed runs: feeds stdin, reads stdout/stderr with a cap, never deadlocks."""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import time
from collections.abc import Callable

_CHUNK = 1 << 16


class Pump:
    """Feeds stdin and reads stdout/stderr without deadlock, keeping at most cap bytes of each."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        stdin: bytes | None,
        cap: int,
        on_stdout: Callable[[bytes], None] | None = None,
    ) -> None:
        self.on_stdout = on_stdout
        """Called with the stdout captured so far after each read (e.g. to spot a readiness line)."""
        self.out = bytearray()
        self.err = bytearray()
        self.truncated = False
        self._cap = cap
        self._sel = selectors.DefaultSelector()
        self._bufs: dict[int, bytearray] = {}
        self._files: list[int] = []
        for stream, buf in ((proc.stdout, self.out), (proc.stderr, self.err)):
            if stream is not None:
                fd = stream.fileno()
                os.set_blocking(fd, False)
                self._bufs[fd] = buf
                self._sel.register(fd, selectors.EVENT_READ)
        self._stdin = memoryview(stdin or b"")
        self._stdin_fd = -1
        if proc.stdin is not None:
            self._stdin_fd = proc.stdin.fileno()
            os.set_blocking(self._stdin_fd, False)
            if self._stdin:
                self._sel.register(self._stdin_fd, selectors.EVENT_WRITE)
            else:
                self._close_stdin()
        self._proc = proc

    def _close_stdin(self) -> None:
        if self._proc_stdin_open():
            assert self._proc.stdin is not None
            with contextlib.suppress(OSError):
                self._proc.stdin.close()

    def _proc_stdin_open(self) -> bool:
        return self._proc.stdin is not None and not self._proc.stdin.closed

    def until(self, watch: list[int], deadline: float) -> int | None:
        """Pump until a watched fd is readable (returned) or the deadline (None)."""
        for fd in watch:
            self._sel.register(fd, selectors.EVENT_READ)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not self._sel.get_map():
                    return None
                for key, _ in self._sel.select(left):
                    fd = int(key.fd)
                    if fd in watch:
                        return fd
                    if fd == self._stdin_fd:
                        self._write_stdin()
                    else:
                        self._read(fd)
        finally:
            for fd in watch:
                with contextlib.suppress(KeyError, ValueError):
                    self._sel.unregister(fd)

    def drain(self, deadline: float) -> None:
        """Read until both streams hit EOF (all writers dead) or the deadline."""
        if self._stdin_fd >= 0 and self._stdin_fd in self._sel.get_map():
            self._sel.unregister(self._stdin_fd)
            self._close_stdin()
        while self._bufs and self.until([], deadline) is None and time.monotonic() < deadline:
            pass

    def close(self) -> None:
        for fd in list(self._bufs):
            self._sel.unregister(fd)
            del self._bufs[fd]
        self._sel.close()
        self._close_stdin()
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()

    def _read(self, fd: int) -> None:
        try:
            chunk = os.read(fd, _CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            self._sel.unregister(fd)
            del self._bufs[fd]
            return
        buf = self._bufs[fd]
        room = self._cap - len(buf)
        if len(chunk) > room:
            self.truncated = True
            chunk = chunk[: max(room, 0)]
        buf += chunk
        if self.on_stdout is not None and buf is self.out:
            self.on_stdout(bytes(buf[:4096]))

    def _write_stdin(self) -> None:
        try:
            n = os.write(self._stdin_fd, self._stdin[:_CHUNK])
        except BlockingIOError:
            return
        except BrokenPipeError:
            n = len(self._stdin)
        self._stdin = self._stdin[n:]
        if not self._stdin:
            self._sel.unregister(self._stdin_fd)
            self._close_stdin()
