"""The programme store's tables, defined once for DuckDB, Parquet and PostgreSQL (docs/evaluation.md)."""

from __future__ import annotations

from dataclasses import dataclass

# column types: (DuckDB, PostgreSQL)
_T = {
    "text": ("VARCHAR", "text"),
    "int": ("INTEGER", "integer"),
    "real": ("DOUBLE", "double precision"),
    "bool": ("BOOLEAN", "boolean"),
    "time": ("TIMESTAMP", "timestamp"),
}


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, type key of _T)
    key: tuple[str, ...]
    doc: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    def types(self, engine: str) -> tuple[str, ...]:
        """Each column's type in ``engine`` ("duckdb" or "postgresql")."""
        i = 0 if engine == "duckdb" else 1
        return tuple(_T[t][i] for _, t in self.columns)

    def ddl(self, engine: str, name: str | None = None, keys: bool = True) -> str:
        """CREATE TABLE for ``engine``; without ``keys`` (a store built once for a report) no primary key."""
        i = 0 if engine == "duckdb" else 1
        cols = ", ".join(f"{c} {_T[t][i]}" for c, t in self.columns)
        key = f", PRIMARY KEY({', '.join(self.key)})" if keys else ""
        return f"CREATE TABLE IF NOT EXISTS {name or self.name}({cols}{key})"


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "sessions",
            (
                ("session", "text"),
                ("site", "text"),
                ("cohort", "text"),
                ("participant", "text"),
                ("player", "text"),
                ("film", "text"),
                ("started_utc", "time"),
                ("ended_utc", "time"),
                ("watched_s", "real"),
                ("completed", "bool"),
            ),
            ("session",),
            "one row per facilitated session: where, who (a participant code), which film, how long",
        ),
        Table(
            "answers",
            (
                ("session", "text"),
                ("seq", "int"),
                ("participant", "text"),
                ("instrument", "text"),
                ("item", "text"),
                ("phase", "text"),
                ("value", "real"),
                ("text", "text"),
                ("utc", "time"),
            ),
            ("session", "seq"),
            "questionnaire answers (value: the number; text: a choice, or free text when collected with it)",
        ),
        Table(
            "welfare",
            (
                ("session", "text"),
                ("seq", "int"),
                ("kind", "text"),
                ("film", "text"),
                ("chapter", "text"),
                ("media_t", "real"),
            ),
            ("session", "seq"),
            "welfare stops and softens, and the viewer's break requests, with the chapter they fell in",
        ),
        Table(
            "attention",
            (
                ("session", "text"),
                ("film", "text"),
                ("chapter", "text"),
                ("cell", "int"),
                ("seconds", "real"),
            ),
            ("session", "film", "chapter", "cell"),
            "seconds of gaze per 15-degree cell (row * 24 + column; heading -180, pitch +90 first)",
        ),
        Table(
            "aoi",
            (
                ("session", "text"),
                ("film", "text"),
                ("area", "text"),
                ("tracked_s", "real"),
                ("looked", "bool"),
                ("seconds", "real"),
                ("first_look_s", "real"),
            ),
            ("session", "film", "area"),
            "per area of interest of the film: seconds of its time range watched with head tracking (null: "
            "not recorded), whether and how long the viewer looked inside it, and how soon after it appeared",
        ),
        Table(
            "items",
            (
                ("instrument", "text"),
                ("item", "text"),
                ("position", "int"),
                ("kind", "text"),
                ("points", "int"),
                ("agree_at", "real"),
                ("text", "text"),
                ("title", "text"),
            ),
            ("instrument", "item"),
            "the questions answered (from programme.yaml), so that a store explains itself",
        ),
        Table(
            "areas",
            (("film", "text"), ("area", "text"), ("label", "text"), ("start_s", "real"), ("end_s", "real")),
            ("film", "area"),
            "the areas of interest (from the film library's manifest)",
        ),
        Table(
            "chapters",
            (("film", "text"), ("chapter", "text"), ("start_s", "real")),
            ("film", "chapter"),
            "the chapters the player announced (chapter.entered), for their order",
        ),
    )
}

SESSION_TABLES = ("sessions", "answers", "welfare", "attention", "aoi")  # rows that belong to one session
CATALOGUE_TABLES = ("items", "areas", "chapters")  # rows that describe the programme and its films
