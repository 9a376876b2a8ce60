"""The programme store: an embedded DuckDB file of session summaries; Parquet files are the exchange format.

store = ProgrammeStore("programme.duckdb")
store.put(rows)                       # a session collected again replaces its earlier rows
store.export_parquet("exchange/")     # one NAME.parquet per table, for another laptop or the centre
store.import_parquet("exchange/")
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from content_manifest.model import Area

from .definition import Programme
from .tables import CATALOGUE_TABLES, SESSION_TABLES, TABLES


class ProgrammeStoreError(Exception):
    """The programme store or an exchange folder cannot be read or written (the message says which)."""


def _private_connect(path: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB file created readable by its owner only, in a folder only its owner can enter."""
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    old = os.umask(0o077)  # the database and its write-ahead log: owner only from the start
    try:
        con = duckdb.connect(str(path))
    finally:
        os.umask(old)
    for p in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(OSError):
            os.chmod(p, 0o600)
    return con


class ProgrammeStore:
    """DuckDB tables of `tables.TABLES`; ``path`` None keeps them in memory (and, unless ``keys``, without
    primary keys: a store filled once, to build a report from)."""

    def __init__(self, path: Path | str | None = None, *, read_only: bool = False, keys: bool | None = None):
        self.path = None if path is None else Path(path)
        self.keys = path is not None if keys is None else keys
        try:
            if self.path is None:
                self.con = duckdb.connect()
            elif read_only:
                if not self.path.is_file():
                    raise ProgrammeStoreError(
                        f"{self.path}: no programme store here (run 'programme collect')"
                    )
                self.con = duckdb.connect(str(self.path), read_only=True)
            else:
                self.con = _private_connect(self.path)
            if not read_only:
                for t in TABLES.values():
                    self.con.execute(t.ddl("duckdb", keys=self.keys))
            self._check_columns()
        except duckdb.Error as exc:
            raise ProgrammeStoreError(f"{self.path}: cannot open the programme store ({exc})") from None

    def _check_columns(self) -> None:
        """A store written by an earlier layout of a table is named, not misread."""
        sql = (
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position"
        )
        for name, t in TABLES.items():
            have = tuple(r[0] for r in self.con.execute(sql, [name]).fetchall())
            if have and have != t.names:
                self.con.close()
                raise ProgrammeStoreError(
                    f"{self.path}: table {name} has the columns ({', '.join(have)}) of an earlier "
                    f"Viewpoint, not ({', '.join(t.names)}): collect into a new programme store"
                )

    # -- writing

    def put(self, rows: dict[str, list[tuple]]) -> int:
        """Store summary rows; every session named in ``rows["sessions"]`` loses its earlier rows first.
        Returns the number of sessions."""
        ids = sorted({r[0] for r in rows.get("sessions", ())})
        con = self.con
        con.execute("BEGIN")
        try:
            if ids:
                con.register("_ids", {"session": np.array(ids, dtype=object)})
                for name in SESSION_TABLES:
                    con.execute(f"DELETE FROM {name} WHERE session IN (SELECT session FROM _ids)")
                con.unregister("_ids")
            for name in SESSION_TABLES:
                insert(con, name, rows.get(name, ()))
            insert(con, "chapters", set(rows.get("chapters", ())), replace=self.keys)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return len(ids)

    def put_programme(self, programme: Programme, areas: dict[str, list[Area]] | None = None) -> None:
        """The questions, and the films' areas, the stored answers and dwell refer to (kept, or updated by
        id)."""
        items = [
            (inst.id, it.id, pos, it.kind, it.points, it.agree_threshold, it.text, inst.title)
            for inst in programme.instruments.values()
            for pos, it in enumerate(inst.items)
        ]
        rows = [(film, a.id, a.label, a.start, a.end) for film, fa in (areas or {}).items() for a in fa]
        insert(self.con, "items", items, replace=self.keys)
        insert(self.con, "areas", rows, replace=self.keys)

    def purge(self, older_than_days: float) -> list[str]:
        """Delete the sessions that ended (or, unended, started) more than ``older_than_days`` ago, then
        write the database afresh so that their bytes are gone from the file, not only unlinked; their ids."""
        cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=older_than_days)
        con = self.con
        ids = [
            r[0]
            for r in con.execute(
                "SELECT session FROM sessions WHERE coalesce(ended_utc, started_utc) < ? ORDER BY session",
                [cutoff],
            ).fetchall()
        ]
        if not ids:
            return ids
        con.execute("BEGIN")
        con.register("_ids", {"session": np.array(ids, dtype=object)})
        for name in SESSION_TABLES:
            con.execute(f"DELETE FROM {name} WHERE session IN (SELECT session FROM _ids)")
        con.unregister("_ids")
        con.execute("COMMIT")
        if self.path is not None:
            self._rewrite()
        return ids

    def _rewrite(self) -> None:
        """Copy the database into a new file (owner only) and put it in place of the old one."""
        assert self.path is not None
        fresh = self.path.with_name(f".{self.path.name}.purge")
        for p in (fresh, fresh.with_name(fresh.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        name = self.con.execute("SELECT current_database()").fetchone()[0]
        old = os.umask(0o077)
        try:
            self.con.execute(f"ATTACH '{_sql_path(fresh)}' AS fresh")
            self.con.execute(f'COPY FROM DATABASE "{name}" TO fresh')
            self.con.execute("DETACH fresh")
        finally:
            os.umask(old)
        self.con.close()
        os.replace(fresh, self.path)
        with contextlib.suppress(FileNotFoundError):
            self.path.with_name(self.path.name + ".wal").unlink()
        self.con = _private_connect(self.path)

    # -- Parquet exchange

    def export_parquet(self, folder: Path | str) -> list[Path]:
        """Write every table as ``folder/NAME.parquet`` (each written whole, then renamed into place)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        out = []
        for name in TABLES:
            final = folder / f"{name}.parquet"
            tmp = folder / f".{name}.parquet.tmp"
            try:
                old = os.umask(0o077)
                try:
                    self.con.execute(f"COPY {name} TO '{_sql_path(tmp)}' (FORMAT parquet)")
                finally:
                    os.umask(old)
                os.replace(tmp, final)
            except (duckdb.Error, OSError) as exc:
                with contextlib.suppress(OSError):
                    tmp.unlink()  # a full disk leaves no half-written file behind
                raise ProgrammeStoreError(f"{final}: cannot write ({str(exc).splitlines()[0]})") from None
            out.append(final)
        return out

    def import_parquet(self, folder: Path | str) -> int:
        """Add the sessions (and catalogue) of an exchange folder; returns how many sessions it held."""
        folder = Path(folder)
        if not (folder / "sessions.parquet").is_file():
            raise ProgrammeStoreError(f"{folder}: no sessions.parquet (not an exchange folder)")
        con = self.con
        try:
            con.execute("BEGIN")
            src = _sql_path(folder / "sessions.parquet")
            n = con.execute(f"SELECT count(*) FROM read_parquet('{src}')").fetchone()[0]
            for name in SESSION_TABLES:
                con.execute(
                    f"DELETE FROM {name} WHERE session IN (SELECT session FROM read_parquet('{src}'))"
                )
            for name in (*SESSION_TABLES, *CATALOGUE_TABLES):
                f = folder / f"{name}.parquet"
                if f.is_file():
                    cols = ", ".join(TABLES[name].names)
                    verb = "INSERT OR REPLACE" if name in CATALOGUE_TABLES and self.keys else "INSERT"
                    con.execute(f"{verb} INTO {name} SELECT {cols} FROM read_parquet('{_sql_path(f)}')")
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise ProgrammeStoreError(f"{folder}: cannot import ({str(exc).splitlines()[0]})") from None
        return int(n)

    @classmethod
    def over_parquet(cls, folder: Path | str) -> ProgrammeStore:
        """An in-memory store whose tables are views of an exchange folder's files (read, never copied: what
        a report from a folder needs)."""
        folder = Path(folder)
        if not (folder / "sessions.parquet").is_file():
            raise ProgrammeStoreError(f"{folder}: no sessions.parquet (not an exchange folder)")
        store = cls(None, keys=False)
        try:
            for name, t in TABLES.items():
                f = folder / f"{name}.parquet"
                if f.is_file():
                    cols = ", ".join(f"CAST({c} AS {ty}) AS {c}" for c, ty in zip(t.names, t.types("duckdb")))
                    store.con.execute(f"DROP TABLE {name}")
                    src = f"read_parquet('{_sql_path(f)}')"
                    store.con.execute(f"CREATE VIEW {name} AS SELECT {cols} FROM {src}")
                    store.con.execute(f"SELECT * FROM {name} LIMIT 0")  # a damaged file is named now
        except duckdb.Error as exc:
            store.close()
            raise ProgrammeStoreError(f"{folder}: cannot read ({str(exc).splitlines()[0]})") from None
        return store

    def count(self, table: str = "sessions") -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {TABLES[table].name}").fetchone()[0])

    def close(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.close()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def columns(table: str, rows: Iterable[tuple]) -> dict[str, Any]:
    """Rows as one array per column (what DuckDB scans without copying row by row)."""
    names = TABLES[table].names
    rows = list(rows)
    return {n: np.array([r[i] for r in rows], dtype=object) for i, n in enumerate(names)}


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: Iterable[tuple], replace: bool = False) -> None:
    rows = list(rows)
    if not rows:
        return
    t = TABLES[table]
    con.register("_rows", columns(table, rows))
    casts = ", ".join(f"CAST({c} AS {ty})" for c, ty in zip(t.names, t.types("duckdb")))
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    try:
        con.execute(f"{verb} INTO {table} SELECT {casts} FROM _rows")
    finally:
        con.unregister("_rows")
