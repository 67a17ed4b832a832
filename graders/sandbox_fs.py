"""Symlink-safe file helpers for the sandbox: path checks, writes, reads and copy-out."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import stat
import threading
import time
from collections.abc import Iterable, Iterator

log = logging.getLogger(__name__)

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO planted by the code must not hang the host on open.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CHUNK = 1 << 16


def split_relpath(rel: str) -> tuple[str, ...]:
    """Split a relative path into components; ValueError for absolute, '..', '.' or empty parts."""
    if not isinstance(rel, str) or not rel or "\0" in rel:
        raise ValueError(f"bad relative path: {rel!r}")
    if rel.startswith("/"):
        raise ValueError(f"path must be relative: {rel!r}")
    parts = tuple(rel.split("/"))
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"path must not contain '', '.' or '..' components: {rel!r}")
    return parts


def check_overlays(root: str, overlays: Iterable[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
    """Index of each overlay's first missing component (len(parts) if the file exists).

    Refuses symlinks on the way: an overlay is never written or mounted through one.
    """
    plan: dict[tuple[str, ...], int] = {}
    for parts in overlays:
        cur, missing = root, len(parts)
        for i, part in enumerate(parts):
            cur = os.path.join(cur, part)
            if not os.path.lexists(cur):
                missing = i
                break
            last = i == len(parts) - 1
            if os.path.islink(cur) or (not last and not os.path.isdir(cur)):
                raise ValueError(f"overlay path goes through a symlink or file: {'/'.join(parts)}")
            if last and not os.path.isfile(cur):
                raise ValueError(f"overlay target is not a regular file: {'/'.join(parts)}")
        plan[parts] = missing
    return plan


@contextlib.contextmanager
def open_dir(path: str | os.PathLike[str], dir_fd: int | None = None) -> Iterator[int]:
    """Open a directory without following a symlink in its last component."""
    fd = os.open(path, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def walk_dirs(base_fd: int, parts: tuple[str, ...], *, create: bool) -> Iterator[int]:
    """Yield an fd of base/parts[0]/.../parts[-1], refusing symlinks at every step."""
    fd = os.dup(base_fd)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nxt
        yield fd
    finally:
        os.close(fd)


_mtime_lock = threading.Lock()
_last_mtime_ns = 0


def _fresh_mtime_ns(avoid_ns: int | None) -> int:
    # mtime+size keyed caches (pyc, mypy) must never mistake a swapped file for the original,
    # so each written file gets a never-reused mtime whose whole second differs from avoid_ns.
    global _last_mtime_ns
    with _mtime_lock:
        t = max(time.time_ns(), _last_mtime_ns + 1)
        if avoid_ns is not None and t // 10**9 == avoid_ns // 10**9:
            t = (t // 10**9 + 1) * 10**9
        _last_mtime_ns = t
        return t


def write_file(
    base_fd: int, parts: tuple[str, ...], data: str | bytes, avoid_mtime_ns: int | None = None
) -> None:
    """Create base/parts as a new regular file (replacing whatever was there), never via symlinks."""
    payload = data.encode() if isinstance(data, str) else bytes(data)
    with walk_dirs(base_fd, parts[:-1], create=True) as dfd:
        name = parts[-1]
        with contextlib.suppress(FileNotFoundError):
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, "overlay target is a directory", name)
            os.unlink(name, dir_fd=dfd)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(name, flags, 0o644, dir_fd=dfd)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            mtime = _fresh_mtime_ns(avoid_mtime_ns)
            os.utime(fd, ns=(mtime, mtime))
        finally:
            os.close(fd)


def read_regular(base_fd: int, parts: tuple[str, ...], max_bytes: int) -> bytes | None:
    """Read at most max_bytes of base/parts if it is a regular file reached without symlinks."""
    try:
        with walk_dirs(base_fd, parts[:-1], create=False) as dfd:
            fd = os.open(parts[-1], _READ_FLAGS, dir_fd=dfd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks: list[bytes] = []
        left = max_bytes
        while left > 0:
            chunk = os.read(fd, min(left, _CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


class CopyBudget:
    """Bounds on what copy_out may bring back from code-controlled directories."""

    def __init__(self, max_bytes: int, max_entries: int = 10_000, max_depth: int = 16) -> None:
        self.bytes_left = max_bytes
        self.entries_left = max_entries
        self.max_depth = max_depth


def copy_out(src_fd: int, dst_fd: int, budget: CopyBudget, depth: int = 0) -> None:
    """Copy regular files and directories from src to dst (both fds); skip everything else."""
    if depth > budget.max_depth:
        return
    with os.scandir(src_fd) as it:
        entries = [
            (e.name, e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False)) for e in it
        ]
    for name, is_dir, is_file in entries:
        if budget.entries_left <= 0:
            return
        budget.entries_left -= 1
        try:
            if is_dir:
                os.mkdir(name, 0o700, dir_fd=dst_fd)
                with open_dir(name, src_fd) as s, open_dir(name, dst_fd) as d:
                    copy_out(s, d, budget, depth + 1)
            elif is_file:
                _copy_one(src_fd, dst_fd, name, budget)
        except OSError as exc:
            # The code may race us (rename, replace by a symlink): skip what changed under us.
            log.debug("copy-out skipped %r: %s", name, exc)


def _copy_one(src_fd: int, dst_fd: int, name: str, budget: CopyBudget) -> None:
    fd = os.open(name, _READ_FLAGS, dir_fd=src_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return
        out_flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        out = os.open(name, out_flags, 0o600, dir_fd=dst_fd)
        try:
            while budget.bytes_left > 0:
                chunk = os.read(fd, min(_CHUNK, budget.bytes_left))
                if not chunk:
                    break
                budget.bytes_left -= len(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view) :]
        finally:
            os.close(out)
    finally:
        os.close(fd)


def clear_dir(path: str) -> None:
    """Remove everything inside path (never following symlinks), keeping path itself."""
    with open_dir(path) as fd:
        names = os.listdir(fd)
    for name in names:
        remove_tree(os.path.join(path, name))


def remove_tree(path: str) -> None:
    """Delete path without following symlinks, even if the code removed write permissions."""

    def fix_and_retry(func: object, p: str, _exc: object) -> None:
        # Code running as our own uid (unisolated) may chmod its dirs to 0; restore and retry.
        try:
            os.chmod(os.path.dirname(p), 0o700, follow_symlinks=False)
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, 0o700)
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)
        except OSError as exc:
            log.warning("could not remove %s: %s", p, exc)

    if os.path.islink(path) or not os.path.isdir(path):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    assert shutil.rmtree.avoids_symlink_attacks
    shutil.rmtree(path, onerror=fix_and_retry)
