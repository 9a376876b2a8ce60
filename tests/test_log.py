"""The player's SQLite session log: group commit, log order across sessions, poses, retention purge."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from player.protocol import utc_now
from player.session.log import LogError, PoseBatch, SessionLog, pack_poses, unpack_poses
from tests.support import event_row as ev


def test_wal_group_commit_and_log_order(tmp_path):
    log = SessionLog(tmp_path / "l.sqlite")
    assert log.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    log.append([ev("a", 1, "session.started"), ev("a", 2), ev("a", 3, "session.ended", {"reason": "r"})])
    log.append(
        [ev("b", 1, "session.started", {"participant": "P-1", "consent": {"given": True}}), ev("b", 2)]
    )
    assert log.commits == 2 and log.events_written == 5
    texts, more = log.events_after("a", 2, 10)
    assert [(json.loads(t)["session"], json.loads(t)["seq"]) for t in texts] == [("a", 3), ("b", 1), ("b", 2)]
    assert not more
    texts, more = log.events_after(None, 0, 2)
    assert len(texts) == 2 and more
    texts, _ = log.events_after("b", 0, 10)  # from a session's start
    assert [json.loads(t)["seq"] for t in texts] == [1, 2]
    s = {r["id"]: r for r in log.sessions()}
    assert s["a"]["ended_utc"] and s["a"]["end_reason"] == "r" and s["a"]["kind"] == "standby"
    assert s["b"]["participant"] == "P-1" and s["b"]["consent"] == {"given": True} and s["b"]["last_seq"] == 2
    assert log.unfinished_sessions() == [("b", 2)]
    with pytest.raises(LogError, match="write failed"):
        log.append([ev("b", 2)])  # (session, seq) is unique: nothing is overwritten
    assert log.last_seq("b") == 2
    log.close()


def test_poses_are_compact_and_round_trip(tmp_path):
    log = SessionLog(tmp_path / "l.sqlite")
    samples = [(10.0 + i / 20, i / 20, 0.0, 0.1 * i, 0.0, 1.0) for i in range(40)]
    log.append([], [PoseBatch("a", 1, "film", samples[:20]), PoseBatch("a", 21, "film", samples[20:])])
    back = log.poses("a")
    assert len(back) == 40 and back[5][0] == samples[5][0] and abs(back[5][3] - samples[5][3]) < 1e-6
    assert len(pack_poses(samples)) == 32 * 40
    assert unpack_poses(pack_poses(samples[:1]))[0][:2] == samples[0][:2]
    log.close()


def test_purge_removes_old_ended_sessions_only(tmp_path):
    log = SessionLog(tmp_path / "l.sqlite")
    old = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    log.append(
        [
            ev("old", 1, "session.started", {"participant": "P-9"}, old),
            ev("old", 2, "annotation.added", {"text": "secret words"}, old),
            ev("old", 3, "session.ended", {}, old),
        ]
    )
    log.append([], [PoseBatch("old", 1, None, [(1.0, 1.0, 0, 0, 0, 1)])], [("k", "r1", old, "{}")])
    now = utc_now()
    log.append([ev("new", 1, "session.started", utc=now), ev("new", 2, "session.ended", utc=now)])
    log.append([ev("open", 1, "session.started", {}, old)])  # never ended: kept
    assert log.purge_before(
        (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z"), keep=["open"]
    ) == ["old"]
    assert {s["id"] for s in log.sessions()} == {"new", "open"}
    assert log.poses("old") == [] and log.cached_reply("k", "r1") is None
    log.close()
    # secure_delete: the purged text is not left in the file
    db = sqlite3.connect(tmp_path / "l.sqlite")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    assert b"secret words" not in (tmp_path / "l.sqlite").read_bytes()


def test_a_file_that_is_not_a_log_gets_a_clear_error(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LogError, match=r"bad\.sqlite: cannot open the session log"):
        SessionLog(bad)
    newer = tmp_path / "newer.sqlite"
    SessionLog(newer).close()
    db = sqlite3.connect(newer)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(LogError, match="newer than this player"):
        SessionLog(newer)
