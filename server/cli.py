"""The `gauntlet` command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from gauntlet import __version__

    sys.stdout.write(f"gauntlet {__version__}\n")
    return 0
