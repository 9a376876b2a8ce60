"""The console's side of the session lifecycle (the player owns it: docs/protocol.md, "Session lifecycle").

- :class:`Tabs`: one browser tab drives the session; every other tab of the same console is read-only, with a
  notice, until it takes over (a STOP NOW is taken from any tab: safety never waits for a hand-over).
- :func:`note_interrupted`: a facilitated session that a crash ended (``session.ended`` with reason
  ``interrupted``) is kept in the page state until resumed or replaced, so the page can offer to resume it.
- :func:`purge`: the lead's purge from the page: the player's log, then this console's reports of the purged
  sessions.
- :func:`participant_rule`: the programme's participant code rule beside the library's manifest, if any.
- :func:`label_type`: the console's ``--site``/``--cohort`` checked by the wire contract's label rule.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from facilitator.console.link import LinkError
from player import protocol as P
from player.protocol.participant import check_participant, rule_beside


class Tabs:
    """The open pages (WebSockets) of one console and the one among them that drives."""

    def __init__(self) -> None:
        self.open: list[Any] = []  # in the order they connected
        self.driver: Any = None

    def join(self, ws: Any) -> None:
        self.open.append(ws)
        if self.driver is None:
            self.driver = ws

    def leave(self, ws: Any) -> None:
        """A tab closed: if it drove, the one open longest drives now."""
        if ws in self.open:
            self.open.remove(ws)
        if self.driver is ws:
            self.driver = self.open[0] if self.open else None

    def take_over(self, ws: Any) -> None:
        if ws in self.open:
            self.driver = ws

    def may(self, ws: Any, cmd: object, args: dict[str, Any]) -> bool:
        """Whether this tab may send ``cmd``: the driving tab anything; the others reads, and STOP NOW."""
        if ws is self.driver or cmd in ("status", "report"):
            return True
        return cmd == "welfare" and args.get("action") == "stop"

    def message(self, ws: Any) -> dict[str, Any]:
        """What one tab is told: whether it drives, and how many tabs are open."""
        return {"kind": "tabs", "driver": ws is self.driver, "tabs": len(self.open)}


def refuse_other_tab(cmd: object) -> LinkError:
    why = "another tab drives this session; this one is read-only until it takes over"
    return LinkError("forbidden", f"{str(cmd)[:40]}: {why}")


def note_interrupted(state: dict[str, Any], ev: dict[str, Any], participant_before: str | None) -> None:
    """Keep ``state["interrupted"]`` (session, participant, media_t) from a crash's ``session.ended`` until
    a facilitated session starts (resumed or new)."""
    kind, data = ev.get("type"), ev.get("data") or {}
    if kind == "session.ended" and data.get("reason") == "interrupted" and participant_before:
        state["interrupted"] = {
            "session": ev.get("session"),
            "participant": participant_before,
            "media_t": state.get("media_t"),
        }
    elif kind == "session.started" and data.get("participant"):
        state["interrupted"] = None


async def purge(server: Any, args: dict[str, Any]) -> dict[str, Any]:
    """Purge the player's sessions that ended more than ``older_than_days`` ago (its log erases them and
    logs ``log.purged``), then remove this console's reports of those sessions."""
    days = args.get("older_than_days")
    if isinstance(days, bool) or not isinstance(days, (int, float)) or not 0 <= days <= 36500:
        raise LinkError(P.E_BAD_ARGS, "older_than_days: expected days from 0 to 36500")
    res = await server.command("purge", {"older_than_days": float(days)})
    removed, kept = [], []
    for sid in res.get("purged") or []:
        path = Path(server.report_dir) / f"report-{sid}.html"
        try:
            path.unlink()
            removed.append(path.name)
        except FileNotFoundError:
            pass
        except OSError as exc:
            kept.append(f"{path} ({exc.strerror or exc})")
    return {"count": res.get("count", 0), "purged": res.get("purged") or [], "reports_removed": removed,
            "reports_kept": kept}  # fmt: skip


def participant_rule(library: Any) -> tuple[str, str] | None:
    """The programme's (pattern, example) from ``participant-codes.yaml`` beside the manifest, or None."""
    path = getattr(library, "path", None)
    return rule_beside(Path(path)) if path else None


def new_code(rule: tuple[str, str] | None) -> str:
    """A generated code when it passes the rule (a programme's own pattern may need typed codes): else ""."""
    code = P.new_participant_code()
    try:
        return check_participant(code, rule[0] if rule else None)
    except P.ParticipantCodeError:
        return ""


def label_type(option: str) -> Callable[[str], str]:
    """An argparse type for a site or cohort label, by the rule ``session.start`` applies (``P.label``)."""

    def parse(text: str) -> str:
        try:
            return P.label(text, option)
        except P.ProtocolError as exc:
            raise argparse.ArgumentTypeError(exc.message.removeprefix(f"{option}: ")) from None

    parse.__name__ = "label"
    return parse
