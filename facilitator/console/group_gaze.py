"""Where each viewer of a group looks: the group page's gaze thumbnails.

A mixin of :class:`facilitator.console.group.GroupConsole`. The console already receives each headset's pose
samples (the same stream the single-headset page draws); this keeps the latest one per headset, folded to the
film's heading and pitch (the film's front and the viewer's recentre applied, as on the single page) and to
picture coordinates. The consent rules are the single session's: a player streams poses only in a session
whose consent has ``pose_capture: true``, so a thumbnail shows a dot only for a sample of the headset's
current session; otherwise it says why not ("not shared" without pose consent, "no session" in the lobby).
"""

from __future__ import annotations

import time
from typing import Any

from facilitator.report.pose import film_heading_pitch, to_uv

STALE_S = 3.0  # a pose older than this is shown as stale (the headset went quiet, or stopped sending)


class GroupGaze:
    """The latest gaze of each headset and whether its session shares it (see module doc)."""

    controller: Any
    library: Any

    def _gaze_init(self) -> None:
        self._gaze: dict[str, dict[str, Any]] = {}  # headset -> latest sample, folded
        self._pose_consent: dict[str, tuple[str | None, bool]] = {}  # headset -> (session, pose consented)
        self._recentre: dict[str, float] = {}  # headset -> yaw that makes its current heading the front

    def gaze_event(self, player: str, ev: dict[str, Any]) -> None:
        """Fold one headset event (console loop): its session's pose consent, its recentre."""
        etype = ev.get("type")
        data = ev.get("data") if isinstance(ev.get("data"), dict) else {}
        if etype == "session.started":
            consent = data.get("consent") if isinstance(data.get("consent"), dict) else {}
            shared = bool(data.get("participant")) and consent.get("pose_capture") is True
            self._pose_consent[player] = (ev.get("session"), shared)
            self._gaze.pop(player, None)
        elif etype == "session.ended":
            self._pose_consent[player] = (ev.get("session"), False)
            self._gaze.pop(player, None)
        elif etype == "viewer.recentre" and isinstance(data.get("heading"), (int, float)):
            self._recentre[player] = -float(data["heading"])

    def on_pose(self, player: str, sample: dict[str, Any]) -> None:
        """A headset's pose sample (console loop, at the pose rate): kept raw, folded only when sent."""
        data = sample.get("data") if isinstance(sample.get("data"), dict) else sample
        q = data.get("q") or data.get("orientation")
        if not isinstance(q, (list, tuple)) or len(q) != 4:
            return
        session = sample.get("session")
        known = self._pose_consent.get(player)
        if known is None or known[0] != session:
            self._pose_consent[player] = (session, True)  # the player streams poses only under consent
        self._gaze[player] = {"session": session, "q": q, "film": sample.get("film"),
                              "media_t": sample.get("media_t"), "at": time.monotonic()}  # fmt: skip

    def _fold_gaze(self, player: str, g: dict[str, Any]) -> dict[str, Any] | None:
        """Heading, pitch and picture coordinates (u, v) of a kept sample; None if it cannot be read."""
        film = self._gaze_film(g["film"])
        front = float(getattr(film, "front_heading", 0.0) or 0.0)
        try:
            q = [float(c) for c in g["q"]]
            heading, pitch = film_heading_pitch(q, front, self._recentre.get(player, 0.0))
        except (TypeError, ValueError):
            return None
        uv = to_uv(heading, pitch, getattr(film, "projection", "equirect360") or "equirect360")
        return {
            "heading": round(heading, 1),
            "pitch": round(pitch, 1),
            "u": None if uv is None else round(uv[0], 4),
            "v": None if uv is None else round(uv[1], 4),
            "media_t": g["media_t"],
        }

    def _gaze_film(self, film_id: Any) -> Any:
        films = getattr(self.library, "films", None) or {}
        return films.get(film_id) or films.get(self.controller.film)

    def gaze_state(self, players: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Per headset of the controller's view: ``shared`` with heading, pitch, u, v (0..1 in the picture),
        ``age_s`` and ``stale``; or not shared, with ``why``."""
        now = time.monotonic()
        out: dict[str, dict[str, Any]] = {}
        for p in players:
            name = p["name"]
            state = p.get("state") or {}
            session = state.get("session")
            if p.get("present") is False:
                out[name] = {"shared": False, "why": "absent"}
            elif not state.get("participant"):
                out[name] = {"shared": False, "why": "no session"}
            elif self._pose_consent.get(name, (None, None)) == (session, False):
                out[name] = {"shared": False, "why": "not shared (no pose consent)"}
            else:
                g = self._gaze.get(name)
                folded = None if g is None or g["session"] != session else self._fold_gaze(name, g)
                if folded is None:
                    consented = self._pose_consent.get(name) == (session, True)
                    why = "waiting for the headset's pose" if consented else "not shared (no pose from it)"
                    out[name] = {"shared": False, "why": why}
                else:
                    age = now - g["at"]
                    out[name] = {"shared": True, **folded, "age_s": round(age, 1), "stale": age > STALE_S}
        return out
