"""The controller's constants and its one error type."""

from __future__ import annotations

import logging
from collections.abc import Callable

from player import protocol as P

log = logging.getLogger("player.control")

EventSink = Callable[[str, dict], None]
WARNING_LEAD_S = 10.0  # "content warning upcoming" this long before it starts
SOFTEN_VOLUME = 0.4
SEEK_STEP_S = 5.0
HASH_WAIT_S = 1.0  # a load waits this long for the film's sha256; later, film.verified says it
HOLD_REASONS = ("break_request", "focus_lost", "headset_off")
RUNTIME_NOTICES = {  # backend lifecycle notice -> the event the facilitator and the log see
    "runtime_lost": "runtime.lost",
    "runtime_restored": "runtime.restored",
    "space_changed": "runtime.space_changed",
    "input_profile": "viewer.input_profile",
}


class CommandError(P.ProtocolError):
    """A playback command that could not be carried out: the protocol's one error (``code`` for programs,
    ``message`` for people), raised by the controller; its text is the message alone."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)

    def __str__(self) -> str:
        return self.message
