"""WebVTT subtitles read cue by cue, each problem with its line: used by `check` (all of them) and by the
player (which refuses a file with errors and shows the text of the cues).

Cue text keeps its line breaks; tags (<i>, <c.yellow>, <v Name>, timestamps) are dropped and character
references (&amp;, &lt;, &nbsp;, &#x202B;...) decoded, as a WebVTT renderer shows them.
"""

from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass, field

MAX_BYTES = 8 << 20  # a subtitle file bigger than this is refused (a film's subtitles are well under 1 MB)
_TIME = re.compile(r"(?:(\d+):)?([0-5]\d):([0-5]\d)\.(\d{3})")
_TAG = re.compile(r"<[^>]*>")
SETTINGS = {
    "vertical": re.compile(r"rl|lr"),
    "line": re.compile(r"-?\d+(?:\.\d+)?%?(?:,(?:start|center|end))?"),
    "position": re.compile(r"\d+(?:\.\d+)?%(?:,(?:line-left|center|line-right))?"),
    "size": re.compile(r"\d+(?:\.\d+)?%"),
    "align": re.compile(r"start|center|end|left|right"),
    "region": re.compile(r"\S+"),
}


@dataclass(frozen=True, slots=True)
class Cue:
    start: float
    end: float
    text: str
    line: int = 0  # the line of its timing ("-->") in the file, 1-based
    settings: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VttProblem:
    line: int
    text: str  # "NAME:LINE: what is wrong"
    expected: str = ""
    warning: bool = False


def cue_text(raw_lines: list[str]) -> str:
    """What a cue shows: tags removed, character references decoded, one string per line."""
    return "\n".join(html.unescape(_TAG.sub("", line)).strip() for line in raw_lines)


def _time(value: str) -> float | None:
    m = _TIME.fullmatch(value)
    if m is None:
        return None
    h, mi, s, ms = (int(g) if g else 0 for g in m.groups())
    return h * 3600 + mi * 60 + s + ms / 1000.0


def read(text: str, source: str = "subtitles") -> tuple[list[Cue], list[VttProblem]]:
    """Every cue that parses, in file order, and every problem (errors and warnings) in line order."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    problems: list[VttProblem] = []

    def add(no: int, message: str, expected: str = "", warning: bool = False) -> None:
        problems.append(VttProblem(no, f"{source}:{no}: {message}", expected, warning))

    first = lines[0].lstrip("\ufeff") if lines else ""
    if not (first == "WEBVTT" or first.startswith(("WEBVTT ", "WEBVTT\t"))):
        add(1, "a WebVTT file starts with 'WEBVTT'", "a file starting with 'WEBVTT'")
        return [], problems
    cues: list[Cue] = []
    i = 1
    while i < len(lines) and lines[i].strip():  # header lines after WEBVTT
        i += 1
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        start_no = i + 1
        block = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i])
            i += 1
        head = block[0]
        if head.startswith("NOTE") and head[4:5] in ("", " ", "\t"):
            continue
        if head in ("STYLE", "REGION") or head.startswith(("STYLE ", "REGION ")):
            if cues:
                add(start_no, f"a {head.split()[0]} block after the first cue is ignored", "", warning=True)
            continue
        timing = 0 if "-->" in head else 1
        if timing >= len(block) or "-->" not in block[timing]:
            add(start_no, f"a block with no cue timing: {head[:40]!r}", "hh:mm:ss.ttt --> hh:mm:ss.ttt")
            continue
        cue = _cue(block[timing], block[timing + 1 :], start_no + timing, add)
        if cue is not None:
            cues.append(cue)
    _check_order(cues, add)
    problems.sort(key=lambda p: p.line)
    return cues, problems


def _cue(line: str, body: list[str], no: int, add) -> Cue | None:
    left, _, right = line.partition("-->")
    parts = right.split()
    start, end = _time(left.strip()), _time(parts[0]) if parts else None
    expected = "hh:mm:ss.ttt or mm:ss.ttt, e.g. 00:01:02.500"
    if start is None:
        add(no, f"bad cue time {left.strip()!r}", expected)
    if end is None:
        add(no, f"bad cue time {parts[0] if parts else ''!r}", expected)
    if start is None or end is None:
        return None
    if end <= start:
        add(no, f"cue ends ({end:.3f}) before it starts ({start:.3f})", "an end later than the start")
        return None
    settings: dict[str, str] = {}
    for item in parts[1:]:
        name, colon, value = item.partition(":")
        pattern = SETTINGS.get(name)
        if pattern is None or not colon:
            add(no, f"unknown cue setting {item!r}", "one of: " + ", ".join(SETTINGS), warning=True)
        elif pattern.fullmatch(value) is None:
            add(no, f"bad value in cue setting {item!r}", f"a valid {name} value", warning=True)
        else:
            settings[name] = value
    if any("-->" in b for b in body):
        add(
            no + 1 + next(k for k, b in enumerate(body) if "-->" in b),
            "a cue timing inside a cue's text (a blank line missing before it?)",
            "a blank line between cues",
        )
    text = cue_text(body)
    if not text.strip():
        add(no, "a cue with no text", "text on the lines after the timing", warning=True)
    return Cue(start, end, text, no, settings)


def _check_order(cues: list[Cue], add) -> None:
    latest: Cue | None = None  # the cue ending last so far
    for prev, cue in itertools.pairwise(cues):
        if cue.start < prev.start:
            where = f"before the cue at line {prev.line} ({prev.start:.3f})"
            add(cue.line, f"cue starts at {cue.start:.3f}, {where}", "cues in order of start time")
    for cue in cues:
        if latest is not None and cue.start < latest.end and cue.start >= latest.start:
            what = f"cue overlaps the cue at line {latest.line} (which ends at {latest.end:.3f}): both show"
            add(cue.line, what, "cues that do not overlap", warning=True)
        if latest is None or cue.end > latest.end:
            latest = cue


def check_text(data: bytes, source: str) -> list[VttProblem]:
    """Every problem in a subtitle file's bytes (at most `MAX_BYTES`), for `check`."""
    if len(data) > MAX_BYTES:
        return [VttProblem(0, f"{source}: bigger than {MAX_BYTES >> 20} MB", "a subtitle file under 8 MB")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        no = data[: e.start].count(b"\n") + 1
        return [VttProblem(no, f"{source}:{no}: not UTF-8 text", "a UTF-8 WebVTT file")]
    if "\0" in text:
        no = text[: text.index("\0")].count("\n") + 1
        return [VttProblem(no, f"{source}:{no}: a NUL character", "WebVTT text")]
    cues, problems = read(text, source)
    if not cues and problems and problems[0].text.endswith("starts with 'WEBVTT'"):
        return [VttProblem(1, f"{source!r} is not a WebVTT file", "a file starting with 'WEBVTT'")]
    return problems
