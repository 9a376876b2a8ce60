"""Socket set-up for the session server: endpoint parsing, CURVE server sockets, binding the ports.

``ENDPOINT`` is the command ROUTER; the event PUB is on port + 1 (``PATH.events`` for ipc) and the pairing
ROUTER on port + 2 (``PATH.pairing``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import zmq

from player.protocol.endpoints import EndpointError, split_endpoint
from player.protocol.keys import DOMAIN_SESSION

PUB_HWM = 10_000  # messages queued per subscriber
ROUTER_HWM = 1_000  # replies queued per console
MAX_SOCKET_MESSAGE = 1 << 20  # libzmq drops peers sending more than this; the app limit is smaller


class SessionServerError(Exception):
    """The server could not start (the message says which endpoint or file and why)."""


@dataclass
class Endpoints:
    command: str
    events: str
    pairing: str


def curve_server_socket(ctx: zmq.Context, kind: int, secret: bytes, public: bytes, domain: str) -> zmq.Socket:
    """A CURVE server socket checked by the ZAP handler of ``domain``."""
    s = ctx.socket(kind)
    s.linger = 0
    s.curve_server = True
    s.curve_secretkey = secret
    s.curve_publickey = public
    s.zap_domain = domain.encode()
    s.maxmsgsize = MAX_SOCKET_MESSAGE
    return s


def bind_session_sockets(
    ctx: zmq.Context, requested: str, secret: bytes, public: bytes, pairing: bool
) -> tuple[zmq.Socket, zmq.Socket, Endpoints]:
    """Bind the command ROUTER and the event PUB; with ``pairing``, check the pairing port is free too."""
    router = curve_server_socket(ctx, zmq.ROUTER, secret, public, DOMAIN_SESSION)
    router.router_mandatory = False
    pub = curve_server_socket(ctx, zmq.PUB, secret, public, DOMAIN_SESSION)
    # A high-water mark per subscriber: one that does not read loses messages past it (and catches up from
    # the log by seq), never the player's memory. 10,000 is minutes of events and pose batches.
    pub.sndhwm = PUB_HWM
    router.sndhwm = ROUTER_HWM  # replies to a console that does not read are dropped past this
    try:
        return router, pub, _bind(ctx, router, pub, requested, pairing)
    except BaseException:
        router.close(0)
        pub.close(0)
        raise


def _bind(ctx: zmq.Context, router: zmq.Socket, pub: zmq.Socket, requested: str, pairing: bool) -> Endpoints:
    try:
        scheme, host, port = split_endpoint(requested)
    except EndpointError as exc:
        raise SessionServerError(str(exc)) from None
    if scheme == "ipc":
        eps = Endpoints(f"ipc://{host}", f"ipc://{host}.events", f"ipc://{host}.pairing")
        try:
            router.bind(eps.command)
            pub.bind(eps.events)
        except zmq.ZMQError as exc:
            raise SessionServerError(f"cannot listen on {eps.command}: {exc}") from None
        return eps
    assert port is not None
    last_exc: Exception | None = None
    base = port
    for _ in range(20 if port == 0 else 1):
        try:
            if port == 0:
                base = router.bind_to_random_port(f"tcp://{host}", 20000, 60000, 50)
            else:
                router.bind(f"tcp://{host}:{port}")
        except zmq.ZMQError as exc:
            raise SessionServerError(f"cannot listen on tcp://{host}:{port}: {exc}") from None
        try:
            pub.bind(f"tcp://{host}:{base + 1}")
            if pairing:
                _probe_port(ctx, host, base + 2)
            return Endpoints(f"tcp://{host}:{base}", f"tcp://{host}:{base + 1}", f"tcp://{host}:{base + 2}")
        except (zmq.ZMQError, OSError) as exc:
            last_exc = exc
            with contextlib.suppress(zmq.ZMQError):
                router.unbind(f"tcp://{host}:{base}")
            with contextlib.suppress(zmq.ZMQError):
                pub.unbind(f"tcp://{host}:{base + 1}")
    raise SessionServerError(
        f"cannot listen on {requested}: ports {base + 1}/{base + 2} (events, pairing) "
        f"are needed too ({last_exc})"
    )


def _probe_port(ctx: zmq.Context, host: str, port: int) -> None:
    s = ctx.socket(zmq.ROUTER)
    s.linger = 0
    try:
        s.bind(f"tcp://{host}:{port}")
        s.unbind(f"tcp://{host}:{port}")
    finally:
        s.close(0)
