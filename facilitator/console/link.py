"""What the console needs from a connection to one player, and its implementation over the client."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

from player import protocol as P

from .urgent import UrgentSender

EventCallback = Callable[[dict[str, Any]], None]


class LinkError(Exception):
    """A command the player refused or could not answer: ``code`` as in the protocol's error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PlayerLink(Protocol):
    """One player as the console sees it. Callbacks may arrive on any thread."""

    name: str
    endpoint: str

    def start(self, on_event: EventCallback, on_pose: EventCallback) -> None:
        """Begin delivering ordered events (no gaps) and pose samples ({"media_t", "q"})."""

    def command(self, cmd: str, args: dict[str, Any]) -> dict[str, Any]:
        """Send a command and wait for its result; raises LinkError."""

    def state(self) -> dict[str, Any]:
        """The Clone-pattern state as last known."""

    def recent_events(self, limit: int) -> list[dict[str, Any]]:
        """The latest events already received, oldest first."""

    def health(self) -> dict[str, Any]:
        """{"connected": bool, "age_s": seconds since the player was last heard or None, "rtt_ms": ...}."""

    def session_log(self, session: str) -> tuple[list[dict[str, Any]], list[tuple[float, ...]]]:
        """A session's events and pose samples (mono, media_t, x, y, z, w) for the report."""

    def close(self) -> None: ...


class ClientLink:
    """A `PlayerLink` over `facilitator.client.PlayerClient`.

    Welfare commands go over a second connection of their own, so a stop never queues behind a slow command
    (a film load, a report query) on the main one; the console's event loop hands the pages' ones to the
    link's urgent sender thread (:meth:`submit`, see `facilitator.console.urgent`).
    """

    def __init__(
        self,
        client: Any,
        urgent: Any | None = None,
        *,
        name: str | None = None,
        store: Any | None = None,
        max_poses: int = 200_000,
    ):
        self.client = client
        self.urgent = urgent
        self.store = store  # facilitator.store.FacilitatorStore: the facilitator's own copy of the events
        self.endpoint = client.endpoint
        self.name = name or client.player or client.endpoint
        self._poses: dict[str, list[tuple[float, ...]]] = {}
        self._max_poses = max_poses
        self._sender: UrgentSender | None = None

    def start(self, on_event: EventCallback, on_pose: EventCallback) -> None:
        def pose(msg: dict[str, Any]) -> None:
            q = (msg.get("data") or {}).get("q")
            sid = msg.get("session")
            if isinstance(q, list) and len(q) == 4 and sid:
                store = self._poses.setdefault(sid, [])
                if len(store) < self._max_poses:
                    mt = msg.get("media_t")
                    store.append(
                        (float(msg.get("mono") or 0.0), float("nan") if mt is None else float(mt), *q)
                    )
            on_pose(msg)

        from facilitator.client import ClientError

        wait, player = 5.0, None
        if self.client.player is None:
            hello = {"client": self.client.name, "cid": self.client.cid}
            try:  # one short try: a headset that is switched off must not hold the console's start
                self.client._introduced(self.client.request("hello", hello, timeout=2.0, retries=0))
            except ClientError:  # absent now: its stream starts by itself once it answers
                wait, player = 0.0, self.name
        if self.store is not None:
            self.store.follow(self.client, player=player, on_event=on_event, on_pose=pose, wait=wait)
        else:
            self.client.subscribe(on_event=on_event, on_pose=pose, since="session", wait=wait)
        if self.client.player:
            self.name = self.client.player
        if self.urgent is not None and wait:
            # Connect and finish the CURVE handshake now, so the first stop does not pay for it.
            with contextlib.suppress(ClientError):
                self.urgent.request("ping", {"cid": self.urgent.cid}, timeout=2.0, retries=0)
        if self.urgent is not None and self._sender is None:
            # Thread ownership: the sender thread (console-urgent-<player>) sends the pages' urgent commands
            # on self.urgent from here on; it ends in close().
            self._sender = UrgentSender(self.urgent, self.name)

    def submit(self, cmd: str, args: dict[str, Any]) -> Future | None:
        """An urgent command handed to the urgent sender thread (returns at once; the future's result is
        the command's, its error a LinkError); None when this link has no urgent sender (not started, no
        urgent connection, or not an urgent command)."""
        sender = self._sender
        if sender is None or cmd not in P.URGENT_COMMANDS:
            return None
        out: Future = Future()

        def settle(fut: Future) -> None:
            try:
                out.set_result(_result(fut.result()))
            except Exception as exc:
                out.set_exception(_link_error(exc))

        sender.submit(cmd, args).add_done_callback(settle)
        return out

    def command(self, cmd: str, args: dict[str, Any]) -> dict[str, Any]:
        urgent = cmd in P.URGENT_COMMANDS and self.urgent is not None
        conn = self.urgent if urgent else self.client
        try:
            result = conn.request(cmd, args)
        except Exception as exc:
            raise _link_error(exc) from None
        return _result(result)

    def state(self) -> dict[str, Any]:
        return dict(self.client.state)

    def recent_events(self, limit: int) -> list[dict[str, Any]]:
        """What the facilitator's store already holds for this player (the subscription resumes after it)."""
        if self.store is None:
            return []  # the subscription replays the current session through on_event
        try:
            return self.store.player_events(self.client.endpoint)[-limit:]
        except Exception:
            return []

    def health(self) -> dict[str, Any]:
        h = self.client.health()
        return {
            "connected": bool(h.get("alive")),
            "age_s": h.get("last_heard_s"),
            "rtt_ms": h.get("rtt_ms"),
            "player_name": h.get("player") or self.name,
            "role": h.get("role"),
            "log": h.get("log"),  # the player's session log: "ok", or why nothing is recorded
        }

    def session_log(self, session: str) -> tuple[list[dict[str, Any]], list[tuple[float, ...]]]:
        """The session's events from the player's own log (complete even if this console joined late)."""
        events: list[dict[str, Any]] = []
        after = 0
        while True:
            res = self.command("events", {"session": session, "after": after, "limit": 1000})
            batch = [e for e in res.get("events", []) if e.get("session") == session]
            events.extend(batch)
            if not batch or not res.get("more") or len(batch) < len(res.get("events", [])):
                break
            after = batch[-1]["seq"]
        poses = list(self._poses.get(session, []))
        if self.store is not None:
            with contextlib.suppress(Exception):
                stored = self.store.poses(session)
                if len(stored) > len(poses):
                    poses = stored
        return events, poses

    def close(self) -> None:
        if self._sender is not None:
            self._sender.close()
        for conn in (self.urgent, self.client):
            if conn is not None:
                conn.close()


def _result(result: Any) -> dict[str, Any]:
    return result if isinstance(result, dict) else {"value": result}


def _link_error(exc: Exception) -> Exception:
    """The client's CommandFailed or RequestTimeout as a LinkError; anything else as it is."""
    from facilitator.client import CommandFailed, RequestTimeout

    if isinstance(exc, CommandFailed):
        return LinkError(exc.code, exc.message)
    if isinstance(exc, RequestTimeout):
        return LinkError("timeout", str(exc))
    return exc
