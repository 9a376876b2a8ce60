"""The client for one player: commands (Lazy Pirate) and, after :meth:`PlayerClient.subscribe`, the event
stream (Clone pattern) on a background thread."""

from __future__ import annotations

import contextlib
import queue
import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any

import zmq

from player.protocol.keys import Identity

from .errors import ClientError, RequestTimeout
from .follower import CloneFollower, EventCallback
from .health import Health
from .lazy_pirate import LazyPirate
from .sockets import command_socket, events_endpoint_for
from .subscription import Subscription


class PlayerClient:
    """A connection to one player: commands (Lazy Pirate) and, after :meth:`subscribe`, the event stream.

    ``server_key`` is the player's public key (z85, from pairing or its ``player.key``); ``identity`` is this
    facilitator's keypair. Several clients (several players) may share one process and one zmq context.
    """

    def __init__(
        self,
        endpoint: str,
        server_key: bytes,
        identity: Identity,
        *,
        name: str = "facilitator",
        events_endpoint: str | None = None,
        timeout: float = 1.0,
        retries: int = 3,
        context: zmq.Context | None = None,
    ):
        self.endpoint = endpoint
        self.events_endpoint = events_endpoint or events_endpoint_for(endpoint)
        self.server_key = server_key
        self.identity = identity
        self.name = name
        self.timeout = timeout
        self.retries = retries
        self.cid = "k-" + secrets.token_hex(6)
        self._ctx = context or zmq.Context.instance()
        self.player: str | None = None
        self.role: str | None = None
        self._health = Health()
        self._pirate = LazyPirate(self._socket, endpoint, self.cid, self._health.heard)
        self._follower = CloneFollower(self._health)
        self._subscription: Subscription | None = None
        self._thread: threading.Thread | None = None

    def _socket(self) -> zmq.Socket:
        return command_socket(self._ctx, self.endpoint, self.server_key, self.identity)

    def new_id(self) -> str:
        return self._pirate.new_id()

    # -- commands

    def request(
        self,
        cmd: str,
        args: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Send one command and return its result; raises CommandFailed or RequestTimeout.

        Lazy Pirate: waits ``timeout`` seconds per try and resends the *same* request id up to ``retries``
        more times; after that the socket is recreated (dropping anything queued) and RequestTimeout raised.
        """
        timeout = self.timeout if timeout is None else timeout
        retries = self.retries if retries is None else retries
        return self._pirate.request(cmd, args, timeout, retries, request_id)

    def begin(self, cmd: str, args: dict[str, Any] | None = None) -> tuple[str, bytes, float] | None:
        """Send a command's first try now, on this thread (None: not sent, use :meth:`request`); its result
        comes from :meth:`finish`, which must follow (on any thread). See `LazyPirate.begin`."""
        return self._pirate.begin(cmd, args)

    def finish(self, begun: tuple[str, bytes, float], cmd: str) -> dict[str, Any]:
        """The result of a command :meth:`begin` sent (retried like :meth:`request`)."""
        return self._pirate.finish(begun, cmd, self.timeout, self.retries)

    def try_request(
        self, cmd: str, args: dict[str, Any] | None = None, timeout: float | None = None
    ) -> dict | None:
        """One try, no retry: the result, or None on timeout (for clock probes). Errors still raise."""
        try:
            return self.request(cmd, args, timeout=timeout, retries=0)
        except RequestTimeout:
            return None

    async def arequest(self, cmd: str, args: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """:meth:`request` for asyncio code (runs in a worker thread)."""
        import asyncio

        return await asyncio.to_thread(self.request, cmd, args, **kw)

    def hello(self) -> dict[str, Any]:
        """Introduce this console; returns the player's name, this console's role and the endpoints."""
        res = self.request("hello", {"client": self.name, "cid": self.cid})
        self._introduced(res)
        return res

    def _introduced(self, hello: dict[str, Any]) -> None:
        self.player = hello.get("player")
        self.role = hello.get("role")

    # -- subscription

    @property
    def state(self) -> dict[str, Any]:
        """The player's state, folded from the delivered events (see ``protocol.apply_event``)."""
        return self._follower.state

    @property
    def snapshot(self) -> dict[str, Any] | None:
        """The snapshot the subscription started from."""
        return self._follower.snapshot

    @property
    def position(self) -> tuple[str | None, int]:
        """(session, seq) of the last event delivered."""
        return self._follower.position

    def subscribe(
        self,
        on_event: EventCallback | None = None,
        *,
        on_pose: EventCallback | None = None,
        on_health: Callable[[bool], None] | None = None,
        since: Any = "session",
        queue_events: bool = False,
        wait: float = 5.0,
    ) -> dict[str, Any] | None:
        """Start the event stream on a background thread (Clone pattern); returns the snapshot.

        ``since``: ``"now"`` (only new events), ``"session"`` (from the start of the current session),
        ``"log"`` (everything in the player's log) or ``(session_id, seq)`` (resume after that event).
        Events reach ``on_event`` (and :meth:`events` if ``queue_events``) exactly once, in log order, with
        no gaps: a gap triggers a catch-up from the player's log. ``on_health(alive)`` reports changes.
        """
        if self._thread is not None:
            raise ClientError("already subscribed")
        self._follower.on_event = on_event
        if queue_events:
            self._follower.queue = queue.SimpleQueue()
        self._health.on_change = on_health
        self._subscription = Subscription(
            self._ctx,
            self.events_endpoint,
            self.server_key,
            self.identity,
            self._socket,
            {"client": self.name, "cid": self.cid},
            self._follower,
            self._health,
            since=since,
            on_pose=on_pose,
            on_hello=self._introduced,
        )
        self._thread = threading.Thread(
            target=self._subscription.run, name=f"viewpoint-client-{self.cid}", daemon=True
        )
        self._thread.start()
        if wait:
            self._subscription.ready.wait(wait)
        return self.snapshot

    def events(self, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Iterate delivered events (needs ``subscribe(queue_events=True)``); stops after ``timeout`` idle."""
        q = self._follower.queue
        if q is None:
            raise ClientError("subscribe(queue_events=True) first")
        while True:
            try:
                yield q.get(timeout=timeout)
            except queue.Empty:
                return

    def health(self) -> dict[str, Any]:
        """Connection health: alive (heard within ``DEAD_AFTER_S``), seconds since last heard, round-trip,
        gaps healed."""
        return {
            **self._health.report(),
            "player": self.player,
            "role": self.role,
            "position": self.position,
            "gaps": self._health.gaps,
            "resyncs": self._health.resyncs,
        }

    def close(self, bye: bool = True) -> None:
        """Stop the stream and close the sockets (tells the player this console left on purpose)."""
        if bye:
            with contextlib.suppress(ClientError, zmq.ZMQError):
                self.request("bye", {"cid": self.cid}, timeout=0.3, retries=0)
        if self._subscription is not None:
            self._subscription.stop.set()
        if self._thread is not None:
            self._thread.join(3.0)
            self._thread = None
        self._health.on_change = None
        self._pirate.close()

    def __enter__(self) -> PlayerClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
