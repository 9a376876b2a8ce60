"""YAML as light node tuples with positions: a fast reader for the plain block style manifests are written in,
and PyYAML's composer (libyaml) for everything else.

A node is a tuple ``(kind, tag, value, line, col)`` with 0-based line and column where it starts:

- ``(SCALAR, tag, text, ...)``: tag is PyYAML's resolved tag (``tag:yaml.org,2002:str``, ``...:int``...)
- ``(MAPPING, None, [(key_node, value_node), ...], ...)``
- ``(SEQUENCE, None, [node, ...], ...)``

`fast_compose` reads the subset of YAML that `scan` writes and people type (block mappings and sequences,
plain and quoted one-line scalars, one-line flow lists, comments) several times faster than PyYAML, and
gives up (`Unsupported`) on anything else: anchors, tags, block scalars, multi-line scalars, escapes, flow
mappings, document markers, tabs. Values and tags are those PyYAML gives; tests compare the two readers.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.resolver import Resolver

SCALAR, MAPPING, SEQUENCE = 0, 1, 2
STR = "tag:yaml.org,2002:str"
NULL = "tag:yaml.org,2002:null"
Node = tuple  # (kind, tag, value, line, col)

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # PyYAML without libyaml: slower, same results
    _Loader = yaml.SafeLoader


class Unsupported(Exception):
    """The text uses YAML the fast reader does not handle; read it with `compose` instead."""


# --- PyYAML (any YAML) ------------------------------------------------------------------------------------


def compose(text: str) -> Node | None:
    """Compose with PyYAML (libyaml when available) and convert to node tuples. Raises yaml.YAMLError."""
    root = yaml.compose(text, Loader=_Loader)
    return None if root is None else _convert(root, {})


def _convert(node: yaml.Node, memo: dict[int, Node]) -> Node:
    done = memo.get(id(node))
    if done is not None:
        return done
    m = node.start_mark
    if isinstance(node, yaml.ScalarNode):
        out: Node = (SCALAR, node.tag, node.value, m.line, m.column)
        memo[id(node)] = out
        return out
    items: list = []
    kind = MAPPING if isinstance(node, yaml.MappingNode) else SEQUENCE
    out = (kind, None, items, m.line, m.column)
    memo[id(node)] = out  # before the children: an alias may point back here
    if kind == MAPPING:
        items.extend((_convert(k, memo), _convert(v, memo)) for k, v in node.value)
    else:
        items.extend(_convert(v, memo) for v in node.value)
    return out


# --- the fast reader --------------------------------------------------------------------------------------

# anything but printable text and newlines (tabs, CR, NEL, LS/PS, BOM, what YAML forbids) goes to PyYAML
_BAD_CHARS = re.compile(
    "[^\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.-]*):(?: +(.*))?$")
_RESOLVERS = Resolver.yaml_implicit_resolvers
_PLAIN_BAD_START = frozenset("&*!|>%@`,[]{}#'\"")
_FLOW_INDICATORS = frozenset("?:[]{}#")


_resolved: dict[str, str] = {}
_line_cache: dict[str, tuple] = {}


def resolve(value: str) -> str:
    """The tag PyYAML's resolver gives a plain scalar."""
    tag = _resolved.get(value)
    if tag is not None:
        return tag
    tag = STR
    for t, regexp in _RESOLVERS.get(value[0] if value else "", ()):
        if regexp.match(value):
            tag = t
            break
    if len(_resolved) < 8192 and len(value) < 40:
        _resolved[value] = tag
    return tag


def fast_compose(text: str) -> Node | None:
    """Node tuples for a document in the plain block subset; raises Unsupported for anything else."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if _BAD_CHARS.search(text):
        raise Unsupported("tabs, special characters or unusual line breaks")
    lines = [
        (len(raw) - len(s), s, no)
        for no, raw in enumerate(text.split("\n"))
        if (s := raw.lstrip(" ")) and s[0] != "#"
    ]
    if not lines:
        return None
    if lines[0][1].startswith(("---", "...", "%")):
        raise Unsupported("document markers or directives")
    try:
        node, i = _block(lines, 0, lines[0][0])
    except IndexError as e:
        raise Unsupported("unexpected end of a line") from e
    if i != len(lines):
        raise Unsupported(f"unexpected text at line {lines[i][2] + 1}")
    return node


def _is_dash(s: str) -> bool:
    return s[0] == "-" and (len(s) == 1 or s[1] == " ")


def _block(lines: list, i: int, indent: int) -> tuple[Node, int]:
    if _is_dash(lines[i][1]):
        return _seq(lines, i, indent)
    return _map(lines, i, indent)


def _seq(lines: list, i: int, indent: int) -> tuple[Node, int]:
    items: list = []
    start = lines[i][2]
    n = len(lines)
    while i < n:
        ind, s, no = lines[i]
        if ind != indent or not _is_dash(s):
            if ind > indent:
                raise Unsupported(f"unexpected indentation at line {no + 1}")
            break
        rest = s[1:].lstrip(" ")
        if not rest or rest[0] == "#":
            i += 1
            if i < n and lines[i][0] > indent:
                node, i = _block(lines, i, lines[i][0])
                items.append(node)
                continue
            raise Unsupported("empty list item")
        col = ind + len(s) - len(rest)
        if _KEY.match(rest):
            lines[i] = (col, rest, no)  # the item is a mapping whose first key shares the dash's line
            node, i = _map(lines, i, col)
        else:
            if _is_dash(rest):
                raise Unsupported("nested list on one line")
            node = _inline(rest, no, col)
            i += 1
            if i < n and lines[i][0] > indent:
                raise Unsupported(f"multi-line value at line {no + 1}")
        items.append(node)
    return (SEQUENCE, None, items, start, indent), i


def _parse_key_line(s: str) -> tuple[str, str, str | None, int, str | None] | None:
    """(key node, rest or None, offset of rest, tag if rest is a plain one-line value) for a key: value line.

    The key node's line is filled in by the caller.
    """
    m = _KEY.match(s)
    if m is None:
        return None
    key = m.group(1)
    key_tag = resolve(key)  # "no: 1" has a bool key, as in PyYAML
    rest = m.group(2)
    if not rest or rest[0] == "#":
        return (key, key_tag, None, 0, None)
    c = rest[0]
    if c in _PLAIN_BAD_START or c in "-?:" or " #" in rest or ": " in rest or rest[-1] in ": ":
        return (key, key_tag, rest, m.start(2), None)
    return (key, key_tag, rest, m.start(2), resolve(rest))  # the common case: a plain one-line value


def _map(lines: list, i: int, indent: int) -> tuple[Node, int]:
    pairs: list = []
    start = lines[i][2]
    n = len(lines)
    cache = _line_cache
    while i < n:
        ind, s, no = lines[i]
        if ind != indent:
            if ind > indent:
                raise Unsupported(f"unexpected indentation at line {no + 1}")
            break
        parsed = cache.get(s)
        if parsed is None:
            parsed = _parse_key_line(s)
            if parsed is None:
                raise Unsupported(f"not a 'key: value' line at line {no + 1}")
            if len(cache) < 65536:
                cache[s] = parsed  # manifests repeat many lines ("audio: stereo"): parse each once
        key_text, key_tag, rest, offset, tag = parsed
        i += 1
        if rest is None:
            if i < n and lines[i][0] > indent:
                value, i = _block(lines, i, lines[i][0])
            elif i < n and lines[i][0] == indent and _is_dash(lines[i][1]):
                value, i = _seq(lines, i, indent)
            else:
                raise Unsupported("empty value")  # PyYAML places its null at the next token: leave it to it
        else:
            # a deeper line after this (a multi-line value) stops the loop above as "unexpected indentation"
            value = (
                (SCALAR, tag, rest, no, ind + offset) if tag is not None else _inline(rest, no, ind + offset)
            )
        pairs.append(((SCALAR, key_tag, key_text, no, ind), value))
    return (MAPPING, None, pairs, start, indent), i


def _tail_ok(tail: str) -> bool:
    """After a value: nothing, spaces, or a comment that follows a space."""
    return not tail or (tail[0] == " " and (not tail.strip(" ") or tail.lstrip(" ")[0] == "#"))


def _quoted(text: str, pos: int) -> tuple[str, int]:
    """A quoted scalar starting at text[pos]; returns (value, index after the closing quote)."""
    q = text[pos]
    if q == '"':
        end = text.find('"', pos + 1)
        if end < 0 or "\\" in text[pos:end]:
            raise Unsupported("double-quoted text with escapes or over several lines")
        return text[pos + 1 : end], end + 1
    parts = []
    j = pos + 1
    while True:
        end = text.find("'", j)
        if end < 0:
            raise Unsupported("single-quoted text over several lines")
        parts.append(text[j:end])
        if end + 1 < len(text) and text[end + 1] == "'":
            parts.append("'")
            j = end + 2
            continue
        return "".join(parts), end + 1


def _inline(text: str, no: int, col: int) -> Node:
    c = text[0]
    if c == '"' or c == "'":
        value, end = _quoted(text, 0)
        if not _tail_ok(text[end:]):
            raise Unsupported(f"text after a quoted value at line {no + 1}")
        return (SCALAR, STR, value, no, col)
    if c == "[":
        return _flow_seq(text, no, col)
    if c == "{":
        if text.rstrip(" ") == "{}" or (text.startswith("{}") and _tail_ok(text[2:])):
            return (MAPPING, None, [], no, col)
        raise Unsupported("flow mapping")
    if c in _PLAIN_BAD_START or (c in "-?:" and (len(text) == 1 or text[1] == " ")):
        raise Unsupported(f"indicator {c!r} at line {no + 1}")
    j = text.find(" #")
    value = (text if j < 0 else text[:j]).rstrip(" ")
    if ": " in value or value.endswith(":"):
        raise Unsupported(f"':' in a plain value at line {no + 1}")
    return (SCALAR, resolve(value), value, no, col)


def _flow_seq(text: str, no: int, col: int) -> Node:
    items: list = []
    pos, n = 1, len(text)
    while True:
        while pos < n and text[pos] == " ":
            pos += 1
        c = text[pos]
        if c == "]":
            pos += 1
            break
        if c == '"' or c == "'":
            value, end = _quoted(text, pos)
            items.append((SCALAR, STR, value, no, col + pos))
            pos = end
        elif c in "[]{},#&*!|>%@`" or (c in "-?:" and pos + 1 < n and text[pos + 1] in " ,]"):
            raise Unsupported(f"complex flow list at line {no + 1}")
        else:
            end = pos
            while end < n and text[end] not in ",]":
                end += 1
            value = text[pos:end].rstrip(" ")
            if not value or not _FLOW_INDICATORS.isdisjoint(value):  # ? : [ ] { } # end or break flow plain
                raise Unsupported(f"complex flow list at line {no + 1}")
            items.append((SCALAR, resolve(value), value, no, col + pos))
            pos = end
        while pos < n and text[pos] == " ":
            pos += 1
        c = text[pos]
        if c == ",":
            pos += 1
        elif c == "]":
            pos += 1
            break
        else:
            raise Unsupported(f"complex flow list at line {no + 1}")
    if not _tail_ok(text[pos:]):
        raise Unsupported(f"text after a flow list at line {no + 1}")
    return (SEQUENCE, None, items, no, col)
