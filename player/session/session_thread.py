"""The session thread's own work: set-up and tear-down of sockets and log, the loop turn, revocations,
presence and pairing (a mixin of :class:`player.session.server.SessionServer`; see that module for the
turn's order). Only the session thread runs these methods."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from pathlib import Path
from typing import Any

import zmq

from player import protocol as P
from player.protocol.keys import Authorizations, fingerprint, load_or_create_identity
from player.session.zap import ZapHandler

from .log import LogError, SessionLog
from .pairing_desk import PairingDesk
from .peers import publish_heartbeat
from .reader import LogReader
from .sockets import SessionServerError, bind_session_sockets
from .writer import LogWriter

log = logging.getLogger("viewpoint.session")

PEER_CHECK_S = 0.25


class SessionThread:
    """What runs on the session thread."""

    def _thread_main(self) -> None:
        try:
            self._setup()
        except BaseException as exc:  # reported to start()
            self._start_error = exc
            self._teardown()
            self._started.set()
            return
        self._started.set()
        try:
            self._loop()
        finally:
            try:
                self._shutdown()
            except Exception:
                log.exception("session server shutdown failed")
            self._teardown()

    def _setup(self) -> None:
        ident = load_or_create_identity(self.keys_dir, "player", {"name": self.player_name})
        self.public_key = ident.public
        self.sessions.player_key = fingerprint(ident.public)
        self.auth = Authorizations(self.keys_dir)
        try:
            self.log = SessionLog(self.log_path, self.synchronous)
        except LogError as exc:
            raise SessionServerError(str(exc)) from None
        self.events.log = self.log
        try:
            self.events.writer = LogWriter(self.log_path, self.synchronous, self._wake)
            self.reader = LogReader(self.log_path, self._wake)
        except LogError as exc:
            raise SessionServerError(str(exc)) from None
        self.zap = ZapHandler(self._ctx, self.auth)  # before any CURVE bind: no ZAP handler means "allow all"
        self.router, self.pub, self.endpoints = bind_session_sockets(
            self._ctx, self.requested_endpoint, ident.secret, ident.public, self.pairing_enabled
        )
        self._sockets = [self.router, self.pub]
        self.events.pub = self.pub
        self._poller = zmq.Poller()
        self._poller.register(self.zap.socket, zmq.POLLIN)
        self._poller.register(self.router, zmq.POLLIN)
        # while a session ends (a short wait for the film's pause), urgent commands are still carried out
        self.sessions.keep_reading = lambda: self.dispatcher.take(self.router)
        self._poller.register(self._wake_r.fileno(), zmq.POLLIN)
        if self.announce:
            print(
                f"viewpoint-player: listening on {self.endpoints.command} (events {self.endpoints.events}); "
                f"player key {fingerprint(self.public_key)}",
                flush=True,
            )
        if self.pairing_enabled:
            self._desk = PairingDesk(
                self._ctx,
                self._poller,
                self.endpoints,
                self.auth,
                self._paired,
                self._wake,
                on_code=self.on_pairing_code,
                announce=self.announce,
            )
            self._desk.open()
        self.sessions.recover_and_begin(self.log, self.retention_days)
        self.dispatcher.replies.load(self.log)  # after the prune: the ids retries may still use

    def _teardown(self) -> None:
        if self._desk is not None:
            self._desk.discard()
        for s in self._sockets:
            with contextlib.suppress(Exception):
                s.close(linger=100 if s is self.router else 0)
        z = getattr(self, "zap", None)
        if z is not None:
            z.close()
        if self.reader is not None:
            self.reader.close()
        if self.events.writer is not None:
            self.events.writer.close()
        if self.log is not None:
            self.log.close()
        for s in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                s.close()
        if self._own_ctx:
            with contextlib.suppress(zmq.ZMQError):
                self._ctx.destroy(linger=200)

    def _loop(self) -> None:
        now = time.monotonic()
        next_hb = now
        next_pose = now + self.pose_interval
        next_flush = now + self.pose_flush_s
        next_check = now + PEER_CHECK_S
        while self._running.is_set():
            now = time.monotonic()
            deadline = min(next_hb, next_pose, next_check, next_flush if self.poses.pending else math.inf)
            if self._rebind_since is not None:
                deadline = min(deadline, now + 0.02)
            if self.dispatcher.backlog:  # commands read but not handled yet: come straight back
                deadline = now
            stall = self.events.deadline()
            if stall is not None:  # a commit under way: notice in time if it becomes a stall
                deadline = min(deadline, stall + 0.001)
            scheduled = self.schedule.next_at()
            if scheduled is not None:
                deadline = min(deadline, scheduled)
            timeout_ms = max(0, math.ceil((deadline - now) * 1000))
            try:
                ready = dict(self._poller.poll(timeout_ms))
            except zmq.ZMQError as exc:
                if exc.errno == zmq.ETERM:
                    return
                raise
            try:
                if self.zap.socket in ready:
                    self.zap.handle()
                if self._wake_r.fileno() in ready:
                    self._wake_pending = False
                    with contextlib.suppress(OSError):
                        while self._wake_r.recv(4096):
                            pass
                if self.router in ready or self.dispatcher.backlog:
                    self.dispatcher.read(self.router)
                for sock, ident, payload in self.reader.take_done():  # read replies built off this thread
                    if callable(payload):  # a command's second half, with what the reader read for it
                        payload()
                        continue
                    with contextlib.suppress(zmq.ZMQError):
                        sock.send_multipart((ident, payload), zmq.NOBLOCK)
                desk = self._desk
                if desk is not None:
                    if desk.socket is not None and desk.socket in ready:
                        desk.read()
                    if desk.monitor is not None and desk.monitor in ready:
                        desk.read_monitor()
                    desk.open_prepared()
                now = time.monotonic()
                self.commands.run_scheduled(now)
                if now >= next_pose:
                    self.poses.sample()
                    next_pose = max(next_pose + self.pose_interval, now)
                if self.poses.pending and (now >= next_flush or self.pose_flush_s == 0):
                    self.events.flush_poses()
                    next_flush = now + self.pose_flush_s
                if self._rebind_since is not None:
                    self._rebind_events()
                if now >= next_check:
                    self._check_revocations()
                    self._check_peers(now)
                    next_check = now + PEER_CHECK_S
                self.events.step()
                if now >= next_hb:
                    publish_heartbeat(
                        self.pub,
                        self.player_name,
                        self.events.session_id,
                        self.events.last_published,
                        self.events.health[0],
                    )
                    next_hb = now + P.HEARTBEAT_S
            except Exception:
                self.stats["internal_errors"] += 1
                log.exception("session thread: unexpected error (playback continues)")
                self.events.replies.clear()
                time.sleep(0.01)

    def _check_revocations(self) -> None:
        """A facilitator whose certificate was removed loses its event stream as well as its commands: the
        event socket is bound afresh, which closes every subscriber's connection, so each one reconnects
        through the key check. The others are let in again and catch up by sequence number."""
        self.auth.refresh()
        gone = self.auth.take_removed()  # also what the key checks of the handshakes and commands noticed
        if not gone or self.endpoints is None:
            return
        if self._rebind_since is None:
            with contextlib.suppress(zmq.ZMQError):
                self.pub.unbind(self.endpoints.events)
            self._rebind_since = time.monotonic()
            self._rebind_events()
        for key, (role, name) in gone.items():
            self.events.append(
                "facilitator.revoked", {"key": key.decode("ascii"), "name": name, "role": role}
            )

    def _rebind_events(self) -> None:
        """Listen again on the event endpoint after closing it. The old listener closes on ZeroMQ's I/O
        thread, so the port may still be busy for a moment: the session loop tries again every 20 ms."""
        assert self.endpoints is not None and self._rebind_since is not None
        try:
            self.pub.bind(self.endpoints.events)
        except zmq.ZMQError as exc:
            if time.monotonic() - self._rebind_since > 5.0 and not self._rebind_warned:
                self._rebind_warned = True
                log.error("cannot listen on %s again after a revocation: %s", self.endpoints.events, exc)
            return
        self._rebind_since = None
        self._rebind_warned = False

    def _check_peers(self, now: float) -> None:
        """Log consoles gone silent; pause if the last lead was lost and the session asks for it."""
        for peer, silent in self.peers.expire(now):
            if not peer.announced:
                continue
            self.events.append(
                "facilitator.lost",
                {
                    "key": peer.key,
                    "cid": peer.cid,
                    "name": peer.name,
                    "role": peer.role,
                    "silent_s": round(silent, 3),
                },
            )
            if (
                peer.role == P.ROLE_LEAD
                and not self.peers.lead_present()
                and self.sessions.info.get("pause_on_lost")
            ):
                try:
                    self.controller.dispatch("pause", {})
                    self.events.append("session.paused_on_lost", {"key": peer.key, "name": peer.name})
                except Exception as exc:
                    log.warning("pause on lost facilitator failed: %s", exc)

    def _paired(self, name: str, role: str, key: str, cert: Path) -> dict[str, Any]:
        """A facilitator paired: log it (durably, before the answer) and tell it how to connect."""
        assert self.endpoints is not None and self.public_key is not None
        self.stats["paired"] += 1
        self.events.append(
            "pairing.completed",
            {
                "name": name,
                "role": role,
                "key": key,
                "fingerprint": fingerprint(key.encode("ascii")),
                "file": cert.name,
            },
        )
        self.events.commit_and_publish(timeout=2.0)
        return {
            "player": self.player_name,
            "public_key": self.public_key.decode("ascii"),
            "role": role,
            "endpoints": {"command": self.endpoints.command, "events": self.endpoints.events},
            "player_key": fingerprint(self.public_key),
        }

    def _shutdown(self) -> None:
        """End the session (facilitators left with the stop reason) and commit."""
        self.events.drain()
        self.events.flush_poses()
        for peer in self.peers.announced():
            self.events.append(
                "facilitator.left",
                {"key": peer.key, "cid": peer.cid, "name": peer.name, "reason": self._stop_reason},
            )
        self.sessions.end(self._stop_reason, self._stop_detail)
        if not self.events.commit_and_publish(timeout=5.0):
            log.error("session log: the last events could not be recorded (%s)", self.events.health[1])
