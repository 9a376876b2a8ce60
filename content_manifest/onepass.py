"""Reading a valid manifest straight into checked values, in one pass, without positions.

Nearly every manifest a player or console loads is valid and written in the plain block style that `scan`
writes. This reader handles exactly the subset `nodes.fast_compose` reads, and checks it against the schema
while it reads: each line is matched to the field it sets and its value converted by that field's kind, with
no node tree and no positions in between. A manifest repeats most of its lines ("audio: stereo",
"projection: equirect360"...), so each distinct line is read and converted once per kind of mapping or list
it appears in.

It gives up (`read_checked` returns None) at the first thing outside the subset and at the first problem of
any kind: an unknown or repeated key, a missing required key, a value its field refuses. The loader then
reads the manifest the careful way (`nodes` + `schema`), which finds every problem with its position. So this
path only ever accepts what the careful path accepts, with the same values; tests compare the two.
"""

from __future__ import annotations

from typing import Any

from .kinds import INVALID, Rec, ScalarKind, Seq
from .nodes import DASH, KEY, MAPPING, SCALAR, SEQUENCE, SKIP, Unsupported, line_token, split_lines
from .records import ListOf, MapOf, Record

# What a line does in the block it stands in: an entry (indent, op, a, b, block, token, first), where block is
# the kind of block it was read for, token the line's token (nodes.line_token) and, by op:
SET = 0  # a: a key, b: its converted single value
OPEN = 1  # a: a key, b: the kind of its value, which starts on the next line
FLOW = 2  # a: a key, b: a one-line list's items, converted
EMPTY_MAP = 3  # a: a key with "{}" as its value, for a mapping of any keys
ITEM = 4  # a: a list item, a converted single value
# "- key: ...", an item that is a mapping: a: its kind; b: the key's indentation; first: the key's entry
ITEM_RECORD = 5
SKIPPED = 6  # a blank or comment line


_SKIPPED = (-2, SKIPPED, None, None, None, SKIP, None)
_NEW = (-3, None, None, None, None, None, None)  # the entry of a line not read yet: in no kind of block


class _GiveUp(Exception):
    """The manifest is outside the subset or has a problem: leave it to the careful path."""


def read_checked(text: str, root: Record) -> Rec | None:
    """The manifest's checked values as `root.check` gives them, or None to leave it to the careful path."""
    try:
        lines = split_lines(text)
        return _read(lines, root)
    except (_GiveUp, Unsupported, IndexError):
        return None


def _read(lines: list[str], root: Record) -> Rec:
    entries: dict[str, tuple] = {}  # line -> its entry in the kind of block it was last read in
    doc = Rec()
    # the innermost open block: its value, kind, indentation and whether it is a mapping
    out: Any = doc
    kind: Any = root
    indent = -1  # set by the first line
    is_map = True
    stack: list[tuple] = []  # the blocks around it
    pending: Any = None  # (key, kind) of a "key:" whose value starts on the next line
    get = entries.get
    for line in lines:
        e = get(line, _NEW)
        if e[4] is not kind or e[0] != indent or pending is not None:
            # a new line, a line that opens or closes a block, or one read before in another kind of block
            t = line_token(line) if e is _NEW else e[5]
            if t is SKIP:
                entries[line] = _SKIPPED
                continue
            ind = t[0]
            if indent < 0:  # the first line: the document is a mapping at its indentation
                if t[1] is not KEY:
                    raise _GiveUp
                indent = ind
            elif pending is not None:  # this line starts the block that is the pending value
                key, child = pending
                pending = None
                if not (ind > indent or (ind == indent and t[1] is DASH)):
                    raise _GiveUp  # an empty value
                stack.append((out, kind, indent, is_map))
                if t[1] is DASH:
                    if type(child) is not ListOf:
                        raise _GiveUp
                    out[key] = out = Seq()
                    is_map = False
                else:
                    if type(child) is ListOf:
                        raise _GiveUp
                    out[key] = out = Rec()
                    is_map = True
                kind, indent = child, ind
            elif ind != indent or is_map != (t[1] is KEY):
                # close blocks until one at this indentation takes this line; "key:" then "- item" lines at
                # the key's own indentation make a list that a key at that indentation ends
                if ind > indent:
                    raise _GiveUp
                while ind < indent or (ind == indent and is_map != (t[1] is KEY)):
                    if not stack or (ind == indent and is_map):
                        raise _GiveUp
                    if type(kind) is Record:
                        _finish(kind, out)
                    out, kind, indent, is_map = stack.pop()
                if ind != indent:
                    raise _GiveUp
            if e[4] is not kind or e[0] != indent:
                e = entries[line] = _entry(t, kind)
        op = e[1]
        if op == SET:  # the commonest line
            key = e[2]
            if key in out:
                raise _GiveUp  # a repeated key
            out[key] = e[3]
        elif op == ITEM:
            out.append(e[2])
        elif op == ITEM_RECORD:  # "- key: ...": the item is a mapping whose first key is on this line
            item = Rec()
            out.append(item)
            stack.append((out, kind, indent, is_map))
            out, kind, indent, is_map = item, e[2], e[3], True
            pending = _set_first(item, e[6])
        else:
            key = e[2]
            if key in out:
                raise _GiveUp
            if op == OPEN:
                pending = (key, e[3])
            elif op == FLOW:
                out[key] = Seq(e[3])
            else:  # EMPTY_MAP
                out[key] = Rec()
    if pending is not None:
        raise _GiveUp  # an empty value at the end
    while True:
        if type(kind) is Record:
            _finish(kind, out)
        if not stack:
            return doc
        out, kind, indent, is_map = stack.pop()


def _set_first(item: Rec, e: tuple) -> tuple | None:
    """Set the first key of a list item that is a mapping (entry ``e``); the pending (key, kind) if its value
    starts on the next line."""
    op = e[1]
    if op == SET:
        item[e[2]] = e[3]
    elif op == FLOW:
        item[e[2]] = Seq(e[3])
    elif op == EMPTY_MAP:
        item[e[2]] = Rec()
    else:  # OPEN
        return (e[2], e[3])
    return None


def _finish(record: Record, out: Rec) -> None:
    """Close a mapping: every required key given, defaults for the others, as `Record.check` does."""
    if not record._required_names <= out.keys():  # type: ignore[attr-defined]
        raise _GiveUp
    for name, default, make in record._defaults:  # type: ignore[attr-defined]
        if name not in out:
            out[name] = default() if make else default


def _entry(t: tuple, kind: Any) -> tuple:
    """What line token ``t`` does in a block of ``kind`` (an entry, see above); raises _GiveUp if the
    line has no place there or its value is refused."""
    indent, what = t[0], t[1]
    if what is KEY and type(kind) is Record:  # the commonest: "key: value" for a single-value field
        convert = kind._values.get(t[2])  # type: ignore[attr-defined]
        value = t[4]
        if convert is not None and value is not None and value[0] == SCALAR:
            converted = convert(value)
            if converted is INVALID:
                raise _GiveUp
            return (indent, SET, t[2], converted, kind, t, None)
    if what is KEY:
        if type(kind) is Record:
            child = kind._kinds.get(t[2])  # type: ignore[attr-defined]
            if child is None:
                raise _GiveUp  # an unknown key
        elif type(kind) is MapOf:
            if kind._key_match(t[2]) is None:  # type: ignore[attr-defined]
                raise _GiveUp
            child = kind.value
        else:
            raise _GiveUp
        op, a, b = _key_entry(t[2], t[4], child)
        return (indent, op, a, b, kind, t, None)
    if type(kind) is not ListOf:
        raise _GiveUp
    _, _, key_token, value = t
    item = kind.item
    if key_token is not None:
        if type(item) is not Record:
            raise _GiveUp
        return (indent, ITEM_RECORD, item, key_token[0], kind, t, _entry(key_token, item))
    if value is None or value[0] != SCALAR or not isinstance(item, ScalarKind):
        raise _GiveUp
    return (indent, ITEM, _convert(item, value), None, kind, t, None)


def _key_entry(key: str, value: tuple | None, kind: Any) -> tuple[int, Any, Any]:
    """(op, a, b) of a key whose value (a template, or None when it follows) is of ``kind``."""
    if value is None:
        if not isinstance(kind, (Record, ListOf, MapOf)):
            raise _GiveUp  # a single value on the next lines
        return (OPEN, key, kind)
    if value[0] == SCALAR:
        if not isinstance(kind, ScalarKind):
            raise _GiveUp
        return (SET, key, _convert(kind, value))
    if value[0] == SEQUENCE:
        if type(kind) is not ListOf or (value[1] and not isinstance(kind.item, ScalarKind)):
            raise _GiveUp  # not a list, or a one-line list of what must be mappings
        items = tuple(_convert(kind.item, (SCALAR, tag, text)) for tag, text, _ in value[1])
        return (FLOW, key, items)
    if value[0] == MAPPING and type(kind) is MapOf:
        return (EMPTY_MAP, key, None)
    raise _GiveUp


def _convert(kind: ScalarKind, value: tuple) -> Any:
    """A scalar's value by its field's kind (``value`` is a node or a template: kind, tag, text, ...)."""
    out = kind.value(value)
    if out is INVALID:
        raise _GiveUp
    return out
