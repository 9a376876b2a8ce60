"""Peer tracking and heartbeats: which consoles are connected, which went silent, the player's heartbeat."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import zmq

from player import protocol as P


@dataclass
class Peer:
    """One console connection: its key, its client id (one key may run several consoles), name and role."""

    key: str
    cid: str
    name: str
    role: str
    last_seen: float
    announced: bool = False  # said hello: its arrival and departure are logged


class PeerTable:
    def __init__(self) -> None:
        self._peers: dict[tuple[str, str], Peer] = {}

    def touch(self, key: str, cid: str, name: str, role: str, client: str | None) -> Peer:
        """The peer that just sent a command (created on first contact); ``client`` renames it."""
        peer = self._peers.get((key, cid))
        now = time.monotonic()
        if peer is None:
            peer = Peer(key, cid, client or name, role, now)
            self._peers[(key, cid)] = peer
        peer.last_seen = now
        if client:
            peer.name = client
        return peer

    def remove(self, peer: Peer) -> None:
        self._peers.pop((peer.key, peer.cid), None)

    def announced(self) -> list[Peer]:
        return [p for p in self._peers.values() if p.announced]

    def lead_present(self) -> bool:
        return any(p.role == P.ROLE_LEAD and p.announced for p in self._peers.values())

    def expire(self, now: float) -> Iterator[tuple[Peer, float]]:
        """Drop peers silent for over ``DEAD_AFTER_S``, one at a time, yielding each with its silence."""
        for k, peer in list(self._peers.items()):
            silent = now - peer.last_seen
            if silent > P.DEAD_AFTER_S:
                del self._peers[k]
                yield peer, silent


def publish_heartbeat(pub: zmq.Socket, player: str, session: str, seq: int, log: str = "ok") -> None:
    """The player's heartbeat on the ``hb`` topic: its session, last published seq (a gap detector) and the
    health of its log (``ok``, or why nothing is being recorded: ``stalled``, ``full``, ...)."""
    hb = {
        "v": P.PROTOCOL_VERSION,
        "player": player,
        "session": session,
        "seq": seq,
        "log": log,
        "mono": round(time.monotonic(), 6),
        "utc": P.utc_now(),
    }
    pub.send_multipart((P.TOPIC_HEARTBEAT, P.dumps(hb)))
