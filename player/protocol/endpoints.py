"""Endpoint rules: how a player's three sockets are addressed and how players are advertised on the LAN.

``ENDPOINT`` (``tcp://HOST:PORT`` or ``ipc://PATH``) is the command ROUTER; the event PUB is on port + 1
(``PATH.events`` for ipc) and the pairing ROUTER on port + 2 (``PATH.pairing``).
"""

from __future__ import annotations

SERVICE_TYPE = "_viewpoint._tcp.local."
"""The DNS-SD service type players advertise (zeroconf)."""


class EndpointError(ValueError):
    """An endpoint that is not ``tcp://HOST:PORT`` or ``ipc://PATH`` (the message says what is wrong)."""


def split_endpoint(endpoint: str) -> tuple[str, str, int | None]:
    """(scheme, host-or-path, port) of ``tcp://host:port`` or ``ipc://path``; port 0 means any."""
    if endpoint.startswith("tcp://"):
        host, _, port = endpoint[6:].rpartition(":")
        if not host:
            raise EndpointError("expected tcp://HOST:PORT")
        if port in ("*", "0"):
            return "tcp", host, 0
        if not port.isdigit() or not 0 < int(port) < 65534:
            raise EndpointError("the port must be 1..65533 (or 0 / * for any)")
        return "tcp", host, int(port)
    if endpoint.startswith("ipc://"):
        return "ipc", endpoint[6:], None
    raise EndpointError("expected tcp://HOST:PORT or ipc://PATH")
