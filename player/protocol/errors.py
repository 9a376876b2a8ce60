"""The one coded error type of the wire contract and every error code a reply can carry.

Clients switch on ``error.code``; ``docs/protocol.md`` lists the same table (a test checks both agree).
"""

from __future__ import annotations

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
E_WELFARE_STOP = "welfare_stop"
E_NO_SAFE_POINT = "no_safe_point"
E_HELD = "held"
E_LOAD_FAILED = "load_failed"
E_LOG_UNAVAILABLE = "log_unavailable"
E_ID_REUSED = "id_reused"
E_NO_CONSENT = "no_consent"

ERROR_CODES: dict[str, str] = {
    E_BAD_JSON: "the message is not UTF-8 JSON (the reply's id is the request's where it could be read)",
    E_BAD_MESSAGE: "a JSON object that is not a command (missing or bad id, cmd, unknown field)",
    E_BAD_VERSION: "the command's v is not this protocol version",
    E_UNKNOWN_COMMAND: "cmd names no command in the catalogue",
    E_BAD_ARGS: "an argument is missing, unknown or out of range (the message names it)",
    E_FORBIDDEN: "an observer sent a lead-only command",
    E_TOO_LARGE: "the message is larger than the 64 KiB limit",
    E_NOT_FOUND: "the film, chapter, session or annotation named does not exist",
    E_NO_SESSION: "the command needs a session and none is running",
    E_UNAVAILABLE: "the player cannot take the command now (busy console, unbound socket)",
    E_INTERNAL: "the command failed inside the player (logged there)",
    E_TIMEOUT: "client side: no reply within the client's timeout",
    E_WELFARE_STOP: "play, seek or load refused while a welfare stop holds the viewer in the calm scene",
    E_NO_SAFE_POINT: "next_safe_point: no safe point after the current time",
    E_HELD: "play refused while the player is held (headset off, console lost)",
    E_LOAD_FAILED: "the film could not be opened or decoded",
    E_LOG_UNAVAILABLE: "the session log cannot be written (disk full, read-only, stalled); nothing was done",
    E_ID_REUSED: "the request id was used before for a different command",
    E_NO_CONSENT: "a film plays to a viewer only inside a session with recorded consent",
}


class ProtocolError(Exception):
    """A message or command that cannot be accepted; ``code`` is one of :data:`ERROR_CODES`."""

    def __init__(self, code: str, message: str, request_id: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id
