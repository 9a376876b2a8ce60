"""Issue 14, the facilitator's files: a store purge erases the bytes (database, -wal, -shm; open and after a
SIGKILL) and removes the exports and console reports written from purged sessions; exports are written whole
(a temporary file beside the target, renamed), never into a file someone else created."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from facilitator.store import FacilitatorStore
from player.protocol import utc_now

BIN = Path(sys.executable).parent
OLD = "2020-01-01T00:00:00.000Z"
CODE, NOTE, CONSENT_NOTE = "KQM-916", "cried at the door scene", "consent form kept in folder C12"
SECRETS = [CODE.encode(), NOTE.encode(), CONSENT_NOTE.encode()]


def _event(sid: str, seq: int, kind: str, data: dict, utc: str = OLD) -> dict:
    return {"v": 1, "session": sid, "seq": seq, "mono": 1.0 + seq, "utc": utc, "film": "f", "media_t": 1.0,
            "type": kind, "data": data}  # fmt: skip


def fill(store: FacilitatorStore, sid: str = "s-old", utc: str = OLD) -> None:
    """One ended session with a participant code, a consent note, a note and pose samples."""
    consent = {"given": True, "pose_capture": True, "note": CONSENT_NOTE}
    store.add("p1", _event(sid, 1, "session.started", {"participant": CODE, "consent": consent}, utc))
    store.add("p1", _event(sid, 2, "annotation.added", {"text": NOTE, "tags": []}, utc))
    for i in range(60):
        store.add_pose("p1", {"session": sid, "pseq": i + 1, "mono": 2.0 + i, "media_t": 1.0,
                              "data": {"q": [0.0, 0.1, 0.0, 0.99]}})  # fmt: skip
    store.add("p1", _event(sid, 3, "session.ended", {"reason": "done"}, utc))
    store.flush()


def leaks(path: Path) -> list[tuple[str, bytes]]:
    found = []
    for f in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        data = f.read_bytes() if f.exists() else b""
        found += [(f.name, s) for s in SECRETS if s in data]
    return found


def test_a_store_purge_erases_the_bytes_while_open(tmp_path):
    path = tmp_path / "store.sqlite"
    store = FacilitatorStore(path)
    reader = FacilitatorStore(path)  # another process's connection (tail, the console) reading it
    try:
        fill(store)
        assert reader.events("s-old")  # seen by the other connection
        assert leaks(path)  # the search finds what is there
        assert store.purge(30) == ["s-old"]
        assert leaks(path) == []
        assert store.purges()[-1]["sessions"] == ["s-old"]
    finally:
        reader.close()
        store.close()


def test_a_store_purge_survives_a_sigkill_erased_and_recorded(tmp_path):
    path = tmp_path / "store.sqlite"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from facilitator.store import FacilitatorStore
        from tests.test_privacy_files import fill
        store = FacilitatorStore({str(path)!r})
        fill(store)
        assert store.purge(30) == ["s-old"]
        os.kill(os.getpid(), signal.SIGKILL)  # no close, no checkpoint on exit
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert leaks(path) == []
    store = FacilitatorStore(path)
    try:
        assert store.purges()[-1]["sessions"] == ["s-old"] and store.sessions() == []
    finally:
        store.close()


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "viewpoint-facilitator"), "--home", str(home), *args],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_exports_are_whole_and_ours_and_a_purge_removes_them(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    store = FacilitatorStore(home / "store.sqlite")
    fill(store)
    store.close()
    out = tmp_path / "shared" / "session.csv"
    out.parent.mkdir()
    out.write_text("someone else's file\n")  # made first, readable by all (and by another user when root)
    os.chmod(out, 0o644)
    if os.geteuid() == 0:
        os.chown(out, 65534, 65534)
    run = _cli("export", "s-old", "--format", "csv", "-o", str(out), home=home)
    assert run.returncode == 0, run.stderr
    st = out.stat()
    assert st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) == 0o600  # a new file of ours
    text = out.read_text()
    assert text.startswith("session,seq") and text.count("\n") == 4 and CODE in text
    assert [p.name for p in out.parent.iterdir()] == ["session.csv"]  # no temporary file left
    report = home / "reports" / "report-s-old.html"  # what the console wrote for that session
    report.parent.mkdir()
    report.write_text(f"<p>{CODE}</p>")
    elsewhere = tmp_path / "shared" / "for-the-team.html"  # the report command, from the store
    run = _cli("report", "s-old", "-o", str(elsewhere), home=home)
    assert run.returncode == 0 and CODE in elsewhere.read_text(), run.stderr
    run = _cli("purge", "--older-than", "30", home=home)
    assert run.returncode == 0, run.stderr
    for path in (out.resolve(), report, elsewhere.resolve()):
        assert f"removed {path}" in run.stdout and not path.exists(), run.stdout
    assert leaks(home / "store.sqlite") == []


def test_a_killed_export_leaves_the_old_file_whole(tmp_path):
    """The export is killed before it completes: the target keeps its old content (or does not exist), never
    a shorter file that looks complete."""
    path = tmp_path / "store.sqlite"
    store = FacilitatorStore(path)
    fill(store, "s-1", utc_now())
    store.close()
    out = tmp_path / "out.jsonl"
    out.write_text("the previous export, complete\n")
    script = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from facilitator.store import FacilitatorStore
        from player.protocol.private import private_replace
        store = FacilitatorStore({str(path)!r})
        with private_replace(Path({str(out)!r}), "w", encoding="utf-8") as f:  # as 'export -o' writes
            store.export("s-1", "jsonl", f)
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)  # killed with the rows written, before the rename
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert out.read_text() == "the previous export, complete\n"


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_to_stdout_still_works(tmp_path, fmt):
    home = tmp_path / "home"
    store = FacilitatorStore(home / "store.sqlite")
    fill(store, "s-2", utc_now())
    store.close()
    run = _cli("export", "s-2", "--format", fmt, home=home)
    assert run.returncode == 0 and NOTE in run.stdout, run.stderr
