"""The `gauntlet` command line: serve, select, fix, sweep, demo, doctor."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from pathlib import Path

from gauntlet import __version__

EXIT_GRACE_S = 3.0
"""Seconds `serve` may take to stop its jobs and graders once its stdio client has gone."""


def build_parser() -> argparse.ArgumentParser:
    from gauntlet.server import doctor, fix_cmd, select_cmd, sweep

    parser = argparse.ArgumentParser(
        prog="gauntlet", description="Verified model edits for Python."
    )
    parser.add_argument("--version", action="version", version=f"gauntlet {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (to stderr)")
    sub = parser.add_subparsers(dest="command", required=True)
    select_cmd.add_parser(sub)
    fix_cmd.add_parser(sub)
    sweep.add_parser(sub)
    doctor.add_parser(sub)
    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--log-file", help="also write the server log to this file")
    serve.set_defaults(func=run_serve)
    demo = sub.add_parser("demo", help="a whole code-action round on a bundled sample, offline")
    demo.add_argument("--keep", type=Path, help="leave the sample workspace in this directory")
    demo.set_defaults(func=run_demo)
    return parser


def run_serve(args: argparse.Namespace) -> int:
    from gauntlet.server.handlers import create_server

    if args.log_file:
        handler = logging.FileHandler(args.log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
    server = create_server()
    server.on_client_gone = _exit_soon
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            sys.stderr.write("gauntlet serve: --tcp takes HOST:PORT\n")
            return 2
        server.start_tcp(host, int(port))
    else:
        server.start_io()
        _let_graders_finish(EXIT_GRACE_S - 1)
    return 0


def _let_graders_finish(timeout_s: float) -> None:
    """Give the graders' threads a moment to end their sandboxed runs and remove their files."""
    deadline = time.monotonic() + timeout_s
    for thread in threading.enumerate():
        if thread is threading.current_thread() or isinstance(thread, threading.Timer):
            continue
        thread.join(max(0.0, deadline - time.monotonic()))


def _exit_soon() -> None:
    """Make sure the process ends shortly after its client went away.

    The server stops its jobs and graders first; a sandboxed test run that is already in flight
    cannot be interrupted from here and would hold the exit for up to its own time limit, so after
    a short grace the process ends anyway (bubblewrap's --die-with-parent then ends the run).
    """

    def force() -> None:
        logging.getLogger(__name__).warning(
            "gauntlet serve: still busy %gs after the client left; exiting", EXIT_GRACE_S
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(0)

    timer = threading.Timer(EXIT_GRACE_S, force)
    timer.daemon = True
    timer.start()


def run_demo(args: argparse.Namespace) -> int:
    import asyncio

    from gauntlet.server.demo import run_demo as demo

    return asyncio.run(demo(sys.stdout, keep=args.keep))


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
    # `serve --log-file` lowers the root level for its file; stderr keeps the level asked for
    # here (a client that never reads stderr must not fill the pipe and freeze the server).
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
