"""The pre-flight checklist shown before consent: what the player reports after loading the film."""

from __future__ import annotations

from typing import Any


def _fmt(t: float | None) -> str:
    if t is None:
        return "unknown"
    m, s = divmod(max(0.0, float(t)), 60)
    return f"{int(m)}:{s:04.1f}"


def _first(d: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        cur: Any = d
        for part in key.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if cur not in (None, ""):
            return cur
    return None


def preflight_checks(
    film: Any, loaded: dict[str, Any], status: dict[str, Any], health: dict[str, Any]
) -> list[dict]:
    """Rows of {label, ok, value}: headset link, film loaded, runtime, film hash, audio, display.

    ``ok`` is True (passed), False (blocks the session) or None (not checked: shown, does not block).
    """
    rows: list[dict[str, Any]] = []
    controller = status.get("controller") if isinstance(status.get("controller"), dict) else {}
    info = {**status, **controller, **loaded}
    rows.append(
        {
            "label": "Headset connection",
            "ok": bool(health.get("connected")),
            "value": f"{health.get('player_name', 'player')}"
            + (
                f", round trip {health['rtt_ms']:.0f} ms"
                if isinstance(health.get("rtt_ms"), (int, float))
                else ""
            ),
        }
    )
    loaded_id = _first(info, "film", "film.id", "media.film")
    rows.append(
        {
            "label": "Film loaded on the headset",
            "ok": loaded_id in (None, film.id),
            "value": f"{film.title} ({film.id})"
            if loaded_id in (None, film.id)
            else f"headset loaded {loaded_id}",
        }
    )
    duration = _first(info, "duration", "media.duration", "info.duration")
    expected = film.duration
    if isinstance(duration, (int, float)):
        ok = expected is None or abs(float(duration) - float(expected)) <= 0.5
        value = f"{_fmt(duration)}" + ("" if expected is None else f" (manifest {_fmt(expected)})")
    else:
        ok, value = False, "the headset did not report the film's runtime"
    rows.append({"label": "Runtime", "ok": ok, "value": value})
    sha = _first(info, "sha256", "media.sha256", "hash.sha256")
    sha_ok = _first(info, "sha256_ok", "hash_ok", "hash.ok")
    if isinstance(sha_ok, bool):
        ok, value = sha_ok, ("matches the manifest" if sha_ok else "DOES NOT match the manifest")
    elif isinstance(sha, str):
        ok = sha.lower() == str(film.sha256).lower()
        value = f"{sha[:12]}… " + ("matches the manifest" if ok else "DOES NOT match the manifest")
    else:
        ok, value = None, "not reported by this player (run `viewpoint-player doctor` on the headset)"
    rows.append({"label": "Film hash (sha256)", "ok": ok, "value": value})
    audio = _first(info, "audio_output", "audio")
    has_audio = _first(info, "has_audio", "media.has_audio")
    volume = info.get("volume")
    muted = info.get("muted")
    parts = [f"film: {film.audio}"]
    ok: bool | None = None
    if isinstance(audio, dict):
        parts.append(", ".join(f"{k}: {v}" for k, v in audio.items() if v not in (None, "")))
        ok = audio.get("ok", True) is not False
    elif isinstance(audio, str) and audio != film.audio:
        parts.append(f"output: {audio}")
    if isinstance(volume, (int, float)):
        parts.append(f"headset volume {round(volume * 100)}%" + (", MUTED" if muted else ""))
        ok = (ok is not False) and not muted and volume > 0
    if has_audio is False:
        ok, parts = False, ["the film's audio track did not open on the headset"]
    rows.append({"label": "Audio", "ok": ok, "value": "; ".join(p for p in parts if p)})
    backend = _first(info, "backend", "display", "output")
    if backend is not None:
        rows.append({"label": "Display", "ok": True, "value": str(backend)})
    return rows
