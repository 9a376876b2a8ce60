"""The player's session server: commands in, events out, over CURVE-secured ZeroMQ, with a durable log.

One thread (the *session thread*) owns every socket and the SQLite log::

    ROUTER  ENDPOINT        commands, snapshots, catch-up, heartbeats from consoles (paired keys only)
    PUB     port + 1        events (topic ``ev``), pose samples (``pose``), heartbeats (``hb``)
    ROUTER  port + 2        pairing: CURVE keyed by the code shown on the player; any client key

Each loop turn: answer ZAP, read commands (a lead's welfare is carried out the moment it is read, before
anything else; see :mod:`.dispatch`), drain the event queue assigning per-session sequence numbers, hand the
batch to the log writer's thread (one transaction: group commit), publish what it has made durable, then
send those replies. So an event is durable before anyone can see it, a reply is sent only after the events
its command caused are published, and the session thread itself never waits on the disk (a stalled, full
or read-only log disk is a health state, see :mod:`.writer`). See ``docs/protocol.md``.

The parts: :mod:`.sockets` (binding), :mod:`.dispatch` (commands in, de-duplication), :mod:`.commands`
(what they do), :mod:`.pipeline` (log, then publish), :mod:`.poses`, :mod:`.sessions`, :mod:`.clone`,
:mod:`.peers` (presence, heartbeats), :mod:`.schedule`, :mod:`.pairing_desk`. This module runs the thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

from player import protocol as P
from player.protocol.keys import Authorizations

from .commands import Commands, Handler
from .dispatch import Dispatcher
from .log import SessionLog
from .pairing_desk import PairingDesk
from .peers import Peer, PeerTable
from .pipeline import EventPipeline
from .poses import PoseStream
from .reader import LogReader
from .schedule import MAX_SCHEDULE_AHEAD_S, Schedule
from .session_thread import SessionThread
from .sessions import Sessions, new_session_id
from .sockets import MAX_SOCKET_MESSAGE, Endpoints, SessionServerError

__all__ = [
    "MAX_SCHEDULE_AHEAD_S",
    "MAX_SOCKET_MESSAGE",
    "Endpoints",
    "Peer",
    "SessionServer",
    "SessionServerError",
    "new_session_id",
]

log = logging.getLogger("viewpoint.session")


class SessionServer(SessionThread):
    """Commands from paired consoles to the controller; the controller's events to the log, then to consoles.

    ``controller`` needs ``dispatch(cmd: str, args: dict) -> dict`` (raising an exception with ``code`` and
    ``message`` attributes for a refused command) and, optionally, ``media_time() -> float`` and a ``film``
    (with ``.id``) or ``film_id`` attribute, used to stamp events with the film and media time.

    Keywords: ``pose_hz`` (10..30), ``pose_flush_s`` (pose batches are committed this often),
    ``retention_days`` (purge at start), ``pairing`` (open the pairing socket), ``on_pairing_code`` (show the
    code, e.g. in the headset; else printed when ``announce``), ``synchronous`` (SQLite: FULL fsyncs every
    commit; NORMAL survives a player crash but not a power cut; default from VIEWPOINT_LOG_SYNC, else FULL),
    ``pause_on_lost`` (default for sessions), ``context`` (a zmq context; by default the server owns one:
    one ZAP handler per context), ``switch_interval`` (lowers ``sys.setswitchinterval`` from 5 ms to
    1 ms unless None, so the session thread gets the GIL sooner while render/decode threads run Python
    code: a stop read from the socket waits at most that long for the interpreter).
    """

    def __init__(
        self,
        controller: Any,
        endpoint: str = "tcp://127.0.0.1:5555",
        keys_dir: Path | str = Path("keys"),
        log_path: Path | str = Path("session-log.sqlite"),
        player_name: str = "viewpoint-player",
        *,
        pose_hz: float = 20.0,
        pose_flush_s: float = 0.1,
        retention_days: float | None = None,
        pairing: bool = True,
        on_pairing_code: Callable[[str], None] | None = None,
        synchronous: str | None = None,
        pause_on_lost: bool = False,
        context: zmq.Context | None = None,
        announce: bool = True,
        switch_interval: float | None = 0.001,
    ):
        if not 10.0 <= pose_hz <= 30.0:
            raise ValueError(f"pose_hz={pose_hz}: expected 10..30 samples per second")
        self.controller = controller
        self.requested_endpoint = endpoint
        self.keys_dir = Path(keys_dir)
        self.log_path = Path(log_path)
        self.player_name = player_name
        self.pose_interval = 1.0 / pose_hz
        self.pose_flush_s = max(0.0, pose_flush_s)
        self.retention_days = retention_days
        self.pairing_enabled = pairing
        self.on_pairing_code = on_pairing_code
        # FULL: every commit is fsynced (survives power loss); NORMAL: survives a crash of the player process
        # (SIGKILL) but not of the machine. VIEWPOINT_LOG_SYNC overrides the default for a deployment.
        self.synchronous = synchronous or os.environ.get("VIEWPOINT_LOG_SYNC", "FULL").upper()
        # One ZAP handler per context: each server gets its own context unless given one (several servers in
        # one process, as in group tests, then never compete for inproc://zeromq.zap.01).
        self._own_ctx = context is None
        self._ctx = context if context is not None else zmq.Context()
        self.announce = announce  # print the endpoint and the pairing code on stdout
        self.switch_interval = switch_interval

        self.endpoints: Endpoints | None = None
        self.public_key: bytes | None = None
        self.auth: Authorizations | None = None
        self._rebind_since: float | None = None  # when the event socket was closed to be bound afresh
        self._rebind_warned = False
        self.log: SessionLog | None = None
        self.reader: LogReader | None = None  # read commands answered from the log on its own thread
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._wake_pending = False
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._stop_reason = "player_stopped"
        self._stop_detail: str | None = None
        self._desk: PairingDesk | None = None
        self._sockets: list[zmq.Socket] = []

        self.stats: dict[str, int] = {
            "commands": 0,
            "errors": 0,
            "dropped": 0,
            "events": 0,
            "poses": 0,
            "commits": 0,
            "internal_errors": 0,
            "busy": 0,
            "paired": 0,
        }
        self.poses = PoseStream()
        self.events = EventPipeline(controller, self.poses, self.stats)
        self.sessions = Sessions(self.events, player_name, pause_on_lost)
        self.peers = PeerTable()
        self.schedule = Schedule()
        self.commands = Commands(self)
        self.dispatcher = Dispatcher(self)

    # ------------------------------------------------------------------ public API (any thread)

    def add_handler(self, name: str, handler: Handler) -> None:
        """Execute catalogue command ``name`` (``target="group"`` in :data:`player.protocol.COMMANDS`) with
        ``handler(args, client)`` on the session thread; ``client`` has ``name``, ``role``, ``key``.
        Raise an exception with ``code`` and ``message`` attributes to refuse. Call before :meth:`start`."""
        spec = P.COMMANDS.get(name)
        if spec is None or spec.target != P.GROUP:
            raise ValueError(f"{name}: not a target='group' command of player.protocol.COMMANDS")
        self.commands.extensions[name] = handler

    def start(self, timeout: float = 10.0) -> None:
        """Open the log, bind the sockets and start the session thread; raises SessionServerError."""
        if self._thread is not None:
            raise SessionServerError("session server already started")
        if self.switch_interval is not None and sys.getswitchinterval() > self.switch_interval:
            # The GIL is handed to a waiting thread only every switch interval (5 ms by default) while the
            # render or decode threads run Python code; each command crosses several hand-overs.
            sys.setswitchinterval(self.switch_interval)
        self._running.set()
        self._thread = threading.Thread(target=self._thread_main, name="viewpoint-session", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise SessionServerError("session server did not start in time")
        if self._start_error is not None:
            self._thread.join(2.0)
            self._thread = None
            err = self._start_error
            raise err if isinstance(err, SessionServerError) else SessionServerError(str(err))

    def stop(self, reason: str = "player_stopped", timeout: float = 5.0, detail: str | None = None) -> None:
        """End the current session (``session.ended`` with ``reason`` and ``detail``, logged), flush the log,
        close the sockets, join the thread."""
        if self._thread is None:
            return
        self._stop_reason = reason
        self._stop_detail = detail
        self._running.clear()
        self._wake()
        self._thread.join(timeout)
        self._thread = None

    def emit(
        self,
        type: str,
        data: dict[str, Any] | None = None,
        *,
        media_t: float | None = None,
        film: str | None = None,
    ) -> None:
        """The controller's event sink: queue one event; never blocks. Logged durably, then published."""
        self.events.put(type, data, media_t, film)
        self._wake()

    __call__ = emit

    def pose(self, orientation: tuple[float, float, float, float], media_t: float | None = None) -> None:
        """Latest head orientation (x, y, z, w) from the render loop, for the pose stream; never blocks."""
        self.poses.offer(orientation, media_t)

    @property
    def endpoint(self) -> str:
        return self.endpoints.command if self.endpoints else self.requested_endpoint

    @property
    def pairing_code(self) -> str | None:
        """The code shown for pairing now (None while no pairing socket is open)."""
        return self._desk.code if self._desk is not None else None

    @property
    def session_id(self) -> str:
        return self.events.session_id

    @property
    def session_info(self) -> dict[str, Any]:
        return self.sessions.info

    @property
    def authorized_count(self) -> int:
        """How many facilitators are paired with this player (0 before start)."""
        return len(self.auth) if self.auth is not None else 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ session thread

    def _wake(self) -> None:
        if not self._wake_pending:
            self._wake_pending = True
            with contextlib.suppress(OSError):
                self._wake_w.send(b"\x01")
