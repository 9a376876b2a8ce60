"""The player's durable session log: SQLite in WAL mode, group commits, compact pose batches.

Rules it keeps (see ``docs/protocol.md``, "The session log"):

* an event is committed (``synchronous=FULL`` by default: fsynced) before the server publishes it;
* one transaction per batch of events (group commit), so durability costs one fsync per batch;
* events are never updated or deleted, except by a retention purge, which is itself logged as an event;
* the row holds the exact JSON bytes that were published, so a catch-up reply equals the live stream.

Only the session thread writes. Readers in other processes may open the file at any time (WAL).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from player.protocol.poses import pack_poses, unpack_poses
from player.protocol.private import private_file

_log = logging.getLogger("viewpoint.session")

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions(
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,               -- 'standby' (no participant) or 'facilitated'
    participant TEXT,                 -- pseudonymous code, never a name
    consent TEXT,                     -- JSON consent record
    started_utc TEXT NOT NULL,
    ended_utc TEXT,
    end_reason TEXT,
    last_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events(
    pos INTEGER PRIMARY KEY,          -- global log order
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    utc TEXT NOT NULL,
    mono REAL NOT NULL,
    film TEXT,
    media_t REAL,
    json TEXT NOT NULL,               -- the event exactly as published
    UNIQUE(session, seq)
);
CREATE TABLE IF NOT EXISTS poses(
    pos INTEGER PRIMARY KEY,
    session TEXT NOT NULL,
    first_pseq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    film TEXT,
    samples BLOB NOT NULL             -- count x POSE_STRUCT
);
CREATE INDEX IF NOT EXISTS poses_session ON poses(session, first_pseq);
CREATE TABLE IF NOT EXISTS requests(
    client TEXT NOT NULL,
    id TEXT NOT NULL,
    utc TEXT NOT NULL,
    reply TEXT NOT NULL,
    PRIMARY KEY(client, id)
) WITHOUT ROWID;
"""
_REQUEST_DIGEST = "ALTER TABLE requests ADD COLUMN digest TEXT"  # what the id was used for (id_reused)


class LogError(Exception):
    """The log file cannot be opened or written (the message names the file and the reason).

    ``state`` says why, as the health states of ``docs/protocol.md`` name it: ``full`` (no space left),
    ``read_only`` (the file system or the file cannot be written) or ``failed`` (an I/O error, anything else).
    """

    def __init__(self, message: str, state: str = "failed") -> None:
        super().__init__(message)
        self.state = state


def failure_state(exc: BaseException) -> str:
    """The health state a failed write means: ``full``, ``read_only`` or ``failed``."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc).lower()
    if primary == sqlite3.SQLITE_FULL or "disk is full" in text or "no space" in text:
        return "full"
    if primary == sqlite3.SQLITE_READONLY or "readonly" in text or "read-only" in text:
        return "read_only"
    return "failed"


@dataclass(frozen=True)
class EventRow:
    session: str
    seq: int
    type: str
    utc: str
    mono: float
    film: str | None
    media_t: float | None
    json: str
    data: dict[str, Any]


@dataclass(frozen=True)
class PoseBatch:
    session: str
    first_pseq: int
    film: str | None
    samples: list[tuple[float, float, float, float, float, float]]  # mono, media_t, x, y, z, w


def connect(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open (creating) a log database in WAL mode with the given fsync policy."""
    if synchronous not in ("FULL", "NORMAL", "EXTRA", "OFF"):
        raise ValueError(f"synchronous={synchronous!r}: expected FULL, NORMAL, EXTRA or OFF")
    path = Path(path)
    try:
        private_file(path)  # participant codes, notes and poses: owner only (so are -wal, -shm)
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("PRAGMA secure_delete=ON")  # purged participants' data is zeroed, not just unlinked
        db.executescript(_SCHEMA)
        if "digest" not in [r[1] for r in db.execute("PRAGMA table_info(requests)")]:
            db.execute(_REQUEST_DIGEST)
        row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            db.execute("INSERT INTO meta VALUES('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) > SCHEMA_VERSION:
            raise LogError(f"{path}: log schema {row[0]} is newer than this player ({SCHEMA_VERSION})")
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise LogError(f"{path}: integrity check failed: {check}")
    except (sqlite3.Error, OSError) as exc:
        raise LogError(f"{path}: cannot open the session log ({exc})") from None
    return db


class SessionLog:
    """Append-only event log with group commit. Not thread-safe: the session thread owns it."""

    def __init__(self, path: Path, synchronous: str = "FULL", *, busy_timeout: float = 10.0):
        self.path = Path(path)
        self.db = connect(self.path, synchronous)
        self.db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        self.commits = 0
        self.events_written = 0

    # -- writing

    def append(
        self,
        events: Sequence[EventRow],
        poses: Sequence[PoseBatch] = (),
        requests: Iterable[tuple[str, str, str, str]] = (),
    ) -> None:
        """Write a batch in one transaction and commit it (durable when this returns). A ``log.purged``
        event deletes the sessions it names in that same transaction; their bytes are erased after it."""
        if not events and not poses and not requests:
            return
        purged: list[str] = []
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                last: dict[str, int] = {}
                for ev in events:
                    if ev.type == "session.started":
                        d = ev.data
                        db.execute(
                            "INSERT OR IGNORE INTO sessions(id, kind, participant, consent, started_utc)"
                            " VALUES(?,?,?,?,?)",
                            (
                                ev.session,
                                "facilitated" if d.get("participant") else "standby",
                                d.get("participant"),
                                json.dumps(d.get("consent")) if d.get("consent") is not None else None,
                                ev.utc,
                            ),
                        )
                    elif ev.type == "log.purged":
                        purged += self._delete(ev.data.get("sessions") or [], ev.data.get("ended_before"))
                    elif ev.type == "session.ended":
                        db.execute(
                            "UPDATE sessions SET ended_utc=?, end_reason=? WHERE id=?",
                            (ev.utc, str(ev.data.get("reason", "")), ev.session),
                        )
                    last[ev.session] = max(last.get(ev.session, 0), ev.seq)
                db.executemany(
                    "INSERT INTO events(session, seq, type, utc, mono, film, media_t, json)"
                    " VALUES(?,?,?,?,?,?,?,?)",
                    [(e.session, e.seq, e.type, e.utc, e.mono, e.film, e.media_t, e.json) for e in events],
                )
                for sid, seq in last.items():
                    db.execute("UPDATE sessions SET last_seq=max(last_seq, ?) WHERE id=?", (seq, sid))
                if poses:
                    db.executemany(
                        "INSERT INTO poses(session, first_pseq, count, film, samples) VALUES(?,?,?,?,?)",
                        [
                            (p.session, p.first_pseq, len(p.samples), p.film, pack_poses(p.samples))
                            for p in poses
                        ],
                    )
                db.executemany(
                    "INSERT OR REPLACE INTO requests(client, id, utc, reply, digest) VALUES(?,?,?,?,?)",
                    [tuple(r) if len(r) == 5 else (*r, None) for r in requests],
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite may already have rolled back (disk full, I/O error)
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise LogError(f"{self.path}: write failed ({exc})", failure_state(exc)) from None
        self.commits += 1
        self.events_written += len(events)
        if purged:
            self.erase()

    # -- purging (docs/protocol.md, "Retention and purge"): the rows go, then their bytes

    def purgeable(self, cutoff_utc: str, keep: Iterable[str] = ()) -> list[str]:
        """Ids of the sessions that ended before ``cutoff_utc`` (ISO Z), except ``keep``."""
        keep = set(keep)
        return [
            r[0]
            for r in self.db.execute(
                "SELECT id FROM sessions WHERE ended_utc IS NOT NULL AND ended_utc < ?", (cutoff_utc,)
            )
            if r[0] not in keep
        ]

    def _delete(self, ids: list[str], cutoff_utc: str | None) -> list[str]:
        """Delete sessions (inside the caller's transaction); the request replies before the cutoff go
        too (a session.start reply names its participant)."""
        for sid in ids:
            self.db.execute("DELETE FROM events WHERE session=?", (sid,))
            self.db.execute("DELETE FROM poses WHERE session=?", (sid,))
            self.db.execute("DELETE FROM sessions WHERE id=?", (sid,))
        if cutoff_utc:
            self.db.execute("DELETE FROM requests WHERE utc < ?", (cutoff_utc,))
        return list(ids)

    def erase(self) -> None:
        """Make deleted rows unreadable: ``secure_delete`` zeroed them in the pages written to the WAL; a
        ``VACUUM`` rebuilds the file when free pages remain (their old content may predate secure_delete),
        and a checkpoint copies the pages into the database file and truncates the WAL to nothing."""
        try:
            if self.db.execute("PRAGMA freelist_count").fetchone()[0]:
                self.db.execute("VACUUM")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:  # the rows are gone already; the next purge or start erases again
            _log.warning("%s: erasing purged data failed (%s)", self.path, exc)

    def purge_before(self, cutoff_utc: str, keep: Iterable[str] = ()) -> list[str]:
        """Delete and erase the sessions that ended before ``cutoff_utc`` (ISO Z) now; returns their ids.
        (The session server appends a ``log.purged`` event instead: deleted in the same transaction.)"""
        ids = self.purgeable(cutoff_utc, keep)
        if ids:
            try:
                self.db.execute("BEGIN IMMEDIATE")
                self._delete(ids, cutoff_utc)
                self.db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise LogError(f"{self.path}: purge failed ({exc})", failure_state(exc)) from None
            self.erase()
        return ids

    def prune_requests(self, cutoff_utc: str) -> None:
        self.db.execute("DELETE FROM requests WHERE utc < ?", (cutoff_utc,))

    # -- reading

    def unfinished_sessions(self) -> list[tuple[str, int]]:
        """(id, last_seq) of sessions that were never ended (the player died)."""
        return list(
            self.db.execute("SELECT id, last_seq FROM sessions WHERE ended_utc IS NULL ORDER BY rowid")
        )

    def last_seq(self, session: str) -> int:
        row = self.db.execute("SELECT max(seq) FROM events WHERE session=?", (session,)).fetchone()
        return int(row[0] or 0)

    def event(self, session: str, seq: int) -> dict[str, Any] | None:
        row = self.db.execute("SELECT json FROM events WHERE session=? AND seq=?", (session, seq)).fetchone()
        return json.loads(row[0]) if row else None

    def events_after(
        self, session: str | None, seq: int, limit: int, published: tuple[str, int] | None = None
    ) -> tuple[list[str], bool]:
        """Event JSON texts in log order after (session, seq); from the start of the log if unknown.

        Returns (events, more). ``session=None`` means from the beginning of the log. ``published`` =
        (current session, last published seq): that session's later events (committed, not yet published)
        are left out, so a catch-up never runs ahead of the live stream.
        """
        pos = 0
        if session is not None:
            row = self.db.execute(
                "SELECT max(pos) FROM events WHERE session=? AND seq<=?", (session, seq)
            ).fetchone()
            if row and row[0] is not None:
                pos = row[0]
            else:
                row = self.db.execute("SELECT min(pos) FROM events WHERE session=?", (session,)).fetchone()
                pos = (row[0] - 1) if row and row[0] is not None else 0
        cur, upto = published if published is not None else ("", 0)
        rows = self.db.execute(
            "SELECT json FROM events WHERE pos>? AND NOT (session=? AND seq>?) ORDER BY pos LIMIT ?",
            (pos, cur, upto, limit + 1),
        ).fetchall()
        return [r[0] for r in rows[:limit]], len(rows) > limit

    def session_events(self, session: str, after: int = 0, upto: int | None = None) -> list[dict[str, Any]]:
        """A session's events (decoded) with ``after`` < seq <= ``upto``, in order."""
        return [
            json.loads(r[0])
            for r in self.db.execute(
                "SELECT json FROM events WHERE session=? AND seq>? AND seq<=? ORDER BY seq",
                (session, after, upto if upto is not None else 2**62),
            )
        ]

    def all_events(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self.db.execute("SELECT json FROM events ORDER BY pos")]

    def sessions(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, kind, participant, consent, started_utc, ended_utc, end_reason, last_seq"
            " FROM sessions ORDER BY started_utc DESC, rowid DESC LIMIT ?",
            (limit,),
        ).fetchall()
        keys = ("id", "kind", "participant", "consent", "started_utc", "ended_utc", "end_reason", "last_seq")
        out = []
        for r in rows:
            d = dict(zip(keys, r))
            d["consent"] = json.loads(d["consent"]) if d["consent"] else None
            out.append(d)
        return out

    def poses(self, session: str) -> list[tuple[float, ...]]:
        out: list[tuple[float, ...]] = []
        for (blob,) in self.db.execute("SELECT samples FROM poses WHERE session=? ORDER BY pos", (session,)):
            out.extend(unpack_poses(blob))
        return out

    def poses_after(self, session: str, after: int, limit: int) -> tuple[list[tuple[float, ...]], int, bool]:
        """Pose samples with pseq > ``after`` (up to ``limit``): (samples, pseq of the first, more)."""
        out: list[tuple[float, ...]] = []
        first = None
        rows = self.db.execute(
            "SELECT first_pseq, count, samples FROM poses WHERE session=? AND first_pseq + count > ?"
            " ORDER BY first_pseq",
            (session, after),
        )
        for first_pseq, _count, blob in rows:
            for i, sample in enumerate(unpack_poses(blob)):
                pseq = first_pseq + i
                if pseq <= after:
                    continue
                if len(out) >= limit:
                    return out, first or 0, True
                if first is None:
                    first = pseq
                out.append(sample)
        return out, first or 0, False

    def cached_reply(self, client: str, request_id: str) -> str | None:
        found = self.cached_request(client, request_id)
        return found[0] if found else None

    def request_digests(self) -> dict[tuple[str, str], str | None]:
        """Every logged request: (client, id) -> digest of its command (None for rows logged before)."""
        return {(c, i): d for c, i, d in self.db.execute("SELECT client, id, digest FROM requests")}

    def cached_request(self, client: str, request_id: str) -> tuple[str, str | None] | None:
        """(reply, digest of the command) logged for this console's request id, if any."""
        row = self.db.execute(
            "SELECT reply, digest FROM requests WHERE client=? AND id=?", (client, request_id)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:
            pass
