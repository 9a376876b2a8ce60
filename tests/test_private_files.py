"""Session data (logs, the facilitator's store, reports, exports, the local player's output with its pairing
code) is written readable by its owner only; folders made for it can be entered by its owner only."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from facilitator.client.home import FacilitatorHome
from facilitator.report.html import write_report
from facilitator.store import FacilitatorStore
from player.protocol.private import open_private, private_file, write_private_text
from player.session.log import SessionLog

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes (Windows uses owner-only ACLs)")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_session_log_and_its_wal_are_private(tmp_path):
    log = SessionLog(tmp_path / "new" / "log.sqlite")
    log.db.execute("CREATE TABLE IF NOT EXISTS t(x)")
    log.db.execute("INSERT INTO t VALUES(1)")
    files = sorted(p.name for p in (tmp_path / "new").iterdir())
    assert {"log.sqlite", "log.sqlite-wal", "log.sqlite-shm"} <= set(files)
    assert {f: mode(tmp_path / "new" / f) for f in files} == dict.fromkeys(files, 0o600)
    assert mode(tmp_path / "new") == 0o700
    log.close()


def test_an_existing_world_readable_log_is_tightened(tmp_path):
    path = tmp_path / "log.sqlite"
    SessionLog(path).close()
    os.chmod(path, 0o644)
    SessionLog(path).close()
    assert mode(path) == 0o600


def test_the_store_reports_exports_and_homes_are_private(tmp_path):
    store = FacilitatorStore(tmp_path / "fac" / "store.sqlite")
    assert mode(tmp_path / "fac" / "store.sqlite") == 0o600
    store.close()
    report = write_report([], tmp_path / "reports" / "r.html")
    assert mode(report) == 0o600 and mode(tmp_path / "reports") == 0o700
    with open_private(tmp_path / "export.csv", "w", encoding="utf-8") as f:
        f.write("session,seq\n")
    assert mode(tmp_path / "export.csv") == 0o600
    write_private_text(tmp_path / "note.txt", "x")
    assert mode(tmp_path / "note.txt") == 0o600
    home = FacilitatorHome(tmp_path / "home", name="alice")
    home.identity()
    home.remember("room-1", "tcp://127.0.0.1:5555", home.identity().public, "lead")
    assert mode(tmp_path / "home") == 0o700 and mode(tmp_path / "home" / "players") == 0o700
    assert mode(tmp_path / "home" / "players" / "room-1.json") == 0o600


def test_a_folder_that_already_exists_is_left_as_it_is(tmp_path):
    (tmp_path / "shared").mkdir(mode=0o755)
    private_file(tmp_path / "shared" / "log.sqlite")
    assert mode(tmp_path / "shared") == 0o755 and mode(tmp_path / "shared" / "log.sqlite") == 0o600
