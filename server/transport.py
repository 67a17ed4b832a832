"""Every patch of pygls's internals, in one place: what the server changes in how pygls reads,
answers and serves messages, and why.

- `GauntletProtocol._execute_handler`: pygls files a future for every notification and for every
  user handler its built-in features call, under a fresh id, and only a request's answer removes
  its entry. Every keystroke (didChange) would stay in memory for good; here each handled message's
  future is forgotten once it is done.
- `GauntletProtocol.structure_message`: a request whose params pygls cannot read is logged and
  dropped by pygls, and a client awaiting its id would wait forever; here it gets an error answer.
- `ResyncingReader`: a body shorter than its Content-Length leaves bytes that pygls reads as part of
  the next header line, so every later header would be missed and the server would go deaf; here a
  header line is cut back to the `Content-Length:` it ends with.
- `PatchedLanguageServer.__init__`: pygls's thread pool only reads stdin here (no handler runs in a
  thread); a small, named pool, so that a soak or a bug report can tell its workers from a leak.
- `PatchedLanguageServer.start_io`: pygls's stdio loop just ends at end of input, and its jobs'
  threads, the mypy workers and the sandboxed test runs would keep the process alive and leave
  their temp directories; here stdin is read through `ResyncingReader`, and when the client goes
  away `on_client_gone` is called and `shutdown_all` stops every job and grader.
- `PatchedLanguageServer.report_server_error`: a message the server cannot read goes to the
  client's log (window/logMessage), not in the user's face; it is nothing the user can act on.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO, cast

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdinAsyncReader, StdoutWriter, run_async
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

log = logging.getLogger(__name__)


class GauntletProtocol(LanguageServerProtocol):
    """pygls's protocol, except that a request it cannot read still gets an answer, and that
    handled notifications are forgotten."""

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Any,
        args: Any = None,
        kwargs: Any = None,
    ) -> None:
        # pygls files the future of every notification (didChange, didOpen, ...) and of the user
        # handlers its built-in features call under a fresh id, and only a request's answer removes
        # its entry: without this, every keystroke would stay in memory for good.
        def forget(future: Any) -> None:
            self._request_futures.pop(msg_id, None)
            callback(future)

        super()._execute_handler(msg_id, handler, forget, args, kwargs)

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            # pygls logs the bad message and moves on; a client awaiting this id would wait forever.
            if isinstance(data.get("method"), str) and isinstance(data.get("id"), int | str):
                self._send_response(data["id"], None, exc.to_response_error())
            raise


class ResyncingReader:
    """stdin as pygls's reader loop reads it, able to find the next message after a broken one.

    A body shorter than its Content-Length leaves bytes that pygls reads as part of the next header
    line, so every later header would be missed and the server would go deaf; here a header line
    is cut back to the `Content-Length:` it ends with.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def readline(self) -> bytes:
        line = self._raw.readline()
        at = line.find(b"Content-Length:")
        if at > 0:
            log.warning("skipped %d bytes that belong to no message", at)
            return line[at:]
        return line

    def read(self, n: int) -> bytes:
        return self._raw.read(n)


class PatchedLanguageServer(LanguageServer):
    """pygls's LanguageServer with the patches above: `GauntletProtocol`, a small named stdin
    pool, a stdio loop that stops every job and grader when the client goes away, and malformed
    messages reported to the client's log."""

    def __init__(self, name: str, version: str) -> None:
        super().__init__(name, version, protocol_cls=GauntletProtocol)
        # pygls's thread pool only reads stdin here (no handler runs in a thread): a small,
        # named pool, so that a soak or a bug report can tell its workers from a leak.
        self._thread_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gauntlet-stdin")
        self.on_client_gone: Callable[[], None] | None = None
        """Called once the stdio client has disconnected, before jobs and graders are stopped."""

    async def shutdown_all(self) -> None:
        """Stop every job and grader (the server says how); called when the stdio client is gone."""

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve over stdio until the client goes away, then stop every job and grader.

        pygls's own loop just ends at end of input: its jobs' threads, the mypy workers and the
        sandboxed test runs would keep the process alive and its temp directories would stay.
        """
        self._stop_event = threading.Event()
        raw = ResyncingReader(stdin or sys.stdin.buffer)
        reader = StdinAsyncReader(cast(BinaryIO, raw), self.thread_pool)
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        try:
            asyncio.run(self._serve_io(reader))
        except BrokenPipeError:
            log.error("the connection to the client is lost; shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]

    async def _serve_io(self, reader: StdinAsyncReader) -> None:
        assert self._stop_event is not None
        try:
            await run_async(
                stop_event=self._stop_event,
                reader=reader,
                protocol=self.protocol,
                logger=log,
                error_handler=self.report_server_error,
            )
        finally:
            if self.on_client_gone is not None:
                self.on_client_gone()
            await self.shutdown_all()

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A message the server cannot read goes to the log; it is nothing the user can act on."""
        if source is JsonRpcException:
            self.window_log_message(
                types.LogMessageParams(
                    type=types.MessageType.Error,
                    message=f"gauntlet: ignored a malformed message: {error}",
                )
            )
            return
        super().report_server_error(error, source)
