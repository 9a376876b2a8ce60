"""A room's Wi-Fi-like links in a process of their own: every relay on one loop, one thread, off the caller.

A room's network is not the facilitator laptop's CPU. Run in the facilitator's process, the relays' work
and their threads' contention for the GIL would delay the controller's own clock probes and replies, which is
not what a bench of the group path means to measure. :class:`RelayRoom` starts a child process that hosts
every link given to it on one :class:`tests.netem.RelayLoop`, answers with the ports to connect to, and on
request sums what the links did (lost segments, segments held by a dead burst).

Usage::

    with RelayRoom([Link(port, seed=1, group=0), Link(port + 1, seed=2, group=0)], delay=0.020) as room:
        room.endpoints      # "tcp://127.0.0.1:PORT" per link, in order
        room.stats()        # {"lost": ..., "bursts": ..., "segments": ...}
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    """One relayed connection: to ``127.0.0.1:port``; links of one ``group`` share their dead bursts (a
    headset's command and event connections go deaf together); ``burst_seed`` None: no bursts."""

    port: int
    seed: int
    group: int = 0
    burst_seed: int | None = None


class RelayRoom:
    """The relays of :class:`Link` s in a child process; ``profile``: NetemRelay's link keywords (delay,
    jitter, loss, ...); ``burst_every``: mean seconds between one group's 300 ms dead bursts; ``nice``: the
    child's niceness increment (negative: its one thread ahead of a loaded machine's many, as a real network
    is not on the machine's CPUs; needs root, else left as it is)."""

    def __init__(self, links: list[Link], burst_every: float = 5.0, nice: int = 0, **profile: float) -> None:
        self.links = list(links)
        self.endpoints: list[str] = []
        self._args = (self.links, burst_every, nice, profile)
        self._conn = None
        self._proc: multiprocessing.process.BaseProcess | None = None

    def start(self, timeout: float = 30.0) -> RelayRoom:
        ctx = multiprocessing.get_context("spawn")
        here, there = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(there, *self._args), name="netem-room", daemon=True)
        self._proc.start()
        self._conn = here
        if not here.poll(timeout):
            self.stop()
            raise RuntimeError(f"netem room: no relay ports within {timeout:g} s")
        answer = here.recv()
        if isinstance(answer, str):
            self.stop()
            raise RuntimeError(f"netem room: {answer}")
        self.endpoints = [f"tcp://127.0.0.1:{port}" for port in answer]
        return self

    def stats(self, timeout: float = 10.0) -> dict[str, int]:
        """What the links did so far, summed: lost, bursts (segments held by a dead burst), segments."""
        self._conn.send("stats")
        if not self._conn.poll(timeout):
            raise RuntimeError(f"netem room: no stats within {timeout:g} s")
        return self._conn.recv()

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            self._conn.send("stop")
            proc.join(10)
        except (OSError, EOFError):
            pass
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        self._conn.close()

    def __enter__(self) -> RelayRoom:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _serve(conn, links: list[Link], burst_every: float, nice: int, profile: dict) -> None:
    """The child: start every link's relay on one loop, say their ports, then answer until told to stop."""
    from tests.netem import DeadBursts, NetemRelay, RelayLoop

    if nice:
        with contextlib.suppress(OSError):  # a negative increment needs root (CAP_SYS_NICE); else as it is
            os.nice(nice)
    hub = RelayLoop("netem-room").start()
    relays: list[NetemRelay] = []
    try:
        bursts: dict[int, DeadBursts] = {}
        for link in links:
            shared = None
            if link.burst_seed is not None:
                if link.group not in bursts:
                    bursts[link.group] = DeadBursts(0.300, every=burst_every, seed=link.burst_seed)
                shared = bursts[link.group]
            relay = NetemRelay(("127.0.0.1", link.port), seed=link.seed, bursts=shared, loop=hub, **profile)
            relays.append(relay.start())
    except Exception as exc:  # said to the parent, which raises it
        conn.send(f"{type(exc).__name__}: {exc}")
        hub.stop()
        return
    conn.send([r.port for r in relays])
    try:
        while True:
            what = conn.recv()
            if what == "stats":
                conn.send({
                    "lost": sum(r.stats.lost for r in relays),
                    "bursts": sum(r.stats.burst_delayed for r in relays),
                    "segments": sum(r.stats.segments for r in relays),
                })  # fmt: skip
            elif what == "stop":
                break
    except (EOFError, OSError):  # the parent is gone
        pass
    finally:
        for r in relays:
            r.stop()
        hub.stop()
