"""Viewpoint session protocol v1: message codec, validation and the command catalogue.

Both ends import this module: the player's :mod:`player.session.server` and the facilitator's
:mod:`facilitator.client`. Messages are UTF-8 JSON objects (see ``docs/protocol.md``)::

    command  {"v": 1, "id": "c-17", "cmd": "seek", "args": {"t": 12.5}}
    reply    {"v": 1, "id": "c-17", "ok": true, "result": {...}}
    error    {"v": 1, "id": "c-17", "ok": false, "error": {"code": "bad_args", "message": "..."}}
    event    {"v": 1, "session": "s-...", "seq": 42, "mono": 1.5, "utc": "...Z", "film": "...",
              "media_t": 3.2, "type": "transport.paused", "data": {}}

Every decoder here is total: any bytes in give either a valid value or a :class:`ProtocolError` that names
what was wrong and where, never another exception.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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

# Error codes (stable; clients switch on them).
E_BAD_JSON = "bad_json"
E_BAD_MESSAGE = "bad_message"
E_BAD_VERSION = "bad_version"
E_UNKNOWN_COMMAND = "unknown_command"
E_BAD_ARGS = "bad_args"
E_FORBIDDEN = "forbidden"
E_TOO_LARGE = "too_large"
E_NOT_FOUND = "not_found"
E_NO_SESSION = "no_session"
E_UNAVAILABLE = "unavailable"
E_INTERNAL = "internal"
E_TIMEOUT = "timeout"

_ID_RE = re.compile(r"^[A-Za-z0-9._:@/+-]{1,64}$")
PARTICIPANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")
_TAG_RE = re.compile(r"^[^\x00-\x1f]{1,64}$")


class ProtocolError(Exception):
    """A message or command that cannot be accepted; ``code`` is one of the ``E_*`` codes."""

    def __init__(self, code: str, message: str, request_id: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class Command:
    """A decoded, validated command."""

    id: str
    cmd: str
    args: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- argument specs


@dataclass(frozen=True)
class Arg:
    """One named argument: ``check(value, where)`` returns the normalised value or raises ProtocolError."""

    check: Callable[[Any, str], Any]
    required: bool = False


def _bad(where: str, expected: str, got: Any) -> ProtocolError:
    shown = repr(got)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return ProtocolError(E_BAD_ARGS, f"{where}: expected {expected}, got {shown}")


def number(lo: float | None = None, hi: float | None = None, what: str = "a number") -> Callable:
    def check(v: Any, where: str) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise _bad(where, what, v)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            rng = f"{what} in [{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
            raise _bad(where, rng, v)
        return float(v)

    return check


def integer(lo: int | None = None, hi: int | None = None) -> Callable:
    def check(v: Any, where: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise _bad(where, "an integer", v)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise _bad(where, f"an integer in [{lo}, {hi}]", v)
        return v

    return check


def text(max_chars: int = 200, pattern: re.Pattern | None = None, what: str = "a string") -> Callable:
    def check(v: Any, where: str) -> str:
        if not isinstance(v, str) or not v or len(v) > max_chars:
            raise _bad(where, f"{what} of 1..{max_chars} characters", v)
        if pattern is not None and not pattern.match(v):
            raise _bad(where, what, v)
        return v

    return check


def boolean(v: Any, where: str) -> bool:
    if not isinstance(v, bool):
        raise _bad(where, "true or false", v)
    return v


def choice(*options: str) -> Callable:
    def check(v: Any, where: str) -> str:
        if v not in options:
            raise _bad(where, "one of " + ", ".join(options), v)
        return v

    return check


def tags(v: Any, where: str) -> list[str]:
    if not isinstance(v, list) or len(v) > 32:
        raise _bad(where, "a list of at most 32 tags", v)
    for i, t in enumerate(v):
        if not isinstance(t, str) or not _TAG_RE.match(t):
            raise _bad(f"{where}[{i}]", "a tag of 1..64 printable characters", t)
    return list(v)


def consent(v: Any, where: str) -> dict[str, Any]:
    """The consent record: ``given`` must be true; the rest describes how it was obtained."""
    if not isinstance(v, dict):
        raise _bad(where, 'an object like {"given": true, "method": "verbal"}', v)
    spec = {
        "given": Arg(boolean, required=True),
        "method": Arg(text(64)),
        "recorded_by": Arg(text(64)),
        "form_version": Arg(text(64)),
        "pose_capture": Arg(boolean),
        "note": Arg(text(1000)),
    }
    out = check_args(spec, v, where)
    if out["given"] is not True:
        raise ProtocolError(E_BAD_ARGS, f"{where}.given: a session needs recorded consent (given: true)")
    return out


def check_args(spec: Mapping[str, Arg], args: Any, where: str = "args") -> dict[str, Any]:
    """Validate ``args`` against ``spec``: unknown keys, missing required keys and bad values are errors."""
    if not isinstance(args, dict):
        raise _bad(where, "an object", args)
    if isinstance(spec, _AnyArgs):
        return dict(args)
    for key in args:
        if key not in spec:
            known = ", ".join(sorted(spec)) or "none"
            raise ProtocolError(E_BAD_ARGS, f"{where}.{key}: unknown argument (known: {known})")
    out: dict[str, Any] = {}
    for key, arg in spec.items():
        if key in args:
            out[key] = arg.check(args[key], f"{where}.{key}")
        elif arg.required:
            raise ProtocolError(E_BAD_ARGS, f"{where}.{key}: missing required argument")
    return out


# ------------------------------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class CommandSpec:
    """What a command takes, who may send it and who executes it."""

    args: Mapping[str, Arg]
    lead_only: bool = True
    target: str = "controller"  # "controller" (player.control) or "session" (the session server)
    logged: bool = True  # executed commands are logged as a ``command`` event
    doc: str = ""
    extra_check: Callable[[dict[str, Any]], None] | None = None


def _at_least_one(*keys: str) -> Callable[[dict[str, Any]], None]:
    def check(args: dict[str, Any]) -> None:
        if not any(k in args for k in keys):
            raise ProtocolError(E_BAD_ARGS, "args: give at least one of " + ", ".join(keys))

    return check


_AT = Arg(number(0.0, what="a player monotonic time in seconds"))

COMMANDS: dict[str, CommandSpec] = {
    # connection and state (anyone paired)
    "hello": CommandSpec(
        {"client": Arg(text(64)), "cid": Arg(text(64))},
        lead_only=False,
        target="session",
        logged=False,
        doc="introduce a console; answers player name, role, endpoints, heartbeat interval",
    ),
    "ping": CommandSpec(
        {"cid": Arg(text(64))},
        lead_only=False,
        target="session",
        logged=False,
        doc="heartbeat from a console; answers the player's monotonic and UTC time",
    ),
    "clock.sync": CommandSpec(
        {"seq": Arg(integer(0))},
        lead_only=False,
        target="session",
        logged=False,
        doc="clock estimation: t1 (request read) and t2 (reply built) on the player's monotonic clock",
    ),
    "bye": CommandSpec(
        {"cid": Arg(text(64))},
        lead_only=False,
        target="session",
        logged=False,
        doc="a console leaving on purpose (not reported as lost)",
    ),
    "snapshot": CommandSpec(
        {},
        lead_only=False,
        target="session",
        logged=False,
        doc="clone-pattern snapshot: state, session and the last published sequence number",
    ),
    "events": CommandSpec(
        {
            "session": Arg(text(64)),
            "after": Arg(integer(0)),
            "limit": Arg(integer(1, 1000)),
        },
        lead_only=False,
        target="session",
        logged=False,
        doc="events from the player's log after (session, after), in log order, across sessions",
    ),
    "poses": CommandSpec(
        {
            "session": Arg(text(64), required=True),
            "after": Arg(integer(0)),
            "limit": Arg(integer(1, 20000)),
        },
        lead_only=False,
        target="session",
        logged=False,
        doc="a session's pose samples from the player's log: [mono, media_t, x, y, z, w] after pseq 'after'",
    ),
    "sessions": CommandSpec(
        {"limit": Arg(integer(1, 1000))},
        lead_only=False,
        target="session",
        logged=False,
        doc="the sessions in the player's log, newest first",
    ),
    "status": CommandSpec(
        {},
        lead_only=False,
        target="session",
        logged=False,
        doc="the controller's status plus the session and connection state",
    ),
    # playback (executed by player.control.Controller.dispatch)
    "load": CommandSpec(
        {"film": Arg(text(128), required=True), "play": Arg(boolean), "at": _AT},
        doc="load a film by id (and play it at once with play: true)",
    ),
    "play": CommandSpec({"at": _AT}, doc="play (resume exactly where paused)"),
    "pause": CommandSpec({"at": _AT}, doc="pause"),
    "seek": CommandSpec(
        {"t": Arg(number(0.0, what="media seconds"), required=True), "at": _AT}, doc="seek to media time t"
    ),
    "chapter": CommandSpec(
        {"id": Arg(text(128), required=True), "at": _AT},
        doc="jump to a chapter by id",
    ),
    "next_safe_point": CommandSpec({"at": _AT}, doc="skip to the next safe point of the film"),
    "rate": CommandSpec(
        {"rate": Arg(number(0.5, 8.0, what="a playback rate"), required=True)},
        doc="playback rate: 0.5..2 with audio; above 2 the video-only fast mode (QA)",
    ),
    "volume": CommandSpec(
        {"volume": Arg(number(0.0, 1.0, what="a volume")), "muted": Arg(boolean)},
        doc="volume 0..1 and/or mute",
        extra_check=_at_least_one("volume", "muted"),
    ),
    "mute": CommandSpec({"muted": Arg(boolean, required=True)}, doc="mute or unmute (ramped)"),
    "recentre": CommandSpec({}, doc="make the viewer's current heading the film's front"),
    "welfare": CommandSpec(
        {"action": Arg(choice("soften", "stop", "resume"), required=True)},
        doc="soften (dim, quieter), stop (fade to calm scene, mute, pause) or resume",
    ),
    # session and annotations (executed by the session server)
    "session.start": CommandSpec(
        {
            "participant": Arg(
                text(32, PARTICIPANT_RE, "a pseudonymous code like P-017 (letters, digits, - and _)"),
                required=True,
            ),
            "consent": Arg(consent, required=True),
            "facilitator": Arg(text(64)),
            "group": Arg(text(64)),
            "pause_on_lost": Arg(boolean),
        },
        target="session",
        doc="start a facilitated session (ends the current one)",
    ),
    "session.end": CommandSpec({"reason": Arg(text(200))}, target="session", doc="end the session"),
    "annotate": CommandSpec(
        {
            "text": Arg(text(4000)),
            "tags": Arg(tags),
            "media_t": Arg(number(0.0, what="media seconds")),
        },
        target="session",
        doc="pin a note at a media time (default: now)",
        extra_check=_at_least_one("text", "tags"),
    ),
    "annotation.edit": CommandSpec(
        {"ref": Arg(integer(1), required=True), "text": Arg(text(4000)), "tags": Arg(tags)},
        target="session",
        doc="edit an annotation (a new event referring to it)",
        extra_check=_at_least_one("text", "tags"),
    ),
    "annotation.delete": CommandSpec(
        {"ref": Arg(integer(1), required=True)},
        target="session",
        doc="delete an annotation (a new event referring to it; nothing is overwritten)",
    ),
    "purge": CommandSpec(
        {"older_than_days": Arg(number(0.0, 36500.0, what="days"), required=True)},
        target="session",
        doc="delete ended sessions older than the given age (the purge is logged)",
    ),
}


def any_args(v: Any, where: str) -> Any:
    """Accept any JSON value (the command's handler validates it)."""
    return v


def register_command(
    name: str,
    args: Mapping[str, Arg] | None = None,
    *,
    lead_only: bool = True,
    target: str = "controller",
    logged: bool = True,
    doc: str = "",
) -> CommandSpec:
    """Add a command to the catalogue (for other parts of Viewpoint, e.g. group sessions' ``group.sync``).

    ``target="controller"``: the server hands it to ``Controller.dispatch``; ``target="session"``: to a
    handler registered with ``SessionServer.add_handler``. ``args=None`` accepts any argument object and
    leaves validation to the handler. Registering an existing name again replaces it.
    """
    if not re.match(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", name):
        raise ValueError(f"command name {name!r}: expected lower-case words joined by dots")
    if target not in ("controller", "session"):
        raise ValueError(f"target={target!r}: expected 'controller' or 'session'")
    spec = CommandSpec(args if args is not None else _ANY, lead_only, target, logged, doc)
    COMMANDS[name] = spec
    return spec


class _AnyArgs(dict):
    """An args spec that accepts every key (see register_command(args=None))."""

    def __contains__(self, key: object) -> bool:
        return True

    def get(self, key: Any, default: Any = None) -> Any:
        return Arg(any_args)


_ANY: Mapping[str, Arg] = _AnyArgs()


# ---------------------------------------------------------------------------------------------------- codec


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
        raise ProtocolError(E_TOO_LARGE, f"command: {len(raw)} bytes, limit {MAX_MESSAGE_BYTES}")
    obj = _loads_object(raw, "command")
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


# ------------------------------------------------------------------------------------------- clone state


def initial_state() -> dict[str, Any]:
    return {
        "transport": None,
        "film": None,
        "media_t": None,
        "welfare": "none",
        "held": None,
        "chapter": None,
        "session": None,
        "participant": None,
        "warning": None,
        "facilitators": {},
    }


# transport.<state> events that are state changes (docs/transport.md); other transport.* kinds are notices
TRANSPORT_STATES = frozenset(
    ("idle", "loaded", "playing", "paused", "seeking", "buffering", "ended", "error", "closed")
)


def apply_event(state: dict[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """Fold one event into a clone-pattern state dict (in place; also returned).

    Only the fields listed in :func:`initial_state` are derived; everything else a console needs is in the
    events themselves.
    """
    kind = event.get("type", "")
    data = event.get("data") or {}
    state["session"] = event.get("session", state.get("session"))
    if event.get("film") is not None:
        state["film"] = event["film"]
    if event.get("media_t") is not None:
        state["media_t"] = event["media_t"]
    if kind.startswith("transport."):
        name = kind.split(".", 1)[1]
        # only state changes (docs/transport.md, States); notices (rate, volume, warning) and a non-fatal
        # error (the state is unchanged) leave the transport state alone
        fatal = not isinstance(data, dict) or data.get("fatal") is not False
        if name in TRANSPORT_STATES and (name != "error" or fatal):
            state["transport"] = name
    elif kind == "welfare.changed" and isinstance(data, dict):
        state["welfare"] = data.get("level", state.get("welfare"))
    elif kind == "hold.changed" and isinstance(data, dict):
        state["held"] = data.get("reason") if data.get("held") else None
    elif kind == "chapter.entered" and isinstance(data, dict):
        state["chapter"] = data.get("id")
    elif kind == "content_warning.entered" and isinstance(data, dict):
        state["warning"] = data
    elif kind == "content_warning.exited":
        state["warning"] = None
    elif kind == "session.started" and isinstance(data, dict):
        state["participant"] = data.get("participant")
    elif kind == "session.ended":
        state["participant"] = None
    elif kind == "facilitator.connected" and isinstance(data, dict):
        state.setdefault("facilitators", {})[str(data.get("key", "?"))] = {**data, "alive": True}
    elif kind in ("facilitator.lost", "facilitator.left", "facilitator.revoked") and isinstance(data, dict):
        f = state.setdefault("facilitators", {}).get(str(data.get("key", "?")))
        if f is not None:
            f["alive"] = False
    return state
