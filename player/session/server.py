"""The player's session server: commands in, events out, over CURVE-secured ZeroMQ, with a durable log.

One thread (the *session thread*) owns every socket and the SQLite log::

    ROUTER  ENDPOINT        commands, snapshots, catch-up, heartbeats from consoles (paired keys only)
    PUB     port + 1        events (topic ``ev``), pose samples (``pose``), heartbeats (``hb``)
    ROUTER  port + 2        pairing: CURVE keyed by the code shown on the player; any client key

Each loop turn: answer ZAP, read commands (executing them, which queues events), drain the event queue
assigning per-session sequence numbers, commit the batch to the log (one transaction: group commit), then
publish it, then send the replies. So an event is durable before anyone can see it, and a reply is sent only
after the events its command caused are published. See ``docs/protocol.md``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import secrets
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import zmq

from . import protocol as P
from .log import EventRow, LogError, PoseBatch, SessionLog
from .security import (
    DOMAIN_PAIRING,
    DOMAIN_SESSION,
    Authorizations,
    ZapHandler,
    fingerprint,
    load_or_create_identity,
    new_pairing_code,
    pairing_keypair,
)

log = logging.getLogger("viewpoint.session")

MAX_SOCKET_MESSAGE = 1 << 20  # libzmq drops peers sending more than this; the app limit is smaller
MAX_SCHEDULE_AHEAD_S = 30.0
_REPLY_CACHE = 4096


class SessionServerError(Exception):
    """The server could not start (the message says which endpoint or file and why)."""


@dataclass
class Endpoints:
    command: str
    events: str
    pairing: str


@dataclass
class Peer:
    key: str
    cid: str
    name: str
    role: str
    last_seen: float
    announced: bool = False


def _json_default(obj: Any) -> Any:
    item = getattr(obj, "item", None)  # numpy scalars
    if callable(item):
        with contextlib.suppress(Exception):
            return item()
    if isinstance(obj, tuple | set | frozenset):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    return str(obj)


def _dumps_event(obj: dict[str, Any]) -> str:
    import json

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    for k in ("mono", "media_t"):
        obj[k] = clean(obj.get(k))
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def new_session_id(now: float | None = None) -> str:
    t = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return "s-" + t.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _split_endpoint(endpoint: str) -> tuple[str, str, int | None]:
    """(scheme, host-or-path, port) of ``tcp://host:port`` or ``ipc://path``."""
    if endpoint.startswith("tcp://"):
        host, _, port = endpoint[6:].rpartition(":")
        if not host:
            raise SessionServerError(f"--listen {endpoint}: expected tcp://HOST:PORT")
        if port in ("*", "0"):
            return "tcp", host, 0
        if not port.isdigit() or not 0 < int(port) < 65534:
            raise SessionServerError(f"--listen {endpoint}: port must be 1..65533 (or 0 / * for any)")
        return "tcp", host, int(port)
    if endpoint.startswith("ipc://"):
        return "ipc", endpoint[6:], None
    raise SessionServerError(f"--listen {endpoint}: expected tcp://HOST:PORT or ipc://PATH")


class SessionServer:
    """Commands from paired consoles to the controller; the controller's events to the log, then to consoles.

    ``controller`` needs ``dispatch(cmd: str, args: dict) -> dict`` (raising an exception with ``code`` and
    ``message`` attributes for a refused command) and, optionally, ``media_time() -> float`` and a ``film``
    (with ``.id``) or ``film_id`` attribute, used to stamp events with the film and media time.

    Keywords: ``pose_hz`` (10..30), ``pose_flush_s`` (pose batches are committed this often),
    ``retention_days`` (purge at start), ``pairing`` (open the pairing socket), ``on_pairing_code`` (show the
    code, e.g. in the headset; else printed when ``announce``), ``synchronous`` (SQLite: FULL fsyncs every
    commit; NORMAL survives a player crash but not a power cut; default from VIEWPOINT_LOG_SYNC, else FULL),
    ``pause_on_lost`` (default for sessions), ``context`` (a zmq context; by default the server owns one:
    one ZAP handler per context), ``switch_interval`` (if set, lowers ``sys.setswitchinterval`` so the
    session thread gets the GIL sooner while render/decode threads run Python code).
    """

    def __init__(
        self,
        controller: Any,
        endpoint: str = "tcp://127.0.0.1:5555",
        keys_dir: Path | str = Path("keys"),
        log_path: Path | str = Path("session-log.sqlite"),
        player_name: str = "viewpoint-player",
        *,
        pose_hz: float = 20.0,
        pose_flush_s: float = 0.1,
        retention_days: float | None = None,
        pairing: bool = True,
        on_pairing_code: Callable[[str], None] | None = None,
        synchronous: str | None = None,
        pause_on_lost: bool = False,
        context: zmq.Context | None = None,
        announce: bool = True,
        switch_interval: float | None = None,
    ):
        if not 10.0 <= pose_hz <= 30.0:
            raise ValueError(f"pose_hz={pose_hz}: expected 10..30 samples per second")
        self.controller = controller
        self.requested_endpoint = endpoint
        self.keys_dir = Path(keys_dir)
        self.log_path = Path(log_path)
        self.player_name = player_name
        self.pose_interval = 1.0 / pose_hz
        self.pose_flush_s = max(0.0, pose_flush_s)
        self.retention_days = retention_days
        self.pairing_enabled = pairing
        self.on_pairing_code = on_pairing_code
        # FULL: every commit is fsynced (survives power loss); NORMAL: survives a crash of the player process
        # (SIGKILL) but not of the machine. VIEWPOINT_LOG_SYNC overrides the default for a deployment.
        self.synchronous = synchronous or os.environ.get("VIEWPOINT_LOG_SYNC", "FULL").upper()
        self.default_pause_on_lost = pause_on_lost
        # One ZAP handler per context: each server gets its own context unless given one (several servers in
        # one process, as in group tests, then never compete for inproc://zeromq.zap.01).
        self._own_ctx = context is None
        self._ctx = context if context is not None else zmq.Context()
        self.announce = announce  # print the endpoint and the pairing code on stdout
        self.switch_interval = switch_interval

        self.endpoints: Endpoints | None = None
        self.pairing_code: str | None = None
        self.public_key: bytes | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._wake_pending = False
        self._pose_latest: tuple[float, float, float, float, float, float] | None = None
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._stop_reason = "player_stopped"
        self._stop_detail: str | None = None

        # session-thread state
        self.session_id = ""
        self.session_kind = "standby"
        self.session_info: dict[str, Any] = {}
        self.seq = 0
        self.last_published = 0
        self.pseq = 0
        self._pending: list[EventRow] = []
        self._pending_poses: list[tuple[float, float, float, float, float, float]] = []
        self._pose_batches: list[PoseBatch] = []
        self._pose_first_pseq = 1
        self._pending_requests: list[tuple[str, str, str, str]] = []
        self._replies: list[tuple[zmq.Socket, bytes, Callable[[], bytes] | bytes]] = []
        self._reply_cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._scheduled: list[tuple[float, P.Command, Peer]] = []
        self._peers: dict[tuple[str, str], Peer] = {}
        self._handlers: dict[str, Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]] = {}
        self._next_pairing: tuple[str, bytes, bytes] | None = None
        self._auth_checked = 0.0
        self._pairing_bind_failures = 0
        self._film: str | None = None
        self._media_t: float | None = None
        self._last_pose_sample: tuple | None = None
        self.stats: dict[str, int] = {
            "commands": 0,
            "errors": 0,
            "dropped": 0,
            "events": 0,
            "poses": 0,
            "commits": 0,
            "internal_errors": 0,
            "paired": 0,
        }

    # ------------------------------------------------------------------ public API (any thread)

    def add_handler(
        self, name: str, handler: Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]
    ) -> None:
        """Execute command ``name`` (registered with ``protocol.register_command(..., target="session")``)
        with ``handler(args, client)`` on the session thread; ``client`` has ``name``, ``role``, ``key``.
        Raise an exception with ``code`` and ``message`` attributes to refuse. Call before :meth:`start`."""
        if name not in P.COMMANDS:
            raise ValueError(f"{name}: register it with player.session.protocol.register_command first")
        self._handlers[name] = handler

    def start(self, timeout: float = 10.0) -> None:
        """Open the log, bind the sockets and start the session thread; raises SessionServerError."""
        if self._thread is not None:
            raise SessionServerError("session server already started")
        if self.switch_interval is not None and sys.getswitchinterval() > self.switch_interval:
            # The GIL is handed to a waiting thread only every switch interval (5 ms by default) while the
            # render or decode threads run Python code; each command crosses several hand-overs.
            sys.setswitchinterval(self.switch_interval)
        self._running.set()
        self._thread = threading.Thread(target=self._thread_main, name="viewpoint-session", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise SessionServerError("session server did not start in time")
        if self._start_error is not None:
            self._thread.join(2.0)
            self._thread = None
            err = self._start_error
            raise err if isinstance(err, SessionServerError) else SessionServerError(str(err))

    def stop(self, reason: str = "player_stopped", timeout: float = 5.0, detail: str | None = None) -> None:
        """End the current session (``session.ended`` with ``reason`` and ``detail``, logged), flush the log,
        close the sockets, join the thread."""
        if self._thread is None:
            return
        self._stop_reason = reason
        self._stop_detail = detail
        self._running.clear()
        self._wake()
        self._thread.join(timeout)
        self._thread = None

    def emit(
        self,
        type: str,
        data: dict[str, Any] | None = None,
        *,
        media_t: float | None = None,
        film: str | None = None,
    ) -> None:
        """The controller's event sink: queue one event; never blocks. Logged durably, then published."""
        self._queue.put(
            (str(type), data if data is not None else {}, media_t, film, time.monotonic(), time.time())
        )
        self._wake()

    __call__ = emit

    def pose(self, orientation: tuple[float, float, float, float], media_t: float | None = None) -> None:
        """Latest head orientation (x, y, z, w) from the render loop, for the pose stream; never blocks."""
        try:
            x, y, z, w = (float(c) for c in orientation)
        except (TypeError, ValueError):
            return
        self._pose_latest = (
            time.monotonic(),
            float(media_t) if media_t is not None else math.nan,
            x,
            y,
            z,
            w,
        )

    @property
    def endpoint(self) -> str:
        return self.endpoints.command if self.endpoints else self.requested_endpoint

    @property
    def authorized_count(self) -> int:
        """How many facilitators are paired with this player (0 before start)."""
        auth = getattr(self, "auth", None)
        return len(auth) if auth is not None else 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ session thread

    def _wake(self) -> None:
        if not self._wake_pending:
            self._wake_pending = True
            with contextlib.suppress(OSError):
                self._wake_w.send(b"\x01")

    def _thread_main(self) -> None:
        try:
            self._setup()
        except BaseException as exc:  # reported to start()
            self._start_error = exc
            self._teardown_sockets()
            self._started.set()
            return
        self._started.set()
        try:
            self._loop()
        finally:
            try:
                self._shutdown()
            except Exception:
                log.exception("session server shutdown failed")
            self._teardown_sockets()

    def _setup(self) -> None:
        ident = load_or_create_identity(self.keys_dir, "player", {"name": self.player_name})
        self.public_key = ident.public
        self._secret = ident.secret
        self.auth = Authorizations(self.keys_dir)
        try:
            self.log = SessionLog(self.log_path, self.synchronous)
        except LogError as exc:
            raise SessionServerError(str(exc)) from None
        self.zap = ZapHandler(self._ctx, self.auth)  # before any CURVE bind: no ZAP handler means "allow all"
        self._bind()
        self._poller = zmq.Poller()
        self._poller.register(self.zap.socket, zmq.POLLIN)
        self._poller.register(self.router, zmq.POLLIN)
        self._poller.register(self._wake_r.fileno(), zmq.POLLIN)
        if self.announce:
            print(
                f"viewpoint-player: listening on {self.endpoints.command} (events {self.endpoints.events}); "
                f"player key {fingerprint(self.public_key)}",
                flush=True,
            )
        if self.pairing_enabled:
            self._open_pairing()
        self._recover_and_begin()

    def _curve_socket(self, kind: int, secret: bytes, public: bytes, domain: str) -> zmq.Socket:
        s = self._ctx.socket(kind)
        s.linger = 0
        s.curve_server = True
        s.curve_secretkey = secret
        s.curve_publickey = public
        s.zap_domain = domain.encode()
        s.maxmsgsize = MAX_SOCKET_MESSAGE
        return s

    def _bind(self) -> None:
        scheme, host, port = _split_endpoint(self.requested_endpoint)
        self.router = self._curve_socket(zmq.ROUTER, self._secret, self.public_key, DOMAIN_SESSION)
        self.router.router_mandatory = False
        self.pub = self._curve_socket(zmq.PUB, self._secret, self.public_key, DOMAIN_SESSION)
        self.pub.sndhwm = 100_000
        self.pairing = None
        if scheme == "ipc":
            eps = Endpoints(f"ipc://{host}", f"ipc://{host}.events", f"ipc://{host}.pairing")
            try:
                self.router.bind(eps.command)
                self.pub.bind(eps.events)
            except zmq.ZMQError as exc:
                raise SessionServerError(f"cannot listen on {eps.command}: {exc}") from None
            self.endpoints = eps
            return
        attempts = 20 if port == 0 else 1
        last_exc: Exception | None = None
        base = port
        for _ in range(attempts):
            try:
                if port == 0:
                    ep = self.router.bind_to_random_port(f"tcp://{host}", 20000, 60000, 50)
                    base = ep
                else:
                    self.router.bind(f"tcp://{host}:{port}")
                    base = port
            except zmq.ZMQError as exc:
                raise SessionServerError(f"cannot listen on tcp://{host}:{port}: {exc}") from None
            try:
                self.pub.bind(f"tcp://{host}:{base + 1}")
                if self.pairing_enabled:
                    self._probe_port(host, base + 2)
                self.endpoints = Endpoints(
                    f"tcp://{host}:{base}", f"tcp://{host}:{base + 1}", f"tcp://{host}:{base + 2}"
                )
                return
            except (zmq.ZMQError, OSError) as exc:
                last_exc = exc
                with contextlib.suppress(zmq.ZMQError):
                    self.router.unbind(f"tcp://{host}:{base}")
                with contextlib.suppress(zmq.ZMQError):
                    self.pub.unbind(f"tcp://{host}:{base + 1}")
        raise SessionServerError(
            f"cannot listen on {self.requested_endpoint}: ports {base + 1}/{base + 2} (events, pairing) "
            f"are needed too ({last_exc})"
        )

    def _probe_port(self, host: str, port: int) -> None:
        s = self._ctx.socket(zmq.ROUTER)
        s.linger = 0
        try:
            s.bind(f"tcp://{host}:{port}")
            s.unbind(f"tcp://{host}:{port}")
        finally:
            s.close(0)

    def _prepare_pairing(self) -> None:
        """Derive the next code's keypair (scrypt, tens of ms) off the session thread, then wake it."""

        def work() -> None:
            code = new_pairing_code()
            self._next_pairing = (code, *pairing_keypair(code))
            self._wake()

        threading.Thread(target=work, name="viewpoint-pairing-key", daemon=True).start()

    def _open_pairing(self, prepared: tuple[str, bytes, bytes] | None = None) -> None:
        assert self.endpoints is not None
        if prepared is None:
            code = new_pairing_code()
            public, secret = pairing_keypair(code)
        else:
            code, public, secret = prepared
        sock = self._curve_socket(zmq.ROUTER, secret, public, DOMAIN_PAIRING)
        try:
            sock.bind(self.endpoints.pairing)
        except zmq.ZMQError as exc:
            sock.close(0)
            self._pairing_bind_failures += 1
            if self._pairing_bind_failures in (1, 50):
                log.warning("pairing: cannot bind %s yet (%s); retrying", self.endpoints.pairing, exc)
            self._next_pairing = (code, public, secret)  # try again on the next turn
            return
        self._pairing_bind_failures = 0
        self.pairing = sock
        self._poller.register(sock, zmq.POLLIN)
        self.pairing_code = code
        if self.on_pairing_code is not None:
            try:
                self.on_pairing_code(code)
            except Exception:
                log.exception("on_pairing_code callback failed")
        elif self.announce:
            print(
                f"viewpoint-player: pairing code {code} (on the laptop: viewpoint-facilitator pair "
                f"{self.endpoints.command} {code})",
                flush=True,
            )

    def _close_pairing(self) -> None:
        if self.pairing is not None:
            self._poller.unregister(self.pairing)
            with contextlib.suppress(zmq.ZMQError):
                self.pairing.unbind(self.endpoints.pairing)
            self.pairing.close(linger=200)
            self.pairing = None
            self.pairing_code = None

    def _teardown_sockets(self) -> None:
        for name in ("router", "pub", "pairing"):
            s = getattr(self, name, None)
            if s is not None:
                with contextlib.suppress(Exception):
                    s.close(linger=100 if name == "router" else 0)
        z = getattr(self, "zap", None)
        if z is not None:
            z.close()
        lg = getattr(self, "log", None)
        if lg is not None:
            lg.close()
        for s in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                s.close()
        if self._own_ctx:
            with contextlib.suppress(zmq.ZMQError):
                self._ctx.destroy(linger=200)

    # -- sessions

    def _recover_and_begin(self) -> None:
        previous = None
        for sid, last in self.log.unfinished_sessions():
            self.session_id, self.seq = sid, last
            self._append(
                "session.ended",
                {"reason": "interrupted", "detail": "the player stopped without ending it"},
                drain=False,
                stamped=True,
            )
            previous = {"session": sid, "seq": self.seq}
        if previous is None:
            rows = self.log.sessions(1)
            if rows:
                previous = {"session": rows[0]["id"], "seq": rows[0]["last_seq"]}
        self._begin_session(None, None, previous, {})
        self.log.prune_requests(P.utc_now(time.time() - 7 * 86400.0))  # retries never come a week late
        if self.retention_days is not None:
            self._purge(self.retention_days, by="retention")
        self._commit_and_publish()

    def _begin_session(
        self, participant: str | None, consent: dict | None, previous: dict | None, extra: dict[str, Any]
    ) -> None:
        self.session_id = new_session_id()
        self.seq = 0
        self.last_published = 0
        self.pseq = 0
        self._pose_first_pseq = 1
        self.session_kind = "facilitated" if participant else "standby"
        self.session_info = {
            "id": self.session_id,
            "kind": self.session_kind,
            "participant": participant,
            "started_utc": P.utc_now(),
            "pause_on_lost": extra.get("pause_on_lost", self.default_pause_on_lost),
            **{k: v for k, v in extra.items() if k != "pause_on_lost"},
        }
        data: dict[str, Any] = {
            "participant": participant,
            "consent": consent,
            "standby": participant is None,
            "previous": previous,
            "player": self.player_name,
            "player_key": fingerprint(self.public_key) if self.public_key else None,
        }
        data.update(extra)
        self._append("session.started", data, drain=False)  # always seq 1 of its session

    def _end_session(self, reason: str, detail: str | None = None) -> dict[str, Any]:
        self._flush_poses()
        self._append("session.ended", {"reason": reason, **({"detail": detail} if detail else {})})
        return {"session": self.session_id, "seq": self.seq}

    # -- the event path

    def _stamp(self) -> tuple[str | None, float | None]:
        film, media_t = self._film, self._media_t
        c = self.controller
        f = getattr(c, "film_id", None)
        if f is None:
            f = getattr(getattr(c, "film", None), "id", None)
        film = f if isinstance(f, str) else film
        mt = getattr(c, "media_time", None)
        if callable(mt):
            with contextlib.suppress(Exception):
                v = mt()
                media_t = float(v) if v is not None else None
        return film, media_t

    def _append(
        self,
        type: str,
        data: dict[str, Any],
        media_t: float | None = None,
        film: str | None = None,
        mono: float | None = None,
        wall: float | None = None,
        drain: bool = True,
        stamped: bool = False,
    ) -> EventRow:
        """Assign the next sequence number and queue the event for the next commit (session thread only).

        ``drain`` first gives the events queued by other threads their (earlier) sequence numbers.
        """
        if drain:
            self._drain_queue()
        if not stamped and (media_t is None or film is None):
            f, m = self._stamp()
            film = film if film is not None else f
            media_t = media_t if media_t is not None else m
        self.seq += 1
        mono = time.monotonic() if mono is None else mono
        utc = P.utc_now(wall)
        if film is not None:
            self._film = film
        if media_t is not None and math.isfinite(media_t):
            self._media_t = media_t
        if not isinstance(data, dict):
            data = {"value": data}
        env = {
            "v": P.PROTOCOL_VERSION,
            "session": self.session_id,
            "seq": self.seq,
            "mono": round(mono, 6),
            "utc": utc,
            "film": film,
            "media_t": None if media_t is None else round(media_t, 6),
            "type": type,
            "data": data,
        }
        text = _dumps_event(env)
        row = EventRow(self.session_id, self.seq, type, utc, mono, film, env["media_t"], text, data)
        self._pending.append(row)
        return row

    def _drain_queue(self) -> None:
        while True:
            try:
                type, data, media_t, film, mono, wall = self._queue.get_nowait()
            except queue.Empty:
                return
            if media_t is None or film is None:
                f, m = self._stamp()
                film = film if film is not None else f
                media_t = media_t if media_t is not None else m
            self._append(type, data, media_t, film, mono, wall, drain=False, stamped=True)

    def _sample_pose(self, now: float) -> None:
        p = self._pose_latest
        if p is None or p is self._last_pose_sample:
            return
        self._last_pose_sample = p
        self.pseq += 1
        if not self._pending_poses:
            self._pose_first_pseq = self.pseq
        self._pending_poses.append(p)

    def _flush_poses(self) -> list[PoseBatch]:
        if not self._pending_poses:
            return []
        batch = PoseBatch(self.session_id, self._pose_first_pseq, self._film, self._pending_poses)
        self._pending_poses = []
        self._pose_batches.append(batch)
        return [batch]

    def _commit_and_publish(self) -> None:
        self._drain_queue()
        events, self._pending = self._pending, []
        poses, self._pose_batches = self._pose_batches, []
        reqs, self._pending_requests = self._pending_requests, []
        if events or poses or reqs:
            try:
                self.log.append(events, poses, reqs)
            except LogError as exc:
                # Nothing is published that is not durable: keep it and retry on the next turn.
                log.error("%s; retrying", exc)
                self._pending = events + self._pending
                self._pose_batches = poses + self._pose_batches
                self._pending_requests = reqs + self._pending_requests
                self.stats["internal_errors"] += 1
                time.sleep(0.05)
                return
            self.stats["commits"] += 1
        pub = self.pub
        for ev in events:
            pub.send_multipart((P.TOPIC_EVENT, ev.json.encode("utf-8")))
            if ev.session == self.session_id:
                self.last_published = ev.seq
        self.stats["events"] += len(events)
        for batch in poses:
            utc_base = time.time() - time.monotonic()
            for i, (mono, media_t, x, y, z, w) in enumerate(batch.samples):
                msg = {
                    "v": P.PROTOCOL_VERSION,
                    "session": batch.session,
                    "pseq": batch.first_pseq + i,
                    "mono": round(mono, 6),
                    "utc": P.utc_now(utc_base + mono),
                    "film": batch.film,
                    "media_t": None if math.isnan(media_t) else round(media_t, 6),
                    "type": "pose",
                    "data": {"q": [round(x, 6), round(y, 6), round(z, 6), round(w, 6)]},
                }
                pub.send_multipart((P.TOPIC_POSE, P.dumps(msg)))
                self.stats["poses"] += 1
        for sock, ident, body in self._replies:
            payload = body() if callable(body) else body
            with contextlib.suppress(zmq.ZMQError):
                sock.send_multipart((ident, payload))
        self._replies.clear()

    # -- the loop

    def _loop(self) -> None:
        now = time.monotonic()
        next_hb = now
        next_pose = now + self.pose_interval
        next_flush = now + self.pose_flush_s
        next_check = now + 0.25
        while self._running.is_set():
            now = time.monotonic()
            deadline = min(next_hb, next_pose, next_check, next_flush if self._pending_poses else math.inf)
            if self._scheduled:
                deadline = min(deadline, self._scheduled[0][0])
            timeout_ms = max(0, math.ceil((deadline - now) * 1000))
            try:
                ready = dict(self._poller.poll(timeout_ms))
            except zmq.ZMQError as exc:
                if exc.errno == zmq.ETERM:
                    return
                raise
            try:
                if self.zap.socket in ready:
                    self.zap.handle()
                if self._wake_r.fileno() in ready:
                    self._wake_pending = False
                    with contextlib.suppress(OSError):
                        while self._wake_r.recv(4096):
                            pass
                if self.router in ready:
                    self._read_commands()
                if self.pairing is not None and self.pairing in ready:
                    self._read_pairing()
                if self._next_pairing is not None and self.pairing is None:
                    prepared, self._next_pairing = self._next_pairing, None
                    self._open_pairing(prepared)
                now = time.monotonic()
                self._run_scheduled(now)
                if now >= next_pose:
                    self._sample_pose(now)
                    next_pose = max(next_pose + self.pose_interval, now)
                if self._pending_poses and (now >= next_flush or self.pose_flush_s == 0):
                    self._flush_poses()
                    next_flush = now + self.pose_flush_s
                if now >= next_check:
                    self._check_peers(now)
                    next_check = now + 0.25
                self._commit_and_publish()
                if now >= next_hb:
                    self._heartbeat()
                    next_hb = now + P.HEARTBEAT_S
            except Exception:
                self.stats["internal_errors"] += 1
                log.exception("session thread: unexpected error (playback continues)")
                self._replies.clear()
                time.sleep(0.01)

    def _heartbeat(self) -> None:
        hb = {
            "v": P.PROTOCOL_VERSION,
            "player": self.player_name,
            "session": self.session_id,
            "seq": self.last_published,
            "mono": round(time.monotonic(), 6),
            "utc": P.utc_now(),
        }
        self.pub.send_multipart((P.TOPIC_HEARTBEAT, P.dumps(hb)))

    def _shutdown(self) -> None:
        self._drain_queue()
        self._flush_poses()
        for (key, cid), peer in list(self._peers.items()):
            if peer.announced:
                self._append(
                    "facilitator.left",
                    {"key": key, "cid": cid, "name": peer.name, "reason": self._stop_reason},
                )
        self._end_session(self._stop_reason, self._stop_detail)
        self._commit_and_publish()

    # -- commands

    def _read_commands(self) -> None:
        for _ in range(1000):
            try:
                frames = self.router.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            t_recv = time.monotonic()
            ident = frames[0].bytes
            if len(frames) != 2:
                self.stats["dropped"] += 1
                self._reply(
                    self.router,
                    ident,
                    P.encode_error(None, P.E_BAD_MESSAGE, "expected one frame per command"),
                )
                continue
            try:
                key = frames[1].get("User-Id")
            except zmq.ZMQError:
                key = ""
            self._handle(ident, key, frames[1].bytes, t_recv)

    def _reply(self, sock: zmq.Socket, ident: bytes, body: bytes | Callable[[], bytes]) -> None:
        self._replies.append((sock, ident, body))

    def _error(self, ident: bytes, rid: str | None, code: str, message: str) -> bytes:
        self.stats["errors"] += 1
        body = P.encode_error(rid, code, message)
        self._reply(self.router, ident, body)
        return body

    def _handle(self, ident: bytes, key: str, raw: bytes, t_recv: float) -> None:
        self.stats["commands"] += 1
        if t_recv - self._auth_checked > 1.0:  # a removed certificate also stops connections made before
            self._auth_checked = t_recv
            self.auth.refresh()
        who = self.auth.lookup(key.encode("ascii", "replace"))
        if who is None:  # revoked since it connected
            self._error(ident, None, P.E_FORBIDDEN, "this console is not paired with this player")
            return
        role, name = who
        try:
            cmd = P.decode_command(raw)
        except P.ProtocolError as exc:
            self._error(ident, exc.request_id, exc.code, exc.message)
            return
        spec = P.COMMANDS[cmd.cmd]
        cid = str(cmd.args.get("cid") or ident.hex())
        peer = self._touch(key, cid, name, role, cmd.args.get("client"))
        cache_key = (key, cmd.id)
        if spec.logged:
            cached = self._reply_cache.get(cache_key)
            if cached is None:
                text = self.log.cached_reply(key, cmd.id)
                cached = text.encode("utf-8") if text is not None else None
            if cached is not None:  # a retry of a request already executed: same answer, not run again
                self._reply(self.router, ident, cached)
                return
        if spec.lead_only and role != P.ROLE_LEAD:
            self._error(ident, cmd.id, P.E_FORBIDDEN, f"{cmd.cmd}: observers have read-only access")
            return
        body: bytes | Callable[[], bytes]
        try:
            if spec.target == "session":
                body = self._session_command(cmd, peer, t_recv)
            else:
                body = self._playback_command(cmd, peer)
        except P.ProtocolError as exc:
            body = P.encode_error(cmd.id, exc.code, exc.message)
            self.stats["errors"] += 1
        except Exception as exc:
            code = getattr(exc, "code", None)
            message = getattr(exc, "message", None) or str(exc)
            if isinstance(code, str) and code:
                body = P.encode_error(cmd.id, code, str(message))
            else:
                log.exception("command %s failed", cmd.cmd)
                self.stats["internal_errors"] += 1
                body = P.encode_error(cmd.id, P.E_INTERNAL, f"{cmd.cmd}: {type(exc).__name__}: {exc}")
            self.stats["errors"] += 1
            if spec.logged:
                self._append(
                    "command.failed",
                    {
                        "id": cmd.id,
                        "cmd": cmd.cmd,
                        "code": code or P.E_INTERNAL,
                        "message": str(message)[:500],
                    },
                )
        if spec.logged and not callable(body):
            self._remember(cache_key, body)
        self._reply(self.router, ident, body)

    def _remember(self, cache_key: tuple[str, str], body: bytes) -> None:
        self._reply_cache[cache_key] = body
        if len(self._reply_cache) > _REPLY_CACHE:
            self._reply_cache.popitem(last=False)
        self._pending_requests.append((cache_key[0], cache_key[1], P.utc_now(), body.decode("utf-8")))

    def _touch(self, key: str, cid: str, name: str, role: str, client: str | None) -> Peer:
        peer = self._peers.get((key, cid))
        now = time.monotonic()
        if peer is None:
            peer = Peer(key, cid, client or name, role, now)
            self._peers[(key, cid)] = peer
        peer.last_seen = now
        if client:
            peer.name = client
        return peer

    def _check_peers(self, now: float) -> None:
        for k, peer in list(self._peers.items()):
            silent = now - peer.last_seen
            if silent <= P.DEAD_AFTER_S:
                continue
            del self._peers[k]
            if not peer.announced:
                continue
            self._append(
                "facilitator.lost",
                {
                    "key": peer.key,
                    "cid": peer.cid,
                    "name": peer.name,
                    "role": peer.role,
                    "silent_s": round(silent, 3),
                },
            )
            leads_left = any(p.role == P.ROLE_LEAD and p.announced for p in self._peers.values())
            if peer.role == P.ROLE_LEAD and not leads_left and self.session_info.get("pause_on_lost"):
                try:
                    self.controller.dispatch("pause", {})
                    self._append("session.paused_on_lost", {"key": peer.key, "name": peer.name})
                except Exception as exc:
                    log.warning("pause on lost facilitator failed: %s", exc)

    def _playback_command(self, cmd: P.Command, peer: Peer) -> bytes:
        args = dict(cmd.args)
        at = args.pop("at", None)
        if at is not None:
            now = time.monotonic()
            if at - now > MAX_SCHEDULE_AHEAD_S:
                raise P.ProtocolError(P.E_BAD_ARGS, f"args.at: at most {MAX_SCHEDULE_AHEAD_S:.0f} s ahead")
            if at > now:
                self._append(
                    "command",
                    {
                        "id": cmd.id,
                        "cmd": cmd.cmd,
                        "args": cmd.args,
                        "by": peer.name,
                        "key": peer.key,
                        "scheduled": True,
                    },
                )
                self._scheduled.append((at, P.Command(cmd.id, cmd.cmd, args), peer))
                self._scheduled.sort(key=lambda s: s[0])
                return P.encode_ok(cmd.id, {"scheduled_at": at, "mono": time.monotonic()})
        self._append(
            "command", {"id": cmd.id, "cmd": cmd.cmd, "args": cmd.args, "by": peer.name, "key": peer.key}
        )
        result = self._dispatch(cmd.cmd, args)
        return P.encode_ok(cmd.id, result)

    def _dispatch(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Hand a playback command to the controller (``volume`` with ``muted`` is two controller calls)."""
        if name == "volume" and "muted" in args:
            result = dict(self.controller.dispatch("mute", {"muted": args["muted"]}) or {})
            if "volume" in args:
                result.update(self.controller.dispatch("volume", {"volume": args["volume"]}) or {})
            return result
        return dict(self.controller.dispatch(name, args) or {})

    def _run_scheduled(self, now: float) -> None:
        while self._scheduled and self._scheduled[0][0] <= now:
            at, cmd, _peer = self._scheduled.pop(0)
            late_ms = (time.monotonic() - at) * 1000
            try:
                play_scheduled = getattr(self.controller, "play_scheduled", None)
                if cmd.cmd == "play" and play_scheduled is not None:
                    play_scheduled()  # refused (command.failed, code "held") while the viewer is held out
                else:
                    self._dispatch(cmd.cmd, cmd.args)
                self._append(
                    "command.executed", {"id": cmd.id, "cmd": cmd.cmd, "at": at, "late_ms": round(late_ms, 3)}
                )
            except Exception as exc:
                self._append(
                    "command.failed",
                    {
                        "id": cmd.id,
                        "cmd": cmd.cmd,
                        "code": getattr(exc, "code", P.E_INTERNAL),
                        "message": str(getattr(exc, "message", exc))[:500],
                    },
                )

    # -- session-level commands

    def _session_command(self, cmd: P.Command, peer: Peer, t_recv: float) -> bytes | Callable[[], bytes]:
        a = cmd.args
        name = cmd.cmd
        if name == "hello":
            if not peer.announced:
                peer.announced = True
                self._append(
                    "facilitator.connected",
                    {"key": peer.key, "cid": peer.cid, "name": peer.name, "role": peer.role},
                )
            return lambda: P.encode_ok(cmd.id, self._hello(peer))
        if name == "ping":
            return lambda: P.encode_ok(
                cmd.id,
                {
                    "mono": time.monotonic(),
                    "utc": P.utc_now(),
                    "session": self.session_id,
                    "seq": self.last_published,
                },
            )
        if name == "clock.sync":
            return lambda: P.encode_ok(cmd.id, {"t1": t_recv, "seq": a.get("seq"), "t2": time.monotonic()})
        if name == "bye":
            self._peers.pop((peer.key, peer.cid), None)
            if peer.announced:
                self._append(
                    "facilitator.left", {"key": peer.key, "cid": peer.cid, "name": peer.name, "reason": "bye"}
                )
            return P.encode_ok(cmd.id, {})
        if name == "snapshot":
            return lambda: P.encode_ok(cmd.id, self._snapshot())
        if name == "status":
            return lambda: P.encode_ok(cmd.id, self._status())
        if name == "events":
            return lambda: self._events_reply(cmd)
        if name == "poses":

            def poses_reply() -> bytes:
                samples, first, more = self.log.poses_after(
                    a["session"], a.get("after", 0), a.get("limit", 5000)
                )
                rounded = [[round(v, 6) if v == v else None for v in smp] for smp in samples]
                return P.encode_ok(
                    cmd.id, {"session": a["session"], "first_pseq": first, "samples": rounded, "more": more}
                )

            return poses_reply
        if name == "sessions":
            return lambda: P.encode_ok(
                cmd.id, {"sessions": self.log.sessions(a.get("limit", 100)), "current": self.session_id}
            )
        if name == "session.start":
            previous = None
            if self.session_kind == "facilitated":
                previous = self._end_session("replaced")
            else:
                previous = self._end_session("facilitated_session_started")
            extra = {k: a[k] for k in ("facilitator", "group", "pause_on_lost") if k in a}
            extra.setdefault("facilitator", peer.name)
            self._begin_session(a["participant"], a["consent"], previous, extra)
            return P.encode_ok(cmd.id, {"session": self.session_id, "participant": a["participant"]})
        if name == "session.end":
            if self.session_kind != "facilitated":
                raise P.ProtocolError(P.E_NO_SESSION, "session.end: no facilitated session is running")
            ended = self.session_id
            previous = self._end_session(a.get("reason", "ended_by_facilitator"))
            self._begin_session(None, None, previous, {})
            return P.encode_ok(cmd.id, {"session": ended, "standby": self.session_id})
        if name == "annotate":
            _film, media_t = self._stamp()
            at = a.get("media_t", media_t)
            row = self._append(
                "annotation.added",
                {
                    "text": a.get("text", ""),
                    "tags": a.get("tags", []),
                    "at": at,
                    "by": peer.name,
                },
            )
            return P.encode_ok(cmd.id, {"ref": row.seq, "session": row.session, "at": at})
        if name in ("annotation.edit", "annotation.delete"):
            ref = a["ref"]
            target = self._find_event(ref)
            if target is None or target.get("type") != "annotation.added":
                raise P.ProtocolError(
                    P.E_NOT_FOUND, f"args.ref: no annotation with seq {ref} in this session"
                )
            if name == "annotation.edit":
                data = {"ref": ref, "by": peer.name}
                data.update({k: a[k] for k in ("text", "tags") if k in a})
                row = self._append("annotation.edited", data)
            else:
                row = self._append("annotation.deleted", {"ref": ref, "by": peer.name})
            return P.encode_ok(cmd.id, {"ref": ref, "seq": row.seq, "session": row.session})
        if name == "purge":
            return P.encode_ok(cmd.id, self._purge(a["older_than_days"], by=peer.name))
        handler = self._handlers.get(name)
        if handler is not None:
            if P.COMMANDS[name].logged:
                self._append(
                    "command", {"id": cmd.id, "cmd": name, "args": a, "by": peer.name, "key": peer.key}
                )
            result = handler(dict(a), {"name": peer.name, "role": peer.role, "key": peer.key})
            return P.encode_ok(cmd.id, dict(result or {}))
        raise P.ProtocolError(P.E_UNKNOWN_COMMAND, f"cmd: {name!r} is not handled by this player")

    def _find_event(self, seq: int) -> dict[str, Any] | None:
        for row in self._pending:
            if row.session == self.session_id and row.seq == seq:
                return {"type": row.type, "data": row.data}
        return self.log.event(self.session_id, seq)

    def _purge(self, older_than_days: float, by: str) -> dict[str, Any]:
        self._commit_and_publish()  # purge sees every ended session
        cutoff = P.utc_now(time.time() - older_than_days * 86400.0)
        ids = self.log.purge_before(cutoff, keep=[self.session_id])
        self._append(
            "log.purged",
            {
                "sessions": ids,
                "count": len(ids),
                "ended_before": cutoff,
                "older_than_days": older_than_days,
                "by": by,
            },
        )
        return {"purged": ids, "count": len(ids), "ended_before": cutoff}

    def _hello(self, peer: Peer) -> dict[str, Any]:
        assert self.endpoints is not None
        return {
            "player": self.player_name,
            "protocol": P.PROTOCOL_VERSION,
            "role": peer.role,
            "name": peer.name,
            "heartbeat_s": P.HEARTBEAT_S,
            "dead_after_s": P.DEAD_AFTER_S,
            "endpoints": {"command": self.endpoints.command, "events": self.endpoints.events},
            "session": self.session_id,
            "seq": self.last_published,
            "mono": time.monotonic(),
            "player_key": fingerprint(self.public_key) if self.public_key else None,
        }

    def _controller_status(self) -> dict[str, Any]:
        try:
            st = self.controller.dispatch("status", {})
            return dict(st) if isinstance(st, dict) else {}
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}

    def _status(self) -> dict[str, Any]:
        return {
            "player": self.player_name,
            "controller": self._controller_status(),
            "session": dict(self.session_info),
            "seq": self.last_published,
            "consoles": [
                {
                    "name": p.name,
                    "role": p.role,
                    "key": p.key,
                    "silent_s": round(time.monotonic() - p.last_seen, 3),
                }
                for p in self._peers.values()
                if p.announced
            ],
            "pairing": self.pairing_code is not None,
            "log": str(self.log_path),
            "stats": dict(self.stats),
            "mono": time.monotonic(),
            "utc": P.utc_now(),
        }

    def _snapshot(self) -> dict[str, Any]:
        """Clone-pattern snapshot, built after this turn's events were published (so seq is consistent)."""
        state = P.initial_state()
        for ev in self.log.session_events(self.session_id):
            P.apply_event(state, ev)
        state["controller"] = self._controller_status()
        state["consoles"] = [
            {"name": p.name, "role": p.role, "key": p.key} for p in self._peers.values() if p.announced
        ]
        return {
            "session": dict(self.session_info),
            "seq": self.last_published,
            "state": state,
            "mono": time.monotonic(),
            "utc": P.utc_now(),
        }

    def _events_reply(self, cmd: P.Command) -> bytes:
        import json

        a = cmd.args
        texts, more = self.log.events_after(a.get("session"), a.get("after", 0), a.get("limit", 500))
        return (
            '{"v":1,"id":'
            + json.dumps(cmd.id)
            + ',"ok":true,"result":{"events":['
            + ",".join(texts)
            + '],"more":'
            + ("true" if more else "false")
            + ',"session":'
            + json.dumps(self.session_id)
            + ',"seq":'
            + str(self.last_published)
            + "}}"
        ).encode("utf-8")

    # -- pairing

    def _read_pairing(self) -> None:
        sock = self.pairing
        for _ in range(100):
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            ident = frames[0].bytes
            if len(frames) != 2:
                continue
            key = frames[1].get("User-Id")
            try:
                body = self._pair(key, frames[1].bytes)
            except P.ProtocolError as exc:
                sock.send_multipart((ident, P.encode_error(exc.request_id, exc.code, exc.message)))
                continue
            sock.send_multipart((ident, body))
            # one code, one facilitator: show a fresh code for the next pairing
            self._close_pairing()
            self._prepare_pairing()
            return

    def _pair(self, key: str, raw: bytes) -> bytes:
        import json

        if len(raw) > 4096:
            raise P.ProtocolError(P.E_TOO_LARGE, "pair: message too large")
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise P.ProtocolError(P.E_BAD_JSON, "pair: not UTF-8 JSON") from None
        if not isinstance(obj, dict) or obj.get("cmd") != "pair" or obj.get("v") != P.PROTOCOL_VERSION:
            raise P.ProtocolError(
                P.E_BAD_MESSAGE, 'pair: expected {"v":1,"id":...,"cmd":"pair","args":{...}}'
            )
        rid = P.peek_id(obj)
        spec = {"name": P.Arg(P.text(40), required=True), "role": P.Arg(P.choice(*P.ROLES))}
        try:
            args = P.check_args(spec, obj.get("args", {}))
        except P.ProtocolError as exc:
            exc.request_id = rid
            raise
        role = args.get("role", P.ROLE_LEAD)
        path = self.auth.authorize(key.encode("ascii"), args["name"], role)
        self.stats["paired"] += 1
        self._append(
            "pairing.completed",
            {
                "name": args["name"],
                "role": role,
                "key": key,
                "fingerprint": fingerprint(key.encode("ascii")),
                "file": path.name,
            },
        )
        self._commit_and_publish()
        assert self.endpoints is not None
        return P.encode_ok(
            rid,
            {
                "player": self.player_name,
                "public_key": self.public_key.decode("ascii"),
                "role": role,
                "endpoints": {"command": self.endpoints.command, "events": self.endpoints.events},
                "player_key": fingerprint(self.public_key),
            },
        )
