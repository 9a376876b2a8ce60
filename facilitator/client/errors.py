"""The client's errors, and how user callbacks' errors are contained."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("viewpoint.facilitator.client")


class ClientError(Exception):
    """Base class of the client's errors."""


class CommandFailed(ClientError):
    """The player answered with an error: ``code`` (stable, see protocol.md) and ``message``."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class RequestTimeout(ClientError):
    """No answer after all retries: the player is unreachable (or refuses this console's key)."""


class PairingError(ClientError):
    """Pairing failed (wrong code, no player at that address, or refused)."""


def failed(error: dict[str, Any]) -> CommandFailed:
    """The exception for a reply's ``error`` object."""
    return CommandFailed(error.get("code", "?"), error.get("message", ""))


def call_safely(fn: Callable[..., Any], *args: Any) -> None:
    """Run a user callback on the I/O thread; an exception in it is logged, never raised."""
    try:
        fn(*args)
    except Exception:
        log.exception("client callback failed")
