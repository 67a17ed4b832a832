"""The wheel carries every module: pyproject's package list names each folder that holds Python."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    # gauntlet/server and gauntlet/graders are symlinks to the top-level folders: follow them.
    for folder, _, files in os.walk(ROOT / "gauntlet", followlinks=True):
        rel = Path(folder).relative_to(ROOT)
        if "__pycache__" not in rel.parts and any(f.endswith(".py") for f in files):
            found.add(".".join(rel.parts))
    assert {"gauntlet.server", "gauntlet.graders.runners"} <= found
    # An editable install finds a folder the list forgets; a wheel built from the list does not.
    assert found <= listed, sorted(found - listed)
