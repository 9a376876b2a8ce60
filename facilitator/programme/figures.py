"""The programme report's figures, as SQL on the DuckDB store (one query per table), after the filters.

Each participant's latest answer to an item in a phase counts; pre/post pairs are a participant's pre and
post answers to the same item. Tables are ``Figure(columns, rows)``; `figures()` returns them by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from .instruments import SSQ_SUBSCALES, SSQ_WEIGHTS
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
    con.execute(f"CREATE OR REPLACE TEMP TABLE sel AS SELECT * FROM sessions{where}", params)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE latest AS SELECT s.participant, a.instrument, a.item, a.phase,"
        " max_by(a.value, (a.utc, a.session, a.seq)) AS value,"
        " max_by(a.text, (a.utc, a.session, a.seq)) AS text"
        " FROM answers a JOIN sel s USING (session) GROUP BY ALL"
    )


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
    out["agreement"] = _fig(
        con,
        """
        SELECT i.instrument, i.item, l.phase, count(*) AS n,
               count(*) FILTER (l.value >= i.agree_at) AS agreed,
               round(100.0 * count(*) FILTER (l.value >= i.agree_at) / count(*), 1) AS agreed_pct,
               i.kind, i.text
        FROM latest l JOIN items i USING (instrument, item)
        WHERE i.kind IN ('likert', 'yes_no', 'scale_0_10') AND l.value IS NOT NULL
        GROUP BY ALL ORDER BY i.instrument, min(i.position), l.phase""",
    )
    out["choices"] = _fig(
        con,
        """
        SELECT i.instrument, i.item, l.phase, l.text AS option, count(*) AS n,
               round(100.0 * count(*)
                     / sum(count(*)) OVER (PARTITION BY i.instrument, i.item, l.phase), 1) AS pct
        FROM latest l JOIN items i USING (instrument, item) WHERE i.kind = 'choice'
        GROUP BY i.instrument, i.item, l.phase, l.text ORDER BY i.instrument, i.item, l.phase, n DESC""",
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
        GROUP BY w.film, w.chapter ORDER BY w.film, w.chapter""",
    )
    out["attention"] = _fig(
        con,
        f"""
        SELECT a.film, a.chapter, a.cell,
               CAST(-180 + (a.cell % {GRID[0]} + 0.5) * {360 / GRID[0]} AS DOUBLE) AS heading,
               CAST(90 - (a.cell // {GRID[0]} + 0.5) * {180 / GRID[1]} AS DOUBLE) AS pitch,
               round(sum(a.seconds), 3) AS seconds,
               count(DISTINCT a.session) AS viewers
        FROM attention a JOIN sel USING (session) GROUP BY ALL ORDER BY a.film, a.chapter, a.cell""",
    )
    out["aoi"] = _fig(
        con,
        """
        SELECT r.film, r.area, any_value(ar.label) AS label, count(*) AS viewers,
               count(*) FILTER (r.seconds > 0) AS looked,
               round(100.0 * count(*) FILTER (r.seconds > 0) / count(*), 1) AS looked_pct,
               round(avg(r.seconds), 2) AS mean_s, round(median(r.seconds), 2) AS median_s
        FROM aoi r JOIN sel USING (session) LEFT JOIN areas ar ON ar.film = r.film AND ar.area = r.area
        GROUP BY r.film, r.area ORDER BY r.film, r.area""",
    )
    return out


def _paired(con: duckdb.DuckDBPyConnection) -> Figure:
    rows = []
    for a, b in COMPARISONS:
        cur = con.execute(
            """
            SELECT i.instrument, i.item, count(*) AS n, avg(x.value) AS mean_before,
                   avg(y.value) AS mean_after,
                   avg(y.value - x.value) AS mean_change, stddev_samp(y.value - x.value) AS sd_change, i.text
            FROM latest x JOIN latest y USING (participant, instrument, item)
            JOIN items i USING (instrument, item)
            WHERE x.phase = ? AND y.phase = ? AND i.kind IN ('likert', 'yes_no', 'scale_0_10')
              AND x.value IS NOT NULL AND y.value IS NOT NULL
            GROUP BY i.instrument, i.item, i.text ORDER BY i.instrument, min(i.position)""",
            [a, b],
        )
        for inst, item, n, m0, m1, dm, sd, text in cur.fetchall():
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
    pairs = ", ".join(f"('{item}', '{scale}')" for scale, items in SSQ_SUBSCALES.items() for item in items)
    w = SSQ_WEIGHTS
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ssq_scores AS
        WITH r AS (SELECT l.* FROM latest l JOIN items i USING (instrument, item) WHERE i.kind = 'ssq'),
             done AS (SELECT participant, instrument, phase FROM r
                      GROUP BY ALL HAVING count(DISTINCT item) = 16),
             raw AS (SELECT r.participant, r.instrument, r.phase, m.scale, sum(r.value) AS raw
                     FROM r JOIN done USING (participant, instrument, phase)
                     JOIN (VALUES {pairs}) m(item, scale) USING (item) GROUP BY ALL)
        SELECT participant, instrument, phase,
               sum(raw) FILTER (scale = 'nausea') * {w["nausea"]} AS nausea,
               sum(raw) FILTER (scale = 'oculomotor') * {w["oculomotor"]} AS oculomotor,
               sum(raw) FILTER (scale = 'disorientation') * {w["disorientation"]} AS disorientation,
               sum(raw) * {w["total"]} AS total
        FROM raw GROUP BY ALL""")
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
