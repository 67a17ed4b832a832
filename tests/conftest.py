"""Shared fixtures: copies of the fixture workspaces, and a tree fingerprint to prove nothing changed."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _map_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Coverage maps the tests measure are kept in the session's temp dir, not the user's cache
    (servers and CLIs the tests start inherit it)."""
    os.environ["GAUNTLET_CACHE_DIR"] = str(tmp_path_factory.mktemp("gauntlet-cache"))


def fingerprint(root: Path) -> dict[str, str]:
    """Every path below root with a hash of its bytes (symlinks by target), to compare before/after."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            elif path.is_file():
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[rel] = "dir"
    return out


@pytest.fixture
def calc_ws(tmp_path: Path) -> Path:
    dst = tmp_path / "calc"
    shutil.copytree(FIXTURES / "calc", dst)
    return dst
