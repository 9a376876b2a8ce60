"""Where a player's sockets are, and the CURVE client sockets that connect to them."""

from __future__ import annotations

import zmq

from player.protocol.keys import Identity


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


def curve_client(ctx: zmq.Context, kind: int, server_key: bytes, identity: Identity) -> zmq.Socket:
    """An unconnected CURVE client socket for the server with public key ``server_key``."""
    s = ctx.socket(kind)
    s.linger = 0
    s.curve_serverkey = server_key
    s.curve_publickey = identity.public
    s.curve_secretkey = identity.secret
    return s


def command_socket(ctx: zmq.Context, endpoint: str, server_key: bytes, identity: Identity) -> zmq.Socket:
    """A DEALER connected to a player's command endpoint."""
    s = curve_client(ctx, zmq.DEALER, server_key, identity)
    s.rcvhwm = 10000
    s.immediate = True  # queue only to an authenticated connection: no stale backlog after a reconnect
    s.connect(endpoint)
    return s
