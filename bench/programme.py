"""Programme report at scale: 100,000 synthetic sessions across 40 sites (answers to the example programme,
welfare events, attention grids, area dwell) written as a Parquet exchange folder; then

1. the time to build the programme report's figures from that folder (DuckDB over the Parquet files, as
   `programme report --from FOLDER` does: every figure), with the ratio to a plain Python loop over the same
   Parquet rows computing the main figures (the reference, same run; both give the same paired changes);
2. the time to push 10,000 sessions to a real PostgreSQL (a throw-away cluster), and to push them again
   (idempotent), with the ratio to row-by-row INSERT ... ON CONFLICT of 1,000 of them, scaled by 10.

    .venv/bin/python bench/programme.py [--sessions 100000] [--push 10000]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facilitator.programme.central import push
from facilitator.programme.definition import EXAMPLE, load_programme
from facilitator.programme.figures import figures
from facilitator.programme.store import ProgrammeStore
from facilitator.programme.tables import SESSION_TABLES, TABLES
from tests.postgres_support import throwaway_cluster

AGREE_KINDS = ("likert", "yes_no", "scale_0_10")


def generate(store: ProgrammeStore, n: int, seed: float = 0.42) -> None:
    """``n`` sessions, generated in SQL: 40 sites, 5 cohorts, 4 films of 3 chapters, a year of dates."""
    store.put_programme(load_programme(EXAMPLE))
    con = store.con
    con.execute(f"SELECT setseed({seed})")
    con.execute(f"""
        INSERT INTO sessions
        SELECT 's-' || lpad(i::VARCHAR, 7, '0'), 'site-' || lpad((i % 40)::VARCHAR, 2, '0'),
               'cohort-' || (i % 5), 'P-' || i, 'player-' || (i % 40),
               CASE i % 4 WHEN 0 THEN 'demo-film' ELSE 'film-' || (i % 4) END,
               TIMESTAMP '2026-01-01 09:00:00' + to_seconds(i * 311), NULL, 60 + 120 * random(),
               random() < 0.9
        FROM range({n}) t(i)""")
    con.execute("UPDATE sessions SET ended_utc = started_utc + to_seconds(CAST(watched_s AS BIGINT) + 900)")
    con.execute("""
        INSERT INTO chapters SELECT DISTINCT s.film, c.chapter, c.start_s
        FROM sessions s, (VALUES ('arrival', 0.0), ('argument', 20.0), ('after', 40.0)) c(chapter, start_s)
        """)
    # every item of every instrument in each phase it is asked (free text left out, as collect does)
    con.execute("""
        CREATE TEMP TABLE asked AS SELECT i.*, p.phase, row_number() OVER () AS k
        FROM items i, (VALUES ('pre'), ('post')) p(phase)
        WHERE i.kind <> 'text' AND (i.instrument <> 'experience' OR p.phase = 'post')""")
    con.execute("""
        INSERT INTO answers
        SELECT s.session, a.k, s.participant, a.instrument, a.item, a.phase,
               CASE a.kind
                 WHEN 'likert' THEN greatest(1, least(a.points, round(a.points * 0.55
                      + (a.phase = 'post')::INT * a.points * 0.15
                      + (random() + random() + random() - 1.5) * 1.5)))
                 WHEN 'scale_0_10' THEN greatest(0, least(10, round(5 + (a.phase = 'post')::INT * 1.5
                      + (random() + random() + random() - 1.5) * 3)))
                 WHEN 'yes_no' THEN (random() < 0.6)::INT
                 WHEN 'choice' THEN 1 + floor(random() * 4)
                 ELSE floor(random() * (1.3 + (a.phase = 'post')::INT * 0.3)) END,
               CASE WHEN a.kind = 'choice' THEN 'option' ELSE NULL END,
               s.started_utc + to_seconds(a.k * 20)
        FROM sessions s, asked a""")
    con.execute("""
        INSERT INTO welfare SELECT session, 1000 + k, CASE WHEN r < 0.6 THEN 'stop' WHEN r < 0.8 THEN 'soften'
               ELSE 'break' END, film, ['arrival', 'argument', 'after'][1 + floor(m / 20)::INT], m
        FROM (SELECT session, film, k, random() AS r, 60 * random() AS m
              FROM sessions, range(2) t(k) WHERE random() < 0.12)""")
    con.execute("""
        INSERT INTO attention SELECT session, film, chapter, cell, any_value(secs) FROM (
            SELECT s.session, s.film, c.chapter,
                   6 * 24 + ((12 + c.shift + floor(4 * (random() - 0.5)))::INT % 24)
                   + 24 * floor(3 * (random() - 0.5))::INT AS cell, 0.1 + 3 * random() AS secs
            FROM sessions s, (VALUES ('arrival', 0), ('argument', 4), ('after', 0)) c(chapter, shift),
                 range(12) r(j))
        GROUP BY ALL""")
    con.execute("""
        INSERT INTO aoi
        SELECT session, film, 'child-at-door', 20.0, secs > 0, secs,
               CASE WHEN secs > 0 THEN (20 - secs) * random() END
        FROM (SELECT session, film, CASE WHEN random() < 0.7 THEN 20 * random() ELSE 0 END AS secs
              FROM sessions WHERE film = 'demo-film')""")


def python_figures(folder: Path) -> dict[str, object]:
    """The main figures by a plain Python loop over the Parquet rows (read by DuckDB, summed in Python)."""

    def rows(name: str, cols: str) -> list[tuple]:
        return duckdb.sql(f"SELECT {cols} FROM read_parquet('{folder / (name + '.parquet')}')").fetchall()

    sessions = {
        s: (site, participant, film, done)
        for s, site, participant, film, done in rows(
            "sessions", "session, site, participant, film, completed"
        )
    }
    items = {(i, t): (kind, agree) for i, t, kind, agree in rows("items", "instrument, item, kind, agree_at")}
    latest: dict[tuple, tuple] = {}
    for sid, seq, inst, item, phase, value, utc in rows(
        "answers", "session, seq, instrument, item, phase, value, utc"
    ):
        key = (sessions[sid][1], inst, item, phase)
        order = (utc, sid, seq)
        if key not in latest or order > latest[key][0]:
            latest[key] = (order, value)
    changes: dict[tuple, list[float]] = defaultdict(list)
    agree: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    ssq: dict[tuple, dict[str, float]] = defaultdict(dict)
    for (participant, inst, item, phase), (_, value) in latest.items():
        kind, threshold = items[(inst, item)]
        if kind in AGREE_KINDS and value is not None:
            a = agree[(inst, item, phase)]
            a[0] += 1
            a[1] += value >= threshold
            if phase == "post" and (participant, inst, item, "pre") in latest:
                before = latest[(participant, inst, item, "pre")][1]
                if before is not None:
                    changes[(inst, item)].append(value - before)
        elif kind == "ssq":
            ssq[(participant, phase)][item] = value
    paired = {}
    for key, d in changes.items():
        n, mean, sd = len(d), statistics.fmean(d), statistics.stdev(d)
        paired[key] = (n, mean, 1.96 * sd / math.sqrt(n), mean / sd)
    totals: dict[str, list[float]] = defaultdict(list)
    for (_, phase), ratings in ssq.items():
        if len(ratings) == 16:
            totals[phase].append(sum(ratings.values()))  # raw; weights are constants
    welfare: dict[tuple, int] = defaultdict(int)
    for kind, film, chapter in rows("welfare", "kind, film, chapter"):
        welfare[(film, chapter, kind)] += 1
    heat: dict[tuple, float] = defaultdict(float)
    for film, chapter, cell, secs in rows("attention", "film, chapter, cell, seconds"):
        heat[(film, chapter, cell)] += secs
    looked: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for film, area, tracked, was_looked in rows("aoi", "film, area, tracked_s, looked"):
        looked[(film, area)][0] += bool(tracked)
        looked[(film, area)][1] += bool(was_looked)
    sites = defaultdict(int)
    for site, _, _, _ in sessions.values():
        sites[site] += 1
    return {
        "paired": paired,
        "agree": agree,
        "ssq": totals,
        "welfare": welfare,
        "heat": heat,
        "aoi": looked,
        "sites": sites,
    }


def naive_push(store: ProgrammeStore, dsn: str, sessions: int) -> float:
    """Row-by-row INSERT ... ON CONFLICT DO NOTHING of the first ``sessions`` sessions; seconds."""
    import psycopg

    start = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for name in SESSION_TABLES:
            t = TABLES[name]
            cur.execute(t.ddl("postgresql", f"naive_{name}"))
            cols = ", ".join(t.names)
            got = store.con.execute(
                f"SELECT {cols} FROM {name} WHERE session IN "
                f"(SELECT session FROM sessions ORDER BY session LIMIT {sessions})"
            ).fetchall()
            marks = ", ".join(["%s"] * len(t.names))
            cur.executemany(f"INSERT INTO naive_{name} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING", got)
        conn.commit()
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=100_000)
    ap.add_argument("--push", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="viewpoint-bench-") as tmp:
        folder = Path(tmp) / "exchange"
        t0 = time.perf_counter()
        store = ProgrammeStore(None, keys=True)
        generate(store, args.sessions)
        store.export_parquet(folder)
        counts = {t: store.count(t) for t in SESSION_TABLES}
        store.close()
        print(
            f"generated {args.sessions} sessions across 40 sites in {time.perf_counter() - t0:.1f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )

        t0 = time.perf_counter()
        s = ProgrammeStore.over_parquet(folder)  # as `programme report --from FOLDER` reads it
        t1 = time.perf_counter()
        figs = figures(s.con)
        t2 = time.perf_counter()
        s.close()
        t3 = time.perf_counter()
        ref = python_figures(folder)
        t4 = time.perf_counter()
        duck_s, python_s = t2 - t0, t4 - t3
        for r in figs["paired"].dicts():
            if r["compare"] == "pre-post":
                n, mean, _, d = ref["paired"][(r["instrument"], r["item"])]
                assert (
                    n == r["n"] and abs(mean - r["mean_change"]) < 1e-9 and abs(d - r["effect_size"]) < 1e-9
                )
        print(
            f"report figures (DuckDB, from Parquet): {duck_s:.2f} s (open {t1 - t0:.2f} s, figures "
            f"{t2 - t1:.2f} s); plain Python loop: {python_s:.2f} s; ratio {python_s / duck_s:.1f}x faster; "
            f"goal < 2 s for 100,000 sessions: {'met' if duck_s < 2 else 'NOT met'}"
            + ("" if args.sessions == 100_000 else f" (this run: {args.sessions:,})")
        )

        sub = ProgrammeStore(None)
        sub.import_parquet(folder)
        keep = f"(SELECT session FROM sessions ORDER BY session LIMIT {args.push})"
        for name in SESSION_TABLES:
            sub.con.execute(f"DELETE FROM {name} WHERE session NOT IN {keep}")
        rows = sum(sub.count(t) for t in SESSION_TABLES)
        with throwaway_cluster() as dsn:
            t0 = time.perf_counter()
            push(sub, dsn)
            first = time.perf_counter() - t0
            t0 = time.perf_counter()
            push(sub, dsn)
            again = time.perf_counter() - t0
            naive = naive_push(sub, dsn, args.push // 10) * 10
        sub.close()
        print(
            f"push {args.push:,} sessions ({rows:,} rows) to PostgreSQL: {first:.2f} s, again (idempotent) "
            f"{again:.2f} s; row-by-row INSERT estimate {naive:.1f} s; ratio {naive / first:.1f}x; "
            f"goal < 10 s for 10,000 sessions: {'met' if first < 10 else 'NOT met'}"
            + ("" if args.push == 10_000 else f" (this run: {args.push:,})")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
