"""The event pipeline: sequence numbers, one log transaction per batch, then publish, then replies.

Events from other threads wait in :attr:`EventPipeline.inbox` until the session thread numbers them. Nothing
is published before it is durable, and a command's reply goes out only after the events it caused. The
commits run on the log writer's thread (:mod:`.writer`): each loop turn hands what it gathered to the
writer if it is free (else it joins the next batch) and publishes what the writer has made durable, so the
session thread never waits on the disk. While the log is not healthy, replies are not held for it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

from player import protocol as P

from .log import EventRow, SessionLog
from .poses import PoseStream, publish_poses
from .writer import STATE_CAUSES, Batch, LogWriter

log = logging.getLogger("viewpoint.session")

Reply = Callable[[], bytes] | bytes
"""A reply body, or a function building it after this turn's events were published."""


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


def dumps_event(env: dict[str, Any]) -> str:
    """An event envelope as compact JSON (non-finite times become null; odd data values are converted)."""
    for k in ("mono", "media_t"):
        v = env.get(k)
        env[k] = None if isinstance(v, float) and not math.isfinite(v) else v
    return json.dumps(env, separators=(",", ":"), ensure_ascii=False, default=_json_default)


class EventPipeline:
    """Numbers, logs and publishes the events of the current session (session thread, except :meth:`put`)."""

    def __init__(self, controller: Any, poses: PoseStream, stats: dict[str, int]):
        self.controller = controller
        self.poses = poses
        self.stats = stats
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.log: SessionLog | None = None  # the session thread's connection: reads
        self.writer: LogWriter | None = None  # commits, on its own thread
        self.pub: zmq.Socket | None = None
        self.session_id = ""
        self.seq = 0
        self.last_published = 0
        self.pending: list[EventRow] = []
        self.requests: list[tuple[str, str, str, str, str | None]] = []  # (key, id, utc, reply, digest)
        self.replies: list[tuple[zmq.Socket, bytes, Reply]] = []
        self._next = Batch()  # gathered while the writer is busy: the next commit
        self._inflight: Batch | None = None  # with the writer now
        self.health: tuple[str, str] = ("ok", STATE_CAUSES["ok"])  # the log's (state, cause)
        self.health_since = time.monotonic()
        self._film: str | None = None
        self._media_t: float | None = None
        self.on_published: Callable[[EventRow], None] | None = None  # each event once published (LSL)

    def put(self, type: str, data: dict[str, Any] | None, media_t: float | None, film: str | None) -> None:
        """Queue an event from any thread; it is numbered on the session thread's next turn."""
        self.inbox.put(
            (str(type), data if data is not None else {}, media_t, film, time.monotonic(), time.time())
        )

    def begin(self, session_id: str, seq: int = 0) -> None:
        """Number the next events of ``session_id`` after ``seq``."""
        self.session_id = session_id
        self.seq = seq

    def stamp(self) -> tuple[str | None, float | None]:
        """The controller's film id and media time, else the last ones seen."""
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

    def append(
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
        """Assign the next sequence number and queue the event for the next commit.

        ``drain`` first gives the events queued by other threads their (earlier) sequence numbers.
        """
        if drain:
            self.drain()
        if not stamped and (media_t is None or film is None):
            f, m = self.stamp()
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
        text = dumps_event(env)
        row = EventRow(self.session_id, self.seq, type, utc, mono, film, env["media_t"], text, data)
        self.pending.append(row)
        return row

    def drain(self) -> None:
        """Number the events queued by other threads."""
        while True:
            try:
                type, data, media_t, film, mono, wall = self.inbox.get_nowait()
            except queue.Empty:
                return
            if media_t is None or film is None:
                f, m = self.stamp()
                film = film if film is not None else f
                media_t = media_t if media_t is not None else m
            self.append(type, data, media_t, film, mono, wall, drain=False, stamped=True)

    def held(self, seq: int) -> dict[str, Any] | None:
        """Event ``seq`` of the current session (``type`` and ``data``) if it is still in memory (numbered,
        not yet known to be durable); None means it is in the log if anywhere (for the log reader)."""
        batches = [self.pending, self._next.events, self._inflight.events if self._inflight else []]
        for rows in batches:
            for row in rows:
                if row.session == self.session_id and row.seq == seq:
                    return {"type": row.type, "data": row.data}
        return None

    def flush_poses(self) -> None:
        self.poses.flush(self.session_id, self._film)

    def reply(self, sock: zmq.Socket, ident: bytes, body: Reply) -> None:
        """Send ``body`` to ``ident`` after this turn's commit and publish."""
        self.replies.append((sock, ident, body))

    @property
    def recording(self) -> bool:
        """The log is taking writes now (health ``ok``)."""
        return self.health[0] == "ok"

    def deadline(self) -> float | None:
        """When the session loop must look at the log writer again (a write becoming a stall)."""
        return self.writer.stall_at() if self.writer is not None and self.recording else None

    def unrecorded(self) -> int:
        """Events numbered but not yet durable (kept in memory while the log cannot take them)."""
        inflight = len(self._inflight.events) if self._inflight is not None else 0
        return len(self.pending) + len(self._next.events) + inflight

    def _gather(self) -> None:
        self.drain()
        b = self._next
        b.events += self.pending
        b.poses += self.poses.batches
        b.requests += self.requests
        b.replies += self.replies
        self.pending, self.poses.batches, self.requests, self.replies = [], [], [], []

    def step(self) -> None:
        """One loop turn: publish what the writer made durable, hand it the next batch, keep the health."""
        assert self.writer is not None
        self._gather()
        done = self.writer.take_done()
        if done is not None:
            self._inflight = None
            self._publish(done)
        self._check_health()
        if not self.writer.busy:
            if self._next.rows:
                self._inflight, self._next = self._next, Batch()
                self.writer.submit(self._inflight)
            else:
                self._send(self._next.replies)
        if not self.recording:  # nothing waits for a log that is not writing: answer now
            self._send(self._next.replies)
            if self._inflight is not None:
                self._send(self._inflight.replies)

    def commit_and_publish(self, timeout: float = 10.0, between: Callable[[], None] | None = None) -> bool:
        """Everything gathered so far durable and published (waits for the disk up to ``timeout``: for
        start-up, shutdown, pairing and purges, never for a command). False if the log did not take it.

        ``between`` (the session thread's look at the command socket) is called every millisecond while
        waiting, so a stop that arrives during a long commit (a purge of hundreds of sessions) is carried
        out at once, not after it."""
        assert self.writer is not None
        end = time.monotonic() + timeout
        while True:
            if between is not None:
                between()
            self.step()
            if not self.writer.busy and not self._next.rows and not self.pending:
                return True
            left = end - time.monotonic()
            if left <= 0 or not self.recording:
                return False
            self.writer.wait(min(left, 0.05 if between is None else 0.001))

    def _check_health(self) -> None:
        """Report a change of the log's health once: Python's log, a ``log.health`` event (recorded when
        the log takes writes again), heartbeats and ``status``."""
        assert self.writer is not None
        state, cause = self.writer.health()
        previous = self.health[0]
        if state == previous:
            self.health = (state, cause)
            return
        now = time.monotonic()
        if state == "ok":
            log.warning("session log: recording again after %.1f s (%s)", now - self.health_since, previous)
        else:
            log.error("session log: NOT RECORDING (%s): %s; events kept in memory", state, cause)
        self.health, self.health_since = (state, cause), now
        self.append(
            "log.health",
            {"state": state, "cause": STATE_CAUSES.get(state, state), "message": cause, "previous": previous},
        )

    def _publish(self, batch: Batch) -> None:
        assert self.pub is not None
        pub = self.pub
        if batch.rows:
            self.stats["commits"] += 1
        hook = self.on_published
        for ev in batch.events:
            pub.send_multipart((P.TOPIC_EVENT, ev.json.encode("utf-8")))
            if ev.session == self.session_id:
                self.last_published = max(self.last_published, ev.seq)
            if hook is not None:
                try:
                    hook(ev)
                except Exception:  # an observer (a lab's recording aid) never stops the log
                    log.debug("on_published hook failed", exc_info=True)
        self.stats["events"] += len(batch.events)
        self.stats["poses"] += publish_poses(pub, batch.poses)
        self._send(batch.replies)

    def _send(self, replies: list[tuple[zmq.Socket, bytes, Reply]]) -> None:
        for sock, ident, body in replies:
            try:
                payload = body() if callable(body) else body
            except Exception:  # that console retries; the others still get their answers
                self.stats["internal_errors"] += 1
                log.exception("session thread: building a reply failed")
                continue
            with contextlib.suppress(zmq.ZMQError):
                sock.send_multipart((ident, payload), zmq.NOBLOCK)
        replies.clear()
