"""The controller: the only thing that changes playback state in response to a command (``controller.py``),
with its parts: loading films (``films.py``), holds and welfare (``welfare.py``), time-driven events
(``timed.py``), the command table (``table.py``), film hashing (``hashing.py``), constants
(``constants.py``).
"""

from player.control.constants import (
    HOLD_REASONS,
    RUNTIME_NOTICES,
    SEEK_STEP_S,
    SOFTEN_VOLUME,
    WARNING_LEAD_S,
    CommandError,
    EventSink,
)
from player.control.controller import Controller
from player.control.hashing import FilmHasher
from player.control.table import COMMANDS

__all__ = [
    "COMMANDS", "HOLD_REASONS", "RUNTIME_NOTICES", "SEEK_STEP_S", "SOFTEN_VOLUME", "WARNING_LEAD_S",
    "CommandError", "Controller", "EventSink", "FilmHasher",
]  # fmt: skip
