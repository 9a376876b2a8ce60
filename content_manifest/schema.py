"""The manifest's shape, defined once: the validator walks these definitions; the JSON Schema comes from them.

Each kind checks a composed YAML node (which carries its line and column), appends a `Problem` for anything
wrong, and returns the plain value, or `INVALID`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from .model import AUDIO_LAYOUTS, EYE_ORDERS, PROJECTIONS, STEREO_LAYOUTS, Problem
from .nodes import MAPPING, SCALAR, SEQUENCE, Node
from .timecode import TIME_EXPECTED, TIME_PATTERN, parse_time

MANIFEST_VERSION = 1
INVALID: Any = type("Invalid", (), {"__repr__": lambda self: "INVALID", "__bool__": lambda self: False})()

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_constructor = SafeConstructor()


class Context:
    """Where problems go while one manifest is checked."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, mark: tuple[int, int], path: str, message: str, expected: str = "", warning: bool = False):
        sev = "warning" if warning else "error"
        self.problems.append(Problem(self.file, mark[0], mark[1], path or "(root)", message, expected, sev))

    def at(self, node: Node, path: str, message: str, expected: str = "", warning: bool = False):
        self.add(mark_of(node), path, message, expected, warning)


def mark_of(node: Node) -> tuple[int, int]:
    """1-based (line, column) where a node starts."""
    return (node[3] + 1, node[4] + 1)


_MMSS = re.compile(r"([0-9]{2}):([0-5][0-9])\.([0-9]{3})").fullmatch
_MMSS_SEEN: dict[str, float] = {}  # times read before: manifests repeat many
_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]*)").fullmatch
_PLAIN_FLOAT = re.compile(r"-?[0-9]+\.[0-9]*").fullmatch


def _number(node: Node) -> Any:
    """A scalar's int or float value, by PyYAML's own rules (0x1F, 1_000, 1:30, .inf...)."""
    raw = node[2]
    if node[1] == _INT and _PLAIN_INT(raw):
        return int(raw)
    if node[1] == _FLOAT and _PLAIN_FLOAT(raw):
        return float(raw)
    scalar = yaml.ScalarNode(node[1], node[2])
    if node[1] == _INT:
        return _constructor.construct_yaml_int(scalar)
    return _constructor.construct_yaml_float(scalar)


def describe(node: Node) -> str:
    """How a wrong value reads in a message: 'a list', 'a mapping', 'nothing', or the value itself."""
    if node[0] == SEQUENCE:
        return "a list"
    if node[0] == MAPPING:
        return "a mapping"
    if node[1] == _NULL:
        return "nothing"
    text = node[2] if len(node[2]) <= 40 else node[2][:37] + "..."
    return repr(text) if node[1] == _STR else text


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else "one of: " + ", ".join(choices)


_NO_MARKS: Mapping[str, Node] = MappingProxyType({})


class Rec(dict):
    """A checked mapping: its values, plus where it was written and the node of each value given for a known
    key (for its position; a value that was refused keeps its node but has no entry). Read without
    positions (`onepass`), a Rec has the class's ``mark`` (0, 0) and no ``marks``."""

    mark: tuple[int, int] = (0, 0)
    marks: Mapping[str, Node] = _NO_MARKS

    @classmethod
    def placed(cls, mark: tuple[int, int]) -> Rec:
        """An empty Rec written at ``mark``."""
        out = cls()
        out.mark = mark
        out.marks = {}
        return out

    def at(self, key: str) -> tuple[int, int]:
        """1-based (line, column) of a key's value, or of the mapping when the key is absent."""
        node = self.marks.get(key)
        return self.mark if node is None else (node[3] + 1, node[4] + 1)


class Seq(list):
    """A checked list: its items, plus where it was written and each item's node (none when read without
    positions)."""

    mark: tuple[int, int] = (0, 0)
    marks: Sequence[Node] = ()

    @classmethod
    def placed(cls, mark: tuple[int, int]) -> Seq:
        """An empty Seq written at ``mark``."""
        out = cls()
        out.mark = mark
        out.marks = []
        return out

    def at(self, index: int) -> tuple[int, int]:
        """1-based (line, column) of an item, or of the list when its items have no positions."""
        if index >= len(self.marks):
            return self.mark
        node = self.marks[index]
        return (node[3] + 1, node[4] + 1)


def _is_plain_text(kind: Kind) -> bool:
    """Text with no pattern, enum or case folding: any non-blank string."""
    return type(kind) is Text and not (kind.pattern or kind.enum or kind.lower)


def _anchored(pattern: str) -> str:
    """JSON Schema patterns match anywhere; the validator's match the whole value."""
    return f"^(?:{pattern})$"


class Kind:
    expected = "a value"

    def check(self, node: Node, path: str, ctx: Context) -> Any:
        """The node's value, or INVALID after adding a problem for each thing wrong with it."""
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError


class ScalarKind(Kind):
    """A kind of single value: `value` converts (the fast path), `report` explains a value it refused."""

    def value(self, node: Node) -> Any:
        """The node's value, or INVALID; adds no problem (the caller asks `report` why)."""
        raise NotImplementedError

    def report(self, node: Node, path: str, ctx: Context) -> None:
        raise NotImplementedError

    def check(self, node: Node, path: str, ctx: Context) -> Any:
        value = self.value(node)
        if value is INVALID:
            self.report(node, path, ctx)
        return value


@dataclass(frozen=True)
class Text(ScalarKind):
    expected: str = "text"
    pattern: str | None = None
    enum: tuple[str, ...] | None = None
    lower: bool = False

    def __post_init__(self):
        object.__setattr__(self, "_match", re.compile(self.pattern).fullmatch if self.pattern else None)
        object.__setattr__(self, "_enum", frozenset(self.enum) if self.enum is not None else None)

    def value(self, node: Node) -> Any:
        if node[0] != SCALAR or node[1] == _NULL:
            return INVALID
        value = node[2].lower() if self.lower else node[2]
        if self._enum is not None:  # type: ignore[attr-defined]
            return value if value in self._enum else INVALID  # type: ignore[attr-defined]
        if self._match is not None:  # type: ignore[attr-defined]
            return value if self._match(value) is not None else INVALID  # type: ignore[attr-defined]
        return value if value and not value.isspace() else INVALID

    def report(self, node: Node, path: str, ctx: Context) -> None:
        if node[0] != SCALAR or node[1] == _NULL:
            ctx.at(node, path, f"expected {self.expected}, got {describe(node)}", self.expected)
            return
        value = node[2].lower() if self.lower else node[2]
        if self.enum is not None:
            ctx.at(node, path, f"unknown value {value!r}", suggest(value, self.enum))
        elif self.pattern is not None:
            ctx.at(node, path, f"{value!r} is not {self.expected}", self.expected)
        else:
            ctx.at(node, path, "empty text", self.expected)

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "string"}
        if self.enum is not None:
            s["enum"] = list(self.enum)
        elif self.pattern is not None:
            pattern = self.pattern if not self.lower else self.pattern.replace("a-f", "a-fA-F")
            s["pattern"] = _anchored(pattern)
        else:
            s["minLength"] = 1
        return s


@dataclass(frozen=True)
class Number(ScalarKind):
    expected: str = "a number"
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False

    def value(self, node: Node) -> Any:
        tag = node[1] if node[0] == SCALAR else None
        if tag == _INT:
            raw = node[2]
            value: Any = int(raw) if _PLAIN_INT(raw) else None
        elif tag == _FLOAT and not self.integer:
            raw = node[2]
            value = float(raw) if _PLAIN_FLOAT(raw) else None
        else:
            return INVALID
        if value is None:  # 0x1F, 1_000, 1:30, .inf...: PyYAML's own rules
            try:
                value = _number(node)
            except (ValueError, yaml.YAMLError):
                return INVALID
        if (
            value != value
            or (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
        ):
            return INVALID
        return value if self.integer else float(value)

    def report(self, node: Node, path: str, ctx: Context) -> None:
        tag = node[1] if node[0] == SCALAR else None
        if tag not in (_INT, _FLOAT) or (self.integer and tag != _INT):
            ctx.at(node, path, f"expected {self.expected}, got {describe(node)}", self.expected)
            return
        try:
            _number(node)
        except (ValueError, yaml.YAMLError):
            ctx.at(node, path, f"cannot read {node[2]!r} as a number", self.expected)
            return
        ctx.at(node, path, f"{node[2]} is out of range", self.expected)

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "integer" if self.integer else "number"}
        if self.minimum is not None:
            s["minimum"] = self.minimum
        if self.maximum is not None:
            s["maximum"] = self.maximum
        return s


@dataclass(frozen=True)
class Bool(ScalarKind):
    expected: str = "true or false"

    def value(self, node: Node) -> Any:
        if node[0] != SCALAR or node[1] != _BOOL:
            return INVALID
        return bool(SafeConstructor.bool_values.get(node[2].lower(), False))

    def report(self, node: Node, path: str, ctx: Context) -> None:
        ctx.at(node, path, f"expected true or false, got {describe(node)}", self.expected)

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Time(ScalarKind):
    expected: str = TIME_EXPECTED

    def value(self, node: Node) -> Any:
        if node[0] != SCALAR or node[1] in (_NULL, _BOOL):
            return INVALID
        raw = node[2]
        seconds = _MMSS_SEEN.get(raw)
        if seconds is not None:
            return seconds
        m = _MMSS(raw)
        if m is not None:  # the usual "mm:ss.fff": same value as parse_time, quicker
            seconds = int(m[1]) * 60 + int(m[2]) + int(m[3]) / 1000
            if len(_MMSS_SEEN) < 65536:
                _MMSS_SEEN[raw] = seconds
            return seconds
        try:
            if node[1] == _STR or ":" in raw:
                return parse_time(raw)
            if node[1] in (_INT, _FLOAT):
                return parse_time(_number(node))
        except (ValueError, yaml.YAMLError):
            pass
        return INVALID

    def report(self, node: Node, path: str, ctx: Context) -> None:
        if node[0] != SCALAR or node[1] in (_NULL, _BOOL):
            ctx.at(node, path, f"expected a time, got {describe(node)}", TIME_EXPECTED)
        else:
            ctx.at(node, path, f"bad time {node[2]!r}", TIME_EXPECTED)

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": TIME_PATTERN}]}


@dataclass(frozen=True)
class ListOf(Kind):
    item: Kind
    expected: str = "a list"
    length: int | None = None  # exactly this many items (a pair such as [from, to])

    def __post_init__(self):
        object.__setattr__(self, "_plain", _is_plain_text(self.item))

    def check(self, node: Node, path: str, ctx: Context) -> Any:
        if node[0] != SEQUENCE:
            if node[0] == SCALAR and node[1] == _NULL:
                return Seq.placed(mark_of(node))  # `key:` with nothing after it reads as an empty list
            ctx.at(node, path, f"expected a list, got {describe(node)}", self.expected)
            return INVALID
        if self.length is not None and len(node[2]) != self.length:
            n = len(node[2])
            ctx.at(node, path, f"{n} value{'' if n == 1 else 's'} where {self.length} belong", self.expected)
            return INVALID
        out = Seq.placed((node[3] + 1, node[4] + 1))
        append, mark = out.append, out.marks.append
        item = self.item
        if self._plain:  # type: ignore[attr-defined]
            # the commonest list: plain text items (prompts), taken at once when every one is good
            values = [c[2] for c in node[2] if c[1] == _STR and c[0] == SCALAR and c[2].strip()]
            if len(values) == len(node[2]):
                out.extend(values)
                out.marks.extend(node[2])
                return out
        if isinstance(item, ScalarKind):
            plain = _is_plain_text(item)
            convert = item.value
            for i, child in enumerate(node[2]):
                if plain and child[1] == _STR and child[0] == SCALAR and child[2].strip():
                    value = child[2]  # the commonest item: plain text, checked inline
                else:
                    value = convert(child)
                    if value is INVALID:
                        item.report(child, f"{path}[{i}]", ctx)
                        continue
                append(value)
                mark(child)
            return out
        for i, child in enumerate(node[2]):
            value = item.check(child, f"{path}[{i}]", ctx)
            if value is not INVALID:
                append(value)
                mark(child)
        return out

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "array", "items": self.item.schema()}
        if self.length is not None:
            s["minItems"] = s["maxItems"] = self.length
        return s


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    doc: str
    required: bool = False
    default: Any = None


@dataclass(frozen=True)
class Record(Kind):
    """A mapping with known keys. Values of single-value fields are converted without building their paths;
    a path is made only for a problem or a nested mapping or list."""

    fields: tuple[Field, ...]
    expected: str = "a mapping"

    def __post_init__(self):
        object.__setattr__(self, "_names", tuple(f.name for f in self.fields))
        object.__setattr__(self, "_names_set", frozenset(f.name for f in self.fields))
        object.__setattr__(self, "_required_names", frozenset(f.name for f in self.fields if f.required))
        object.__setattr__(self, "_kinds", {f.name: f.kind for f in self.fields})
        scalar = {f.name: f.kind.value for f in self.fields if isinstance(f.kind, ScalarKind)}
        object.__setattr__(self, "_values", scalar)
        # plain text fields (no pattern or enum): checked inline, the commonest case by far
        plain = frozenset(f.name for f in self.fields if _is_plain_text(f.kind))
        object.__setattr__(self, "_plain", plain)
        object.__setattr__(self, "_required", tuple(f for f in self.fields if f.required))
        defaults = tuple(
            (f.name, f.default, callable(f.default)) for f in self.fields if f.default is not None
        )
        object.__setattr__(self, "_defaults", defaults)

    def check(self, node: Node, path: str, ctx: Context) -> Any:
        if node[0] != MAPPING:
            keys = ", ".join(f.name for f in self.fields if f.required)
            ctx.at(node, path, f"expected {self.expected}, got {describe(node)}", f"a mapping with {keys}")
            return INVALID
        prefix = f"{path}." if path else ""
        pairs = node[2]
        try:
            given = {key_node[2]: value_node for key_node, value_node in pairs}
        except TypeError:  # a key that is a list or a mapping
            given = None
        if given is None or len(given) != len(pairs) or not given.keys() <= self._names_set:  # type: ignore[attr-defined]
            given = self._check_keys(pairs, prefix, ctx)
        out = Rec.placed((node[3] + 1, node[4] + 1))
        out.marks = given
        values = self._values  # type: ignore[attr-defined]
        plain = self._plain  # type: ignore[attr-defined]
        for key, value_node in given.items():
            if key in plain and value_node[1] == _STR and value_node[0] == SCALAR and value_node[2].strip():
                value = value_node[2]
            else:
                convert = values.get(key)
                if convert is not None:
                    value = convert(value_node)
                    if value is INVALID:
                        self._kinds[key].report(value_node, prefix + key, ctx)  # type: ignore[attr-defined]
                        continue
                else:
                    value = self._kinds[key].check(value_node, prefix + key, ctx)  # type: ignore[attr-defined]
                    if value is INVALID:
                        continue
            out[key] = value
        if not self._required_names <= given.keys():  # type: ignore[attr-defined]
            for f in self._required:  # type: ignore[attr-defined]
                if f.name not in given:
                    ctx.add(out.mark, prefix + f.name, f"missing required key {f.name!r}", f.doc)
        for name, default, make in self._defaults:  # type: ignore[attr-defined]
            if name not in given:
                out[name] = default() if make else default
        return out

    def _check_keys(self, pairs: list, prefix: str, ctx: Context) -> dict[str, Node]:
        """Report keys that are not text, repeated or unknown; the value node of each good key."""
        given: dict[str, Node] = {}
        seen: dict[str, Node] = {}
        for key_node, value_node in pairs:
            if key_node[0] != SCALAR:
                path = prefix[:-1]
                ctx.at(key_node, path, f"a key must be text, got {describe(key_node)}", "a field name")
                continue
            key = key_node[2]
            if key in seen:
                first = f"each key once; first at line {seen[key][3] + 1}"
                ctx.at(key_node, prefix + key, f"duplicate key {key!r}", first)
                continue
            seen[key] = key_node
            if key not in self._kinds:  # type: ignore[attr-defined]
                names = self._names  # type: ignore[attr-defined]
                ctx.at(key_node, prefix + key, f"unknown key {key!r}", suggest(key, names))
                continue
            given[key] = value_node
        return given

    def schema(self) -> dict[str, Any]:
        props = {}
        for f in self.fields:
            s = dict(f.kind.schema())
            s["description"] = f.doc
            if f.default is not None and not callable(f.default):
                s["default"] = f.default
            props[f.name] = s
        out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        required = [f.name for f in self.fields if f.required]
        if required:
            out["required"] = required
        return out


@dataclass(frozen=True)
class MapOf(Kind):
    key_pattern: str
    key_expected: str
    value: Kind
    expected: str = "a mapping"

    def __post_init__(self):
        object.__setattr__(self, "_key_match", re.compile(self.key_pattern).fullmatch)

    def check(self, node: Node, path: str, ctx: Context) -> Any:
        if node[0] != MAPPING:
            if node[0] == SCALAR and node[1] == _NULL:
                return Rec.placed(mark_of(node))
            ctx.at(node, path, f"expected {self.expected}, got {describe(node)}", self.expected)
            return INVALID
        out = Rec.placed(mark_of(node))
        seen: dict[str, int] = {}
        key_match = self._key_match  # type: ignore[attr-defined]
        for key_node, value_node in node[2]:
            key = key_node[2] if key_node[0] == SCALAR else None
            if key is None or key_match(key) is None:
                ctx.at(key_node, f"{path}.{key}", f"bad key {describe(key_node)}", self.key_expected)
                continue
            if key in seen:
                first = f"each key once; first at line {seen[key]}"
                ctx.at(key_node, f"{path}.{key}", f"duplicate key {key!r}", first)
                continue
            seen[key] = key_node[3] + 1
            value = self.value.check(value_node, f"{path}.{key}", ctx)
            if value is not INVALID:
                out[key] = value
                out.marks[key] = value_node
        return out

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "propertyNames": {"pattern": _anchored(self.key_pattern)},
            "additionalProperties": self.value.schema(),
        }


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
    s = LIBRARY.schema()
    s["properties"]["manifest_version"]["const"] = MANIFEST_VERSION
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://viewpoint.invalid/schemas/manifest-v1.json",
        "title": "Viewpoint film library manifest",
        "description": "A YAML film library for Viewpoint; see docs/manifest.md.",
        **s,
    }
