"""The compound kinds (lists, records of fields, maps) and a top-level kind's JSON Schema document; the scalar
kinds and the walk's context are in kinds.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .kinds import (
    INVALID,
    TAG_NULL,
    TAG_STR,
    Context,
    Kind,
    Rec,
    ScalarKind,
    Seq,
    anchored,
    describe,
    is_plain_text,
    mark_of,
    suggest,
)
from .nodes import MAPPING, SCALAR, SEQUENCE, Node


@dataclass(frozen=True)
class ListOf(Kind):
    item: Kind
    expected: str = "a list"
    length: int | None = None  # exactly this many items (a pair such as [from, to])

    def __post_init__(self):
        object.__setattr__(self, "_plain", is_plain_text(self.item))

    def check(self, node: Node, path: str, ctx: Context) -> Any:
        if node[0] != SEQUENCE:
            if node[0] == SCALAR and node[1] == TAG_NULL:
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
            values = [c[2] for c in node[2] if c[1] == TAG_STR and c[0] == SCALAR and c[2].strip()]
            if len(values) == len(node[2]):
                out.extend(values)
                out.marks.extend(node[2])
                return out
        if isinstance(item, ScalarKind):
            plain = is_plain_text(item)
            convert = item.value
            for i, child in enumerate(node[2]):
                if plain and child[1] == TAG_STR and child[0] == SCALAR and child[2].strip():
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
        plain = frozenset(f.name for f in self.fields if is_plain_text(f.kind))
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
            text = value_node[0] == SCALAR and value_node[1] == TAG_STR
            if key in plain and text and value_node[2].strip():
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
            if node[0] == SCALAR and node[1] == TAG_NULL:
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
            "propertyNames": {"pattern": anchored(self.key_pattern)},
            "additionalProperties": self.value.schema(),
        }


def schema_document(
    kind: Kind, version_field: str, version: int, name: str, title: str, description: str
) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a top-level ``kind`` whose ``version_field`` is ``version``."""
    s = kind.schema()
    s["properties"][version_field]["const"] = version
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://viewpoint.invalid/schemas/{name}-v{version}.json",
        "title": title,
        "description": description,
        **s,
    }
