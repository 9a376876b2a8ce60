"""Head-locked subtitles: a WebVTT file's cues (read by `content_manifest.webvtt`) and the text showing."""

from __future__ import annotations

import bisect
from pathlib import Path

from content_manifest.safefile import open_regular
from content_manifest.webvtt import MAX_BYTES, Cue, read

__all__ = ["Cue", "CueTrack", "WebVTTError", "load", "parse"]


class WebVTTError(ValueError):
    """A subtitle file that cannot be read; names the file and the line."""


def parse(text: str, source: str = "subtitles") -> list[Cue]:
    """The cues in order of start; WebVTTError with the first error (warnings do not stop a film)."""
    cues, problems = read(text, source)
    errors = [p for p in problems if not p.warning]
    if errors:
        raise WebVTTError(errors[0].text)
    return sorted(cues, key=lambda c: c.start)


def load(path: str | Path) -> list[Cue]:
    path = Path(path)
    try:
        with open_regular(path) as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise WebVTTError(f"{path}: cannot read subtitles ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:
        raise WebVTTError(f"{path}: subtitles bigger than {MAX_BYTES >> 20} MB")
    try:
        return parse(data.decode("utf-8-sig"), str(path))
    except UnicodeDecodeError as exc:
        raise WebVTTError(f"{path}: subtitles are not UTF-8 text ({exc.reason})") from None


class CueTrack:
    """Which cue text is showing at a media time (overlapping cues are joined)."""

    def __init__(self, cues: list[Cue]) -> None:
        self.cues = cues
        self._starts = [c.start for c in cues]

    def text_at(self, t: float) -> str:
        i = bisect.bisect_right(self._starts, t)
        showing = [c.text for c in self.cues[max(0, i - 8) : i] if c.start <= t < c.end]
        return "\n".join(showing)

    def next_text(self, t: float) -> str:
        """The text that shows when the next cue after ``t`` starts ("" when none is left)."""
        i = bisect.bisect_right(self._starts, t)
        return self.text_at(self._starts[i]) if i < len(self._starts) else ""
