"""A loopback link emulator for tests: a TCP relay that delays, jitters, reorders and loses like Linux netem.

Why a TCP-level relay: ZeroMQ's ``tcp://`` transport is what the facilitator and the players speak, and the
kernel here has no ``netem`` queueing discipline. A UDP/packet-level emulator would need a TUN device and
routing
(root, Linux only); a relay needs neither and runs on Windows too. It listens on a loopback port and forwards
every accepted connection to a target address, and each direction of each connection is a link with the
configured behaviour, seen as the application sees it through TCP:

- **delay and jitter** per segment (the stream is cut into MSS-sized segments): ``delay ± jitter``, uniform,
as
  netem's default ``delay 20ms 5ms``;
- **reordering**: segments are scheduled independently, so with jitter a later segment can be due before an
  earlier one; TCP's receiver reassembles in order, so the application sees the later segment held until the
  earlier one arrives (head-of-line blocking). ``reorder`` adds extra probability of a segment overtaking;
- **loss** (probability per segment): TCP hides it behind a retransmission, so a lost segment (and everything
  behind it in the stream) arrives ``loss_delay`` later (default 200 ms, Linux's minimum RTO: the pessimistic
  case; a tail-loss probe often recovers sooner);
- **dead bursts** (``bursts=DeadBursts(0.300, every=5.0)``): at random instants (a Poisson process, mean
  ``every`` seconds apart) the link hears nothing for ``duration`` seconds, in both directions (a headset out
  of the access point's reach, a roam, a microwave oven). A segment sent into a burst is lost and TCP
  retransmits it after ``loss_delay``, doubling each time (exponential back-off), until a retransmission
  falls outside the burst; everything behind it waits (in order). One ``DeadBursts`` may be shared by several
  relays: a headset's command and event connections go deaf together.

Usage::

    with NetemRelay(("127.0.0.1", server_port), delay=0.020, jitter=0.005, loss=0.01) as relay:
        connect to ("127.0.0.1", relay.port)   # or relay.endpoint for ZeroMQ ("tcp://127.0.0.1:PORT")
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
import time
from dataclasses import dataclass, field

MSS = 1448  # bytes per emulated segment (Ethernet MTU 1500 less IP/TCP headers with timestamps)
WRITE_BACKLOG = 4 << 20  # bytes written and not yet taken by the far end before the relay stops reading


@dataclass
class LinkStats:
    """What the relay did to the traffic, summed over connections and directions."""

    connections: int = 0
    segments: int = 0
    bytes: int = 0
    lost: int = 0
    reordered: int = 0
    burst_delayed: int = 0  # segments sent into a dead burst (held until a retransmission got through)
    delays: list[float] = field(default_factory=list)  # seconds from read to write, per segment (first 100k)


class DeadBursts:
    """When a link is dead: ``duration``-second windows at random instants, mean ``every`` seconds apart
    (seeded; thread-safe, so relays on their own threads can share one schedule). ``windows`` gives fixed
    ``(start, end)`` windows in ``time.monotonic()`` seconds instead (tests)."""

    def __init__(
        self,
        duration: float = 0.300,
        every: float = 5.0,
        *,
        seed: int | None = None,
        start: float | None = None,
        windows: list[tuple[float, float]] | None = None,
    ) -> None:
        if duration <= 0 or every <= 0:
            raise ValueError(f"DeadBursts: duration and every must be > 0, got {duration!r}, {every!r}")
        self.duration = duration
        self.every = every
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._fixed = windows is not None
        self._windows: list[tuple[float, float]] = sorted(windows or [])
        self._next = (time.monotonic() if start is None else start) + self._gap()
        self.hits = 0  # segments sent into a burst

    def _gap(self) -> float:
        return self._rng.expovariate(1.0 / self.every)

    def window_at(self, t: float) -> tuple[float, float] | None:
        """The dead window containing monotonic instant ``t`` (None: the link hears at ``t``)."""
        with self._lock:
            while not self._fixed and self._next <= t:  # extend the schedule up to t
                self._windows.append((self._next, self._next + self.duration))
                self._next += self.duration + self._gap()
            while len(self._windows) > 64 and self._windows[0][1] < t - 60:
                self._windows.pop(0)
            for a, b in self._windows:
                if a <= t < b:
                    return (a, b)
        return None

    def add(self, start: float, end: float) -> None:
        """One more dead window (monotonic seconds), e.g. one starting now (tests)."""
        with self._lock:
            self._windows.append((start, end))
            self._windows.sort()

    def windows(self, until: float) -> list[tuple[float, float]]:
        """The dead windows known up to ``until`` (extending the schedule)."""
        self.window_at(until)
        with self._lock:
            return [w for w in self._windows if w[0] < until]

    def retransmit_delay(self, sent: float, rto: float) -> float:
        """Extra seconds before a segment sent at ``sent`` gets through: each try inside a dead window is
        lost and retried after ``rto``, doubling (TCP's back-off); 0 when the first try is outside."""
        t, wait = sent, rto
        while self.window_at(t) is not None:
            t += wait
            wait *= 2
        if t > sent:
            with self._lock:
                self.hits += 1
        return t - sent


@dataclass(frozen=True)
class LinkProfile:
    """One direction of a link, in seconds and probabilities."""

    delay: float = 0.020
    jitter: float = 0.005
    loss: float = 0.0
    loss_delay: float = 0.200
    reorder: float = 0.0

    def __post_init__(self) -> None:
        for name in ("delay", "jitter", "loss_delay"):
            if getattr(self, name) < 0:
                raise ValueError(f"LinkProfile.{name}: must be >= 0, got {getattr(self, name)!r}")
        for name in ("loss", "reorder"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"LinkProfile.{name}: a probability in [0, 1], got {getattr(self, name)!r}")
        if self.jitter > self.delay:
            raise ValueError(f"LinkProfile.jitter ({self.jitter}) must not exceed delay ({self.delay})")

    def segment_delay(self, rng: random.Random) -> tuple[float, bool, bool]:
        """(delay in seconds, lost, forced-reorder) for one segment."""
        d = self.delay + rng.uniform(-self.jitter, self.jitter)
        reordered = self.reorder > 0 and rng.random() < self.reorder
        if reordered:  # overtaken: arrives later than its successors would (they then wait for it, in order)
            d += self.jitter * 2 + 0.001
        lost = self.loss > 0 and rng.random() < self.loss
        if lost:
            d += self.loss_delay
        return d, lost, reordered


class RelayLoop:
    """One asyncio loop on a thread of its own (started here, owned by this object), shared by any number of
    relays: a room's links cost one thread, not one each (the threads of many relays contend for the GIL)."""

    def __init__(self, name: str = "netem") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> RelayLoop:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        finally:
            loop.close()

    def run(self, coro, timeout: float = 10.0):
        """Run ``coro`` on the loop and return its result (from any other thread)."""
        if self._loop is None:
            raise RuntimeError(f"relay loop {self.name}: not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None or self._thread is None:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(5)


class NetemRelay:
    """Relay ``127.0.0.1:port`` -> ``target`` with netem-like behaviour in both directions, on ``loop`` (a
    :class:`RelayLoop` shared with other relays) or on a loop of its own."""

    def __init__(
        self,
        target: tuple[str, int],
        *,
        delay: float = 0.020,
        jitter: float = 0.005,
        loss: float = 0.0,
        loss_delay: float = 0.200,
        reorder: float = 0.0,
        seed: int | None = None,
        listen: tuple[str, int] = ("127.0.0.1", 0),
        upstream: LinkProfile | None = None,
        bursts: DeadBursts | None = None,
        loop: RelayLoop | None = None,
    ) -> None:
        self.target = target
        self.bursts = bursts  # dead windows, both directions (see DeadBursts)
        self.downstream = LinkProfile(delay, jitter, loss, loss_delay, reorder)  # client -> target
        self.upstream = upstream or self.downstream  # target -> client
        self.stats = LinkStats()
        self._rng = random.Random(seed)
        self._listen = listen
        self._own_loop = loop is None
        self._hub = loop or RelayLoop(f"netem->{target[1]}")
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def endpoint(self) -> str:
        """The ZeroMQ endpoint to connect to instead of the target."""
        return f"tcp://127.0.0.1:{self.port}"

    def start(self) -> NetemRelay:
        if self._own_loop:
            self._hub.start()
        try:
            self.port = self._hub.run(self._open())
        except Exception as e:
            if self._own_loop:
                self._hub.stop()
            raise RuntimeError(f"netem relay to {self.target}: {e}") from e
        return self

    def stop(self) -> None:
        if self._server is not None:
            with contextlib.suppress(Exception):  # the loop is already gone
                self._hub.run(self._close())
            self._server = None
        if self._own_loop:
            self._hub.stop()

    def __enter__(self) -> NetemRelay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- on the loop's thread
    # ---------------------------------------------------------------------------------------

    async def _open(self) -> int:
        self._server = await asyncio.start_server(self._accept, self._listen[0], self._listen[1])
        return self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        self._server.close()
        for w in list(self._writers):
            w.close()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _accept(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        try:
            t_reader, t_writer = await asyncio.open_connection(*self.target)
        except OSError:
            c_writer.close()
            return
        for w in (c_writer, t_writer):
            self._writers.add(w)
            sock = w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.stats.connections += 1
        down = self._spawn(self._pipe(c_reader, t_writer, self.downstream))
        up = self._spawn(self._pipe(t_reader, c_writer, self.upstream))
        try:
            await asyncio.gather(down, up, return_exceptions=True)
        except asyncio.CancelledError:  # the relay is stopping
            pass
        finally:
            for w in (c_writer, t_writer):
                self._writers.discard(w)
                w.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: LinkProfile
    ) -> None:
        """Read segments, give each a due time, and have the loop write each at its due time, in stream order:
        a timer per segment (due times strictly increase, so timers keep their order), no task woken per
        segment; reading waits only while the far end does not take what was written."""
        loop = asyncio.get_running_loop()
        last_due = 0.0
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                now = time.monotonic()
                for i in range(0, len(data), MSS):
                    seg = data[i : i + MSS]
                    d, lost, forced = link.segment_delay(self._rng)
                    if self.bursts is not None:
                        extra = self.bursts.retransmit_delay(now, max(link.loss_delay, 0.001))
                        d += extra
                        self.stats.burst_delayed += extra > 0
                    due = now + d
                    st = self.stats
                    st.segments += 1
                    st.bytes += len(seg)
                    st.lost += lost
                    if due < last_due or forced:
                        st.reordered += 1
                    # TCP delivers in order: a segment overtaken by jitter waits for its predecessor
                    due = max(due, last_due + 1e-9)
                    last_due = due
                    if len(st.delays) < 100_000:
                        st.delays.append(due - now)
                    loop.call_at(due, _write, writer, seg)
                if writer.transport.get_write_buffer_size() > WRITE_BACKLOG:
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            ended = loop.create_future()
            loop.call_at(max(last_due + 1e-9, loop.time()), _end, writer, ended)
            with contextlib.suppress(Exception):
                await ended


def _write(writer: asyncio.StreamWriter, seg: bytes) -> None:
    """A segment's timer: out to the far end, unless the connection has gone meanwhile."""
    if not writer.is_closing():
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            writer.write(seg)


def _end(writer: asyncio.StreamWriter, ended: asyncio.Future) -> None:
    """After the last segment's timer: the end of the stream, passed on."""
    if not writer.is_closing() and writer.can_write_eof():
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            writer.write_eof()
    if not ended.done():
        ended.set_result(None)


def echo_server() -> socket.socket:
    """A loopback TCP server that echoes every byte back (the far end of a relayed link in tests)."""
    srv = socket.create_server(("127.0.0.1", 0))

    def echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return srv
