"""The `gauntlet` command line: serve, select, fix, demo, doctor."""

from __future__ import annotations

import argparse
import logging
import sys

from gauntlet import __version__


def build_parser() -> argparse.ArgumentParser:
    from gauntlet.server import select_cmd

    parser = argparse.ArgumentParser(
        prog="gauntlet", description="Verified model edits for Python."
    )
    parser.add_argument("--version", action="version", version=f"gauntlet {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (to stderr)")
    sub = parser.add_subparsers(dest="command", required=True)
    select_cmd.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = (
        logging.WARNING
        if args.verbose == 0
        else logging.INFO
        if args.verbose == 1
        else logging.DEBUG
    )
    logging.basicConfig(
        level=level, stream=sys.stderr, format="gauntlet %(levelname)s %(name)s: %(message)s"
    )
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
