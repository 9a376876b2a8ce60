"""The command catalogue: every command of the protocol, in one table (mpv's ``mp_cmds[]``).

Each entry says what the command takes (argument spec), who executes it (``target``), who may send it
(``lead_only``), whether it jumps every queue (``urgent``: the welfare stop), whether an executed one is
logged as a ``command`` event (``logged``) and whether a console page may send it through (``page``).
The player validates once, from here, and routes by these flags; the console forwards by ``page`` and
picks its urgent channel by ``urgent``. Nothing registers commands at run time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .args import (
    Arg,
    boolean,
    choice,
    consent,
    integer,
    json_object,
    label,
    number,
    participant_code,
    tags,
    text,
)
from .errors import E_BAD_ARGS, ProtocolError
from .questionnaire import PHASES, questionnaire_items

CONTROLLER = "controller"  # player.control: the playback state, owned by the render loop
SESSION = "session"  # the session server: connection, log, sessions and annotations
GROUP = "group"  # the player's group follower (docs/group.md)
TARGETS = (CONTROLLER, SESSION, GROUP)

WELFARE_ACTIONS = ("soften", "stop", "resume")
"""The welfare actions, in the order a console offers them; the levels they lead to are ``WELFARE_LEVELS``."""
WELFARE_LEVELS = ("none", "soften", "stop")


@dataclass(frozen=True)
class CommandSpec:
    """What a command takes, who may send it and who executes it."""

    args: Mapping[str, Arg]
    target: str = CONTROLLER
    lead_only: bool = True
    urgent: bool = False
    logged: bool = True
    page: bool = False
    doc: str = ""
    extra_check: Callable[[dict[str, Any]], None] | None = None


def _at_least_one(*keys: str) -> Callable[[dict[str, Any]], None]:
    def check(args: dict[str, Any]) -> None:
        if not any(k in args for k in keys):
            raise ProtocolError(E_BAD_ARGS, "args: give at least one of " + ", ".join(keys))

    return check


def _one_of(*keys: str) -> Callable[[dict[str, Any]], None]:
    def check(args: dict[str, Any]) -> None:
        if sum(k in args for k in keys) != 1:
            raise ProtocolError(E_BAD_ARGS, "args: give exactly one of " + ", ".join(keys))

    return check


_AT = Arg(number(0.0, what="a player monotonic time in seconds"))
_SUBTITLES = re.compile(r"(?:auto|off|[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\Z")


def _answer_value(v: Any, where: str) -> Any:
    """An answer: a whole number, true or false, or text of at most 2000 characters (the console and the
    programme store check it against the programme's item)."""
    if (
        isinstance(v, bool)
        or (isinstance(v, int) and abs(v) <= 1_000_000)
        or (isinstance(v, str) and len(v) <= 2000)
    ):
        return v
    raise ProtocolError(
        E_BAD_ARGS, f"{where}: expected a whole number, true/false or text (at most 2000 characters)"
    )


def _read(args: Mapping[str, Arg], doc: str) -> CommandSpec:
    """A read-only command answered by the session server to any paired console."""
    return CommandSpec(args, target=SESSION, lead_only=False, logged=False, doc=doc)


COMMANDS: dict[str, CommandSpec] = {
    # connection and state (anyone paired)
    "hello": _read(
        {"client": Arg(text(64)), "cid": Arg(text(64))},
        "introduce a console; answers player name, role, endpoints, heartbeat interval",
    ),
    "ping": _read({"cid": Arg(text(64))}, "heartbeat from a console; answers the player's times and health"),
    "clock.sync": _read(
        {"seq": Arg(integer(0))},
        "clock estimation: t1 (request read) and t2 (reply built) on the player's monotonic clock",
    ),
    "bye": _read({"cid": Arg(text(64))}, "a console leaving on purpose (not reported as lost)"),
    "snapshot": _read({}, "clone-pattern snapshot: state, session and the last published sequence number"),
    "events": _read(
        {"session": Arg(text(64)), "after": Arg(integer(0)), "limit": Arg(integer(1, 1000))},
        "events from the player's log after (session, after), in log order; without session, 'after' is a"
        " global sequence number across sessions",
    ),
    "poses": _read(
        {
            "session": Arg(text(64), required=True),
            "after": Arg(integer(0)),
            "limit": Arg(integer(1, 20000)),
        },
        "a session's pose samples from the player's log: [mono, media_t, x, y, z, w] after pseq 'after'",
    ),
    "sessions": _read({"limit": Arg(integer(1, 1000))}, "the sessions in the player's log, newest first"),
    "status": CommandSpec(
        {},
        target=SESSION,
        lead_only=False,
        logged=False,
        page=True,
        doc="the controller's status plus the session, health and connection state",
    ),
    # playback (executed by player.control.Controller)
    "load": CommandSpec(
        {"film": Arg(text(128), required=True), "play": Arg(boolean), "at": _AT},
        doc="load a film by id (and play it at once with play: true)",
    ),
    "play": CommandSpec({"at": _AT}, page=True, doc="play (resume exactly where paused)"),
    "pause": CommandSpec({"at": _AT}, page=True, doc="pause"),
    "seek": CommandSpec(
        {"t": Arg(number(0.0, what="media seconds"), required=True), "at": _AT},
        page=True,
        doc="seek to media time t",
    ),
    "chapter": CommandSpec(
        {"id": Arg(text(128)), "index": Arg(integer(0)), "at": _AT},
        page=True,
        doc="jump to a chapter by id or by index (0 is the first)",
        extra_check=_one_of("id", "index"),
    ),
    "next_safe_point": CommandSpec({"at": _AT}, page=True, doc="skip to the next safe point of the film"),
    "rate": CommandSpec(
        {"rate": Arg(number(0.5, 8.0, what="a playback rate"), required=True)},
        page=True,
        doc="playback rate: 0.5..2 with audio; above 2 the video-only fast mode (QA)",
    ),
    "volume": CommandSpec(
        {"volume": Arg(number(0.0, 1.0, what="a volume")), "muted": Arg(boolean)},
        page=True,
        doc="volume 0..1 and/or mute",
        extra_check=_at_least_one("volume", "muted"),
    ),
    "mute": CommandSpec({"muted": Arg(boolean, required=True)}, page=True, doc="mute or unmute (ramped)"),
    "recentre": CommandSpec({}, page=True, doc="make the viewer's current heading the film's front"),
    "subtitles": CommandSpec(
        {"language": Arg(text(35, _SUBTITLES, "a language tag (en, pt-BR), auto or off"), required=True)},
        page=True,
        doc="the session's subtitle language: a tag (pt finds pt-BR), auto (the film's first) or off",
    ),
    "welfare": CommandSpec(
        {"action": Arg(choice(*WELFARE_ACTIONS), required=True)},
        urgent=True,
        page=True,
        doc="soften (dim, quieter), stop (fade to calm scene, mute, pause) or resume",
    ),
    # session and annotations (executed by the session server)
    "session.start": CommandSpec(
        {
            "participant": Arg(participant_code, required=True),
            "consent": Arg(consent, required=True),
            "facilitator": Arg(text(64)),
            "group": Arg(text(64)),
            "pause_on_lost": Arg(boolean),
            "site": Arg(label),
            "cohort": Arg(label),
        },
        target=SESSION,
        page=True,
        doc="start a facilitated session (ends the current one)",
    ),
    "session.end": CommandSpec(
        {"reason": Arg(text(200))},
        target=SESSION,
        page=True,
        doc="end the session: the film stops and the calm scene shows before session.ended is logged",
    ),
    "session.resume": CommandSpec(
        {"session": Arg(text(64), required=True)},
        target=SESSION,
        page=True,
        doc="resume an interrupted session (a crash ended it): a new session with its participant and"
        " consent, the film loaded and paused at its last position; session.started says resumed",
    ),
    "annotate": CommandSpec(
        {"text": Arg(text(4000)), "tags": Arg(tags), "media_t": Arg(number(0.0, what="media seconds"))},
        target=SESSION,
        page=True,
        doc="pin a note (text up to 4000 characters, up to 32 tags) at a media time (default: now)",
        extra_check=_at_least_one("text", "tags"),
    ),
    "annotation.edit": CommandSpec(
        {"ref": Arg(integer(1), required=True), "text": Arg(text(4000)), "tags": Arg(tags)},
        target=SESSION,
        page=True,
        doc="edit an annotation (a new event referring to it)",
        extra_check=_at_least_one("text", "tags"),
    ),
    "annotation.delete": CommandSpec(
        {"ref": Arg(integer(1), required=True)},
        target=SESSION,
        page=True,
        doc="delete an annotation (a new event referring to it; nothing is overwritten)",
    ),
    "answer": CommandSpec(
        {
            "instrument": Arg(text(64), required=True),
            "item": Arg(text(64), required=True),
            "phase": Arg(choice("pre", "post", "follow_up"), required=True),
            "value": Arg(_answer_value, required=True),
        },
        target=SESSION,
        page=True,
        doc="a participant's answer to a questionnaire item (docs/evaluation.md): questionnaire.answered",
    ),
    "questionnaire.show": CommandSpec(
        {"phase": Arg(choice(*PHASES), required=True), "items": Arg(questionnaire_items, required=True)},
        page=True,
        doc="show items in the headset panel, one at a time, answered with the controller's ray and trigger"
        " (docs/evaluation.md): each answer is questionnaire.answered (source headset), then"
        " questionnaire.closed; no_consent outside a consented session",
    ),
    "questionnaire.cancel": CommandSpec(
        {}, page=True, doc="hide the headset panel (questionnaire.closed, reason cancelled)"
    ),
    "purge": CommandSpec(
        {"older_than_days": Arg(number(0.0, 36500.0, what="days"), required=True)},
        target=SESSION,
        doc="delete ended sessions older than the given age (the purge is logged)",
    ),
    # group sessions (executed by the player's group follower; docs/group.md)
    "group.sync": CommandSpec(
        {
            "timeline": Arg(json_object, required=True),
            "cmd": Arg(choice("play", "pause", "seek", "chapter")),
            "args": Arg(json_object),
            "refresh": Arg(boolean),
        },
        target=GROUP,
        doc="follow the group's timeline: act at timeline.at (player clock); see docs/group.md",
    ),
    "group.status": CommandSpec(
        {"since": Arg(number(what="player seconds"))},
        target=GROUP,
        lead_only=False,
        logged=False,
        doc="sync figures, recent executions and (player instant, media time) samples after since",
    ),
    "group.leave": CommandSpec({}, target=GROUP, doc="stop following the group"),
    "group.clock": CommandSpec(
        {"seq": Arg(integer(0))},
        target=GROUP,
        lead_only=False,
        logged=False,
        doc="clock estimation on the group clock (the one group.sync instants are on): t1 (taken) and t2"
        " (answered), player seconds; under the clock test facility it differs from clock.sync's",
    ),
}

PAGE_COMMANDS = frozenset(name for name, spec in COMMANDS.items() if spec.page)
URGENT_COMMANDS = frozenset(name for name, spec in COMMANDS.items() if spec.urgent)
