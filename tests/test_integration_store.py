"""The facilitator store's purge: a group's own record goes once past retention, and the purge says so."""

from __future__ import annotations

import sqlite3

from facilitator.store import FacilitatorStore


def _event(sid: str, seq: int, kind: str, utc: str) -> dict:
    return {"v": 1, "session": sid, "seq": seq, "mono": 1.0, "utc": utc, "film": None, "media_t": None,
            "type": kind, "data": {}}  # fmt: skip


def test_purge_clears_old_group_records_and_logs_which(tmp_path):
    store = FacilitatorStore(tmp_path / "store.sqlite")
    try:
        old, new = "2020-01-01T00:00:00.000Z", "2099-01-01T00:00:00.000Z"
        store.add("p1", _event("s-old", 1, "session.started", old))
        store.add("p1", _event("s-old", 2, "session.ended", old))
        store.flush()
        store.db.execute("UPDATE sessions SET ended_utc=?, last_utc=? WHERE id='s-old'", (old, old))
        store.add_group_record("group.play", {"group": "old-group"})
        store.add_group_record("group.play", {"group": "new-group"})
        store.db.execute("UPDATE group_records SET utc=? WHERE grp='old-group'", (old,))
        store.db.execute("UPDATE group_records SET utc=? WHERE grp='new-group'", (new,))
        ids = store.purge(older_than_days=30)
        assert [g["group"] for g in store.groups()] == ["new-group"]
        assert store.group_records("old-group") == []
        purge = store.purges()[-1]
        assert purge["groups"] == ["old-group"]
        assert purge["sessions"] == ids
    finally:
        store.close()


def test_a_store_made_before_group_purges_opens_and_purges(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE purges(utc TEXT NOT NULL, before_utc TEXT NOT NULL, sessions TEXT NOT NULL)")
    db.execute("INSERT INTO purges VALUES('2020-01-01T00:00:00.000Z', '2019-12-01T00:00:00.000Z', '[]')")
    db.commit()
    db.close()
    store = FacilitatorStore(path)
    try:
        store.purge(older_than_days=30)
        assert [p["groups"] for p in store.purges()] == [[], []]
    finally:
        store.close()
