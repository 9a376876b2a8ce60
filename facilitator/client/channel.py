"""The subscription thread's own command socket: heartbeat pings (round-trip time) and the synchronous
calls of the clone follower (hello, snapshot, events), separate from the request path's socket."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import zmq

from player import protocol as P

from .errors import failed
from .health import Health


class ControlChannel:
    def __init__(self, sock: zmq.Socket, cid: str, health: Health, stop: threading.Event):
        self.sock = sock
        self._cid = cid
        self._health = health
        self._stop = stop
        self._n = 0
        self._ping_id: str | None = None
        self._ping_sent: float | None = None

    def send(self, cmd: str, args: dict[str, Any], wait: float = 0.0) -> str:
        """Send without waiting for the reply (up to ``wait`` s for a connection); returns the request id."""
        self._n += 1
        rid = f"{self._cid}-io{self._n}"
        end = time.monotonic() + wait
        while not self._stop.is_set() and time.monotonic() < end:
            if self.sock.poll(100, zmq.POLLOUT):
                break
        with contextlib.suppress(zmq.Again):  # not connected: the caller's wait times out
            self.sock.send(P.encode_command(rid, cmd, args), zmq.NOBLOCK)
        return rid

    def ping(self, now: float) -> None:
        self._ping_id = self.send("ping", {"cid": self._cid})
        self._ping_sent = now

    def call(self, cmd: str, args: dict[str, Any], timeout: float = 2.0) -> dict[str, Any] | None:
        """The result, or None on timeout; raises CommandFailed. Other replies are consumed on the way."""
        deadline = time.monotonic() + timeout
        rid = self.send(cmd, args, wait=timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self._stop.is_set():
                return None
            if not self.sock.poll(int(min(left, 0.1) * 1000) + 1):
                continue
            rep = self._reply()
            if rep is not None and rep.get("id") == rid:
                if not rep["ok"]:
                    raise failed(rep["error"])
                return rep["result"]

    def drain(self) -> None:
        """Consume the replies waiting (pings, hellos sent without waiting)."""
        while self.sock.poll(0):
            if self._reply() is None:
                break

    def _reply(self) -> dict[str, Any] | None:
        try:
            rep = P.decode_reply(self.sock.recv(zmq.NOBLOCK))
        except (zmq.Again, P.ProtocolError):
            return None
        self._health.heard()
        if rep.get("id") == self._ping_id and self._ping_sent is not None:
            self._health.rtt = time.monotonic() - self._ping_sent
            self._ping_sent = None
        return rep
