"""Pairing: prove the code shown on the player, exchange public keys, remember the player.

The pairing socket's CURVE key is derived from the code, so a wrong code simply gets no answer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import time
from dataclasses import dataclass

import zmq

from player import protocol as P
from player.protocol.endpoints import EndpointError, split_endpoint
from player.protocol.keys import Identity, fingerprint, normalize_pairing_code, pairing_keypair

from .errors import PairingError
from .home import FacilitatorHome
from .sockets import curve_client, events_endpoint_for, pairing_endpoint_for


@dataclass(frozen=True)
class Paired:
    player: str
    public_key: bytes
    role: str
    endpoint: str
    events: str
    fingerprint: str
    remembered_as: str = ""  # the name it is known by in the facilitator's home (NAME-2... if NAME was taken)


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
    replace: bool = False,
) -> Paired:
    """Pair with the player at ``endpoint`` using the code it shows; remembers it in ``home`` (``replace``:
    in place of another player known by the same name; see `FacilitatorHome.remember`)."""
    try:
        code = normalize_pairing_code(code)
    except ValueError as exc:
        raise PairingError(str(exc)) from None
    try:
        scheme, _, port = split_endpoint(endpoint)
    except EndpointError as exc:
        raise PairingError(f"{endpoint}: {exc}") from None
    if scheme == "tcp" and not port:
        raise PairingError(f"{endpoint}: give the player's own port, as it prints it")
    if identity is None:
        if home is None:
            home = FacilitatorHome()
        identity = home.identity()
    name = name or (home.name if home else "facilitator")
    server_public, _ = pairing_keypair(code)
    where = pairing_endpoint_for(endpoint)
    s = curve_client(context or zmq.Context.instance(), zmq.DEALER, server_public, identity)
    try:
        s.connect(where)
        rid = "pair-" + secrets.token_hex(4)
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
                f"no answer from {where} in {timeout:g} s: check the code on the "
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
        record = home.remember(paired.player, endpoint, public, paired.role, paired.events, replace=replace)
        paired = dataclasses.replace(paired, remembered_as=record.stem)
    return paired
