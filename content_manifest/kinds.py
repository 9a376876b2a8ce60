"""The kinds a YAML document's shape is defined with (text, numbers, times, lists, records, maps), walked by
the validator and turned into JSON Schema: the manifest (schema.py) and the programme (programme.yaml) are
both defined with them.

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

from .model import Problem
from .nodes import MAPPING, SCALAR, SEQUENCE, Node
from .timecode import TIME_EXPECTED, TIME_PATTERN, parse_time

INVALID: Any = type("Invalid", (), {"__repr__": lambda self: "INVALID", "__bool__": lambda self: False})()

TAG_STR = "tag:yaml.org,2002:str"
TAG_INT = "tag:yaml.org,2002:int"
TAG_FLOAT = "tag:yaml.org,2002:float"
TAG_BOOL = "tag:yaml.org,2002:bool"
TAG_NULL = "tag:yaml.org,2002:null"
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
    if node[1] == TAG_INT and _PLAIN_INT(raw):
        return int(raw)
    if node[1] == TAG_FLOAT and _PLAIN_FLOAT(raw):
        return float(raw)
    scalar = yaml.ScalarNode(node[1], node[2])
    if node[1] == TAG_INT:
        return _constructor.construct_yaml_int(scalar)
    return _constructor.construct_yaml_float(scalar)


def describe(node: Node) -> str:
    """How a wrong value reads in a message: 'a list', 'a mapping', 'nothing', or the value itself."""
    if node[0] == SEQUENCE:
        return "a list"
    if node[0] == MAPPING:
        return "a mapping"
    if node[1] == TAG_NULL:
        return "nothing"
    text = node[2] if len(node[2]) <= 40 else node[2][:37] + "..."
    return repr(text) if node[1] == TAG_STR else text


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


def is_plain_text(kind: Kind) -> bool:
    """Text with no pattern, enum or case folding: any non-blank string."""
    return type(kind) is Text and not (kind.pattern or kind.enum or kind.lower)


def anchored(pattern: str) -> str:
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
        if node[0] != SCALAR or node[1] == TAG_NULL:
            return INVALID
        value = node[2].lower() if self.lower else node[2]
        if self._enum is not None:  # type: ignore[attr-defined]
            return value if value in self._enum else INVALID  # type: ignore[attr-defined]
        if self._match is not None:  # type: ignore[attr-defined]
            return value if self._match(value) is not None else INVALID  # type: ignore[attr-defined]
        return value if value and not value.isspace() else INVALID

    def report(self, node: Node, path: str, ctx: Context) -> None:
        if node[0] != SCALAR or node[1] == TAG_NULL:
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
            s["pattern"] = anchored(pattern)
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
        if tag == TAG_INT:
            raw = node[2]
            value: Any = int(raw) if _PLAIN_INT(raw) else None
        elif tag == TAG_FLOAT and not self.integer:
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
        if tag not in (TAG_INT, TAG_FLOAT) or (self.integer and tag != TAG_INT):
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
        if node[0] != SCALAR or node[1] != TAG_BOOL:
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
        if node[0] != SCALAR or node[1] in (TAG_NULL, TAG_BOOL):
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
            if node[1] == TAG_STR or ":" in raw:
                return parse_time(raw)
            if node[1] in (TAG_INT, TAG_FLOAT):
                return parse_time(_number(node))
        except (ValueError, yaml.YAMLError):
            pass
        return INVALID

    def report(self, node: Node, path: str, ctx: Context) -> None:
        if node[0] != SCALAR or node[1] in (TAG_NULL, TAG_BOOL):
            ctx.at(node, path, f"expected a time, got {describe(node)}", TIME_EXPECTED)
        else:
            ctx.at(node, path, f"bad time {node[2]!r}", TIME_EXPECTED)

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": TIME_PATTERN}]}
