"""What the console needs from a connection to one player, and its implementation over the client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

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
