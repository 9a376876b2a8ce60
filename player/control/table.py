"""The controller's command table: one handler per catalogue command with target "controller"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from player import protocol as P
from player.control.constants import CommandError

log = logging.getLogger("player.control")


class CommandTable:
    """``dispatch``: validate by the catalogue, run the handler (mixed into :class:`Controller`)."""

    def dispatch(self, cmd: str, args: dict | None = None) -> dict:
        """Carry out one playback command of the catalogue (``target="controller"``), validated there;
        returns its result or raises CommandError."""
        spec = P.COMMANDS.get(cmd)
        handler = _HANDLERS.get(cmd)
        if spec is None or handler is None:
            raise CommandError(
                "unknown_command", f"cmd: unknown command {cmd!r} (known: {', '.join(_HANDLERS)})"
            )
        try:
            args = P.check_args(spec.args, args if args is not None else {})
            if spec.extra_check is not None:
                spec.extra_check(args)
        except P.ProtocolError as exc:
            raise CommandError(exc.code, exc.message) from None
        try:
            return handler(self, args)
        except CommandError:
            raise
        except ValueError as exc:
            raise CommandError("bad_args", str(exc)) from None
        except Exception as exc:  # never let a command take the player down
            log.exception("command %s failed", cmd)
            raise CommandError("internal", f"{cmd} failed: {exc}") from None


def _volume(c: Any, args: dict) -> dict:
    result: dict = {}
    if "muted" in args:
        result.update(c.set_muted(args["muted"]))
    if "volume" in args:
        result.update(c.set_volume(args["volume"]))
    return result


# One handler per catalogue command with target "controller" (arguments already checked by the catalogue).
_HANDLERS: dict[str, Callable[[Any, dict], dict]] = {
    "load": lambda c, a: c.load(a["film"], play=a.get("play", False)),
    "play": lambda c, a: c.play(),
    "pause": lambda c, a: c.pause(),
    "seek": lambda c, a: c.seek(a["t"]),
    "chapter": lambda c, a: c.chapter(a["id"]) if "id" in a else c.chapter(index=a["index"]),
    "next_safe_point": lambda c, a: c.next_safe_point(),
    "rate": lambda c, a: c.set_rate(a["rate"]),
    "volume": _volume,
    "mute": lambda c, a: c.set_muted(a["muted"]),
    "recentre": lambda c, a: c.recentre(),
    "subtitles": lambda c, a: c.set_subtitles(a["language"]),
    "welfare": lambda c, a: c.set_welfare(a["action"]),
    "questionnaire.show": lambda c, a: c.show_questionnaire(a["phase"], a["items"]),
    "questionnaire.cancel": lambda c, a: c.cancel_questionnaire(),
}
COMMANDS = tuple(_HANDLERS)
