"""The ZeroMQ Authentication Protocol (RFC 27) handler: who may connect to the player's sockets."""

from __future__ import annotations

import zmq
from zmq.utils import z85

from player.protocol.keys import DOMAIN_PAIRING, DOMAIN_SESSION, ZAP_ENDPOINT, Authorizations


class ZapHandler:
    """ZeroMQ Authentication Protocol (RFC 27) handler, polled by the session thread.

    Sockets in the ``viewpoint`` domain admit only CURVE clients whose key is authorised; the pairing
    domain admits any CURVE client (its server key is derived from the pairing code, so only someone who
    knows the code can complete the handshake). Bind this before binding any CURVE server socket.
    """

    def __init__(self, ctx: zmq.Context, auth: Authorizations):
        self.auth = auth
        self.socket = ctx.socket(zmq.REP)
        self.socket.linger = 0
        self.socket.bind(ZAP_ENDPOINT)
        self.refused = 0
        self.admitted = 0

    def handle(self) -> None:
        """Answer every pending ZAP request (non-blocking)."""
        while True:
            try:
                frames = self.socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self.socket.send_multipart(self._answer(frames))

    def _answer(self, frames: list[bytes]) -> list[bytes]:
        if len(frames) < 6:
            return [b"1.0", b"", b"500", b"malformed ZAP request", b"", b""]
        version, request_id, domain, _address, _identity, mechanism = frames[:6]
        creds = frames[6:]

        def reply(code: bytes, text: bytes, user: bytes = b"") -> list[bytes]:
            return [version, request_id, code, text, user, b""]

        if version != b"1.0":
            return reply(b"400", b"bad ZAP version")
        if mechanism != b"CURVE" or len(creds) != 1 or len(creds[0]) != 32:
            self.refused += 1
            return reply(b"400", b"CURVE required")
        key = z85.encode(creds[0])
        if domain == DOMAIN_PAIRING.encode():
            return reply(b"200", b"OK", key)
        if domain == DOMAIN_SESSION.encode():
            self.auth.refresh()
            if self.auth.lookup(key) is not None:
                self.admitted += 1
                return reply(b"200", b"OK", key)
        self.refused += 1
        return reply(b"400", b"not paired")

    def close(self) -> None:
        self.socket.close(0)
