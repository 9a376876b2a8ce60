"""``programme.yaml``: the programme's questionnaires, read with the manifest's
YAML node machinery (content_manifest.nodes / schema), so every problem comes as
``FILE:LINE:COL: path: message``.

    programme = load_programme("programme.yaml")   # ProgrammeError lists every problem, in file order
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from content_manifest.kinds import INVALID, Context, Number, Text
from content_manifest.loader import compose_document
from content_manifest.model import Problem
from content_manifest.records import Field, ListOf, Record, schema_document
from content_manifest.schema import SLUG, SLUG_EXPECTED

from .instruments import BUILTINS, KINDS, PHASES, Instrument, Item

PROGRAMME_VERSION = 1
EXAMPLE = Path(__file__).with_name("example.yaml")  # the example programme (docs/evaluation.md)
_ID = Text(pattern=SLUG, expected=SLUG_EXPECTED)

ITEM = Record(
    (
        Field("id", _ID, "item id, unique within its instrument", True),
        Field("text", Text(), "the question or statement as the participant reads it", True),
        Field("kind", Text(enum=KINDS), "likert, yes_no, scale_0_10, choice or text", True),
        Field("points", Number(expected="5 or 7", minimum=5, maximum=7, integer=True), "likert: 5 or 7"),
        Field("labels", ListOf(Text()), "likert: a label for each point, lowest first"),
        Field("options", ListOf(Text()), "choice: the options"),
        Field("agree_at", Number(expected="a number"), "lowest answer that counts as agreement"),
    ),
    expected="an item (a mapping with id, text, kind)",
)

INSTRUMENT = Record(
    (
        Field("id", _ID, "instrument id, unique in the programme (default: the built-in's name)"),
        Field("title", Text(), "title shown above the questions"),
        Field("use", Text(enum=tuple(BUILTINS)), "a built-in instrument instead of items: ssq"),
        Field("when", ListOf(Text(enum=PHASES)), "when it is asked: pre, post, follow_up", True),
        Field("films", ListOf(_ID), "the films it belongs to (default: every film)", default=list),
        Field("chapters", ListOf(_ID), "asked after these chapters (default: after the film)", default=list),
        Field("items", ListOf(ITEM), "the questions, in the order they are asked"),
    ),
    expected="an instrument (a mapping with when and items, or use)",
)

PROGRAMME = Record(
    (
        Field("programme_version", Number(expected="1", integer=True), "format version", True),
        Field("title", Text(), "name of the programme", default=""),
        Field("instruments", ListOf(INSTRUMENT), "the questionnaires", True),
    ),
    expected="a programme (a mapping with programme_version and instruments)",
)


@dataclass(frozen=True)
class Programme:
    title: str
    instruments: dict[str, Instrument]
    path: str = ""


class ProgrammeError(Exception):
    """An invalid programme.yaml; ``problems`` lists every one, in file order."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid programme")


def builtin_programme() -> Programme:
    """What is known without a programme.yaml: the built-in instruments."""
    return Programme("", {name: make() for name, make in BUILTINS.items()})


def load_programme(path: str | os.PathLike[str]) -> Programme:
    """Read and check a programme.yaml; ProgrammeError lists every problem. OSError if it cannot be read."""
    name = str(path)
    ctx = Context(name)
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        ctx.add((data[: e.start].count(b"\n") + 1, 1), "(document)", "the file is not UTF-8 text", "UTF-8")
        raise ProgrammeError(ctx.problems) from None
    root = compose_document(text, ctx, ("the programme is empty", "a mapping with programme_version"))
    doc = INVALID if root is None else PROGRAMME.check(root, "", ctx)
    programme = None if doc is INVALID else _build(doc, ctx, name)
    if ctx.problems or programme is None:
        raise ProgrammeError(sorted(map(_moved, ctx.problems), key=lambda p: (p.line, p.col)))
    return programme


def _moved(p: Problem) -> Problem:
    """An ``areas:`` list, which programme.yaml once took, is pointed at the manifest that holds them now."""
    if p.path != "areas" or not p.message.startswith("unknown key"):
        return p
    where = "the film library manifest, films[].areas (docs/manifest.md)"
    return replace(p, message="areas of interest belong to the films now", expected=where)


def _build(doc: Any, ctx: Context, name: str) -> Programme | None:
    if doc.get("programme_version") not in (None, PROGRAMME_VERSION):
        ctx.add(doc.at("programme_version"), "programme_version", "unknown version", str(PROGRAMME_VERSION))
    instruments: dict[str, Instrument] = {}
    for i, rec in enumerate(doc.get("instruments") or []):
        inst = _instrument(rec, f"instruments[{i}]", ctx)
        if inst is None:
            continue
        if inst.id in instruments:
            ctx.add(rec.mark, f"instruments[{i}].id", f"duplicate instrument {inst.id!r}", "each id once")
            continue
        instruments[inst.id] = inst
    return Programme(str(doc.get("title") or ""), instruments, name)


def _instrument(rec: Any, path: str, ctx: Context) -> Instrument | None:
    use, given = rec.get("use"), rec.get("items")
    if "use" not in rec.marks and "items" not in rec.marks:
        ctx.add(rec.mark, path, "an instrument needs items, or use: a built-in", "items or use")
        return None
    if "use" in rec.marks and "items" in rec.marks:
        ctx.add(
            rec.at("items"), f"{path}.items", "a built-in instrument (use) takes no items", "use or items"
        )
        return None
    if "use" in rec.marks and use is None:
        return None  # an unknown built-in: already reported
    when = tuple(dict.fromkeys(rec.get("when") or ()))
    if not when and "when" in rec.marks:
        ctx.add(rec.at("when"), f"{path}.when", "empty list", "at least one of: " + ", ".join(PHASES))
    films, chapters = tuple(rec.get("films") or ()), tuple(rec.get("chapters") or ())
    if use is not None:
        base = BUILTINS[use](when, films)
        return Instrument(
            rec.get("id") or base.id,
            rec.get("title") or base.title,
            base.items,
            when,
            films,
            chapters,
            builtin=use,
        )
    if rec.get("id") is None and "id" not in rec.marks:
        ctx.add(rec.mark, f"{path}.id", "missing required key 'id'", "instrument id")
    items: list[Item] = []
    ids: set[str] = set()
    for i, it in enumerate(given or []):
        item = _item(it, f"{path}.items[{i}]", ctx)
        if item is not None and item.id in ids:
            ctx.add(it.mark, f"{path}.items[{i}].id", f"duplicate item {item.id!r}", "each id once")
        elif item is not None:
            ids.add(item.id)
            items.append(item)
    if not given and "items" in rec.marks:
        ctx.add(rec.at("items"), f"{path}.items", "no items", "at least one item")
    if rec.get("id") is None:
        return None
    return Instrument(rec["id"], rec.get("title") or rec["id"], tuple(items), when, films, chapters)


def _item(rec: Any, path: str, ctx: Context) -> Item | None:
    if any(k not in rec for k in ("id", "text", "kind")):
        return None  # already reported
    kind, points = rec["kind"], rec.get("points")
    labels, options = tuple(rec.get("labels") or ()), tuple(rec.get("options") or ())
    ok = True
    for key, wanted in (("points", "likert"), ("labels", "likert"), ("options", "choice")):
        if key in rec.marks and kind != wanted:
            ctx.add(rec.at(key), f"{path}.{key}", f"{key} is for {wanted} items, not {kind}", f"no {key}")
            ok = False
    if kind == "likert":
        if points not in (5, 7):
            if "points" not in rec.marks:
                ctx.add(rec.mark, f"{path}.points", "a likert item needs points", "5 or 7")
            elif points is not None:
                ctx.add(rec.at("points"), f"{path}.points", f"{points} points", "5 or 7")
            ok = False
        elif len(labels) != points:
            where = rec.at("labels") if "labels" in rec.marks else rec.mark
            ctx.add(where, f"{path}.labels", f"{len(labels)} labels for {points} points", f"{points} labels")
            ok = False
    if kind == "choice" and len(options) < 2:
        where = rec.at("options") if "options" in rec.marks else rec.mark
        ctx.add(where, f"{path}.options", "a choice item needs options", "at least two options")
        ok = False
    agree = rec.get("agree_at")
    if agree is not None:
        top = {"likert": points or 7, "yes_no": 1, "scale_0_10": 10}.get(kind)
        if top is None or not 0 <= agree <= top:
            span = "no agree_at" if top is None else f"0..{top}"
            ctx.add(
                rec.at("agree_at"), f"{path}.agree_at", f"agree_at {agree:g} does not fit a {kind} item", span
            )
            ok = False
    if not ok:
        return None
    return Item(rec["id"], rec["text"], kind, points, labels or options, agree)


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of programme.yaml, from the definitions the validator walks."""
    title = "Viewpoint programme (questionnaires)"
    about = "programme.yaml beside the film library; see docs/evaluation.md."
    return schema_document(PROGRAMME, "programme_version", PROGRAMME_VERSION, "programme", title, about)
