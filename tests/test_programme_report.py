"""The programme report end to end: real facilitator stores (SQLite), `programme collect` into DuckDB, Parquet
exchange, `programme report` (HTML + CSV); every figure checked against values worked out here."""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

import duckdb
import pytest

from facilitator.cli import main
from facilitator.store import FacilitatorStore
from tests.programme_sessions import add_session, write_programme

# chosen answers: participant -> (impact pre, post), (confidence pre, post), aware, role
IMPACT = {"P-1": (2, 4), "P-2": (3, 4), "P-3": (2, 3), "P-4": (4, 5), "P-5": (3, 3), "P-6": (1, 3)}
CONFIDENCE = {"P-1": (3, 6), "P-2": (5, 5), "P-3": (4, 7), "P-4": (6, 8), "P-5": (2, 4), "P-6": (5, 9)}
AWARE = {"P-1": "yes", "P-2": "yes", "P-3": "no", "P-4": "yes", "P-5": "no", "P-6": True}
ROLE = {
    "P-1": "Police",
    "P-2": "Police",
    "P-3": "Social work",
    "P-4": "Police",
    "P-5": "Social work",
    "P-6": "Police",
}
SYMPTOMS = [
    "general_discomfort",
    "fatigue",
    "headache",
    "eye_strain",
    "difficulty_focusing",
    "increased_salivation",
    "sweating",
    "nausea",
    "difficulty_concentrating",
    "fullness_of_head",
    "blurred_vision",
    "dizziness_eyes_open",
    "dizziness_eyes_closed",
    "vertigo",
    "stomach_awareness",
    "burping",
]
SSQ = {  # participant -> phase -> ratings (P-3's pre questionnaire is incomplete: not scored)
    "P-1": {
        "pre": dict.fromkeys(SYMPTOMS, 0),
        "post": {**dict.fromkeys(SYMPTOMS, 0), "nausea": 2, "headache": 1, "vertigo": 3},
    },
    "P-2": {
        "pre": {**dict.fromkeys(SYMPTOMS, 0), "general_discomfort": 1},
        "post": dict.fromkeys(SYMPTOMS, 1),
    },
    "P-3": {"pre": dict.fromkeys(SYMPTOMS[:10], 1)},
}
WELFARE = {"P-1": [("stop", 12.0)], "P-2": [("break", 5.0), ("soften", 15.0)], "P-5": [("stop", 3.0)]}
LOOK = {"P-1": (52.5, 7.5), "P-2": (-97.5, -7.5)}
T_975 = {3: 3.182446305284263, 5: 2.570581836614740}  # Student's t, 97.5th percentile (published tables)


def ssq_by_hand(r: dict[str, int]) -> float:
    """Total SSQ score: (N + O + D raw sums) x 3.74 (Kennedy et al. 1993, as in the shared notes)."""
    n = sum(
        r[k]
        for k in (
            "general_discomfort",
            "increased_salivation",
            "sweating",
            "nausea",
            "difficulty_concentrating",
            "stomach_awareness",
            "burping",
        )
    )
    o = sum(
        r[k]
        for k in (
            "general_discomfort",
            "fatigue",
            "headache",
            "eye_strain",
            "difficulty_focusing",
            "difficulty_concentrating",
            "blurred_vision",
        )
    )
    d = sum(
        r[k]
        for k in (
            "difficulty_focusing",
            "nausea",
            "fullness_of_head",
            "blurred_vision",
            "dizziness_eyes_open",
            "dizziness_eyes_closed",
            "vertigo",
        )
    )
    return (n + o + d) * 3.74


def answers_of(p: str) -> list[tuple[str, str, str, object]]:
    out = [
        ("understanding", "impact", "pre", IMPACT[p][0]),
        ("understanding", "confidence", "pre", CONFIDENCE[p][0]),
    ]
    for phase, ratings in SSQ.get(p, {}).items():
        out += [("ssq", k, phase, v) for k, v in ratings.items()]
    out += [
        ("understanding", "impact", "post", IMPACT[p][1]),
        ("understanding", "confidence", "post", CONFIDENCE[p][1]),
        ("after", "aware", "post", AWARE[p]),
        ("after", "role", "post", ROLE[p]),
    ]
    if p == "P-1":
        out.append(("after", "comments", "post", "secret text from P-1"))
    if p == "P-3":  # hostile answers: out of range, unknown item, bad phase; each skipped with a reason
        out += [
            ("understanding", "impact", "post", 9),
            ("understanding", "nope", "post", 1),
            ("after", "aware", "later", "yes"),
        ]
    return out


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("programme")
    stores = {"north": root / "north.sqlite", "south": root / "south.sqlite"}
    for site, members in (("north", ("P-1", "P-2", "P-3", "P-4")), ("south", ("P-5", "P-6"))):
        store = FacilitatorStore(stores[site])
        for p in members:
            n = int(p[2:])
            add_session(
                store,
                f"s-{n}",
                p,
                answers=answers_of(p),
                welfare=WELFARE.get(p, []),
                look=LOOK.get(p),
                day=n,
                ended=p != "P-6",
            )
        store.close()
    programme = write_programme(root)
    db = root / "programme.duckdb"
    base = [
        "--home",
        str(root / "home"),
        "programme",
        "collect",
        "--db",
        str(db),
        "--programme",
        str(programme),
    ]
    assert main([*base, "--store", str(stores["north"]), "--site", "north"]) == 0
    assert (
        main(
            [
                *base,
                "--store",
                str(stores["south"]),
                "--site",
                "south",
                "--cohort",
                "c2",
                "--parquet-out",
                str(root / "x"),
            ]
        )
        == 0
    )
    return {"root": root, "db": db, "programme": programme, "exchange": root / "x", **stores}


def report(collected: dict[str, Path], name: str, *extra: str) -> dict[str, list[dict[str, str]]]:
    out = collected["root"] / f"{name}.html"
    assert main(["programme", "report", "--db", str(collected["db"]), "-o", str(out), *extra]) == 0
    tables = out.with_name(f"{name}-tables")
    return {p.stem: list(csv.DictReader(p.open(encoding="utf-8"))) for p in tables.glob("*.csv")}


def row(rows: list[dict[str, str]], **match: str) -> dict[str, str]:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, rows)
    return found[0]


def check_paired(r: dict[str, str], before: list[float], after: list[float]) -> None:
    diffs = [b - a for a, b in zip(before, after)]
    n, mean, sd = len(diffs), statistics.mean(diffs), statistics.stdev(diffs)
    half = T_975[n - 1] * sd / math.sqrt(n)
    assert int(r["n"]) == n
    assert float(r["mean_before"]) == pytest.approx(statistics.mean(before))
    assert float(r["mean_after"]) == pytest.approx(statistics.mean(after))
    assert float(r["mean_change"]) == pytest.approx(mean)
    assert float(r["ci_low"]) == pytest.approx(mean - half)
    assert float(r["ci_high"]) == pytest.approx(mean + half)
    assert float(r["effect_size"]) == pytest.approx(mean / sd)


def test_figures_match_values_worked_out_here(collected: dict[str, Path]) -> None:
    t = report(collected, "all")
    h = t["headline"][0]
    assert (h["sessions"], h["participants"], h["sites"], h["films"]) == ("6", "6", "2", "1")
    assert float(h["completed_pct"]) == pytest.approx(round(100 * 5 / 6, 1))
    ids = sorted(IMPACT)
    check_paired(
        row(t["paired"], item="impact", compare="pre-post"),
        [IMPACT[p][0] for p in ids],
        [IMPACT[p][1] for p in ids],
    )
    check_paired(
        row(t["paired"], item="confidence", compare="pre-post"),
        [CONFIDENCE[p][0] for p in ids],
        [CONFIDENCE[p][1] for p in ids],
    )
    # "% agree": likert 4 or 5 of 5; yes/no: yes
    impact_post = row(t["agreement"], item="impact", phase="post")
    agreed = sum(IMPACT[p][1] >= 4 for p in ids)
    assert (impact_post["n"], impact_post["agreed"]) == ("6", str(agreed))
    aware = row(t["agreement"], item="aware", phase="post")
    yes = sum(AWARE[p] in ("yes", True) for p in ids)
    assert (aware["agreed"], float(aware["agreed_pct"])) == (str(yes), round(100 * yes / 6, 1))
    assert row(t["choices"], item="role", option="Police")["n"] == str(list(ROLE.values()).count("Police"))
    # SSQ: only complete questionnaires (P-1, P-2), weighted by hand
    pre = [ssq_by_hand(SSQ[p]["pre"]) for p in ("P-1", "P-2")]
    post = [ssq_by_hand(SSQ[p]["post"]) for p in ("P-1", "P-2")]
    assert float(row(t["ssq"], phase="pre")["total"]) == pytest.approx(statistics.mean(pre), abs=0.005)
    assert float(row(t["ssq"], phase="post")["total"]) == pytest.approx(statistics.mean(post), abs=0.005)
    assert row(t["ssq"], phase="pre")["n"] == "2"
    assert float(t["ssq_change"][0]["mean_change"]) == pytest.approx(
        statistics.mean(post) - statistics.mean(pre)
    )
    assert float(row(t["ssq"], phase="post")["nausea"]) == pytest.approx((2 * 9.54 + 7 * 9.54) / 2, abs=0.005)
    # welfare: per session and per chapter (intro 0-10 s, scene from 10 s)
    stops = row(t["welfare"], kind="stop")
    assert (stops["events"], stops["sessions_with"], float(stops["per_session"])) == (
        "2",
        "2",
        round(2 / 6, 3),
    )
    intro, scene = row(t["welfare_chapters"], chapter="intro"), row(t["welfare_chapters"], chapter="scene")
    assert (intro["stops"], intro["softens"], intro["breaks"]) == ("1", "0", "1")
    assert (scene["stops"], scene["softens"], scene["breaks"]) == ("1", "1", "0")
    # attention: P-1 looked at heading 52.5, pitch 7.5 for 10 s of the scene: cell row 5, column 15
    cell = row(t["attention"], chapter="scene", cell=str(5 * 24 + 15))
    assert float(cell["seconds"]) == pytest.approx(10.0, abs=0.01) and cell["viewers"] == "6"  # of the film
    assert float(cell["heading"]) == 52.5 and float(cell["pitch"]) == 7.5
    assert float(row(t["attention"], chapter="scene", cell=str(6 * 24 + 5))["seconds"]) == pytest.approx(
        10.0, abs=0.01
    )
    # area of interest 12-18 s (the manifest's): P-1 inside it for all 6 s from its start, P-2 tracked
    # but looking elsewhere; the other four have no head tracking: not recorded, not counted as viewers
    door = row(t["aoi"], area="door")
    assert (door["viewers"], door["looked"], door["looked_pct"]) == ("2", "1", "50.0")
    assert (float(door["median_s"]), float(door["median_first_look_s"])) == (6.0, 0.0)
    assert (door["not_reached"], door["not_recorded"]) == ("0", "4")
    assert door["label"] == "the child behind the door"


def test_filters_by_site_and_date(collected: dict[str, Path]) -> None:
    t = report(collected, "north", "--site", "north")
    assert t["headline"][0]["sessions"] == "4"
    ids = ["P-1", "P-2", "P-3", "P-4"]
    check_paired(
        row(t["paired"], item="impact", compare="pre-post"),
        [IMPACT[p][0] for p in ids],
        [IMPACT[p][1] for p in ids],
    )
    t = report(collected, "days", "--since", "2026-11-02", "--until", "2026-11-05")
    assert t["headline"][0]["sessions"] == "4" and t["headline"][0]["sites"] == "2"
    t = report(collected, "c2", "--cohort", "c2")
    assert t["headline"][0]["sessions"] == "2" and [r["site"] for r in t["sites"]] == ["south"]
    t = report(collected, "none", "--film", "no-such-film")
    assert t["headline"][0]["sessions"] == "0" and t["paired"] == []


def test_html_is_self_contained_and_reads_like_the_published_figures(collected: dict[str, Path]) -> None:
    report(collected, "page")
    page = (collected["root"] / "page.html").read_text(encoding="utf-8")
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<link" not in page
    assert (
        "67% of 6 said yes to “More aware of the impact on unborn babies.” after the film (4 of 6)." in page
    )
    assert "<svg" in page and "Simulator sickness" in page
    assert (collected["root"] / "page.html").stat().st_mode & 0o077 == 0  # participant codes: owner only


def test_bad_answers_are_skipped_with_a_reason_and_free_text_stays_home(collected, capsys) -> None:
    con = duckdb.connect(str(collected["db"]), read_only=True)
    try:
        values = con.execute(
            "SELECT value FROM answers WHERE session='s-3' AND item='impact' AND phase='post'"
        )
        assert values.fetchall() == [(3.0,)]
        assert con.execute("SELECT count(*) FROM answers WHERE text LIKE 'secret%'").fetchone()[0] == 0
    finally:
        con.close()
    db = collected["root"] / "again.duckdb"
    args = [
        "programme",
        "collect",
        "--db",
        str(db),
        "--store",
        str(collected["north"]),
        "--programme",
        str(collected["programme"]),
    ]
    capsys.readouterr()
    assert main([*args, "--include-text"]) == 0
    err = capsys.readouterr().err
    assert "s-3 seq" in err and "understanding.impact: expected a whole number 1..5" in err
    assert "unknown item understanding.nope" in err and "phase 'later'" in err
    con = duckdb.connect(str(db))
    try:
        assert con.execute("SELECT count(*) FROM answers WHERE text LIKE 'secret%'").fetchone()[0] == 1
        before = con.execute("SELECT count(*) FROM answers").fetchone()[0]
    finally:
        con.close()
    assert main(args) == 0  # collected again: each session replaced, not added twice
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM sessions").fetchone()[0] == 4
        assert con.execute("SELECT count(*) FROM answers").fetchone()[0] == before
    finally:
        con.close()


def test_parquet_exchange_carries_the_whole_store(collected: dict[str, Path]) -> None:
    db = collected["root"] / "centre.duckdb"
    assert main(["programme", "collect", "--db", str(db), "--parquet-in", str(collected["exchange"])]) == 0
    assert main(["programme", "collect", "--db", str(db), "--parquet-in", str(collected["exchange"])]) == 0
    out = collected["root"] / "from-parquet.html"
    assert main(["programme", "report", "--from", str(collected["exchange"]), "-o", str(out)]) == 0
    tables = {p.stem: p.read_text() for p in out.with_name("from-parquet-tables").glob("*.csv")}
    report(collected, "local")
    local = {p.stem: p.read_text() for p in (collected["root"] / "local-tables").glob("*.csv")}
    assert tables.keys() == local.keys() and tables["paired"] == local["paired"]
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM sessions").fetchone()[0] == 6
    finally:
        con.close()


def test_bad_input_is_one_clear_line(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "programme.yaml"
    bad.write_text("programme_version: 1\ninstruments:\n  - id: x\n    when: [pre]\n    itemz: []\n")
    assert (
        main(
            [
                "programme",
                "collect",
                "--db",
                str(tmp_path / "p.duckdb"),
                "--programme",
                str(bad),
                "--store",
                str(tmp_path / "none.sqlite"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert f"{bad}:5:5: instruments[0].itemz: unknown key 'itemz' (did you mean 'items'?)" in err
    assert (
        main(
            ["programme", "report", "--db", str(tmp_path / "missing.duckdb"), "-o", str(tmp_path / "r.html")]
        )
        == 1
    )
    assert "no programme store here" in capsys.readouterr().err
    db, missing = str(tmp_path / "p.duckdb"), str(tmp_path / "missing.sqlite")
    assert main(["programme", "collect", "--db", db, "--store", missing]) == 1
    assert capsys.readouterr().err.endswith(f"programme: {missing}: no facilitator store here\n")
    assert main(["programme", "report", "--from", str(tmp_path), "-o", str(tmp_path / "r.html")]) == 1
    assert "not an exchange folder" in capsys.readouterr().err
    (tmp_path / "sessions.parquet").write_bytes(b"PAR1 not really")  # a damaged exchange folder
    assert main(["programme", "report", "--from", str(tmp_path), "-o", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"viewpoint-facilitator programme: {tmp_path}: cannot read (")
    assert err.count("\n") == 1
    with pytest.raises(SystemExit) as exc:
        main(["programme", "report", "--since", "yesterday"])
    assert exc.value.code == 2


def test_purge_removes_old_sessions_and_their_bytes(collected: dict[str, Path], capsys) -> None:
    db = collected["root"] / "purge.duckdb"
    args = [
        "programme",
        "collect",
        "--db",
        str(db),
        "--store",
        str(collected["north"]),
        "--programme",
        str(collected["programme"]),
    ]
    assert main(args) == 0
    assert b"P-1" in db.read_bytes() or b"P-1" in db.with_name(db.name + ".wal").read_bytes()
    capsys.readouterr()
    assert main(["programme", "purge", "--db", str(db), "--older-than", "36500"]) == 0  # nothing that old
    assert "0 sessions purged" in capsys.readouterr().out
    assert main(["programme", "purge", "--db", str(db), "--older-than", "0"]) == 0
    assert capsys.readouterr().out.startswith(f"{db}: 4 sessions purged (s-1, s-2, s-3, s-4)")
    assert b"P-1" not in db.read_bytes() and not db.with_name(db.name + ".wal").exists()
    assert db.stat().st_mode & 0o077 == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        counts = [
            con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("sessions", "answers", "aoi")
        ]
        assert counts == [0, 0, 0] and con.execute("SELECT count(*) FROM items").fetchone()[0] > 0
    finally:
        con.close()
    with pytest.raises(SystemExit):
        main(["programme", "purge", "--db", str(db), "--older-than", "-1"])


def test_the_session_report_lists_the_answers() -> None:
    from facilitator.report.html import build_report

    events = [
        {
            "session": "s-1",
            "seq": 1,
            "type": "session.started",
            "utc": "2026-11-01T10:00:00Z",
            "data": {"participant": "P-1", "consent": {"given": True}},
        },
        {
            "session": "s-1",
            "seq": 2,
            "type": "questionnaire.answered",
            "utc": "2026-11-01T10:00:05Z",
            "data": {"instrument": "understanding", "item": "impact", "phase": "pre", "value": "<4>"},
        },
    ]
    page = build_report(events)
    assert "<td>pre</td><td>understanding</td><td>impact</td><td>&lt;4&gt;</td>" in page
    assert "No questionnaire answers" in build_report(events[:1])


def test_the_demo_programme_report(tmp_path: Path) -> None:
    import random
    from datetime import UTC, datetime

    from facilitator.programme.definition import load_programme
    from facilitator.programme.demo import demo_programme, write_demo_programme_report
    from facilitator.programme.synthetic import session_events

    (tmp_path / "library").mkdir()
    path = demo_programme(tmp_path / "library" / "manifest.yaml", "calibration-mono")
    programme = load_programme(path)
    assert "understanding" in programme.instruments
    scripted = session_events(
        random.Random(7),
        programme,
        session="s-scripted",
        participant="P-D01",
        film="calibration-mono",
        site="demo",
        cohort=None,
        start=datetime(2026, 12, 1, tzinfo=UTC),
    )
    lines: list[str] = []
    html = write_demo_programme_report(
        tmp_path, path, scripted, film="calibration-mono", generated=5, say=lines.append
    )
    assert lines == [f"demo: programme report (6 sessions: the scripted one, 5 generated): {html}"]
    page = html.read_text(encoding="utf-8")
    assert "Through a child&#x27;s eyes - pilot evaluation" in page and "of 6 agreed with" in page
    sites = list(csv.DictReader((tmp_path / "programme-tables" / "sites.csv").open(encoding="utf-8")))
    assert sorted((r["site"], r["sessions"]) for r in sites) == [
        ("demo", "1"),
        ("north", "3"),
        ("south", "2"),
    ]
