"""A small WebVTT reader for head-locked subtitles: cues with start, end and plain text."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path

_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})\.(\d{3})$")
_TAG = re.compile(r"<[^>]*>")


class WebVTTError(ValueError):
    """A subtitle file that cannot be read; names the file and the line."""


@dataclass(frozen=True, slots=True)
class Cue:
    start: float
    end: float
    text: str


def _time(value: str, where: str) -> float:
    m = _TIME.match(value.strip())
    if not m:
        raise WebVTTError(f"{where}: bad cue time {value.strip()!r} (expected hh:mm:ss.ttt or mm:ss.ttt)")
    h, mi, s, ms = (int(g) if g else 0 for g in m.groups())
    return h * 3600 + mi * 60 + s + ms / 1000.0


def parse(text: str, source: str = "subtitles") -> list[Cue]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines or not lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        raise WebVTTError(f"{source}:1: a WebVTT file starts with 'WEBVTT'")
    cues: list[Cue] = []
    i = 1
    while i < len(lines):
        line = lines[i]
        if "-->" in line:
            where = f"{source}:{i + 1}"
            left, _, right = line.partition("-->")
            start = _time(left, where)
            end = _time(right.strip().split()[0] if right.strip() else "", where)
            if end <= start:
                raise WebVTTError(f"{where}: cue ends ({end:.3f}) before it starts ({start:.3f})")
            body = []
            i += 1
            while i < len(lines) and lines[i].strip():
                body.append(_TAG.sub("", lines[i]).strip())
                i += 1
            cues.append(Cue(start, end, "\n".join(body)))
        elif line.startswith(("NOTE", "STYLE", "REGION")):
            while i < len(lines) and lines[i].strip():
                i += 1
        i += 1
    return sorted(cues, key=lambda c: c.start)


def load(path: str | Path) -> list[Cue]:
    path = Path(path)
    try:
        return parse(path.read_text(encoding="utf-8-sig"), str(path))
    except OSError as exc:
        raise WebVTTError(f"{path}: cannot read subtitles ({exc.strerror or exc})") from None


class CueTrack:
    """Which cue text is showing at a media time (overlapping cues are joined)."""

    def __init__(self, cues: list[Cue]) -> None:
        self.cues = cues
        self._starts = [c.start for c in cues]

    def text_at(self, t: float) -> str:
        i = bisect.bisect_right(self._starts, t)
        showing = [c.text for c in self.cues[max(0, i - 8) : i] if c.start <= t < c.end]
        return "\n".join(showing)
