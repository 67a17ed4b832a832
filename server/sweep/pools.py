"""Where a sweep grades: in this process (``local``), or on Ray (``ray``).

Both hand whole files to a `FileGrader` (server/sweep/grader.py) and get plain JSON back, so the
results do not depend on the pool.

Ray (``--workers ray``): `ray.init()` starts a Ray instance on this machine with nothing to set up,
or joins the cluster at ``--address`` (or ``$RAY_ADDRESS``). The workspace snapshot is packed once
(one tar.gz of what a grading snapshot holds) and put in Ray's object store once; one grading actor
per (snapshot, node) is pinned to its node (NodeAffinitySchedulingStrategy, hard) and made from
that object, so the snapshot crosses the network once per node, never per file or candidate. Each
actor keeps its `Engine` (warm test runners, tool workers, coverage maps) for every file it is
given; files go to the actor with the fewest in flight, at most ``per_actor`` each. When an actor
dies (its process killed, its node lost), another is made on that node from the same snapshot
object and the call is made again, once; a file whose grading still fails is left with the reason,
and every other result stands.

The pool is closed on every way out (done, Ctrl-C, SIGTERM, a crash in the sweep): each actor
closes its engine (sandboxed runs, warm runners, temp dirs), is killed, and `ray.shutdown()` stops
the Ray processes this sweep started. A sweep killed outright (SIGKILL, a segfault) runs none of
that: Ray's reaper stops its raylet and workers, and a watchdog process started beside Ray stops
what the reaper leaves (its agents), found by a marker in their environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
from typing import Any, Protocol

from gauntlet.server.sweep.grader import FileGrader
from gauntlet.server.sweep.plan import Archive

log = logging.getLogger(__name__)

CLOSE_WAIT_S = 10.0
MARKER_ENV = "GAUNTLET_SWEEP_RAY"
"""Set in the environment of the Ray processes a sweep starts on this machine (they inherit it):
what the watchdog finds them by."""

_WATCHDOG = r"""
import os, signal, sys, threading, time

driver, marker = int(sys.argv[1]), sys.argv[2]
me, uid = os.getpid(), os.getuid()
tag = (sys.argv[3] + "=" + marker).encode()
session = []
threading.Thread(target=lambda: session.append(sys.stdin.readline().strip()), daemon=True).start()


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def ours(pid):
    # The marker in its environment (Ray renames some of its processes, which wipes theirs),
    # or a file of this Ray session open (every Ray process logs into its session folder).
    with open(f"/proc/{pid}/environ", "rb") as f:
        if tag in f.read().split(b"\0"):
            return True
    folder = session[0] if session and session[0] else ""
    if not folder:
        return False
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(folder):
                return True
        except OSError:
            continue
    return False


def marked():
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (me, driver):
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid and ours(entry):
                found.append(int(entry))
        except OSError:
            continue
    return found


now = []
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, lambda *_: now.append(1))  # the sweep closed Ray: check now
while alive(driver) and not now:
    time.sleep(0.5)
if not now:
    time.sleep(1.0)  # Ray's own reaper first
for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
    pids = marked()
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    deadline = time.time() + wait
    while pids and time.time() < deadline:
        time.sleep(0.2)
        pids = [p for p in pids if alive(p)]
"""
"""Run beside a sweep that started Ray here: once the sweep's process is gone, however it ended
(SIGKILL included, where no close runs), or when the sweep has shut Ray down and says so
(SIGTERM), it stops every process but the sweep's that carries the sweep's marker, and ends.
Ray's own reaper stops the raylet and the workers, but not every agent: its dashboard and
runtime-env agents outlive a sweep killed outright. They are found by the marker in their
environment or, for those Ray renames (which wipes it), by a file of the Ray session they hold
open (the session folder is written to the watchdog's stdin once Ray has started)."""


def start_watchdog() -> subprocess.Popen[bytes] | None:
    """Mark what Ray will start from here, and start the watchdog over it (Linux: /proc)."""
    if not os.path.isdir("/proc"):
        return None
    marker = f"{os.getpid()}-{os.urandom(6).hex()}"
    os.environ[MARKER_ENV] = marker
    env = {k: v for k, v in os.environ.items() if k != MARKER_ENV}
    return subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(os.getpid()), marker, MARKER_ENV],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )


class Pool(Protocol):
    name: str

    async def start(self) -> None: ...

    async def findings(self, rel: str, text: str) -> dict[str, Any]: ...

    async def grade(self, payload: dict[str, Any]) -> dict[str, Any]: ...

    def describe(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...


class LocalPool:
    """One `FileGrader` in this process; at most `concurrency` files graded at once."""

    name = "local"

    def __init__(self, snapshot: Archive, interpreter: str, concurrency: int = 2) -> None:
        self.snapshot = snapshot
        self.interpreter = interpreter
        self._gate = asyncio.Semaphore(max(1, concurrency))
        self._grader: FileGrader | None = None

    async def start(self) -> None:
        self._grader = await asyncio.to_thread(
            FileGrader, self.snapshot.data, self.snapshot.digest, self.interpreter
        )

    async def findings(self, rel: str, text: str) -> dict[str, Any]:
        assert self._grader is not None
        async with self._gate:
            return await self._grader.findings(rel, text)

    async def grade(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self._grader is not None
        async with self._gate:
            return await self._grader.grade_file(payload)

    def describe(self) -> dict[str, Any]:
        return {"workers": "local", "graders": 1}

    async def close(self) -> None:
        if self._grader is not None:
            grader, self._grader = self._grader, None
            await asyncio.to_thread(grader.close)


class GraderActor:
    """The Ray actor: a `FileGrader` made once on its node from the snapshot object."""

    def __init__(self, archive: bytes, digest: str, interpreter: str) -> None:
        self.grader = FileGrader(archive, digest, interpreter)

    async def where(self) -> dict[str, Any]:
        import ray

        return {**self.grader.where(), "node": ray.get_runtime_context().get_node_id()}

    async def findings(self, rel: str, text: str) -> dict[str, Any]:
        return await self.grader.findings(rel, text)

    async def grade_file(self, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.grader.grade_file(payload)

    async def close(self) -> None:
        await asyncio.to_thread(self.grader.close)


class RayPool:
    """One grading actor per (snapshot, node) of a Ray cluster (see the module)."""

    name = "ray"

    def __init__(
        self,
        snapshot: Archive,
        interpreter: str,
        address: str | None = None,
        per_actor: int = 2,
        num_cpus: int | None = None,
        nodes: int | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.interpreter = interpreter
        self.address = address
        self.per_actor = max(1, per_actor)
        self.num_cpus = num_cpus
        """CPUs of a Ray instance started here (None: every core)."""
        self.max_nodes = nodes
        self._actors: list[Any] = []
        self._load: list[int] = []
        self._where: list[dict[str, Any]] = []
        self._ready = asyncio.Condition()
        self._started = False
        self._ref: Any = None
        self._remote: Any = None
        self._strategy: Any = None
        self._nodes: list[str] = []
        self._restarts = 0
        self._lost: list[dict[str, Any]] = []
        """Each grading worker that died: which, on which node, during which file, and why (the
        report's ``workers.lost``)."""
        self._watchdog: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        address = self.address or os.environ.get("RAY_ADDRESS") or None
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.ERROR,
            "namespace": "gauntlet-sweep",
        }
        if address is None:
            # Ray started here: watched, so that nothing of it outlives the sweep.
            self._watchdog = start_watchdog()
            if self.num_cpus is not None:
                kwargs["num_cpus"] = self.num_cpus
        # In a thread: the sweep's own SIGINT/SIGTERM handling stays (Ray sets none off the main
        # thread). Ray's notes at start are not the user's business; its errors are.
        context = await asyncio.to_thread(ray.init, address=address, **kwargs)
        self._started = True
        if self._watchdog is not None and self._watchdog.stdin is not None:
            session = str(getattr(context, "address_info", {}).get("session_dir") or "")
            with contextlib.suppress(OSError):
                self._watchdog.stdin.write(session.encode() + b"\n")
                self._watchdog.stdin.close()
        # Held for the pool's life: an actor made again after one died is made from it.
        self._ref = ray.put(self.snapshot.data)
        every: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
        nodes = [
            n
            for n in every
            if n.get("Alive") and float((n.get("Resources") or {}).get("CPU", 0)) >= 1
        ]
        nodes.sort(key=lambda n: str(n.get("NodeID")))
        if self.max_nodes is not None:
            nodes = nodes[: self.max_nodes]
        if not nodes:
            raise RuntimeError("the Ray cluster has no live node with a CPU")
        self._remote = ray.remote(num_cpus=1)(GraderActor)
        self._strategy = NodeAffinitySchedulingStrategy
        self._nodes = [str(node["NodeID"]) for node in nodes]
        self._actors = [self._make(node_id) for node_id in self._nodes]
        self._load = [0] * len(self._actors)
        self._where = list(await asyncio.gather(*(a.where.remote() for a in self._actors)))

    def _make(self, node_id: str, attempt: int = 0) -> Any:
        return self._remote.options(
            name=f"gauntlet-grader-{self.snapshot.digest[:12]}-{node_id[:12]}"
            + (f"-{attempt}" if attempt else ""),
            scheduling_strategy=self._strategy(node_id, soft=False),
        ).remote(self._ref, self.snapshot.digest, self.interpreter)

    async def _call(self, method: str, rel: str, *args: Any) -> dict[str, Any]:
        async with self._ready:
            while min(self._load) >= self.per_actor:
                await self._ready.wait()
            index = min(range(len(self._actors)), key=lambda i: (self._load[i], i))
            self._load[index] += 1
        try:
            return await self._on(index, method, rel, *args)
        finally:
            async with self._ready:
                self._load[index] -= 1
                self._ready.notify_all()

    async def _on(self, index: int, method: str, rel: str, *args: Any) -> dict[str, Any]:
        """The call on actor `index` about file `rel`; when the actor died (its process killed,
        its node lost), a new one is made on the same node from the snapshot object and the call
        is made again, once. Each death is kept for the report (`describe`)."""
        from ray.exceptions import RayActorError

        actor = self._actors[index]
        try:
            result: dict[str, Any] = await getattr(actor, method).remote(*args)
            return result
        except RayActorError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            why = f"{type(exc).__name__}: {first[:300]}"
            log.warning("grading worker %d died (%s); starting another", index, why)
            if self._actors[index] is actor:
                self._restarts += 1
                self._lost.append(
                    {
                        "worker": index,
                        "node": self._nodes[index],
                        "pid": self._where[index].get("pid") if index < len(self._where) else None,
                        "while": f"{'grading' if method == 'grade_file' else 'checking'} {rel}",
                        "error": why,
                    }
                )
                again = self._make(self._nodes[index], self._restarts)
                self._actors[index] = again
                with contextlib.suppress(Exception):
                    self._where[index] = await again.where.remote()
            result = await getattr(self._actors[index], method).remote(*args)
            return result

    async def findings(self, rel: str, text: str) -> dict[str, Any]:
        return await self._call("findings", rel, rel, text)

    async def grade(self, payload: dict[str, Any]) -> dict[str, Any]:
        return await self._call("grade_file", str(payload["rel"]), payload)

    def describe(self) -> dict[str, Any]:
        return {
            "workers": "ray",
            "graders": len(self._nodes),
            "nodes": [w.get("node") for w in self._where],
            "address": self.address or os.environ.get("RAY_ADDRESS") or "local",
            "restarts": self._restarts,
            "lost": list(self._lost),
        }

    async def close(self) -> None:
        if not self._started:
            return
        import ray

        actors, self._actors = self._actors, []
        if actors:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    asyncio.gather(*(a.close.remote() for a in actors), return_exceptions=True),
                    CLOSE_WAIT_S,
                )
            for actor in actors:
                with contextlib.suppress(Exception):
                    ray.kill(actor, no_restart=True)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(ray.shutdown)
        self._started = False
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            # Whatever ray.shutdown() left goes now, not when this process ends.
            watchdog.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(watchdog.wait, CLOSE_WAIT_S)
        self._ref = None


__all__ = ["GraderActor", "LocalPool", "Pool", "RayPool"]
