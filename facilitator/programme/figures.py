"""The programme report's figures, as SQL on the DuckDB store (one query per table), after the filters.

Each participant's latest answer to an item in a phase counts (the temporary table ``wide``: one row per
participant and item, a column per phase); pre/post pairs are a participant's pre and post answers.
Tables are ``Figure(columns, rows)``; `figures()` returns them by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from .instruments import PHASES, SSQ_SUBSCALES, SSQ_SYMPTOMS, SSQ_WEIGHTS
from .stats import paired
from .summary import GRID


@dataclass
class Filters:
    sites: tuple[str, ...] = ()
    cohorts: tuple[str, ...] = ()
    films: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None  # inclusive

    def describe(self) -> str:
        parts = [
            f"{k}: {', '.join(v)}"
            for k, v in (("site", self.sites), ("cohort", self.cohorts), ("film", self.films))
            if v
        ]
        if self.since or self.until:
            parts.append(f"dates: {self.since or '…'} to {self.until or '…'}")
        return "; ".join(parts) or "all sessions"


@dataclass
class Figure:
    columns: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r)) for r in self.rows]


COMPARISONS = (("pre", "post"), ("pre", "follow_up"))


def select_sessions(con: duckdb.DuckDBPyConnection, f: Filters) -> None:
    """The temporary table ``sel``: the sessions the filters keep."""
    cond, params = [], []
    for col, values in (("site", f.sites), ("cohort", f.cohorts), ("film", f.films)):
        if values:
            cond.append(f"{col} IN ({', '.join('?' * len(values))})")
            params.extend(values)
    if f.since:
        cond.append("CAST(started_utc AS DATE) >= ?")
        params.append(f.since)
    if f.until:
        cond.append("CAST(started_utc AS DATE) <= ?")
        params.append(f.until)
    where = " WHERE " + " AND ".join(cond) if cond else ""
    con.execute("SET preserve_insertion_order = false")  # every figure orders its own rows
    con.execute(f"CREATE OR REPLACE TEMP TABLE sel AS SELECT * FROM sessions{where}", params)
    # one row per participant and item, with the latest answer of each phase (a session holds one answer per
    # item and phase: summary.py): every numeric figure reads this, not the answers again
    only = " WHERE session IN (SELECT session FROM sel)" if where else ""
    cols = ", ".join(f"arg_max(value, utc) FILTER (phase = '{p}') AS {p}" for p in PHASES)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE wide AS SELECT participant, instrument, item, {cols}
        FROM answers{only} GROUP BY ALL""")
    # the same for answers given as text (choices, and free text when collected): few rows
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE texts AS
        SELECT participant, instrument, item, phase, arg_max(text, utc) AS text
        FROM answers WHERE text IS NOT NULL{only.replace("WHERE", "AND")} GROUP BY ALL""")


def _fig(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> Figure:
    cur = con.execute(sql, params or [])
    return Figure(tuple(d[0] for d in cur.description), cur.fetchall())


def figures(con: duckdb.DuckDBPyConnection, f: Filters | None = None) -> dict[str, Figure]:
    select_sessions(con, f or Filters())
    out: dict[str, Figure] = {}
    out["headline"] = _fig(
        con,
        """
        SELECT count(*) AS sessions, count(DISTINCT participant) AS participants,
               count(DISTINCT site) AS sites,
               count(DISTINCT film) AS films, count(*) FILTER (completed) AS completed,
               round(100.0 * count(*) FILTER (completed) / nullif(count(*), 0), 1) AS completed_pct,
               CAST(min(started_utc) AS DATE) AS first_day, CAST(max(started_utc) AS DATE) AS last_day
        FROM sel""",
    )
    out["sites"] = _fig(
        con,
        """
        SELECT site, count(*) AS sessions, count(DISTINCT participant) AS participants,
               round(100.0 * count(*) FILTER (completed) / count(*), 1) AS completed_pct
        FROM sel GROUP BY site ORDER BY site""",
    )
    out["films"] = _fig(
        con,
        """
        SELECT film, count(*) AS sessions,
               round(100.0 * count(*) FILTER (completed) / count(*), 1) AS completed_pct,
               round(avg(watched_s), 1) AS mean_watched_s
        FROM sel GROUP BY film ORDER BY film""",
    )
    out["paired"] = _paired(con)
    out["agreement"] = _agreement(con)
    out["choices"] = _fig(
        con,
        """
        SELECT t.instrument, t.item, t.phase, t.text AS option, count(*) AS n,
               round(100.0 * count(*)
                     / sum(count(*)) OVER (PARTITION BY t.instrument, t.item, t.phase), 1) AS pct
        FROM texts t JOIN items i USING (instrument, item) WHERE i.kind = 'choice'
        GROUP BY t.instrument, t.item, t.phase, t.text
        ORDER BY t.instrument, t.item, t.phase, n DESC, option""",
    )
    out["ssq"], out["ssq_change"] = _ssq(con)
    out["welfare"] = _fig(
        con,
        """
        SELECT k.kind, count(w.seq) AS events, count(DISTINCT w.session) AS sessions_with,
               round(100.0 * count(DISTINCT w.session)
                     / (SELECT nullif(count(*), 0) FROM sel), 1) AS sessions_pct,
               round(count(w.seq) / (SELECT nullif(count(*), 0) FROM sel), 3) AS per_session
        FROM (VALUES ('stop'), ('soften'), ('break')) k(kind)
        LEFT JOIN (SELECT w.* FROM welfare w JOIN sel USING (session)) w ON w.kind = k.kind
        GROUP BY k.kind ORDER BY k.kind DESC""",
    )
    out["welfare_chapters"] = _fig(
        con,
        """
        WITH v AS (SELECT film, count(*) AS viewers FROM sel GROUP BY film)
        SELECT w.film, w.chapter, count(*) FILTER (w.kind = 'stop') AS stops,
               count(*) FILTER (w.kind = 'soften') AS softens, count(*) FILTER (w.kind = 'break') AS breaks,
               any_value(v.viewers) AS viewers,
               round(100.0 * count(*) FILTER (w.kind = 'stop') / any_value(v.viewers), 2) AS stops_per_100
        FROM welfare w JOIN sel USING (session) LEFT JOIN v ON v.film = w.film
        LEFT JOIN (SELECT film, chapter, min(start_s) AS start_s FROM chapters GROUP BY ALL) c
             ON c.film = w.film AND c.chapter = w.chapter
        GROUP BY w.film, w.chapter ORDER BY w.film, any_value(c.start_s) NULLS FIRST, w.chapter""",
    )
    out["attention"] = _fig(
        con,
        f"""
        SELECT a.film, a.chapter, a.cell,
               CAST(-180 + (a.cell % {GRID[0]} + 0.5) * {360 / GRID[0]} AS DOUBLE) AS heading,
               CAST(90 - (a.cell // {GRID[0]} + 0.5) * {180 / GRID[1]} AS DOUBLE) AS pitch,
               round(sum(a.seconds), 3) AS seconds,
               any_value(v.viewers) AS viewers
        FROM attention a JOIN sel USING (session)
             JOIN (SELECT film, count(*) AS viewers FROM sel GROUP BY film) v
             ON v.film = a.film
        LEFT JOIN (SELECT film, chapter, min(start_s) AS start_s FROM chapters GROUP BY ALL) c
             ON c.film = a.film AND c.chapter = a.chapter
        GROUP BY a.film, a.chapter, a.cell
        ORDER BY a.film, any_value(c.start_s) NULLS FIRST, a.chapter, a.cell""",
    )
    out["aoi"] = _fig(
        con,
        """
        SELECT r.film, r.area, any_value(ar.label) AS label,
               any_value(ar.start_s) AS start_s, any_value(ar.end_s) AS end_s,
               count(*) FILTER (r.tracked_s > 0) AS viewers,
               count(*) FILTER (r.looked) AS looked,
               round(100.0 * count(*) FILTER (r.looked) / nullif(count(*) FILTER (r.tracked_s > 0), 0), 1)
                   AS looked_pct,
               round(median(r.seconds) FILTER (r.looked), 2) AS median_s,
               round(median(r.first_look_s) FILTER (r.looked), 2) AS median_first_look_s,
               count(*) FILTER (r.tracked_s = 0) AS not_reached,
               count(*) FILTER (r.tracked_s IS NULL) AS not_recorded
        FROM aoi r JOIN sel USING (session) LEFT JOIN areas ar ON ar.film = r.film AND ar.area = r.area
        GROUP BY r.film, r.area ORDER BY r.film, any_value(ar.start_s), r.area""",
    )
    return out


_NUMERIC = "i.kind IN ('likert', 'yes_no', 'scale_0_10')"


def _agreement(con: duckdb.DuckDBPyConnection) -> Figure:
    counts = ", ".join(f"count(w.{p}), count(*) FILTER (w.{p} >= i.agree_at)" for p in PHASES)
    cur = con.execute(f"""
        SELECT i.instrument, i.item, i.kind, i.text, {counts}
        FROM wide w JOIN items i USING (instrument, item) WHERE {_NUMERIC}
        GROUP BY i.instrument, i.item, i.kind, i.text ORDER BY i.instrument, min(i.position)""")
    rows = []
    for inst, item, kind, text, *c in cur.fetchall():
        for k, phase in enumerate(PHASES):
            n, agreed = c[2 * k], c[2 * k + 1]
            if n:
                rows.append((inst, item, phase, n, agreed, round(100.0 * agreed / n, 1), kind, text))
    return Figure(("instrument", "item", "phase", "n", "agreed", "agreed_pct", "kind", "text"), rows)


def _paired(con: duckdb.DuckDBPyConnection) -> Figure:
    parts = []
    for a, b in COMPARISONS:
        both = f"w.{a} IS NOT NULL AND w.{b} IS NOT NULL"
        parts.append(
            f"count(*) FILTER ({both}), avg(w.{a}) FILTER ({both}), avg(w.{b}) FILTER ({both}),"
            f" avg(w.{b} - w.{a}), stddev_samp(w.{b} - w.{a})"
        )
    cur = con.execute(f"""
        SELECT i.instrument, i.item, i.text, {", ".join(parts)}
        FROM wide w JOIN items i USING (instrument, item) WHERE {_NUMERIC}
        GROUP BY i.instrument, i.item, i.text ORDER BY i.instrument, min(i.position)""")
    found = cur.fetchall()
    rows = []
    for k, (a, b) in enumerate(COMPARISONS):
        for inst, item, text, *c in found:
            n, m0, m1, dm, sd = c[5 * k : 5 * k + 5]
            if n:
                st = paired(n, dm, sd)
                rows.append(
                    (
                        inst,
                        item,
                        f"{a}-{b}",
                        n,
                        m0,
                        m1,
                        dm,
                        sd,
                        st["ci_low"],
                        st["ci_high"],
                        st["effect_size"],
                        text,
                    )
                )
    cols = (
        "instrument",
        "item",
        "compare",
        "n",
        "mean_before",
        "mean_after",
        "mean_change",
        "sd_change",
        "ci_low",
        "ci_high",
        "effect_size",
        "text",
    )
    return Figure(cols, rows)


def _ssq(con: duckdb.DuckDBPyConnection) -> tuple[Figure, Figure]:
    """Weighted SSQ scores per phase, from participants who rated all 16 symptoms; the pre-post change."""
    flags = ", ".join(
        f"('{item}', {int(item in SSQ_SUBSCALES['nausea'])}, {int(item in SSQ_SUBSCALES['oculomotor'])},"
        f" {int(item in SSQ_SUBSCALES['disorientation'])})"
        for item, _ in SSQ_SYMPTOMS
    )
    w = SSQ_WEIGHTS
    sums = ", ".join(
        f"count(w.{p}) AS {p}_n, sum(w.{p} * m.n) AS {p}_n_raw, sum(w.{p} * m.o) AS {p}_o_raw,"
        f" sum(w.{p} * m.d) AS {p}_d_raw"
        for p in PHASES
    )
    scored = " UNION ALL ".join(
        f"""SELECT participant, instrument, '{p}' AS phase, {p}_n_raw * {w["nausea"]} AS nausea,
                   {p}_o_raw * {w["oculomotor"]} AS oculomotor,
                   {p}_d_raw * {w["disorientation"]} AS disorientation,
                   ({p}_n_raw + {p}_o_raw + {p}_d_raw) * {w["total"]} AS total
            FROM raw WHERE {p}_n = {len(SSQ_SYMPTOMS)}"""
        for p in PHASES
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ssq_scores AS
        WITH raw AS (SELECT w.participant, w.instrument, {sums}
                     FROM wide w JOIN items i USING (instrument, item)
                     JOIN (VALUES {flags}) m(item, n, o, d) ON m.item = w.item
                     WHERE i.kind = 'ssq' GROUP BY ALL)
        {scored}""")
    scores = _fig(
        con,
        """
        SELECT phase, count(*) AS n, round(avg(nausea), 2) AS nausea, round(avg(oculomotor), 2) AS oculomotor,
               round(avg(disorientation), 2) AS disorientation, round(avg(total), 2) AS total,
               round(median(total), 2) AS median_total
        FROM ssq_scores GROUP BY phase ORDER BY CASE phase WHEN 'pre' THEN 0 WHEN 'post' THEN 1 ELSE 2 END""",
    )
    n, dm, sd = con.execute("""
        SELECT count(*), avg(b.total - a.total), stddev_samp(b.total - a.total)
        FROM ssq_scores a JOIN ssq_scores b USING (participant, instrument)
        WHERE a.phase = 'pre' AND b.phase = 'post'""").fetchone()
    st = paired(n, dm, sd)
    change = Figure(
        ("n", "mean_change", "sd_change", "ci_low", "ci_high", "effect_size"),
        [(n, dm, sd, st["ci_low"], st["ci_high"], st["effect_size"])] if n else [],
    )
    return scores, change
