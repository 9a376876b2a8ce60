"""Notes on the group page: one participant's note, or a group note in every participant's log.

A mixin of :class:`facilitator.console.group.GroupConsole`. Both use the protocol's one ``annotate`` command,
so each note is an ``annotation.added`` event in the headset's own session log (the single page's notes, the
report and the LSL events stream read them there). A participant note goes to one headset. A group note goes
to every headset with a running session at once, each copy tagged ``group-note`` and
``group-note:<id>`` with one shared id, so the report (or a researcher) can tell it is one note; a headset
that is absent or has no session is named in the answer, never silently skipped. The group's record gets
``group.note`` (id, who it reached, who it missed).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from typing import Any

from facilitator.console.link import LinkError

MAX_TEXT = 4000  # the annotate command's limit
KEPT = 50  # notes the page lists


class GroupNotes:
    """The ``note`` command of the group page (see module doc)."""

    controller: Any
    links: dict[str, Any]
    name: str

    def _notes_init(self) -> None:
        self.notes: deque[dict[str, Any]] = deque(maxlen=KEPT)

    def _note(self, args: dict[str, Any]) -> dict[str, Any]:
        text = args.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("note: args.text: the note's text (not empty)")
        text = text.strip()
        if len(text) > MAX_TEXT:
            raise ValueError(f"note: args.text: at most {MAX_TEXT} characters, got {len(text)}")
        target = args.get("player") or None
        g = self.controller
        if target is not None and target not in g.members:
            raise ValueError(f"note: args.player: {str(target)[:40]!r} is not in group {self.name}")
        view = {p["name"]: p for p in g.state()["players"]}
        gid = None if target is not None else f"gn-{secrets.token_hex(4)}"
        ann: dict[str, Any] = {"text": text}
        if gid is not None:
            ann["tags"] = ["group-note", f"group-note:{gid}"]
        names = [target] if target is not None else list(g.members)
        missed: dict[str, str] = {}
        ready = []
        for n in names:
            p = view.get(n) or {}
            if p.get("present") is False:
                missed[n] = f"absent: {p.get('absent_reason') or 'not answering'}"
            elif not (p.get("state") or {}).get("participant"):
                missed[n] = "no session running (start sessions first)"
            else:
                ready.append(n)
        delivered, failed = self._annotate_each(ready, ann)
        missed.update(failed)
        if target is not None and missed:
            raise ValueError(f"note for {target}: not written: {missed[target]}")
        if target is None and not delivered:
            raise ValueError("group note: not written on any headset: " + "; ".join(
                f"{k}: {v}" for k, v in sorted(missed.items())))  # fmt: skip
        note = {
            "id": gid,
            "player": target,
            "participant": (view.get(target, {}).get("state") or {}).get("participant") if target else None,
            "text": text,
            "media_t": round(g.timeline.media_at(time.monotonic()), 3),
            "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "delivered": delivered,
            "missed": missed,
        }
        self.notes.appendleft(note)
        if gid is not None:
            g.record("group.note", {"group": self.name, **{k: note[k] for k in ("id", "media_t", "missed")},
                                    "delivered": sorted(delivered)})  # fmt: skip
        return note

    def _annotate_each(self, names: list[str], ann: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """``annotate`` on each headset at once: ({headset: {ref, session}}, {headset: why not})."""
        delivered: dict[str, Any] = {}
        failed: dict[str, str] = {}

        def one(n: str) -> None:
            try:
                r = self.links[n].command("annotate", dict(ann))
                delivered[n] = {"ref": r.get("ref"), "session": r.get("session")}
            except LinkError as exc:
                failed[n] = f"{exc.code}: {exc.message}"
            except Exception as exc:
                failed[n] = f"{type(exc).__name__}: {exc}"

        threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        for n in names:
            if n not in delivered and n not in failed:
                failed[n] = "no answer in 15 s"
        return delivered, failed
