"""A central PostgreSQL for a programme that outgrows one laptop: `push` sends the store's summaries
(a session pushed again replaces its rows: stored once), `pull` reads them back into an in-memory store
for the report.

Rows travel as CSV through COPY on both sides (DuckDB writes it, PostgreSQL reads it, and back).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import psycopg

from .store import ProgrammeStore, _sql_path
from .tables import CATALOGUE_TABLES, SESSION_TABLES, TABLES

_CSV_DUCK = "(FORMAT csv, HEADER false, NULLSTR '\\N')"
_CSV_PG = "(FORMAT csv, NULL '\\N')"
_BLOCK = 1 << 20


class CentralError(Exception):
    """The central database cannot be reached or refused the data (one line: where and why)."""


def where(dsn: str) -> str:
    """The server and database of a connection string, without its password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(unreadable connection string)"
    host = info.get("host") or "localhost"
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{host}{port}/{info.get('dbname') or ''}"


def _connect(dsn: str) -> psycopg.Connection:
    try:
        return psycopg.connect(dsn, connect_timeout=10)
    except (psycopg.Error, ValueError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise CentralError(f"{where(dsn)}: cannot connect ({reason})") from None


def create_tables(conn: psycopg.Connection) -> None:
    with conn.cursor() as cur:
        for t in TABLES.values():
            cur.execute(t.ddl("postgresql"))


def push(store: ProgrammeStore, dsn: str) -> dict[str, int]:
    """Send every stored session (and the catalogue) in one transaction; returns rows sent per table."""
    sent: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="viewpoint-push-") as tmp, _connect(dsn) as conn:
        try:
            create_tables(conn)
            with conn.cursor() as cur:
                for name in (*SESSION_TABLES, *CATALOGUE_TABLES):
                    t = TABLES[name]
                    staged = f"push_{name}"
                    ddl = t.ddl("postgresql", staged).replace(
                        "CREATE TABLE IF NOT EXISTS", "CREATE TEMP TABLE"
                    )
                    cur.execute(ddl)
                    sent[name] = _copy_in(store, cur, name, staged, Path(tmp))
                for name in SESSION_TABLES:  # a session pushed again: its old rows go, its new ones come
                    cur.execute(f"DELETE FROM {name} t USING push_sessions p WHERE t.session = p.session")
                    cur.execute(f"INSERT INTO {name} SELECT * FROM push_{name}")
                for name in CATALOGUE_TABLES:
                    t = TABLES[name]
                    rest = [c for c in t.names if c not in t.key]
                    sets = ", ".join(f"{c} = excluded.{c}" for c in rest)
                    cur.execute(
                        f"INSERT INTO {name} SELECT * FROM push_{name} ON CONFLICT "
                        f"({', '.join(t.key)}) DO UPDATE SET {sets}"
                    )
            conn.commit()
        except psycopg.Error as exc:
            conn.rollback()
            raise CentralError(f"{where(dsn)}: push refused ({str(exc).strip().splitlines()[0]})") from None
    return sent


def _copy_in(store: ProgrammeStore, cur: psycopg.Cursor, name: str, staged: str, tmp: Path) -> int:
    f = tmp / f"{name}.csv"
    cols = ", ".join(TABLES[name].names)
    store.con.execute(f"COPY (SELECT {cols} FROM {name}) TO '{_sql_path(f)}' {_CSV_DUCK}")
    rows = 0
    with cur.copy(f"COPY {staged} ({cols}) FROM STDIN {_CSV_PG}") as copy, f.open("rb") as src:
        while block := src.read(_BLOCK):
            rows += block.count(b"\n")
            copy.write(block)
    return rows


def pull(dsn: str) -> ProgrammeStore:
    """Everything in the central database, as an in-memory programme store."""
    store = ProgrammeStore(None)
    with tempfile.TemporaryDirectory(prefix="viewpoint-pull-") as tmp, _connect(dsn) as conn:
        try:
            create_tables(conn)
            with conn.cursor() as cur:
                for name, t in TABLES.items():
                    f = Path(tmp) / f"{name}.csv"
                    cols = ", ".join(t.names)
                    with (
                        f.open("wb") as out,
                        cur.copy(f"COPY (SELECT {cols} FROM {name}) TO STDOUT {_CSV_PG}") as cp,
                    ):
                        for block in cp:
                            out.write(block)
                    store.con.execute(f"COPY {name} FROM '{_sql_path(f)}' {_CSV_DUCK}")
        except psycopg.Error as exc:
            raise CentralError(f"{where(dsn)}: cannot read ({str(exc).strip().splitlines()[0]})") from None
    return store
