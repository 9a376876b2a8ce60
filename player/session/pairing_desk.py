"""The pairing socket: a CURVE ROUTER keyed by the code the player shows, open to any client key.

One code pairs one facilitator: after a pairing the socket closes and a fresh code's socket opens (its key is
derived off the session thread, as scrypt takes tens of ms). A wrong code gets no answer at all; the socket's
monitor counts the failed handshakes, and after `WRONG_CODE_LIMIT` of them (a few mistyped codes make about
fifty, as a client retries for its whole timeout) pairing pauses for `COOLDOWN_S` and comes back with a new
code, so guessing over the network gets a few hundred tries a minute at most against 2^40 codes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

from player import protocol as P
from player.protocol.keys import DOMAIN_PAIRING, Authorizations, new_pairing_code, pairing_keypair

from .sockets import Endpoints, curve_server_socket

log = logging.getLogger("viewpoint.session")

MAX_PAIR_MESSAGE = 4096
WRONG_CODE_LIMIT = 200  # failed handshakes on one code before pairing pauses
COOLDOWN_S = 30.0
_FAILED_HANDSHAKES = (
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)

OnPaired = Callable[[str, str, str, Path], dict[str, Any]]
"""(name, role, key, certificate file) -> the pairing reply's result; called once authorized."""


class PairingDesk:
    def __init__(
        self,
        ctx: zmq.Context,
        poller: zmq.Poller,
        endpoints: Endpoints,
        auth: Authorizations,
        on_paired: OnPaired,
        wake: Callable[[], None],
        *,
        on_code: Callable[[str], None] | None,
        announce: bool,
        wrong_code_limit: int = WRONG_CODE_LIMIT,
        cooldown_s: float = COOLDOWN_S,
    ):
        self._ctx = ctx
        self._poller = poller
        self._endpoints = endpoints
        self._auth = auth
        self._on_paired = on_paired
        self._wake = wake
        self._on_code = on_code
        self._announce = announce
        self.socket: zmq.Socket | None = None
        self.code: str | None = None
        self._next: tuple[str, bytes, bytes] | None = None
        self._bind_failures = 0
        self.monitor: zmq.Socket | None = None  # the pairing socket's failed handshakes (wrong codes)
        self.wrong_codes = 0  # on the code shown now
        self._wrong_code_limit = wrong_code_limit
        self._cooldown_s = cooldown_s
        self._paused_until = 0.0

    def open(self, prepared: tuple[str, bytes, bytes] | None = None) -> None:
        """Bind the pairing socket for a new code (or ``prepared`` (code, public, secret)) and show the code.
        If the port is still held by the previous socket, retry on a later turn."""
        if prepared is None:
            code = new_pairing_code()
            public, secret = pairing_keypair(code)
        else:
            code, public, secret = prepared
        sock = curve_server_socket(self._ctx, zmq.ROUTER, secret, public, DOMAIN_PAIRING)
        try:
            sock.bind(self._endpoints.pairing)
        except zmq.ZMQError as exc:
            sock.close(0)
            self._bind_failures += 1
            if self._bind_failures in (1, 50):
                log.warning("pairing: cannot bind %s yet (%s); retrying", self._endpoints.pairing, exc)
            self._next = (code, public, secret)  # try again on the next turn
            return
        self._bind_failures = 0
        self.socket = sock
        self._poller.register(sock, zmq.POLLIN)
        self.monitor = sock.get_monitor_socket(_FAILED_HANDSHAKES)
        self._poller.register(self.monitor, zmq.POLLIN)
        self.wrong_codes = 0
        self.code = code
        if self._on_code is not None:
            try:
                self._on_code(code)
            except Exception:
                log.exception("on_pairing_code callback failed")
        elif self._announce:
            print(
                f"viewpoint-player: pairing code {code} (on the laptop: viewpoint-facilitator pair "
                f"{self._endpoints.command} {code})",
                flush=True,
            )

    def open_prepared(self) -> None:
        """Open the next code's socket once its key is ready and any pause is over (session thread, each
        turn)."""
        if self._next is not None and self.socket is None and time.monotonic() >= self._paused_until:
            prepared, self._next = self._next, None
            self.open(prepared)

    def _prepare_next(self) -> None:
        def work() -> None:
            code = new_pairing_code()
            self._next = (code, *pairing_keypair(code))
            self._wake()

        threading.Thread(target=work, name="viewpoint-pairing-key", daemon=True).start()

    def read(self) -> None:
        """Answer pairing requests; after a successful one, close and prepare the next code."""
        sock = self.socket
        assert sock is not None
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
            self.close()
            self._prepare_next()
            return

    def _pair(self, key: str, raw: bytes) -> bytes:
        if len(raw) > MAX_PAIR_MESSAGE:
            raise P.ProtocolError(P.E_TOO_LARGE, "pair: message too large")
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
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
        path = self._auth.authorize(key.encode("ascii"), args["name"], role)
        return P.encode_ok(rid, self._on_paired(args["name"], role, key, path))

    def read_monitor(self) -> None:
        """Count wrong codes; past the limit, pause pairing and prepare a new code for after the pause."""
        assert self.monitor is not None
        with contextlib.suppress(zmq.Again):
            while True:
                self.monitor.recv_multipart(zmq.NOBLOCK)
                self.wrong_codes += 1
        if self.wrong_codes >= self._wrong_code_limit:
            log.warning(
                "pairing: %d handshakes with a wrong code; pairing paused for %g s, then a new code",
                self.wrong_codes,
                self._cooldown_s,
            )
            self.close()
            self._paused_until = time.monotonic() + self._cooldown_s
            self._prepare_next()

    def _close_monitor(self) -> None:
        if self.monitor is not None:
            self._poller.unregister(self.monitor)
            if self.socket is not None:
                with contextlib.suppress(zmq.ZMQError):
                    self.socket.disable_monitor()
            self.monitor.close(linger=0)
            self.monitor = None

    def close(self) -> None:
        """Unbind and close the socket; the code is no longer valid."""
        self._close_monitor()
        if self.socket is not None:
            self._poller.unregister(self.socket)
            with contextlib.suppress(zmq.ZMQError):
                self.socket.unbind(self._endpoints.pairing)
            self.socket.close(linger=200)
            self.socket = None
            self.code = None

    def discard(self) -> None:
        """Close at teardown (no linger)."""
        with contextlib.suppress(Exception):
            self._close_monitor()
        if self.socket is not None:
            with contextlib.suppress(Exception):
                self.socket.close(linger=0)
            self.socket = None
