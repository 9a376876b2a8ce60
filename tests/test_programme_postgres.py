"""`programme push` and `report --from postgresql://` against a real PostgreSQL server (Debian's package,
a throw-away cluster in a temporary folder): idempotent push, updates, the same figures read back, errors."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from facilitator.cli import main
from facilitator.store import FacilitatorStore
from tests.postgres_support import throwaway_cluster
from tests.programme_sessions import add_session, write_programme


@pytest.fixture(scope="module")
def dsn() -> Iterator[str]:
    with throwaway_cluster() as url:
        yield url


def counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("sessions", "answers", "welfare", "attention", "aoi", "items")
        }


def collect(root: Path, store: Path, site: str) -> Path:
    db = root / f"{site}.duckdb"
    args = ["programme", "collect", "--db", str(db), "--store", str(store), "--site", site]
    assert main([*args, "--programme", str(root / "programme.yaml")]) == 0
    return db


def tables(out: Path) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in out.with_name(out.stem + "-tables").glob("*.csv")}


def test_push_twice_stores_each_session_once_and_reads_back_the_same_figures(
    tmp_path: Path, dsn: str
) -> None:
    write_programme(tmp_path)
    store = FacilitatorStore(tmp_path / "a.sqlite")
    for n in range(1, 4):
        answers = [("understanding", "impact", "pre", n), ("understanding", "impact", "post", n + 1)]
        add_session(store, f"s-a{n}", f"P-A{n}", answers=answers, welfare=[("stop", 12.0)], look=(52.5, 7.5))
    store.close()
    db = collect(tmp_path, tmp_path / "a.sqlite", "north")
    assert main(["programme", "push", "--db", str(db), "--to", dsn]) == 0
    first = counts(dsn)
    assert first["sessions"] == 3 and first["answers"] == 6 and first["welfare"] == 3 and first["aoi"] == 3
    assert main(["programme", "push", "--db", str(db), "--to", dsn]) == 0
    assert counts(dsn) == first  # a session pushed twice is stored once

    # the laptop collects again after a follow-up answer: the pushed session is replaced, not duplicated
    store = FacilitatorStore(tmp_path / "a.sqlite")
    store.add(
        "player-1",
        {
            "session": "s-a1",
            "seq": 99,
            "type": "questionnaire.answered",
            "utc": "2026-11-20T10:00:00Z",
            "data": {"instrument": "understanding", "item": "impact", "value": 5, "phase": "follow_up"},
        },
    )
    store.close()
    db = collect(tmp_path, tmp_path / "a.sqlite", "north")
    assert main(["programme", "push", "--db", str(db), "--to", dsn]) == 0
    assert counts(dsn) == {**first, "answers": first["answers"] + 1}

    # a second site pushes its own sessions next to the first's
    store = FacilitatorStore(tmp_path / "b.sqlite")
    add_session(store, "s-b1", "P-B1", answers=[("understanding", "impact", "pre", 2)])
    store.close()
    assert (
        main(
            ["programme", "push", "--db", str(collect(tmp_path, tmp_path / "b.sqlite", "south")), "--to", dsn]
        )
        == 0
    )
    assert counts(dsn)["sessions"] == 4

    central, local = tmp_path / "central.html", tmp_path / "local.html"
    assert main(["programme", "report", "--from", dsn, "-o", str(central), "--site", "north"]) == 0
    assert main(["programme", "report", "--db", str(db), "-o", str(local)]) == 0
    a, b = tables(central), tables(local)
    for name in ("paired", "agreement", "welfare_chapters", "attention", "aoi", "sites"):
        assert a[name] == b[name], name
    paired = list(csv.DictReader(a["paired"].splitlines()))
    assert [(r["compare"], r["n"], r["mean_change"]) for r in paired] == [
        ("pre-post", "3", "1.0"),
        ("pre-follow_up", "1", "4.0"),
    ]
    assert "postgresql://127.0.0.1" in central.read_text(encoding="utf-8")


def test_unreachable_or_misnamed_database_is_one_clear_line(tmp_path: Path, dsn: str, capsys) -> None:
    write_programme(tmp_path)
    store = FacilitatorStore(tmp_path / "a.sqlite")
    add_session(store, "s-x1", "P-X1")
    store.close()
    db = collect(tmp_path, tmp_path / "a.sqlite", "north")
    capsys.readouterr()
    port = dsn.rsplit(":", 1)[1].split("/")[0]
    dead = f"postgresql://viewpoint:secret@127.0.0.1:{int(port) + 1}/postgres"
    assert main(["programme", "push", "--db", str(db), "--to", dead]) == 1
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith(
            f"viewpoint-facilitator programme: postgresql://127.0.0.1:{int(port) + 1}/postgres: "
            "cannot connect ("
        )
        and "secret" not in err
        and len(err.splitlines()) == 1
    )
    assert main(["programme", "report", "--from", dsn.replace("/postgres", "/nosuchdb"), "-o", "x.html"]) == 1
    assert "cannot connect" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["programme", "push", "--db", str(db), "--to", "mysql://x"])
    assert exc.value.code == 2
