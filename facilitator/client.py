"""The facilitator's protocol client: one :class:`PlayerClient` per player (see ``docs/protocol.md``).

Small API, used by the CLI, the web console and group sessions::

    home = FacilitatorHome()                          # keys and known players (~/.viewpoint/facilitator)
    info = pair("tcp://10.0.0.5:5555", "7KQ4-MZ2X", home)   # once per player, with the code it shows
    client = home.client("tcp://10.0.0.5:5555")       # or PlayerClient(endpoint, server_key, identity)
    client.request("seek", {"t": 12.5})               # -> result dict; CommandFailed / RequestTimeout
    client.subscribe(on_event=print)                  # clone-pattern: gapless, ordered, catch-up on gaps
    client.state, client.health()                     # clone state; connection health
    client.close()

Commands are retried Lazy-Pirate style with the *same* request id; the player never executes an id twice.
Callbacks run on the client's I/O thread: keep them short (hand over to your own loop, e.g. with
``loop.call_soon_threadsafe``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from player.session import protocol as P
from player.session.security import (
    Identity,
    fingerprint,
    load_or_create_identity,
    load_public_key,
    pairing_keypair,
)

log = logging.getLogger("viewpoint.facilitator.client")

EventCallback = Callable[[dict[str, Any]], None]


class ClientError(Exception):
    """Base class of the client's errors."""


class CommandFailed(ClientError):
    """The player answered with an error: ``code`` (stable, see protocol.md) and ``message``."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class RequestTimeout(ClientError):
    """No answer after all retries: the player is unreachable (or refuses this console's key)."""


class PairingError(ClientError):
    """Pairing failed (wrong code, no player at that address, or refused)."""


# ------------------------------------------------------------------------------------------- facilitator home


def default_home() -> Path:
    env = os.environ.get("VIEWPOINT_FACILITATOR_HOME")
    if env:
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
        return base / "Viewpoint" / "facilitator"
    return Path.home() / ".viewpoint" / "facilitator"


class FacilitatorHome:
    """The facilitator's own folder: ``keys/`` (its certificate), ``players/`` (paired players), the store."""

    def __init__(self, path: Path | str | None = None, name: str | None = None):
        self.path = Path(path) if path is not None else default_home()
        self.name = name or os.environ.get("VIEWPOINT_FACILITATOR_NAME") or "facilitator"
        self.keys_dir = self.path / "keys"
        self.players_dir = self.path / "players"
        self.store_path = self.path / "store.sqlite"

    def identity(self) -> Identity:
        """This facilitator's CURVE keypair (created on first use, secret 0600)."""
        return load_or_create_identity(self.keys_dir, "facilitator", {"name": self.name})

    def players(self) -> dict[str, dict[str, Any]]:
        """Paired players by name: endpoint, events endpoint, public key file, role."""
        out = {}
        if self.players_dir.is_dir():
            for p in sorted(self.players_dir.glob("*.json")):
                with contextlib.suppress(OSError, ValueError):
                    out[p.stem] = json.loads(p.read_text(encoding="utf-8"))
        return out

    def remember(
        self, player: str, endpoint: str, public_key: bytes, role: str, events: str | None = None
    ) -> Path:
        """Record a paired player (its certificate in zmq.auth format plus a small JSON record)."""
        from player.session.security import write_public_cert

        self.players_dir.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in player)[:60] or "player"
        cert = write_public_cert(self.players_dir / f"{safe}.key", public_key, {"name": safe})
        rec = {
            "player": player,
            "endpoint": endpoint,
            "events": events,
            "cert": cert.name,
            "role": role,
            "fingerprint": fingerprint(public_key),
            "paired_utc": P.utc_now(),
        }
        path = self.players_dir / f"{safe}.json"
        path.write_text(json.dumps(rec, indent=2), encoding="utf-8")
        return path

    def find(self, target: str) -> dict[str, Any]:
        """A paired player by name or endpoint; raises ClientError naming what is known."""
        players = self.players()
        if target in players:
            return players[target]
        for rec in players.values():
            if rec.get("endpoint") == target:
                return rec
        known = ", ".join(f"{k} ({v.get('endpoint')})" for k, v in players.items()) or "none"
        raise ClientError(
            f"{target}: not a paired player (paired: {known}); run 'viewpoint-facilitator pair'"
        )

    def client(self, target: str, **kwargs: Any) -> PlayerClient:
        """A client for a paired player (by name or endpoint)."""
        rec = self.find(target)
        server_key = load_public_key(self.players_dir / rec["cert"])
        return PlayerClient(
            rec["endpoint"],
            server_key,
            self.identity(),
            name=self.name,
            events_endpoint=rec.get("events"),
            **kwargs,
        )


# ------------------------------------------------------------------------------------------- pairing


def pairing_endpoint_for(command_endpoint: str) -> str:
    """The pairing socket next to a command endpoint (tcp port + 2, or ``PATH.pairing`` for ipc)."""
    if command_endpoint.startswith("tcp://"):
        host, _, port = command_endpoint[6:].rpartition(":")
        return f"tcp://{host}:{int(port) + 2}"
    return command_endpoint + ".pairing"


def events_endpoint_for(command_endpoint: str) -> str:
    """The event (PUB) socket next to a command endpoint (tcp port + 1, or ``PATH.events`` for ipc)."""
    if command_endpoint.startswith("tcp://"):
        host, _, port = command_endpoint[6:].rpartition(":")
        return f"tcp://{host}:{int(port) + 1}"
    return command_endpoint + ".events"


@dataclass(frozen=True)
class Paired:
    player: str
    public_key: bytes
    role: str
    endpoint: str
    events: str
    fingerprint: str


def pair(
    endpoint: str,
    code: str,
    home: FacilitatorHome | None = None,
    *,
    role: str = P.ROLE_LEAD,
    identity: Identity | None = None,
    name: str | None = None,
    timeout: float = 5.0,
    context: zmq.Context | None = None,
) -> Paired:
    """Pair with the player at ``endpoint`` using the code it shows; remembers it in ``home``.

    The pairing socket's CURVE key is derived from the code, so a wrong code simply gets no answer.
    """
    from player.session.security import normalize_pairing_code

    try:
        code = normalize_pairing_code(code)
    except ValueError as exc:
        raise PairingError(str(exc)) from None
    if identity is None:
        if home is None:
            home = FacilitatorHome()
        identity = home.identity()
    name = name or (home.name if home else "facilitator")
    server_public, _ = pairing_keypair(code)
    ctx = context or zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.curve_serverkey = server_public
    s.curve_publickey = identity.public
    s.curve_secretkey = identity.secret
    try:
        s.connect(pairing_endpoint_for(endpoint))
        rid = "pair-" + secrets.token_hex(4)
        s.immediate = True
        msg = P.dumps(
            {"v": P.PROTOCOL_VERSION, "id": rid, "cmd": "pair", "args": {"name": name, "role": role}}
        )
        deadline = time.monotonic() + timeout
        sent = False
        if s.poll(int(timeout * 1000), zmq.POLLOUT):
            with contextlib.suppress(zmq.Again):
                s.send(msg, zmq.NOBLOCK)
                sent = True
        left = max(0.0, deadline - time.monotonic())
        if not sent or not s.poll(int(left * 1000) + 1):
            raise PairingError(
                f"no answer from {pairing_endpoint_for(endpoint)} in {timeout:g} s: check the code on the "
                "player (codes change after each pairing) and the address"
            )
        rep = P.decode_reply(s.recv())
    finally:
        s.close(0)
    if not rep["ok"]:
        raise PairingError(f"pairing refused: {rep['error'].get('message')}")
    res = rep["result"]
    public = res["public_key"].encode("ascii")
    eps = res.get("endpoints") or {}
    paired = Paired(
        res["player"],
        public,
        res.get("role", role),
        endpoint,
        eps.get("events") or events_endpoint_for(endpoint),
        fingerprint(public),
    )
    if home is not None:
        home.remember(paired.player, endpoint, public, paired.role, paired.events)
    return paired


# ------------------------------------------------------------------------------------------- the client


class PlayerClient:
    """A connection to one player: commands (Lazy Pirate) and, after :meth:`subscribe`, the event stream.

    ``server_key`` is the player's public key (z85, from pairing or its ``player.key``); ``identity`` is this
    facilitator's keypair. Several clients (several players) may share one process and one zmq context.
    """

    def __init__(
        self,
        endpoint: str,
        server_key: bytes,
        identity: Identity,
        *,
        name: str = "facilitator",
        events_endpoint: str | None = None,
        timeout: float = 1.0,
        retries: int = 3,
        context: zmq.Context | None = None,
    ):
        self.endpoint = endpoint
        self.events_endpoint = events_endpoint or events_endpoint_for(endpoint)
        self.server_key = server_key
        self.identity = identity
        self.name = name
        self.timeout = timeout
        self.retries = retries
        self.cid = "k-" + secrets.token_hex(6)
        self._ctx = context or zmq.Context.instance()
        self._lock = threading.Lock()
        self._sock: zmq.Socket | None = None
        self._n = 0
        self.player: str | None = None
        self.role: str | None = None
        # subscription state (owned by the I/O thread once it runs)
        self.state: dict[str, Any] = P.initial_state()
        self.snapshot: dict[str, Any] | None = None
        self.position: tuple[str | None, int] = (None, 0)
        self._seen: dict[str, int] = {}
        self._on_event: EventCallback | None = None
        self._on_pose: EventCallback | None = None
        self._on_health: Callable[[bool], None] | None = None
        self._events_q: queue.SimpleQueue | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_heard = 0.0
        self._alive = False
        self._rtt: float | None = None
        self._gaps = 0
        self._resyncs = 0
        self._ready = threading.Event()
        self._ping_id: str | None = None
        self._ping_sent: float | None = None

    # -- sockets

    def _socket(self) -> zmq.Socket:
        s = self._ctx.socket(zmq.DEALER)
        s.linger = 0
        s.curve_serverkey = self.server_key
        s.curve_publickey = self.identity.public
        s.curve_secretkey = self.identity.secret
        s.rcvhwm = 10000
        s.immediate = True  # queue only to an authenticated connection: no stale backlog after a reconnect
        s.connect(self.endpoint)
        return s

    def new_id(self) -> str:
        self._n += 1
        return f"{self.cid}-{self._n}"

    # -- commands

    def request(
        self,
        cmd: str,
        args: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Send one command and return its result; raises CommandFailed or RequestTimeout.

        Lazy Pirate: waits ``timeout`` seconds per try and resends the *same* request id up to ``retries``
        more times; after that the socket is recreated (dropping anything queued) and RequestTimeout raised.
        """
        timeout = self.timeout if timeout is None else timeout
        retries = self.retries if retries is None else retries
        with self._lock:
            rid = request_id or self.new_id()
            payload = P.encode_command(rid, cmd, args or {})
            if self._sock is None:
                self._sock = self._socket()
            for _ in range(retries + 1):
                deadline = time.monotonic() + timeout
                # no completed (authenticated) connection yet: wait for one, within this try's time
                if not self._sock.poll(int(timeout * 1000) + 1, zmq.POLLOUT):
                    continue
                try:
                    self._sock.send(payload, zmq.NOBLOCK)
                except zmq.Again:
                    continue
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._sock.poll(int(left * 1000) + 1):
                        break
                    try:
                        rep = P.decode_reply(self._sock.recv())
                    except P.ProtocolError:
                        continue
                    if rep.get("id") not in (rid, None):
                        continue  # a late answer to an earlier try
                    self._heard()
                    if rep["ok"]:
                        return rep["result"]
                    err = rep["error"]
                    raise CommandFailed(err.get("code", "?"), err.get("message", ""))
            self._sock.close(0)
            self._sock = None
        raise RequestTimeout(
            f"{cmd}: no answer from {self.endpoint} after {retries + 1} tries of {timeout:g} s"
        )

    def try_request(
        self, cmd: str, args: dict[str, Any] | None = None, timeout: float | None = None
    ) -> dict | None:
        """One try, no retry: the result, or None on timeout (for clock probes). Errors still raise."""
        try:
            return self.request(cmd, args, timeout=timeout, retries=0)
        except RequestTimeout:
            return None

    async def arequest(self, cmd: str, args: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """:meth:`request` for asyncio code (runs in a worker thread)."""
        import asyncio

        return await asyncio.to_thread(self.request, cmd, args, **kw)

    def hello(self) -> dict[str, Any]:
        """Introduce this console; returns the player's name, this console's role and the endpoints."""
        res = self.request("hello", {"client": self.name, "cid": self.cid})
        self.player = res.get("player")
        self.role = res.get("role")
        return res

    # -- subscription

    def subscribe(
        self,
        on_event: EventCallback | None = None,
        *,
        on_pose: EventCallback | None = None,
        on_health: Callable[[bool], None] | None = None,
        since: Any = "session",
        queue_events: bool = False,
        wait: float = 5.0,
    ) -> dict[str, Any] | None:
        """Start the event stream on a background thread (Clone pattern); returns the snapshot.

        ``since``: ``"now"`` (only new events), ``"session"`` (from the start of the current session),
        ``"log"`` (everything in the player's log) or ``(session_id, seq)`` (resume after that event).
        Events reach ``on_event`` (and :meth:`events` if ``queue_events``) exactly once, in log order, with
        no gaps: a gap triggers a catch-up from the player's log. ``on_health(alive)`` reports changes.
        """
        if self._thread is not None:
            raise ClientError("already subscribed")
        self._on_event, self._on_pose, self._on_health = on_event, on_pose, on_health
        if queue_events:
            self._events_q = queue.SimpleQueue()
        self._since = since
        self._thread = threading.Thread(
            target=self._io_main, name=f"viewpoint-client-{self.cid}", daemon=True
        )
        self._thread.start()
        if wait:
            self._ready.wait(wait)
        return self.snapshot

    def events(self, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Iterate delivered events (needs ``subscribe(queue_events=True)``); stops after ``timeout`` idle."""
        if self._events_q is None:
            raise ClientError("subscribe(queue_events=True) first")
        while True:
            try:
                yield self._events_q.get(timeout=timeout)
            except queue.Empty:
                return

    def health(self) -> dict[str, Any]:
        """Connection health: alive (heard within 3 s), seconds since last heard, round-trip, gaps healed."""
        since = time.monotonic() - self._last_heard if self._last_heard else None
        return {
            "alive": self._alive and since is not None and since <= P.DEAD_AFTER_S,
            "last_heard_s": None if since is None else round(since, 3),
            "rtt_ms": None if self._rtt is None else round(self._rtt * 1000, 3),
            "player": self.player,
            "role": self.role,
            "position": self.position,
            "gaps": self._gaps,
            "resyncs": self._resyncs,
        }

    def close(self, bye: bool = True) -> None:
        """Stop the stream and close the sockets (tells the player this console left on purpose)."""
        if bye:
            with contextlib.suppress(ClientError, zmq.ZMQError):
                self.request("bye", {"cid": self.cid}, timeout=0.3, retries=0)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(3.0)
            self._thread = None
        with self._lock:
            if self._sock is not None:
                self._sock.close(0)
                self._sock = None

    def __enter__(self) -> PlayerClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- I/O thread

    def _heard(self) -> None:
        self._last_heard = time.monotonic()
        if not self._alive:
            self._alive = True
            if self._on_health is not None and self._thread is not None:
                self._safe(self._on_health, True)

    def _safe(self, fn: Callable, *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("client callback failed")

    def _io_main(self) -> None:
        sub = self._ctx.socket(zmq.SUB)
        sub.linger = 0
        sub.rcvhwm = 100_000
        sub.curve_serverkey = self.server_key
        sub.curve_publickey = self.identity.public
        sub.curve_secretkey = self.identity.secret
        topics = (P.TOPIC_EVENT, P.TOPIC_HEARTBEAT) + ((P.TOPIC_POSE,) if self._on_pose is not None else ())
        for topic in topics:
            sub.setsockopt(zmq.SUBSCRIBE, topic)
        sub.connect(self.events_endpoint)
        ctl = self._socket()
        self._ctl = ctl
        self._ctl_n = 0
        poller = zmq.Poller()
        poller.register(sub, zmq.POLLIN)
        poller.register(ctl, zmq.POLLIN)
        synced = False
        next_ping = time.monotonic()
        next_sync_try = 0.0
        buffered: list[dict[str, Any]] = []
        was_alive = False
        need_hello = False
        try:
            while not self._stop.is_set():
                try:
                    now = time.monotonic()
                    if not synced and now >= next_sync_try:
                        synced = self._initial_sync()
                        if synced:
                            for ev in buffered:
                                self._on_live_event(ev)
                            buffered.clear()
                            self._ready.set()
                            was_alive = self._alive
                        next_sync_try = now + 1.0
                    if now >= next_ping:
                        self._ping_id = self._ctl_send("ping", {"cid": self.cid})
                        self._ping_sent = now
                        next_ping = now + P.HEARTBEAT_S
                    for sock, _ in poller.poll(100):
                        if sock is sub:
                            self._read_sub(sub, synced, buffered)
                        else:
                            self._read_ctl_async()
                    if self._alive and time.monotonic() - self._last_heard > P.DEAD_AFTER_S:
                        self._alive = False
                        if self._on_health is not None:
                            self._safe(self._on_health, False)
                    if synced and self._alive and not was_alive:
                        need_hello = True  # back after an outage (or a player restart): introduce ourselves
                    was_alive = self._alive
                    if need_hello and self._alive and self._ctl.poll(0, zmq.POLLOUT):
                        self._ctl_send("hello", {"client": self.name, "cid": self.cid})
                        need_hello = False
                except zmq.ContextTerminated:
                    break
                except (zmq.ZMQError, ClientError, P.ProtocolError, ValueError, KeyError, TypeError):
                    if self._stop.is_set():
                        break
                    log.exception("client I/O: recovering")
                    time.sleep(0.1)
        finally:
            sub.close(0)
            ctl.close(0)

    def _ctl_send(self, cmd: str, args: dict[str, Any], wait: float = 0.0) -> str:
        self._ctl_n += 1
        rid = f"{self.cid}-io{self._ctl_n}"
        end = time.monotonic() + wait
        while not self._stop.is_set() and time.monotonic() < end:
            if self._ctl.poll(100, zmq.POLLOUT):
                break
        with contextlib.suppress(zmq.Again):  # not connected: the caller's wait times out
            self._ctl.send(P.encode_command(rid, cmd, args), zmq.NOBLOCK)
        return rid

    def _ctl_call(self, cmd: str, args: dict[str, Any], timeout: float = 2.0) -> dict[str, Any] | None:
        """A synchronous call on the I/O thread's own socket (replies to others are consumed on the way)."""
        deadline = time.monotonic() + timeout
        rid = self._ctl_send(cmd, args, wait=timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self._stop.is_set():
                return None
            if not self._ctl.poll(int(min(left, 0.1) * 1000) + 1):
                continue
            rep = self._ctl_reply()
            if rep is not None and rep.get("id") == rid:
                if not rep["ok"]:
                    raise CommandFailed(rep["error"].get("code", "?"), rep["error"].get("message", ""))
                return rep["result"]

    def _ctl_reply(self) -> dict[str, Any] | None:
        try:
            rep = P.decode_reply(self._ctl.recv(zmq.NOBLOCK))
        except (zmq.Again, P.ProtocolError):
            return None
        self._heard()
        if rep.get("id") == self._ping_id and self._ping_sent is not None:
            self._rtt = time.monotonic() - self._ping_sent
            self._ping_sent = None
        return rep

    def _read_ctl_async(self) -> None:
        while self._ctl.poll(0):
            if self._ctl_reply() is None:
                break

    def _initial_sync(self) -> bool:
        try:
            hello = self._ctl_call("hello", {"client": self.name, "cid": self.cid})
            if hello is None:
                return False
            self.player, self.role = hello.get("player"), hello.get("role")
            snap = self._ctl_call("snapshot", {})
            if snap is None:
                return False
        except CommandFailed as exc:
            log.warning("subscription refused: %s", exc)
            return False
        self.snapshot = snap
        sid, seq = snap["session"]["id"], int(snap["seq"])
        since = self._since
        if since == "now":
            self.state = dict(snap["state"])
            self.position = (sid, seq)
            self._seen[sid] = seq
        elif since == "log":
            self.position = (None, 0)
            self._catch_up()
        elif since == "session":
            self.position = (sid, 0)
            self._catch_up()
        else:
            s, n = since
            self.position = (s, int(n))
            if s is not None:
                self._seen[s] = int(n)
            self._catch_up()
        return True

    def _catch_up(self) -> None:
        """Fetch events after ``position`` from the player's log until up to date (Clone: resync)."""
        self._resyncs += 1
        for _ in range(10_000):
            s, n = self.position
            args: dict[str, Any] = {"limit": 1000}
            if s is not None:
                args.update(session=s, after=n)
            res = self._ctl_call("events", args, timeout=3.0)
            if res is None:
                return  # player unreachable: try again on the next heartbeat
            for ev in res["events"]:
                self._deliver(ev)
            if not res["more"]:
                return

    def _deliver(self, ev: dict[str, Any]) -> None:
        sid, seq = ev["session"], ev["seq"]
        if self._seen.get(sid, 0) >= seq:
            return
        self._seen[sid] = seq
        self.position = (sid, seq)
        P.apply_event(self.state, ev)
        if self._on_event is not None:
            self._safe(self._on_event, ev)
        if self._events_q is not None:
            self._events_q.put(ev)

    def _is_next(self, ev: dict[str, Any]) -> bool:
        s, n = self.position
        if ev["session"] == s:
            return ev["seq"] == n + 1
        if ev["seq"] == 1:
            prev = (ev.get("data") or {}).get("previous") or {}
            return prev.get("session") == s and prev.get("seq") == n
        return False

    def _on_live_event(self, ev: dict[str, Any]) -> None:
        sid, seq = ev["session"], ev["seq"]
        if self._seen.get(sid, 0) >= seq:
            return  # already delivered (by a catch-up)
        if self._is_next(ev):
            self._deliver(ev)
            return
        self._gaps += 1
        self._catch_up()
        if self._seen.get(sid, 0) < seq and self._is_next(ev):
            self._deliver(ev)

    def _read_sub(self, sub: zmq.Socket, synced: bool, buffered: list[dict[str, Any]]) -> None:
        for _ in range(1000):
            try:
                topic, body = sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            except ValueError:
                continue
            self._heard()
            try:
                if topic == P.TOPIC_EVENT:
                    ev = P.decode_event(body)
                    if synced:
                        self._on_live_event(ev)
                    else:
                        buffered.append(ev)
                elif topic == P.TOPIC_POSE:
                    if self._on_pose is not None:
                        self._safe(self._on_pose, P.decode_event(body))
                elif topic == P.TOPIC_HEARTBEAT and synced:
                    hb = json.loads(body)
                    if self._seen.get(hb.get("session"), 0) < int(hb.get("seq", 0)):
                        self._gaps += 1
                        self._catch_up()  # missed the tail (or a whole session) while away
            except (P.ProtocolError, ValueError, KeyError, TypeError):
                continue
