"""Command dispatch: read the command ROUTER, check the sender's key and role, de-duplicate request ids,
route to :mod:`player.session.commands` and turn failures into error replies.

A logged command's reply is kept by (console key, request id), in memory and in the log, so a Lazy Pirate
retry of a request that was already executed gets the same answer without running it again.

A welfare command (a facilitator's stop) must not wait behind other consoles' work: what is waiting is read
into a backlog (every turn, however long it is), welfare commands go first (with the commands their own
console sent before them, so each console's order holds), and a turn handles commands for at most
`TURN_BUDGET_S` before it reads again. A console with `PER_CONSOLE` commands already waiting gets
`unavailable` for more (welfare commands excepted), so one flooding console can neither hold the others up
nor fill memory.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter, OrderedDict
from typing import TYPE_CHECKING

import zmq

from player import protocol as P

from .pipeline import EventPipeline, Reply

if TYPE_CHECKING:
    from .server import SessionServer

log = logging.getLogger("viewpoint.session")

REPLY_CACHE = 4096  # replies kept in memory; older ones are read back from the log
TURN_BUDGET_S = 0.01  # commands handled per turn before the socket is read again (welfare may be waiting)
READ_PER_TURN = 2000  # messages read per turn (reading and refusing one costs microseconds)
PER_CONSOLE = 100  # commands one console may have waiting
_WELFARE = re.compile(rb'"cmd"\s*:\s*"welfare"')

Waiting = tuple[bytes, str, bytes, float]  # (console identity, key, raw command, when it was read)


def _request_id(raw: bytes) -> str | None:
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return P.peek_id(obj) if isinstance(obj, dict) else None


def welfare_first(backlog: list[Waiting]) -> list[Waiting]:
    """The backlog in the order to handle it: each welfare command, with what its console sent before it,
    ahead of everything else; otherwise as received (stable, so every console's own order holds)."""
    last = {ident: i for i, (ident, _, raw, _) in enumerate(backlog) if _WELFARE.search(raw)}
    if not last:
        return backlog
    first = [w for i, w in enumerate(backlog) if i <= last.get(w[0], -1)]
    rest = [w for i, w in enumerate(backlog) if i > last.get(w[0], -1)]
    return first + rest


class ReplyCache:
    def __init__(self, events: EventPipeline, size: int = REPLY_CACHE):
        self._events = events
        self._size = size
        self._recent: OrderedDict[tuple[str, str], bytes] = OrderedDict()

    def get(self, key: str, request_id: str) -> bytes | None:
        cached = self._recent.get((key, request_id))
        if cached is None:
            assert self._events.log is not None
            text = self._events.log.cached_reply(key, request_id)
            cached = text.encode("utf-8") if text is not None else None
        return cached

    def remember(self, key: str, request_id: str, body: bytes) -> None:
        """Keep the reply; it is logged with this turn's events."""
        self._recent[(key, request_id)] = body
        if len(self._recent) > self._size:
            self._recent.popitem(last=False)
        self._events.requests.append((key, request_id, P.utc_now(), body.decode("utf-8")))


class Dispatcher:
    def __init__(self, server: SessionServer):
        self.server = server
        self.events = server.events
        self.stats = server.stats
        self.replies = ReplyCache(server.events)
        self.backlog: list[Waiting] = []  # read, not handled yet

    def read(self, router: zmq.Socket) -> None:
        """Read what is waiting on ``router`` into the backlog, then handle the backlog, welfare first, for
        at most `TURN_BUDGET_S` (the rest stays for the next turn, which comes at once)."""
        self._take(router)
        if not self.backlog:
            return
        backlog = welfare_first(self.backlog)
        deadline = time.monotonic() + TURN_BUDGET_S
        done = 0
        for ident, key, raw, t_recv in backlog:
            self.handle(router, ident, key, raw, t_recv)
            done += 1
            if time.monotonic() >= deadline:
                break
        self.backlog = backlog[done:]

    def _take(self, router: zmq.Socket) -> None:
        waiting = Counter(ident for ident, *_ in self.backlog)  # commands each console has waiting
        for _ in range(READ_PER_TURN):
            try:
                frames = router.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            t_recv = time.monotonic()
            ident = frames[0].bytes
            if len(frames) != 2:
                self.stats["dropped"] += 1
                self.events.reply(
                    router, ident, P.encode_error(None, P.E_BAD_MESSAGE, "expected one frame per command")
                )
                continue
            try:
                key = frames[1].get("User-Id")
            except zmq.ZMQError:
                key = ""
            raw = frames[1].bytes
            if waiting[ident] >= PER_CONSOLE and not _WELFARE.search(raw):
                self.stats["busy"] += 1
                message = f"busy: {PER_CONSOLE} commands from this console are waiting; send fewer at once"
                self.events.reply(router, ident, P.encode_error(_request_id(raw), P.E_UNAVAILABLE, message))
                continue
            waiting[ident] += 1
            self.backlog.append((ident, key, raw, t_recv))

    def _error(self, router: zmq.Socket, ident: bytes, rid: str | None, code: str, message: str) -> None:
        self.stats["errors"] += 1
        self.events.reply(router, ident, P.encode_error(rid, code, message))

    def handle(self, router: zmq.Socket, ident: bytes, key: str, raw: bytes, t_recv: float) -> None:
        """One command from the console with CURVE key ``key`` (z85); its reply goes out after the publish."""
        server = self.server
        self.stats["commands"] += 1
        who = server.auth.lookup(
            key.encode("ascii", "replace")
        )  # re-read by the session loop 4 times a second
        if who is None:  # revoked since it connected
            self._error(router, ident, None, P.E_FORBIDDEN, "this console is not paired with this player")
            return
        role, name = who
        try:
            cmd = P.decode_command(raw)
        except P.ProtocolError as exc:
            self._error(router, ident, exc.request_id, exc.code, exc.message)
            return
        spec = P.COMMANDS[cmd.cmd]
        cid = str(cmd.args.get("cid") or ident.hex())
        peer = server.peers.touch(key, cid, name, role, cmd.args.get("client"))
        if spec.logged:
            cached = self.replies.get(key, cmd.id)
            if cached is not None:  # a retry of a request already executed: same answer, not run again
                self.events.reply(router, ident, cached)
                return
        if spec.lead_only and role != P.ROLE_LEAD:
            self._error(router, ident, cmd.id, P.E_FORBIDDEN, f"{cmd.cmd}: observers have read-only access")
            return
        body: Reply
        try:
            if spec.target != P.CONTROLLER:
                body = server.commands.session(cmd, peer, t_recv)
            else:
                body = server.commands.playback(cmd, peer)
        except P.ProtocolError as exc:
            body = P.encode_error(cmd.id, exc.code, exc.message)
            self.stats["errors"] += 1
        except Exception as exc:
            code = getattr(exc, "code", None)
            message = getattr(exc, "message", None) or str(exc)
            if isinstance(code, str) and code:
                body = P.encode_error(cmd.id, code, str(message))
            else:
                log.exception("command %s failed", cmd.cmd)
                self.stats["internal_errors"] += 1
                body = P.encode_error(cmd.id, P.E_INTERNAL, f"{cmd.cmd}: {type(exc).__name__}: {exc}")
            self.stats["errors"] += 1
            if spec.logged:
                self.events.append(
                    "command.failed",
                    {
                        "id": cmd.id,
                        "cmd": cmd.cmd,
                        "code": code or P.E_INTERNAL,
                        "message": str(message)[:500],
                    },
                )
        if spec.logged and not callable(body):
            self.replies.remember(key, cmd.id, body)
        self.events.reply(router, ident, body)
