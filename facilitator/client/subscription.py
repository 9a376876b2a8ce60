"""The subscription thread: the SUB socket (events, poses, heartbeats), pings, initial sync and re-hello.

Events that arrive before the first snapshot are buffered and replayed through the follower once synced.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import zmq

from player import protocol as P
from player.protocol.keys import Identity

from .channel import ControlChannel
from .errors import ClientError, CommandFailed, call_safely
from .follower import CloneFollower, EventCallback
from .health import Health
from .sockets import curve_client

log = logging.getLogger("viewpoint.facilitator.client")

SYNC_RETRY_S = 1.0


class Subscription:
    def __init__(
        self,
        ctx: zmq.Context,
        events_endpoint: str,
        server_key: bytes,
        identity: Identity,
        make_command_socket: Callable[[], zmq.Socket],
        hello_args: dict[str, Any],
        follower: CloneFollower,
        health: Health,
        *,
        since: Any,
        on_pose: EventCallback | None,
        on_hello: Callable[[dict[str, Any]], None],
    ):
        self._ctx = ctx
        self._events_endpoint = events_endpoint
        self._server_key = server_key
        self._identity = identity
        self._make_command_socket = make_command_socket
        self._hello_args = hello_args
        self._cid = hello_args["cid"]
        self.follower = follower
        self.health = health
        self._since = since
        self._on_pose = on_pose
        self._on_hello = on_hello
        self.stop = threading.Event()
        self.ready = threading.Event()  # the first snapshot arrived
        self._channel: ControlChannel | None = None

    def _fetch_events(self, args: dict[str, Any]) -> dict[str, Any] | None:
        assert self._channel is not None
        return self._channel.call("events", args, timeout=3.0)

    def run(self) -> None:
        sub = curve_client(self._ctx, zmq.SUB, self._server_key, self._identity)
        sub.rcvhwm = 100_000
        topics = (P.TOPIC_EVENT, P.TOPIC_HEARTBEAT) + ((P.TOPIC_POSE,) if self._on_pose is not None else ())
        for topic in topics:
            sub.setsockopt(zmq.SUBSCRIBE, topic)
        sub.connect(self._events_endpoint)
        ctl = self._make_command_socket()
        channel = self._channel = ControlChannel(ctl, self._cid, self.health, self.stop)
        poller = zmq.Poller()
        poller.register(sub, zmq.POLLIN)
        poller.register(ctl, zmq.POLLIN)
        health = self.health
        synced = False
        next_ping = time.monotonic()
        next_sync_try = 0.0
        buffered: list[dict[str, Any]] = []
        was_alive = False
        need_hello = False
        try:
            while not self.stop.is_set():
                try:
                    now = time.monotonic()
                    if not synced and now >= next_sync_try:
                        synced = self._sync(channel)
                        if synced:
                            for ev in buffered:
                                self.follower.live(ev, self._fetch_events)
                            buffered.clear()
                            self.ready.set()
                            was_alive = health.alive
                        next_sync_try = now + SYNC_RETRY_S
                    if now >= next_ping:
                        channel.ping(now)
                        next_ping = now + P.HEARTBEAT_S
                    for sock, _ in poller.poll(100):
                        if sock is sub:
                            self._read_sub(sub, synced, buffered)
                        else:
                            channel.drain()
                    health.check()
                    if synced and health.alive and not was_alive:
                        need_hello = True  # back after an outage (or a player restart): introduce ourselves
                    was_alive = health.alive
                    if need_hello and health.alive and ctl.poll(0, zmq.POLLOUT):
                        channel.send("hello", self._hello_args)
                        need_hello = False
                except zmq.ContextTerminated:
                    break
                except (zmq.ZMQError, ClientError, P.ProtocolError, ValueError, KeyError, TypeError):
                    if self.stop.is_set():
                        break
                    log.exception("client I/O: recovering")
                    time.sleep(0.1)
        finally:
            sub.close(0)
            ctl.close(0)

    def _sync(self, channel: ControlChannel) -> bool:
        """Hello, snapshot, then the follower's start (catch-up per ``since``); False to try again later."""
        try:
            hello = channel.call("hello", self._hello_args)
            if hello is None:
                return False
            self._on_hello(hello)
            snap = channel.call("snapshot", {})
            if snap is None:
                return False
        except CommandFailed as exc:
            log.warning("subscription refused: %s", exc)
            return False
        self.follower.start(snap, self._since, self._fetch_events)
        return True

    def _read_sub(self, sub: zmq.Socket, synced: bool, buffered: list[dict[str, Any]]) -> None:
        for _ in range(1000):
            try:
                topic, body = sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            except ValueError:
                continue
            self.health.heard()
            try:
                if topic == P.TOPIC_EVENT:
                    ev = P.decode_event(body)
                    if synced:
                        self.follower.live(ev, self._fetch_events)
                    else:
                        buffered.append(ev)
                elif topic == P.TOPIC_POSE:
                    if self._on_pose is not None:
                        call_safely(self._on_pose, P.decode_event(body))
                elif topic == P.TOPIC_HEARTBEAT and synced:
                    self.follower.heartbeat(json.loads(body), self._fetch_events)
            except (P.ProtocolError, ValueError, KeyError, TypeError):
                continue
