"""The film library as the console's page sees it: plain JSON, times in seconds, chapter ends filled in."""

from __future__ import annotations

from typing import Any


def film_json(film: Any) -> dict[str, Any]:
    """One `content_manifest.Film` as JSON for the page."""
    duration = film.duration
    chapters = []
    for i, ch in enumerate(film.chapters):
        end = ch.end
        if end is None:
            end = film.chapters[i + 1].start if i + 1 < len(film.chapters) else duration
        chapters.append(
            {
                "id": ch.id,
                "title": ch.title or ch.id,
                "start": ch.start,
                "end": end,
                "prompts": list(ch.prompts),
            }
        )
    audience = getattr(film, "audience", None)
    return {
        "id": film.id,
        "title": film.title or film.id,
        "duration": duration,
        "projection": film.projection,
        "stereo": film.stereo,
        "audio": film.audio,
        "front_heading": film.front_heading,
        "sha256": getattr(film, "sha256", None),
        "audience": {"guidance": audience.guidance, "min_age": audience.min_age} if audience else None,
        "chapters": chapters,
        "content_warnings": [
            {"start": w.start, "end": w.end, "tags": list(w.tags), "note": w.note}
            for w in film.content_warnings
        ],
        "safe_points": list(film.safe_points),
        "subtitles": sorted(getattr(film, "subtitle_files", {}) or {}),
    }


def library_json(library: Any) -> list[dict[str, Any]]:
    if library is None:
        return []
    return [film_json(f) for f in library.films.values()]
