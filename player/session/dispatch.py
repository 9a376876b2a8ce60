"""Command dispatch: read the command ROUTER, decide the sender's role from its CURVE key before any
parsing, carry out a lead's welfare the moment it is read, de-duplicate request ids, route the rest to
:mod:`player.session.commands` and turn failures into error replies.

The stop path (``docs/architecture.md``, "The stop path"): every message read is first looked at for an
urgent command (``P.URGENT_COMMANDS``: ``welfare``) with a byte search, no JSON. A lead's is decoded and
carried out at once, ahead of everything read before it (its own console's earlier commands included: they
then run under the new welfare level, so a play is refused ``welfare_stop``); the controller starts the
fade and the mute before anything waits on the disk (the log writer has its own thread) or on other work.
An observer's is refused there and then, without parsing, and counts against that console's cap.

Everything else waits in a backlog handled for at most `TURN_BUDGET_S` per turn (reply building included;
reads of the log are built on the log reader's thread, :mod:`.reader`, and paged). A console with
`PER_CONSOLE` commands waiting or refused in a turn gets ``unavailable`` (busy) for more, and past twice
that its messages are dropped unanswered, so a flooding console can neither hold the others up nor fill
memory.

A logged command's reply is kept by (console key, request id) with a digest of the command, in memory and
in the log: a Lazy Pirate retry gets the same answer without running it again, and the same id with a
different command is refused ``id_reused``. While the log is not recording (``docs/protocol.md``, "Log
health") logged commands are refused ``log_unavailable`` at once; a welfare is still carried out.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

import zmq

from player import protocol as P

from .log import SessionLog
from .pipeline import EventPipeline, Reply
from .reader import ReadJob

if TYPE_CHECKING:
    from .server import SessionServer

log = logging.getLogger("viewpoint.session")

REPLY_CACHE = 4096  # replies kept in memory; older ones are read back from the log
TURN_BUDGET_S = 0.01  # commands handled per turn before the socket is read again
READ_PER_TURN = 2000  # messages read per turn (reading and refusing one costs microseconds)
PEEK_S = 0.001  # while the backlog is handled, the socket is looked at again this often
PEEK_READ = 64  # messages read by such a look (consoles take turns: a stop is among the first)
PER_CONSOLE = 100  # commands one console may have waiting (or refused) per turn
_URGENT = re.compile(
    rb'"cmd"\s*:\s*"(?:' + b"|".join(re.escape(c.encode()) for c in sorted(P.URGENT_COMMANDS)) + rb')"'
)

Waiting = tuple[bytes, str, bytes, float]  # (console identity, key, raw command, when it was read)


def command_digest(cmd: P.Command) -> str:
    """What a request id was used for: the command and its arguments (a retry has the same digest)."""
    text = json.dumps([cmd.cmd, cmd.args], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


class ReplyCache:
    """Executed requests by (console key, request id): every id the log holds, with the digest of its
    command, in memory (so a new id, the usual case, never touches the disk, which may be frozen); the
    last `REPLY_CACHE` replies in memory, older ones read back from the log when needed."""

    def __init__(self, events: EventPipeline, size: int = REPLY_CACHE):
        self._events = events
        self._size = size
        self._recent: OrderedDict[tuple[str, str], tuple[str | None, bytes]] = OrderedDict()
        self._known: dict[tuple[str, str], str | None] = {}  # every logged request id -> digest

    def load(self, log: SessionLog) -> None:
        """Know the request ids already in the log (at start, before any command)."""
        self._known = log.request_digests()

    def get(self, key: str, request_id: str, disk: bool = True) -> tuple[str | None, bytes | None] | None:
        """(digest, reply) of an executed request, or None for a new id. The reply is None when it is
        only in the log and ``disk`` is False (the log is not to be touched now)."""
        cached = self._recent.get((key, request_id))
        if cached is not None:
            return cached
        if (key, request_id) not in self._known:
            return None
        digest = self._known[(key, request_id)]
        if not disk:
            return digest, None
        assert self._events.log is not None
        found = self._events.log.cached_request(key, request_id)
        return (digest, found[0].encode("utf-8")) if found is not None else None

    def remember(self, key: str, request_id: str, digest: str, body: bytes) -> None:
        """Keep the reply; it is logged with this turn's events."""
        self._recent[(key, request_id)] = (digest, body)
        self._known[(key, request_id)] = digest
        if len(self._recent) > self._size:
            self._recent.popitem(last=False)
        self._events.requests.append((key, request_id, P.utc_now(), body.decode("utf-8"), digest))


class Dispatcher:
    def __init__(self, server: SessionServer):
        self.server = server
        self.events = server.events
        self.stats = server.stats
        self.replies = ReplyCache(server.events)
        self.backlog: list[Waiting] = []  # read, not handled yet
        self.reading: dict[tuple[str, str], str] = {}  # (key, id) -> digest: waiting for the log reader

    def read(self, router: zmq.Socket) -> None:
        """Read what is waiting on ``router`` (urgent commands carried out as they are read), then handle
        the backlog for at most `TURN_BUDGET_S` (the rest stays for the next turn, which comes at once),
        looking at the socket again every `PEEK_S` meanwhile, so a stop never waits for the backlog."""
        self.take(router)
        if not self.backlog:
            return
        now = time.monotonic()
        deadline, peek = now + TURN_BUDGET_S, now + PEEK_S
        done = 0
        while done < len(self.backlog):
            ident, key, raw, t_recv = self.backlog[done]
            self.handle(router, ident, key, raw, t_recv)
            done += 1
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= peek:  # what came meanwhile: a stop is carried out now, the rest queues behind
                self.take(router, PEEK_READ)
                peek = now + PEEK_S
        del self.backlog[:done]

    def take(self, router: zmq.Socket, limit: int = READ_PER_TURN) -> None:
        """Read what is waiting (at most ``limit`` messages): urgent commands are carried out as they are
        read, the rest joins the backlog (also called while a session ends, so a stop never waits for
        that). The socket takes turns between consoles, so a lead's stop is among the first read."""
        counted = Counter(ident for ident, *_ in self.backlog)  # waiting or refused, per console
        lookup = self.server.auth.lookup
        for _ in range(limit):
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
            who = lookup(key.encode("ascii", "replace"))  # the role, before any parsing
            urgent = _URGENT.search(raw) is not None
            if who is not None and urgent and who[0] == P.ROLE_LEAD:
                self.handle(router, ident, key, raw, t_recv)  # the action comes first
                continue
            n = counted[ident]
            counted[ident] += 1
            if n >= 2 * PER_CONSOLE:
                self.stats["dropped"] += 1  # a flood: not even an answer
                continue
            if who is None or urgent or n >= PER_CONSOLE:
                if who is None:
                    code, message = P.E_FORBIDDEN, "this console is not paired with this player"
                elif urgent:
                    code, message = P.E_FORBIDDEN, "welfare: observers have read-only access"
                else:
                    self.stats["busy"] += 1
                    code = P.E_UNAVAILABLE
                    message = f"busy: {PER_CONSOLE} commands from this console are waiting; send fewer"
                self._error(router, ident, P.peek_id_bytes(raw, 512), code, message)
                continue
            self.backlog.append((ident, key, raw, t_recv))

    def _error(self, router: zmq.Socket, ident: bytes, rid: str | None, code: str, message: str) -> None:
        self.stats["errors"] += 1
        self.events.reply(router, ident, P.encode_error(rid, code, message))

    def handle(self, router: zmq.Socket, ident: bytes, key: str, raw: bytes, t_recv: float) -> None:
        """One command from the console with CURVE key ``key`` (z85); its reply goes out after the publish."""
        server = self.server
        self.stats["commands"] += 1
        who = server.auth.lookup(key.encode("ascii", "replace"))  # re-read by the session loop 4 times/s
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
        if spec.lead_only and role != P.ROLE_LEAD:
            self._error(router, ident, cmd.id, P.E_FORBIDDEN, f"{cmd.cmd}: observers have read-only access")
            return
        recording = self.events.recording
        digest = command_digest(cmd) if spec.logged else ""
        if spec.logged:
            reading = self.reading.get((key, cmd.id))
            if reading is not None:  # its first half waits for the log reader; the answer comes after
                if reading != digest:
                    self._error(
                        router, ident, cmd.id, P.E_ID_REUSED, f"id: {cmd.id!r} is in use; use a new id"
                    )
                return  # a retry: answered when the read is done
            cached = self.replies.get(key, cmd.id, disk=recording and not spec.urgent)
            if cached is not None:
                if cached[0] is not None and cached[0] != digest:
                    self._error(
                        router, ident, cmd.id, P.E_ID_REUSED,
                        f"id: {cmd.id!r} was used before by this console for a different command; "
                        "use a new id for each command",
                    )  # fmt: skip
                    return
                if cached[1] is not None:
                    self.events.reply(router, ident, cached[1])  # a retry: same answer, not run again
                    return
                # an old retry whose answer is only on the disk, not to be touched now: a welfare is
                # carried out again (the same action), anything else is refused below
            if not recording and not spec.urgent:
                state, cause = self.events.health
                self._error(
                    router, ident, cmd.id, P.E_LOG_UNAVAILABLE,
                    f"{cmd.cmd}: not carried out: the session log is not recording ({state}: {cause})",
                )  # fmt: skip
                return
        if spec.target != P.CONTROLLER:
            run = functools.partial(server.commands.session, cmd, peer, t_recv)
        else:
            run = functools.partial(server.commands.playback, cmd, peer, first=spec.urgent)
        self._carry_out(router, ident, key, cmd, digest, recording, run)

    def _carry_out(
        self,
        router: zmq.Socket,
        ident: bytes,
        key: str,
        cmd: P.Command,
        digest: str,
        recording: bool,
        run: Callable[[], Reply | ReadJob],
    ) -> None:
        """Run a command (or its second half, once the log reader read what it needs) and queue its
        reply; a failure becomes an error reply (and a ``command.failed`` event for a logged command)."""
        spec = P.COMMANDS[cmd.cmd]
        body: Reply
        try:
            result = run()
            if isinstance(result, ReadJob):  # built (or begun) from the log on the reader's thread
                self._read_first(router, ident, key, cmd, digest, result)
                return
            body = result
        except Exception as exc:  # the protocol's one error (refused), or a fault (internal)
            code = exc.code if isinstance(exc, P.ProtocolError) else None
            message = exc.message if isinstance(exc, P.ProtocolError) else str(exc)
            if code:
                body = P.encode_error(cmd.id, code, message)
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
        if spec.urgent and not recording and not callable(body):
            body = _unrecorded(body, self.events.health[0])
        if spec.logged and not callable(body):
            self.replies.remember(key, cmd.id, digest, body)
        self.events.reply(router, ident, body)

    def _read_first(
        self, router: zmq.Socket, ident: bytes, key: str, cmd: P.Command, digest: str, job: ReadJob
    ) -> None:
        """Hand ``job`` to the log reader; a job with ``then`` comes back to `_carry_out` once read."""
        then = job.then
        if then is not None:
            self.reading[(key, cmd.id)] = digest

            def finish(read: object) -> None:  # on the session thread, a later turn
                self.reading.pop((key, cmd.id), None)
                rest = (
                    functools.partial(_raise, read)
                    if isinstance(read, BaseException)
                    else functools.partial(then, read)
                )
                self._carry_out(router, ident, key, cmd, digest, self.events.recording, rest)

            job = ReadJob(job.request_id, job.build, finish)
        if not self.server.reader.submit(job, router, ident):
            self.reading.pop((key, cmd.id), None)
            self.stats["busy"] += 1
            self._error(router, ident, cmd.id, P.E_UNAVAILABLE, f"{cmd.cmd}: busy: too many reads waiting")


def _raise(exc: BaseException) -> Reply:
    raise exc


def _unrecorded(body: bytes, state: str) -> bytes:
    """A welfare's reply while the log is not recording: carried out, ``recorded: false`` and why."""
    reply = json.loads(body)
    if reply.get("ok") and isinstance(reply.get("result"), dict):
        reply["result"].update({"recorded": False, "log": state})
        return P.dumps(reply)
    return body
