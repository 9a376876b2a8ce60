"""The request path (Lazy Pirate): one command, one reply, retried with the *same* request id.

The player never executes a request id twice (it answers a retry from its reply cache), so a retry after a
lost reply is safe. After the last try the socket is recreated, dropping anything still queued.

A request may also be split in two (:meth:`LazyPirate.begin` sends the first try at once on the calling
thread, :meth:`LazyPirate.finish` waits for the answer and retries on another): the console's event loop
sends a STOP itself and leaves the waiting to a thread. The lock taken by ``begin`` is released by
``finish``, so the socket passes from one thread to the other behind it (one at a time, as zmq requires).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import zmq

from player import protocol as P

from .errors import RequestTimeout, failed


class LazyPirate:
    def __init__(
        self, make_socket: Callable[[], zmq.Socket], endpoint: str, cid: str, heard: Callable[[], None]
    ):
        self._make_socket = make_socket
        self._endpoint = endpoint
        self._cid = cid
        self._heard = heard
        self._lock = threading.Lock()
        self._sock: zmq.Socket | None = None
        self._n = 0

    def new_id(self) -> str:
        self._n += 1
        return f"{self._cid}-{self._n}"

    def request(
        self,
        cmd: str,
        args: dict[str, Any] | None,
        timeout: float,
        retries: int,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """The command's result; raises CommandFailed or RequestTimeout. One request at a time."""
        with self._lock:
            rid = request_id or self.new_id()
            payload = P.encode_command(rid, cmd, args or {})
            if self._sock is None:
                self._sock = self._make_socket()
            rep = None
            for _ in range(retries + 1):
                rep = self._try(self._sock, payload, rid, timeout)
                if rep is not None:
                    break
            return self._outcome(rep, cmd, timeout, retries)

    def begin(self, cmd: str, args: dict[str, Any] | None) -> tuple[str, bytes, float] | None:
        """Send the first try now, without waiting for anything: (id, message, deadline base) for
        :meth:`finish`, which must follow. None (nothing sent) when another request holds the socket or the
        connection is not ready: use :meth:`request` then."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if self._sock is None:
                self._sock = self._make_socket()
            rid = self.new_id()
            payload = P.encode_command(rid, cmd, args or {})
            if self._sock.poll(0, zmq.POLLOUT):
                self._sock.send(payload, zmq.NOBLOCK)
                return rid, payload, time.monotonic()
        except zmq.ZMQError:
            pass
        self._lock.release()
        return None

    def finish(
        self, begun: tuple[str, bytes, float], cmd: str, timeout: float, retries: int
    ) -> dict[str, Any]:
        """The result of a request :meth:`begin` sent (from any thread): its first try's answer, else
        retries as :meth:`request`; raises CommandFailed or RequestTimeout."""
        rid, payload, sent = begun
        try:
            assert self._sock is not None
            rep = self._wait(self._sock, rid, sent + timeout)
            for _ in range(retries):
                if rep is not None:
                    break
                rep = self._try(self._sock, payload, rid, timeout)
            return self._outcome(rep, cmd, timeout, retries)
        finally:
            self._lock.release()

    def _outcome(self, rep: dict[str, Any] | None, cmd: str, timeout: float, retries: int) -> dict[str, Any]:
        """The reply's result, or CommandFailed; no reply: the socket is dropped (Lazy Pirate: a fresh one for
        the next request) and RequestTimeout. Called with the lock held."""
        if rep is not None:
            self._heard()
            if rep["ok"]:
                return rep["result"]
            raise failed(rep["error"])
        if self._sock is not None:
            self._sock.close(0)
            self._sock = None
        raise RequestTimeout(
            f"{cmd}: no answer from {self._endpoint} after {retries + 1} tries of {timeout:g} s"
        )

    @staticmethod
    def _try(sock: zmq.Socket, payload: bytes, rid: str, timeout: float) -> dict[str, Any] | None:
        """Send once and wait ``timeout`` for the reply to ``rid`` (None if none came)."""
        deadline = time.monotonic() + timeout
        # no completed (authenticated) connection yet: wait for one, within this try's time
        if not sock.poll(int(timeout * 1000) + 1, zmq.POLLOUT):
            return None
        try:
            sock.send(payload, zmq.NOBLOCK)
        except zmq.Again:
            return None
        return LazyPirate._wait(sock, rid, deadline)

    @staticmethod
    def _wait(sock: zmq.Socket, rid: str, deadline: float) -> dict[str, Any] | None:
        """The reply to ``rid`` if it comes before ``deadline`` (None if not)."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sock.poll(int(left * 1000) + 1):
                return None
            try:
                rep = P.decode_reply(sock.recv())
            except P.ProtocolError:
                continue
            if rep.get("id") in (rid, None):
                return rep
            # else a late answer to an earlier try

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close(0)
                self._sock = None
