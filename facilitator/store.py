"""The facilitator's own copy of every player's events: SQLite (WAL), filled from the live stream.

Each player's stream resumes after the last event stored for it, and the client's Clone-pattern catch-up
fills any gap from the player's log, so the copy ends with exactly the player's event sequence::

    store = FacilitatorStore(home.store_path)
    store.follow(client)                  # subscribe and keep the copy (on the client's I/O thread)
    store.events(session_id)              # that session's events, in order
    store.export(session_id, "csv", out)  # JSONL or CSV
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from player.protocol import utc_now
from player.protocol.poses import POSE_STRUCT, pack_poses, unpack_poses
from player.protocol.private import private_file

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events(
    pos INTEGER PRIMARY KEY,
    player TEXT NOT NULL,
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    utc TEXT,
    mono REAL,
    film TEXT,
    media_t REAL,
    json TEXT NOT NULL,
    received_utc TEXT NOT NULL,
    UNIQUE(session, seq)
);
CREATE INDEX IF NOT EXISTS events_player ON events(player, pos);
CREATE TABLE IF NOT EXISTS sessions(
    id TEXT PRIMARY KEY,
    player TEXT NOT NULL,
    participant TEXT,
    started_utc TEXT,
    ended_utc TEXT,
    last_utc TEXT
);
CREATE TABLE IF NOT EXISTS poses(
    pos INTEGER PRIMARY KEY,
    player TEXT NOT NULL,
    session TEXT NOT NULL,
    first_pseq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    samples BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS poses_session ON poses(session, first_pseq);
CREATE TABLE IF NOT EXISTS purges(utc TEXT NOT NULL, before_utc TEXT NOT NULL, sessions TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS group_records(
    pos INTEGER PRIMARY KEY,
    grp TEXT NOT NULL,
    type TEXT NOT NULL,
    utc TEXT NOT NULL,
    mono REAL,
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS group_records_grp ON group_records(grp, pos);
CREATE TABLE IF NOT EXISTS written(  -- files written from a session (exports, reports): a purge removes them
    session TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL, utc TEXT NOT NULL,
    PRIMARY KEY(session, path)
);
"""

CSV_FIELDS = ("session", "seq", "utc", "mono", "film", "media_t", "type", "data")


class StoreError(Exception):
    """The store cannot be read or written, or a session is unknown (the message says which)."""


class FacilitatorStore:
    """Thread-safe (one lock) SQLite copy of events and pose samples, keyed by (session, seq)."""

    def __init__(self, path: Path | str, pose_batch: int = 50):
        self.path = Path(path)
        try:
            private_file(self.path)  # participant codes, notes and poses: owner only (so are -wal, -shm)
            self.db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=10
            )
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA secure_delete=ON")
            self.db.executescript(_SCHEMA)
            if "groups" not in {r[1] for r in self.db.execute("PRAGMA table_info(purges)")}:
                self.db.execute("ALTER TABLE purges ADD COLUMN groups TEXT")  # which group records went
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open the facilitator store ({exc})") from None
        self._lock = threading.Lock()
        self._pose_batch = pose_batch
        self._poses: dict[tuple[str, str], list[tuple[int, tuple[float, ...]]]] = {}
        self.removed: list[str] = []  # the last purge's files (see purge)
        self.not_removed: list[tuple[str, str]] = []

    # -- writing

    def add(self, player: str, event: dict[str, Any]) -> bool:
        """Store one event (idempotent); returns True if it was new."""
        text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        sid, seq, kind = event["session"], int(event["seq"]), str(event["type"])
        with self._lock:
            cur = self.db.execute(
                "INSERT OR IGNORE INTO events(player, session, seq, type, utc, mono, film, media_t, json,"
                " received_utc) VALUES(?,?,?,?,?,?,?,?,?,?)",
                (
                    player,
                    sid,
                    seq,
                    kind,
                    event.get("utc"),
                    event.get("mono"),
                    event.get("film"),
                    event.get("media_t"),
                    text,
                    utc_now(),
                ),
            )
            if cur.rowcount == 0:
                return False
            data = event.get("data") or {}
            self.db.execute(
                "INSERT INTO sessions(id, player, participant, started_utc, last_utc) VALUES(?,?,?,?,?)"
                " ON CONFLICT(id) DO UPDATE SET last_utc=excluded.last_utc",
                (
                    sid,
                    player,
                    data.get("participant") if kind == "session.started" else None,
                    event.get("utc") if kind == "session.started" else None,
                    event.get("utc"),
                ),
            )
            if kind == "session.started":
                self.db.execute(
                    "UPDATE sessions SET participant=?, started_utc=? WHERE id=?",
                    (data.get("participant"), event.get("utc"), sid),
                )
            elif kind == "session.ended":
                self.db.execute("UPDATE sessions SET ended_utc=? WHERE id=?", (event.get("utc"), sid))
        return True

    def add_pose(self, player: str, sample: dict[str, Any]) -> None:
        """Store one pose sample from the stream (batched; see :meth:`flush`)."""
        q = (sample.get("data") or {}).get("q")
        if not isinstance(q, list) or len(q) != 4:
            return
        mt = sample.get("media_t")
        row = (float(sample.get("mono") or 0.0), float("nan") if mt is None else float(mt), *map(float, q))
        key = (player, str(sample.get("session")))
        with self._lock:
            buf = self._poses.setdefault(key, [])
            buf.append((int(sample.get("pseq") or 0), row))
            if len(buf) >= self._pose_batch:
                self._flush_key(key)

    def _flush_key(self, key: tuple[str, str]) -> None:
        buf = self._poses.pop(key, [])
        if buf:
            self.db.execute(
                "INSERT INTO poses(player, session, first_pseq, count, samples) VALUES(?,?,?,?,?)",
                (key[0], key[1], buf[0][0], len(buf), pack_poses([r for _, r in buf])),
            )

    def flush(self) -> None:
        with self._lock:
            for key in list(self._poses):
                self._flush_key(key)

    def follow(self, client: Any, player: str | None = None, **subscribe_kw: Any) -> Any:
        """Subscribe ``client`` (a PlayerClient) so that this store keeps its player's events.

        Resumes after the last event held for that player (or from the current session on first contact).
        Extra callbacks: ``on_event`` and ``on_pose`` in ``subscribe_kw`` are called after storing.
        """
        if player is None and client.player is None:
            client.hello()  # learn the player's name: the store keys its copy by it
        name = player or client.player or client.endpoint
        on_event = subscribe_kw.pop("on_event", None)
        on_pose = subscribe_kw.pop("on_pose", None)

        def ev(e: dict[str, Any]) -> None:
            self.add(name, e)
            if on_event is not None:
                on_event(e)

        def pose(p: dict[str, Any]) -> None:
            self.add_pose(name, p)
            if on_pose is not None:
                on_pose(p)

        since = self.last_position(name) or subscribe_kw.pop("since", "session")
        subscribe_kw.pop("since", None)
        return client.subscribe(on_event=ev, on_pose=pose, since=since, **subscribe_kw)

    # -- reading

    def last_position(self, player: str) -> tuple[str, int] | None:
        with self._lock:
            row = self.db.execute(
                "SELECT session, seq FROM events WHERE player=? ORDER BY pos DESC LIMIT 1", (player,)
            ).fetchone()
        return (row[0], int(row[1])) if row else None

    def events(self, session: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self.db.execute(
                "SELECT json FROM events WHERE session=? ORDER BY seq", (session,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def player_events(self, player: str) -> list[dict[str, Any]]:
        """All events held for a player, in the order the player logged them."""
        with self._lock:
            rows = self.db.execute(
                "SELECT json FROM events WHERE player=? ORDER BY pos", (player,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def poses(self, session: str) -> list[tuple[float, ...]]:
        self.flush()
        with self._lock:
            rows = self.db.execute(
                "SELECT samples FROM poses WHERE session=? ORDER BY first_pseq", (session,)
            )
            out: list[tuple[float, ...]] = []
            for (blob,) in rows:
                out.extend(unpack_poses(blob))
        return out

    def sessions(self, player: str | None = None, facilitated_only: bool = False) -> list[dict[str, Any]]:
        q = "SELECT s.id, s.player, s.participant, s.started_utc, s.ended_utc, count(e.seq) FROM sessions s"
        q += " LEFT JOIN events e ON e.session = s.id"
        cond, params = [], []
        if player is not None:
            cond.append("s.player=?")
            params.append(player)
        if facilitated_only:
            cond.append("s.participant IS NOT NULL")
        if cond:
            q += " WHERE " + " AND ".join(cond)
        q += " GROUP BY s.id ORDER BY s.started_utc DESC, s.rowid DESC"
        with self._lock:
            rows = self.db.execute(q, params).fetchall()
        keys = ("id", "player", "participant", "started_utc", "ended_utc", "events")
        return [dict(zip(keys, r)) for r in rows]

    def resolve(self, session: str) -> str:
        """A session id from an id, a unique prefix or ``latest`` (the newest facilitated session)."""
        with self._lock:
            if session == "latest":
                row = self.db.execute(
                    "SELECT id FROM sessions WHERE participant IS NOT NULL ORDER BY started_utc DESC LIMIT 1"
                ).fetchone()
                if row is None:
                    raise StoreError(f"{self.path}: no facilitated session stored yet")
                return row[0]
            rows = self.db.execute(
                "SELECT id FROM sessions WHERE id=? OR id LIKE ? ESCAPE '\\'",
                (session, session.replace("%", "\\%").replace("_", "\\_") + "%"),
            ).fetchall()
        ids = sorted({r[0] for r in rows})
        if session in ids:
            return session
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise StoreError(
                f"{session}: no such session in {self.path} (see 'viewpoint-facilitator sessions')"
            )
        raise StoreError(f"{session}: ambiguous, matches {', '.join(ids[:5])}")

    # -- group sessions (docs/group.md): the facilitator's own record of a group, next to its players' events

    def add_group_record(self, kind: str, data: dict[str, Any]) -> None:
        """Store one record of a group (``GroupController``'s ``record`` callback: commands, members, clock
        and sync figures). ``data["group"]`` names the group."""
        grp = str(data.get("group") or "group")
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
        with self._lock:
            self.db.execute(
                "INSERT INTO group_records(grp, type, utc, mono, json) VALUES(?,?,?,?,?)",
                (grp, kind, utc_now(), time.monotonic(), text),
            )

    def group_records(self, group: str) -> list[dict[str, Any]]:
        """A group's records in order: ``{"type", "utc", "mono", "data"}``."""
        with self._lock:
            rows = self.db.execute(
                "SELECT type, utc, mono, json FROM group_records WHERE grp=? ORDER BY pos", (group,)
            ).fetchall()
        return [{"type": t, "utc": u, "mono": m, "data": json.loads(j)} for t, u, m, j in rows]

    def groups(self) -> list[dict[str, Any]]:
        """Groups with records, newest first: name, first and last record (UTC), record count."""
        with self._lock:
            rows = self.db.execute(
                "SELECT grp, min(utc), max(utc), count(*), max(pos) FROM group_records GROUP BY grp"
                " ORDER BY max(pos) DESC"
            ).fetchall()
        return [{"group": g, "first_utc": a, "last_utc": b, "records": n} for g, a, b, n, _ in rows]

    def group_sessions(self, group: str) -> list[dict[str, Any]]:
        """The facilitated sessions started for a group (``session.start`` with ``group``), oldest first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT session, player, json FROM events WHERE type='session.started' ORDER BY pos"
            ).fetchall()
        out = []
        for sid, player, text in rows:
            data = json.loads(text).get("data") or {}
            if data.get("group") == group and data.get("participant"):
                out.append({"id": sid, "player": player, "participant": data.get("participant")})
        return out

    # -- export and purge

    def export(self, session: str, fmt: str, out: IO[str], poses: bool = True) -> int:
        """Write a session as JSONL (events, then pose samples as ``type: pose``) or CSV; returns rows."""
        session = self.resolve(session)
        events = self.events(session)
        if fmt == "jsonl":
            n = 0
            for ev in events:
                out.write(json.dumps(ev, ensure_ascii=False) + "\n")
                n += 1
            if poses:
                for mono, media_t, x, y, z, w in self.poses(session):
                    out.write(
                        json.dumps(
                            {
                                "session": session,
                                "type": "pose",
                                "mono": mono,
                                "media_t": None if media_t != media_t else media_t,
                                "data": {"q": [x, y, z, w]},
                            }
                        )
                        + "\n"
                    )
                    n += 1
            return n
        if fmt == "csv":
            w = csv.writer(out)
            w.writerow(CSV_FIELDS)
            for ev in events:
                w.writerow(
                    [
                        ev.get("session"),
                        ev.get("seq"),
                        ev.get("utc"),
                        ev.get("mono"),
                        ev.get("film"),
                        ev.get("media_t"),
                        ev.get("type"),
                        json.dumps(ev.get("data"), ensure_ascii=False, separators=(",", ":")),
                    ]
                )
            return len(events)
        raise StoreError(f"--format {fmt}: expected jsonl or csv")

    def export_text(self, session: str, fmt: str) -> str:
        buf = io.StringIO()
        self.export(session, fmt, buf)
        return buf.getvalue()

    def remember_written(self, session: str, path: Path, kind: str) -> None:
        """Note a file written from a session (an export, a report): a purge of the session removes it."""
        with self._lock:
            self.db.execute(
                "INSERT OR REPLACE INTO written VALUES(?,?,?,?)",
                (session, str(Path(path).resolve()), kind, utc_now()),
            )

    def purge(self, older_than_days: float, keep: Iterable[str] = ()) -> list[str]:
        """Delete sessions that ended more than ``older_than_days`` ago, in one transaction with the record
        of the purge, then erase their bytes (:meth:`erase`); the files written from them are in
        :attr:`removed` (deleted) and :attr:`not_removed` (path, why) afterwards."""
        cutoff = utc_now(time.time() - older_than_days * 86400.0)
        keep = set(keep)
        self.flush()  # pose samples still buffered go with their session
        with self._lock:
            ids = [
                r[0]
                for r in self.db.execute(
                    "SELECT id FROM sessions WHERE ended_utc IS NOT NULL AND ended_utc < ?", (cutoff,)
                )
                if r[0] not in keep
            ]
            files = [
                r[0]
                for sid in ids
                for r in self.db.execute("SELECT path FROM written WHERE session=?", (sid,))
            ]
            self.db.execute("BEGIN IMMEDIATE")
            for sid in ids:
                self.db.execute("DELETE FROM events WHERE session=?", (sid,))
                self.db.execute("DELETE FROM poses WHERE session=?", (sid,))
                self.db.execute("DELETE FROM sessions WHERE id=?", (sid,))
                self.db.execute("DELETE FROM written WHERE session=?", (sid,))
            # a group's own record goes with its sessions: once its last record is past the retention period
            groups = [
                r[0]
                for r in self.db.execute(
                    "SELECT grp FROM group_records GROUP BY grp HAVING max(utc) < ?", (cutoff,)
                )
            ]
            for grp in groups:
                self.db.execute("DELETE FROM group_records WHERE grp=?", (grp,))
            self.db.execute(
                "INSERT INTO purges(utc, before_utc, sessions, groups) VALUES(?,?,?,?)",
                (utc_now(), cutoff, json.dumps(ids), json.dumps(groups)),
            )
            self.db.execute("COMMIT")
            if ids or groups:
                self._erase()
        self.removed, self.not_removed = remove_files(files)
        return ids

    def _erase(self) -> None:
        """Deleted rows unreadable in the files: ``secure_delete`` zeroed them; ``VACUUM`` when free pages
        remain; a checkpoint that truncates the WAL (it waits for readers, up to the busy timeout)."""
        try:
            if self.db.execute("PRAGMA freelist_count").fetchone()[0]:
                self.db.execute("VACUUM")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: purged, but erasing failed ({exc}); run purge again") from None

    def purges(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self.db.execute(
                "SELECT utc, before_utc, sessions, groups FROM purges ORDER BY rowid"
            ).fetchall()
        return [
            {"utc": u, "ended_before": b, "sessions": json.loads(s), "groups": json.loads(g or "[]")}
            for u, b, s, g in rows
        ]

    def close(self) -> None:
        self.flush()
        with self._lock:
            self.db.close()


def remove_files(paths: Iterable[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Delete files written from purged sessions: (removed, [(path, why not)]); missing ones are skipped."""
    removed: list[str] = []
    kept: list[tuple[str, str]] = []
    for path in paths:
        try:
            Path(path).unlink()
            removed.append(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            kept.append((path, exc.strerror or str(exc)))
    return removed, kept


__all__ = ["POSE_STRUCT", "FacilitatorStore", "StoreError"]
