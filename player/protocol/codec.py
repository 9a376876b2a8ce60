"""The envelope and codec (the ZeroMQ Guide's ``kvmsg``): constants, encoders and total decoders.

Messages are UTF-8 JSON objects (see ``docs/protocol.md``)::

    command  {"v": 1, "id": "c-17", "cmd": "seek", "args": {"t": 12.5}}
    reply    {"v": 1, "id": "c-17", "ok": true, "result": {...}}
    error    {"v": 1, "id": "c-17", "ok": false, "error": {"code": "bad_args", "message": "..."}}
    event    {"v": 1, "session": "s-...", "seq": 42, "mono": 1.5, "utc": "...Z", "film": "...",
              "media_t": 3.2, "type": "transport.paused", "data": {}}

Every decoder here is total: any bytes in give either a valid value or a :class:`ProtocolError` that names
what was wrong and where, never another exception. An error reply carries the request's id whenever the
id could be read, ``too_large`` included (the id is looked for in the first bytes).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .args import check_args
from .commands import COMMANDS
from .errors import E_BAD_JSON, E_BAD_MESSAGE, E_BAD_VERSION, E_TOO_LARGE, E_UNKNOWN_COMMAND, ProtocolError

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024
"""Largest command the server decodes; larger ones get a ``too_large`` error."""
MAX_ID_CHARS = 64
HEARTBEAT_S = 1.0
"""Both ends send something at least this often."""
DEAD_AFTER_S = 2.5
"""A peer silent for this long is dead (checked every 0.25 s: noticed within 3 s)."""

# Topics on the event (PUB) socket: the first frame of each two-frame message.
TOPIC_EVENT = b"ev"
TOPIC_POSE = b"pose"
TOPIC_HEARTBEAT = b"hb"

ROLE_LEAD = "lead"
ROLE_OBSERVER = "observer"
ROLES = (ROLE_LEAD, ROLE_OBSERVER)

_ID_RE = re.compile(r"^[A-Za-z0-9._:@/+-]{1,64}$")
_ID_IN_BYTES = re.compile(rb'"id"\s*:\s*"([A-Za-z0-9._:@/+-]{1,64})"')


@dataclass(frozen=True)
class Command:
    """A decoded, validated command."""

    id: str
    cmd: str
    args: dict[str, Any] = field(default_factory=dict)


def peek_id_bytes(raw: bytes, window: int = 4096) -> str | None:
    """The request id of a command too large or too broken to decode, read from its first bytes."""
    m = _ID_IN_BYTES.search(bytes(raw[:window]))
    return m.group(1).decode("ascii") if m else None


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON (the wire form of every message)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _loads_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(E_BAD_JSON, f"{what}: not UTF-8 JSON ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise ProtocolError(E_BAD_MESSAGE, f"{what}: expected a JSON object, got {type(obj).__name__}")
    return obj


def peek_id(obj: Mapping[str, Any]) -> str | None:
    """The request id of a (possibly invalid) command object, if it has a usable one."""
    rid = obj.get("id")
    if isinstance(rid, str) and _ID_RE.match(rid):
        return rid
    return None


def decode_command(raw: bytes) -> Command:
    """Decode and validate one command. Raises ProtocolError (with ``request_id`` where known)."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise ProtocolError(E_BAD_MESSAGE, "command: expected bytes")
    raw = bytes(raw)
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError(
            E_TOO_LARGE, f"command: {len(raw)} bytes, limit {MAX_MESSAGE_BYTES}", peek_id_bytes(raw)
        )
    try:
        obj = _loads_object(raw, "command")
    except ProtocolError as exc:
        exc.request_id = peek_id_bytes(raw)
        raise
    rid = peek_id(obj)
    try:
        if rid is None:
            raise ProtocolError(
                E_BAD_MESSAGE, "id: expected a request id of 1..64 characters [A-Za-z0-9._:@/+-]"
            )
        v = obj.get("v")
        if v != PROTOCOL_VERSION or isinstance(v, bool):
            raise ProtocolError(
                E_BAD_VERSION, f"v: this player speaks protocol {PROTOCOL_VERSION}, got {v!r}"
            )
        for key in obj:
            if key not in ("v", "id", "cmd", "args"):
                raise ProtocolError(E_BAD_MESSAGE, f"{key}: unknown field in a command")
        name = obj.get("cmd")
        if not isinstance(name, str):
            raise ProtocolError(E_BAD_MESSAGE, "cmd: expected a command name")
        spec = COMMANDS.get(name)
        if spec is None:
            raise ProtocolError(E_UNKNOWN_COMMAND, f"cmd: unknown command {name[:40]!r}")
        args = check_args(spec.args, obj.get("args", {}))
        if spec.extra_check is not None:
            spec.extra_check(args)
        return Command(rid, name, args)
    except ProtocolError as exc:
        exc.request_id = rid
        raise


def encode_command(request_id: str, cmd: str, args: Mapping[str, Any] | None = None) -> bytes:
    return dumps({"v": PROTOCOL_VERSION, "id": request_id, "cmd": cmd, "args": dict(args or {})})


def encode_ok(request_id: str | None, result: Any) -> bytes:
    return dumps({"v": PROTOCOL_VERSION, "id": request_id, "ok": True, "result": result})


def encode_error(request_id: str | None, code: str, message: str) -> bytes:
    return dumps(
        {"v": PROTOCOL_VERSION, "id": request_id, "ok": False, "error": {"code": code, "message": message}}
    )


def decode_reply(raw: bytes) -> dict[str, Any]:
    """Decode a reply; raises ProtocolError if it is not one."""
    obj = _loads_object(raw, "reply")
    if obj.get("v") != PROTOCOL_VERSION or not isinstance(obj.get("ok"), bool):
        raise ProtocolError(E_BAD_MESSAGE, "reply: missing v or ok")
    if obj["ok"]:
        if "result" not in obj:
            raise ProtocolError(E_BAD_MESSAGE, "reply: ok without result")
    else:
        err = obj.get("error")
        if not isinstance(err, dict) or not isinstance(err.get("code"), str):
            raise ProtocolError(E_BAD_MESSAGE, "reply: error without code")
    return obj


EVENT_FIELDS = ("v", "session", "seq", "mono", "utc", "film", "media_t", "type", "data")


def decode_event(raw: bytes) -> dict[str, Any]:
    """Decode an event (or pose sample); raises ProtocolError if it lacks the envelope."""
    obj = _loads_object(raw, "event")
    if obj.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(E_BAD_VERSION, f"event: protocol {obj.get('v')!r}")
    if not isinstance(obj.get("session"), str) or not isinstance(obj.get("type"), str):
        raise ProtocolError(E_BAD_MESSAGE, "event: missing session or type")
    seq = obj.get("seq", obj.get("pseq"))
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise ProtocolError(E_BAD_MESSAGE, "event: missing seq")
    return obj


def utc_now(t: float | None = None) -> str:
    """UTC wall time as ISO 8601 with milliseconds and a Z."""
    dt = datetime.fromtimestamp(time.time() if t is None else t, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
