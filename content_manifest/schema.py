"""The manifest's shape, defined once (with the kinds of kinds.py): the validator walks these definitions;
the JSON Schema comes from them."""

from __future__ import annotations

from typing import Any

from .kinds import Bool, Number, Text, Time
from .model import AUDIO_LAYOUTS, EYE_ORDERS, PROJECTIONS, STEREO_LAYOUTS
from .records import Field, ListOf, MapOf, Record, schema_document

MANIFEST_VERSION = 1

# --- the manifest ----------------------------------------------------------------------------------------

SLUG = r"[a-z0-9]+(?:[-_][a-z0-9]+)*"
SLUG_EXPECTED = "a slug: lower-case letters, digits, '-' or '_', e.g. 'school-gate'"
LANG = r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*"
LANG_EXPECTED = "a language tag such as 'en', 'cy' or 'pt-BR'"
KNOWN_WARNING_TAGS = (
    "violence",
    "raised-voices",
    "substance-use",
    "self-harm",
    "sexual-content",
    "abuse",
    "bullying",
    "threat",
    "weapons",
    "injury",
    "blood",
    "death",
    "discrimination",
    "strong-language",
    "loud-noise",
    "flashing-lights",
    "motion",
    "heights",
    "confinement",
    "crying-child",
)

PATH_TEXT = Text(expected="a file path relative to the manifest's folder")

CHAPTER = Record(
    (
        Field("id", Text(pattern=SLUG, expected=SLUG_EXPECTED), "chapter id, unique within the film", True),
        Field("start", Time(), "when the chapter starts", True),
        Field("title", Text(), "chapter title shown to the facilitator", True),
        Field("end", Time(), "when the chapter ends (default: the next chapter's start, or the film's end)"),
        Field("prompts", ListOf(Text()), "discussion prompts for the facilitator", default=list),
    ),
    expected="a chapter (a mapping with id, start, title)",
)

CONTENT_WARNING = Record(
    (
        Field("start", Time(), "start of the distressing passage", True),
        Field("end", Time(), "end of the distressing passage", True),
        Field(
            "tags",
            ListOf(Text(pattern=SLUG, expected=SLUG_EXPECTED)),
            "what it contains, e.g. " + ", ".join(KNOWN_WARNING_TAGS[:3]),
            True,
        ),
        Field("note", Text(), "a note for the facilitator", default=""),
    ),
    expected="a content warning (a mapping with start, end, tags)",
)

AUDIENCE = Record(
    (
        Field("guidance", Text(), "who the film suits and how to prepare viewers", True),
        Field(
            "min_age",
            Number(expected="an age in years, 0..120", minimum=0, maximum=120, integer=True),
            "youngest suitable viewer, in years",
        ),
    ),
    expected="audience guidance (a mapping with guidance, min_age)",
)

_DEGREES_H = Number(expected="degrees, -180..180", minimum=-180, maximum=180)
_DEGREES_P = Number(expected="degrees, -90..90", minimum=-90, maximum=90)
AREA = Record(
    (
        Field("id", Text(pattern=SLUG, expected=SLUG_EXPECTED), "area id, unique within the film", True),
        Field("label", Text(), "what it shows, e.g. 'the child behind the door'", default=""),
        Field("start", Time(), "when it appears", True),
        Field("end", Time(), "when it goes (after start, within the film)", True),
        Field(
            "heading",
            ListOf(_DEGREES_H, "[from, to]: two headings", 2),
            "[from, to]: film headings, clockwise; from > to wraps across 180 (e.g. [170, -170])",
            True,
        ),
        Field(
            "pitch",
            ListOf(_DEGREES_P, "[from, to]: two pitches", 2),
            "[from, to]: pitch, up-positive, from below to",
            True,
        ),
    ),
    expected="an area of interest (a mapping with id, start, end, heading, pitch)",
)

MEDIA = Record(
    (
        Field("codec", Text(), "video codec as probed, e.g. h264, hevc"),
        Field(
            "width", Number(expected="a width in pixels", minimum=1, integer=True), "picture width in pixels"
        ),
        Field("height", Number(expected="a height in pixels", minimum=1, integer=True), "picture height"),
        Field("fps", Number(expected="frames per second", minimum=0), "frame rate"),
        Field("pix_fmt", Text(), "decoded pixel format, e.g. yuv420p"),
        Field("audio_codec", Text(), "audio codec, e.g. aac"),
        Field(
            "audio_channels", Number(expected="a channel count", minimum=0, integer=True), "audio channels"
        ),
        Field("size", Number(expected="a size in bytes", minimum=0, integer=True), "file size in bytes"),
    ),
    expected="probed media facts (written by `viewpoint-manifest scan`)",
)

FILM = Record(
    (
        Field("id", Text(pattern=SLUG, expected=SLUG_EXPECTED), "unique film id", True),
        Field("title", Text(), "title shown to facilitators", True),
        Field("file", PATH_TEXT, "the video file, relative to the manifest's folder", True),
        Field(
            "sha256",
            Text(pattern=r"[0-9a-f]{64}", expected="64 hexadecimal digits", lower=True),
            "SHA-256 of the video file",
            True,
        ),
        Field("projection", Text(enum=PROJECTIONS), "how the picture maps onto the sphere", True),
        Field(
            "stereo", Text(enum=STEREO_LAYOUTS), "stereo layout (top-bottom: left eye on top)", default="mono"
        ),
        Field(
            "eye_order",
            Text(enum=EYE_ORDERS),
            "which eye comes first (on top or on the left); right-first files swap the halves",
            default="left-first",
        ),
        Field(
            "front_heading",
            Number(expected="degrees, -360..360", minimum=-360, maximum=360),
            "heading of the picture (clockwise from its centre column) facing the viewer at start",
            default=0.0,
        ),
        Field(
            "audio",
            Text(enum=AUDIO_LAYOUTS),
            "audio layout (ambix-foa: first-order ambisonics, AmbiX; none: no audio track)",
            default="stereo",
        ),
        Field("duration", Time(), "length of the film (probed by scan)"),
        Field("description", Text(), "a short description", default=""),
        Field("subtitles", MapOf(LANG, LANG_EXPECTED, PATH_TEXT), "WebVTT files by language", default=dict),
        Field("audience", AUDIENCE, "audience guidance"),
        Field("chapters", ListOf(CHAPTER), "chapters in order of start", default=list),
        Field("content_warnings", ListOf(CONTENT_WARNING), "distressing passages", default=list),
        Field("safe_points", ListOf(Time()), "times a facilitator may skip to", default=list),
        Field(
            "areas", ListOf(AREA), "areas of interest: a heading/pitch box during a time range", default=list
        ),
        Field("media", MEDIA, "probed media facts, kept up to date by scan"),
    ),
    expected="a film (a mapping with id, title, file, sha256, projection)",
)

LIBRARY = Record(
    (
        Field(
            "manifest_version", Number(expected=f"{MANIFEST_VERSION}", integer=True), "format version", True
        ),
        Field("title", Text(), "name of the library", default=""),
        Field(
            "allow_outside_folder",
            Bool(),
            "true lets film and subtitle paths leave the manifest's folder ('../'); an error otherwise",
            default=False,
        ),
        Field("films", ListOf(FILM), "the films", True),
    ),
    expected="a library (a mapping with manifest_version and films)",
)


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a manifest, made from the same definitions the validator walks."""
    return schema_document(
        LIBRARY, "manifest_version", MANIFEST_VERSION, "manifest", "Viewpoint film library manifest",
        "A YAML film library for Viewpoint; see docs/manifest.md.",
    )  # fmt: skip
