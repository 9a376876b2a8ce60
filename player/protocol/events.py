"""The event catalogue: every event type a player emits, with its category, display label and data fields.

The console (as JSON its page loads), the session report and ``docs/protocol.md`` (checked by a test) all
read this table; a test also checks that every event type the player's code emits is listed here. Tools
must ignore types they do not know: new ones may appear without a version change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventSpec:
    """One event type: ``category`` groups it (playback, welfare, ...), ``label`` is what people read."""

    category: str
    label: str
    fields: tuple[str, ...] = ()
    alert: bool = False  # the console raises it prominently (a viewer's signal, a welfare stop)


def _e(category: str, label: str, fields: str = "", alert: bool = False) -> EventSpec:
    return EventSpec(category, label, tuple(fields.split()), alert)


EVENTS: dict[str, EventSpec] = {
    # playback (the controller and the media engine)
    "transport.idle": _e("playback", "Idle", "from"),
    "transport.loaded": _e(
        "playback", "Film loaded", "path duration width height fps pix_fmt has_audio hwdec audio_output from"
    ),
    "transport.playing": _e("playback", "Playing", "from seeked_to"),
    "transport.paused": _e("playback", "Paused", "from seeked_to"),
    "transport.seeking": _e("playback", "Seek", "target cause chapter from"),
    "transport.buffering": _e("playback", "Buffering", "reason from"),
    "transport.ended": _e("playback", "Film ended", "reason message from"),
    "transport.error": _e("playback", "Playback error", "reason message fatal stream count ends_at"),
    "transport.closed": _e("playback", "Film closed", "from"),
    "transport.rate": _e("playback", "Rate changed", "rate fast"),
    "transport.volume": _e("playback", "Volume", "volume muted"),
    "transport.warning": _e("playback", "Playback degraded", "reason requested active message"),
    "film.verified": _e("playback", "Film checked", "film sha256 sha256_ok expected error"),
    "film.failed": _e("playback", "Film failed: ended, calm scene", "film reason message", alert=True),
    "subtitles.error": _e("playback", "Subtitles unusable", "film message"),
    "chapter.entered": _e("film", "Chapter", "id index title start prompts media_t"),
    "content_warning.upcoming": _e("film", "Content warning soon", "index start end tags note in_s"),
    "content_warning.entered": _e("film", "Content warning begins", "index start end tags note"),
    "content_warning.exited": _e("film", "Content warning over", "index start end tags note media_t"),
    # welfare and holds
    "welfare.changed": _e("welfare", "Welfare", "level previous by media_t", alert=True),
    "hold.changed": _e("welfare", "Hold", "held reason by media_t"),
    # the viewer and the runtime
    "viewer.break_request": _e("viewer", "Viewer asked for a break", "media_t", alert=True),
    "viewer.focus_lost": _e("viewer", "Headset lost focus (system menu or another app)", "media_t reason"),
    "viewer.headset_off": _e("viewer", "Headset taken off", "media_t", alert=True),
    "viewer.focus_gained": _e("viewer", "Headset back in use", ""),
    "viewer.recentre": _e("viewer", "Recentred", "heading source"),
    "viewer.input_profile": _e("viewer", "Controllers", "left right"),
    "runtime.waiting": _e("runtime", "Waiting for the headset", "backend reason message"),
    "runtime.lost": _e("runtime", "Headset runtime lost", "reason media_t", alert=True),
    "runtime.restored": _e("runtime", "Headset runtime back", "runtime media_t"),
    "runtime.space_changed": _e("runtime", "Runtime recentred", "source"),
    # group sessions
    "sync.executed": _e(
        "group",
        "Group step",
        "cmd at actual late_ms media_t playing held rejoin media_after mono_after epoch group",
    ),
    "sync.resync": _e("group", "Rejoining the group", "error_ms group"),
    "sync.status": _e(
        "group", "Sync figures", "group epoch following resyncs error_ms abs_p50_ms abs_p99_ms trim seeks"
    ),
    # the session server
    "session.started": _e(
        "session",
        "Session started",
        "participant consent standby kind previous player player_key facilitator group pause_on_lost site"
        " cohort resumed",
    ),
    "session.ended": _e("session", "Session ended", "reason detail"),
    "session.paused_on_lost": _e("session", "Paused: lead console lost", "key name"),
    "annotation.added": _e("note", "Note", "text tags at by"),
    "annotation.edited": _e("note", "Note edited", "ref by text tags"),
    "annotation.deleted": _e("note", "Note deleted", "ref by"),
    "questionnaire.answered": _e("session", "Answer", "instrument item phase value by source"),
    "questionnaire.closed": _e("session", "Headset questions closed", "phase reason answered items"),
    "command": _e("command", "Command", "id cmd args by key scheduled"),
    "command.failed": _e("command", "Command failed", "id cmd code message"),
    "command.executed": _e("command", "Scheduled command ran", "id cmd at late_ms"),
    "facilitator.connected": _e("connection", "Console connected", "key cid name role"),
    "facilitator.lost": _e("connection", "Console lost", "key cid name role silent_s"),
    "facilitator.left": _e("connection", "Console left", "key cid name reason"),
    "facilitator.revoked": _e("connection", "Console revoked", "key name role"),
    "pairing.completed": _e("connection", "Console paired", "name role key fingerprint file"),
    "log.purged": _e("log", "Sessions purged", "sessions count ended_before older_than_days by"),
    "log.health": _e("log", "Recording", "state cause message previous", alert=True),
}

WELFARE_LABELS = {
    "stop": "Welfare: STOP (calm scene, muted, paused)",
    "soften": "Welfare: soften (dimmed, quieter)",
    "none": "Welfare: back to the film",
}


def event_label(event_type: str, data: dict | None = None) -> str:
    """What people read for one event (the report and the console use this)."""
    if event_type == "welfare.changed":
        level = str((data or {}).get("level", "none"))
        return WELFARE_LABELS.get(level, f"Welfare: {level}")
    spec = EVENTS.get(event_type)
    return spec.label if spec is not None else event_type


def catalogue_json() -> dict[str, object]:
    """The event catalogue as the console's page loads it."""
    return {
        "events": {
            name: {"category": s.category, "label": s.label, "fields": list(s.fields), "alert": s.alert}
            for name, s in EVENTS.items()
        },
        "welfare_labels": WELFARE_LABELS,
    }
