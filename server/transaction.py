"""Writing verified edits to disk: every file or none, and each file whole even when killed.

`apply_all(changes)` takes ``path -> (old, new)``: the text each file had when it was read (as
`Path.read_text(encoding="utf-8")` gives it) and the text to write. Used by `gauntlet fix --apply`
for a single fix and for a fix-all patch set (one file today; the transaction does not care how
many).

1. Check: each file is read and compared with its ``old`` text. If one differs (or is gone),
   `StaleFileError` names it and nothing is written.
2. Prepare: each new text goes to a temp file in the file's own directory (so the rename never
   crosses file systems), with the original's permission bits (and owner, where allowed), written
   with the file's own line ending and fsynced. The files are checked again once every temp file
   is ready, so a change made meanwhile is caught as in step 1.
3. Commit: each temp file is `os.replace`d over its original (atomic: a reader, or a process
   killed at any moment, sees the whole old file or the whole new one), then each directory is
   fsynced.
4. If a step fails, nothing is left half done: temp files are removed, every file already
   replaced gets its original bytes back (also temp file + replace), and `ApplyError` says what
   failed. A file whose restore fails too is named, with where its old text was left.

A process killed (SIGKILL, power cut) between two replaces runs no rollback: the files replaced
before the kill hold their new text and the rest their old text, each whole, and the temp files
not yet renamed are left behind. Their names say what they are, ``.NAME.gauntlet-PID-XXXX.tmp``
next to ``NAME``; the next `apply_all` over a file of that directory removes those of processes
that are gone. A restore's temp file is ``.NAME.gauntlet-old-PID-XXXX.tmp`` and holds the old
text; it is only left when the restore itself fails (the error names it), and never removed by us.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TEMP_MARK = ".gauntlet-"
"""In every temp file's name: ``.core.py.gauntlet-4242-k3j2x9.tmp``."""
_STALE = re.compile(r"^\.(?P<name>.+)\.gauntlet-(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp$")


class ApplyError(Exception):
    """The changes were not applied: nothing was written, or what was written was undone (the
    message says if a file could not be restored). `path` is the file the failure is about."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class StaleFileError(ApplyError):
    """A file is not the text it had when it was read (changed, or gone): nothing was written."""


@dataclass
class _File:
    path: Path
    old: str
    new: str
    read: bytes = b""
    """Its bytes as checked: what a restore writes back."""
    mode: int = 0o644
    uid: int = -1
    gid: int = -1
    temp: Path | None = None


def apply_all(changes: Mapping[Path, tuple[str, str]]) -> None:
    """Write each ``path``'s new text if every file still holds its old text: all of them or
    none (see the module). Raises `StaleFileError` when a file changed since it was read,
    `ApplyError` when a write failed (what was replaced is restored first)."""
    files: dict[Path, _File] = {}
    for path, (old, new) in changes.items():
        real = Path(path).resolve()
        if real in files:
            raise ApplyError(f"{path} is named twice (as {files[real].path})", Path(path))
        files[real] = _File(real, old, new)
    plan = list(files.values())
    for directory, names in _by_directory(plan).items():
        _remove_stale_temps(directory, names)
    for f in plan:
        _check(f)
    try:
        for f in plan:
            try:
                f.temp = _write_temp(f.path, _encoded(f.new, f.read), f.mode, f.uid, f.gid)
            except OSError as exc:
                raise ApplyError(
                    f"could not write {f.path}: {_why(exc)}; nothing was changed", f.path
                ) from exc
        for f in plan:
            _check(f, again=True)
    except BaseException:
        _remove_temps(plan)
        raise
    replaced: list[_File] = []
    try:
        for f in plan:
            assert f.temp is not None
            os.replace(f.temp, f.path)
            f.temp = None
            replaced.append(f)
    except BaseException as exc:
        _remove_temps(plan)
        undo = _restore(replaced)
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit: restored, then passed on as they are
        failed = next(f for f in plan if f not in replaced)
        raise ApplyError(
            f"could not write {failed.path}: {_why(exc)}; " + (undo or "nothing was changed"),
            failed.path,
        ) from exc
    for directory in _by_directory(plan):
        _sync_directory(directory)


def _check(f: _File, again: bool = False) -> None:
    try:
        data = f.path.read_bytes()
        info = f.path.stat()
    except FileNotFoundError:
        raise StaleFileError(
            f"{f.path} is gone since it was read; nothing written", f.path
        ) from None
    except OSError as exc:
        raise ApplyError(f"cannot read {f.path}: {_why(exc)}; nothing written", f.path) from exc
    if again:
        unchanged = data == f.read
    else:
        try:
            unchanged = _text(data) == f.old
        except UnicodeDecodeError:
            unchanged = False
    if not unchanged:
        raise StaleFileError(f"{f.path} changed since it was read; nothing written", f.path)
    if not stat.S_ISREG(info.st_mode):
        raise ApplyError(f"{f.path} is not a regular file; nothing written", f.path)
    f.read, f.mode, f.uid, f.gid = data, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid


def _text(data: bytes) -> str:
    """The bytes as `Path.read_text(encoding="utf-8")` gives them (universal newlines)."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _encoded(new: str, old: bytes) -> bytes:
    """`new` with the old file's line ending (that of its first line; \\n when it has none)."""
    end = old.find(b"\n")
    if end > 0 and old[end - 1 : end] == b"\r":
        new = new.replace("\r\n", "\n").replace("\n", "\r\n")
    return new.encode("utf-8")


def _write_temp(
    path: Path, data: bytes, mode: int, uid: int, gid: int, *, old: bool = False
) -> Path:
    """`data` in a new fsynced temp file beside `path`, with `path`'s mode (and owner where
    allowed); removed again if any of it fails."""
    kind = "old-" if old else ""
    fd, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}{TEMP_MARK}{kind}{os.getpid()}-", suffix=".tmp"
    )
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            info = os.fstat(handle.fileno())
            if (uid, gid) != (-1, -1) and (info.st_uid, info.st_gid) != (uid, gid):
                with contextlib.suppress(OSError):
                    os.fchown(handle.fileno(), uid, gid)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _restore(replaced: list[_File]) -> str:
    """Put each replaced file's checked bytes back, last first; what was restored and what not,
    as a clause of the error ("" when nothing had been replaced)."""
    done: list[str] = []
    lost: list[str] = []
    for f in reversed(replaced):
        temp: Path | None = None
        try:
            temp = _write_temp(f.path, f.read, f.mode, f.uid, f.gid, old=True)
            os.replace(temp, f.path)
            done.append(str(f.path))
        except OSError as exc:
            kept = f" (its old text is in {temp})" if temp is not None and temp.exists() else ""
            lost.append(f"{f.path}: {_why(exc)}{kept}")
    for directory in _by_directory(replaced):
        _sync_directory(directory)
    parts = [f"restored {', '.join(done)}"] if done else []
    if lost:
        parts.append(f"COULD NOT RESTORE {'; '.join(lost)}")
    return "; ".join(parts)


def _remove_temps(plan: list[_File]) -> None:
    for f in plan:
        if f.temp is not None:
            with contextlib.suppress(OSError):
                f.temp.unlink(missing_ok=True)
            f.temp = None


def _remove_stale_temps(directory: Path, names: set[str]) -> None:
    """Remove the temp files of earlier runs that were killed before renaming them: those of
    the files in `names` whose process is gone (a running one may still be using its own)."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        match = _STALE.match(entry.name)
        if match is None or match["name"] not in names or _alive(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process
    return True


def _by_directory(files: list[_File]) -> dict[Path, set[str]]:
    out: dict[Path, set[str]] = {}
    for f in files:
        out.setdefault(f.path.parent, set()).add(f.path.name)
    return out


def _sync_directory(directory: Path) -> None:
    """Make the renames in `directory` durable; a file system that cannot is left as it is."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


__all__ = ["TEMP_MARK", "ApplyError", "StaleFileError", "apply_all"]
