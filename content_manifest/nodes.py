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


# Aliases let a small text stand for a huge document ("billion laughs"): each value the checker walks is made
# anew, so the document is refused when its aliases expand it past this many values (and 16 times the values
# written, whichever is more).
ALIAS_LIMIT = 1_000_000
ALIAS_LIMIT_TEXT = "1,000,000 (or 16 times the values written)"


class TooManyAliases(yaml.YAMLError):
    """Aliases expand the document too far; ``mark`` is the 1-based (line, column) of the anchor."""

    def __init__(self, message: str, mark: tuple[int, int]):
        super().__init__(message)
        self.mark = mark


def compose(text: str) -> Node | None:
    """Compose with PyYAML (libyaml when available) and convert to node tuples. Raises yaml.YAMLError,
    TooManyAliases when the aliases expand the document beyond `ALIAS_LIMIT`."""
    root = yaml.compose(text, Loader=_Loader)
    if root is None:
        return None
    memo: dict[int, Node] = {}
    out = _convert(root, memo)
    if "&" in text:
        _expanded_size(root, {}, max(ALIAS_LIMIT, 16 * len(memo)), set())
    return out


def _expanded_size(node: yaml.Node, sizes: dict[int, int], limit: int, open_: set[int]) -> int:
    """How many values ``node`` stands for once every alias in it is expanded (raises TooManyAliases)."""
    key = id(node)
    known = sizes.get(key)
    if known is not None:
        return known
    if isinstance(node, yaml.ScalarNode):
        return 1
    if key in open_:  # a recursive alias: the checker never follows it twice
        return 1
    open_.add(key)
    total = 1
    children = (c for pair in node.value for c in pair) if isinstance(node, yaml.MappingNode) else node.value
    for child in children:
        total += _expanded_size(child, sizes, limit, open_)
        if total > limit:
            m = node.start_mark
            raise TooManyAliases(
                f"aliases expand the document to more than {limit:,} values (the list or mapping written at "
                f"line {m.line + 1} alone)",
                (m.line + 1, m.column + 1),
            )
    open_.discard(key)
    sizes[key] = total
    return total


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


_RESOLVERS = Resolver.yaml_implicit_resolvers
_resolved: dict[str, str] = {}


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


# --- the fast reader --------------------------------------------------------------------------------------
#
# The text is cut into lines, and each distinct line is parsed once into a token that does not depend on
# where it stands (a manifest repeats most of its lines: "audio: stereo", "projection: equirect360"...).
# A second pass puts the tokens together by indentation, giving each node its line number.
#
# Tokens: SKIP for a blank or comment line; (indent, KEY, key, key_tag, value) for "key: value" (value None
# when it follows on the next lines); (indent, DASH, key_token, value) for a list item "- ...", where
# key_token is a KEY token when the item is a mapping that starts on the dash's line. A value is a node
# template without its line: (SCALAR, tag, text, col), (SEQUENCE, ((tag, text, col), ...), col) for a flow
# list of scalars, or (MAPPING, None, col) for "{}".

KEY, DASH = "key", "dash"
SKIP: tuple = ("skip",)

# anything but printable text and newlines (tabs, CR, NEL, LS/PS, BOM, what YAML forbids) goes to PyYAML
_BAD_CHARS = re.compile(
    "[^\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_PRINTABLE_ASCII = bytes([0x0A, *range(0x20, 0x7F)])
_KEY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*").fullmatch  # a key the fast reader takes
_key_tags: dict[str, str] = {}  # key names seen -> their tags (manifests use few)
_PLAIN_BAD_START = frozenset("&*!|>%@`,[]{}#'\"")
_FLOW_INDICATORS = frozenset("?:[]{}#")


def fast_compose(text: str) -> Node | None:
    """Node tuples for a document in the plain block subset; raises Unsupported for anything else."""
    tokens, numbers = line_tokens(text)
    if not tokens:
        return None
    return _assemble(tokens, numbers)


def line_tokens(text: str) -> tuple[list, Any]:
    """The tokens of the lines that are not blank or comments, and their 0-based line numbers.

    Raises Unsupported for a line outside the subset.
    """
    cache: dict[str, tuple] = {}
    get = cache.get
    try:
        tokens = [get(line) or _remember(line, cache) for line in split_lines(text)]
    except IndexError as e:  # a flow list that does not close on its line
        raise Unsupported("unexpected end of a line") from e
    if SKIP in tokens:
        numbers: Any = [no for no, t in enumerate(tokens) if t is not SKIP]
        tokens = [tokens[no] for no in numbers]
    else:
        numbers = range(len(tokens))
    return tokens, numbers


def split_lines(text: str) -> list[str]:
    """The document's lines; raises Unsupported for tabs, special characters or unusual line breaks."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if _has_bad_chars(text):
        raise Unsupported("tabs, special characters or unusual line breaks")
    return text.split("\n")


def _has_bad_chars(text: str) -> bool:
    if text.isascii():  # the usual case, checked in C at memory speed
        return bool(text.encode("ascii").translate(None, _PRINTABLE_ASCII))
    return _BAD_CHARS.search(text) is not None


def _remember(line: str, cache: dict[str, tuple]) -> tuple:
    token = cache[line] = line_token(line)
    return token


def line_token(line: str) -> tuple:
    """The token of one line (see above); raises Unsupported for a line outside the subset."""
    s = line.lstrip(" ")
    if not s or s[0] == "#":
        return SKIP
    indent = len(line) - len(s)
    if s[0] != "-" or (len(s) > 1 and s[1] != " "):  # not a list item
        key = _key_token(s, indent)
        if key is None:
            raise Unsupported("not a 'key: value' line")
        return key
    rest = s[1:].lstrip(" ")
    if not rest or rest[0] == "#":
        return (indent, DASH, None, None)  # the item follows on the next lines
    col = indent + len(s) - len(rest)
    key = _key_token(rest, col)
    if key is not None:
        return (indent, DASH, key, None)
    if _is_dash(rest):
        raise Unsupported("nested list on one line")
    return (indent, DASH, None, _value(rest, col))


def _is_dash(s: str) -> bool:
    return s[0] == "-" and (len(s) == 1 or s[1] == " ")


def _key_token(s: str, indent: int) -> tuple | None:
    """The KEY token for ``s`` (a line without its indentation), or None if it is not "key: ..."."""
    key, colon, after = s.partition(":")  # a key name has no ':', so the first one ends it
    if not colon or (after and after[0] != " "):
        return None
    key_tag = _key_tags.get(key)
    if key_tag is None:
        if _KEY_NAME(key) is None:
            return None
        key_tag = resolve(key)  # "no: 1" has a bool key, as in PyYAML
        if len(_key_tags) < 8192:
            _key_tags[key] = key_tag
    rest = after.lstrip(" ")
    if not rest or rest[0] == "#":
        return (indent, KEY, key, key_tag, None)
    col = indent + len(s) - len(rest)
    c = rest[0]
    if c == '"' and rest[-1] == '"' and rest.find('"', 1) == len(rest) - 1 and "\\" not in rest:
        return (indent, KEY, key, key_tag, (SCALAR, STR, rest[1:-1], col))  # "text", the next commonest
    if c in _PLAIN_BAD_START or c in "-?:" or " #" in rest or ": " in rest or rest[-1] in ": ":
        return (indent, KEY, key, key_tag, _value(rest, col))
    tag = _resolved.get(rest) or resolve(rest)
    return (indent, KEY, key, key_tag, (SCALAR, tag, rest, col))  # the commonest line


def _place(value: tuple, no: int) -> Node:
    """The node a value template stands for, on line ``no``."""
    if value[0] == SCALAR:
        return (SCALAR, value[1], value[2], no, value[3])
    if value[0] == SEQUENCE:
        return (SEQUENCE, None, [(SCALAR, tag, text, no, col) for tag, text, col in value[1]], no, value[2])
    return (MAPPING, None, [], no, value[2])


def _assemble(tokens: list, numbers: Any) -> Node:
    """The document's node: tokens put together by indentation, in one pass with a stack of open blocks."""
    first = tokens[0]
    root: Node = (SEQUENCE if first[1] is DASH else MAPPING, None, [], numbers[0], first[0])
    items, indent, is_map = root[2], first[0], first[1] is KEY  # the innermost open block
    stack: list = []  # the blocks around it
    pending: Any = None  # a "key:" (its node) or a "-" (DASH) whose value starts on the next line
    for no, t in zip(numbers, tokens):
        ind = t[0]
        if pending is not None:  # this line starts the block that is the pending value
            if ind > indent or (ind == indent and pending is not DASH and t[1] is DASH):
                node = (SEQUENCE if t[1] is DASH else MAPPING, None, [], no, ind)
                items.append(node if pending is DASH else (pending, node))
                stack.append((items, indent, is_map))
                items, indent, is_map = node[2], ind, t[1] is KEY
                pending = None
            else:  # PyYAML places the null of an empty value at the next token: leave it to it
                raise Unsupported(f"empty value before line {no + 1}")
        elif ind != indent or is_map != (t[1] is KEY):
            if ind > indent:  # also a second line of a multi-line value
                raise Unsupported(f"unexpected indentation at line {no + 1}")
            # close blocks until one at this indentation takes this line; "key:" then "- item"
            # lines at the key's own indentation make a list that a key at that indentation ends
            while ind < indent or (ind == indent and is_map != (t[1] is KEY)):
                if not stack or (ind == indent and is_map):
                    raise Unsupported(f"unexpected text at line {no + 1}")
                items, indent, is_map = stack.pop()
            if ind != indent:
                raise Unsupported(f"unexpected indentation at line {no + 1}")
        if t[1] is DASH:
            _, _, key, value = t
            if key is None:
                if value is None:
                    pending = DASH
                else:
                    items.append(_place(value, no))
                continue
            # "- key: ...": the item is a mapping whose first key shares the dash's line
            node = (MAPPING, None, [], no, key[0])
            items.append(node)
            stack.append((items, indent, is_map))
            items, indent, is_map = node[2], key[0], True
            t = key
        value = t[4]
        key_node = (SCALAR, t[3], t[2], no, indent)
        if value is None:
            pending = key_node
        elif value[0] == SCALAR:
            items.append((key_node, (SCALAR, value[1], value[2], no, value[3])))
        else:
            items.append((key_node, _place(value, no)))
    if pending is not None:
        raise Unsupported("empty value at the end")
    return root


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


def _value(text: str, col: int) -> tuple:
    """The template of a one-line value that starts at column ``col``."""
    c = text[0]
    if c == '"' or c == "'":
        value, end = _quoted(text, 0)
        if not _tail_ok(text[end:]):
            raise Unsupported("text after a quoted value")
        return (SCALAR, STR, value, col)
    if c == "[":
        return (SEQUENCE, _flow_items(text, col), col)
    if c == "{":
        if text.rstrip(" ") == "{}" or (text.startswith("{}") and _tail_ok(text[2:])):
            return (MAPPING, None, col)
        raise Unsupported("flow mapping")
    if c in _PLAIN_BAD_START or (c in "-?:" and (len(text) == 1 or text[1] == " ")):
        raise Unsupported(f"indicator {c!r}")
    j = text.find(" #")
    value = (text if j < 0 else text[:j]).rstrip(" ")
    if ": " in value or value.endswith(":"):
        raise Unsupported("':' in a plain value")
    return (SCALAR, resolve(value), value, col)


def _flow_items(text: str, col: int) -> tuple:
    """(tag, text, col) of each scalar in a one-line flow list ``[a, 'b', "c"]``."""
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
            items.append((STR, value, col + pos))
            pos = end
        elif c in "[]{},#&*!|>%@`" or (c in "-?:" and pos + 1 < n and text[pos + 1] in " ,]"):
            raise Unsupported("complex flow list")
        else:
            end = pos
            while end < n and text[end] not in ",]":
                end += 1
            value = text[pos:end].rstrip(" ")
            if not value or not _FLOW_INDICATORS.isdisjoint(value):  # ? : [ ] { } # end or break flow plain
                raise Unsupported("complex flow list")
            items.append((resolve(value), value, col + pos))
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
            raise Unsupported("complex flow list")
    if not _tail_ok(text[pos:]):
        raise Unsupported("text after a flow list")
    return tuple(items)
