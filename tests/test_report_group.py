"""The group report from the facilitator store: the group's record, its sync figures and each participant.

Synthetic but complete: the records a `GroupController` writes (through `FacilitatorStore.add_group_record`)
and the events two players log for their participants (session tagged with the group, scheduled commands'
executions, sync status, a welfare stop on one headset, notes, head poses), plus a session of another group
that must stay out. The report is made by the real CLI (`viewpoint-facilitator report --group`).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from facilitator.cli import main as facilitator_main
from facilitator.report.group import load_group, sync_summary
from facilitator.report.sources import SourceError
from facilitator.store import FacilitatorStore

pytestmark = pytest.mark.timeout(60)

GROUP = "room-7"


def _utc(t: float) -> str:
    s = int(t)
    return f"2026-11-21T10:{s // 60:02d}:{s % 60:02d}.{int((t - s) * 1000):03d}Z"


def _player_session(store: FacilitatorStore, player: str, sid: str, code: str, group: str, late_ms: float,
                    stop: bool) -> None:  # fmt: skip
    seq = 0

    def ev(kind: str, t: float, media_t: float | None, **data) -> None:
        nonlocal seq
        seq += 1
        store.add(player, {"session": sid, "seq": seq, "mono": 100 + t, "utc": _utc(t), "film": "rehearsal",
                           "media_t": media_t, "type": kind, "data": data})  # fmt: skip

    ev("session.started", 0, 0.0, participant=code, group=group, facilitator="JB",
       consent={"given": True, "method": "verbal", "pose_capture": True}, player=player)  # fmt: skip
    ev("sync.executed", 2, 0.0, cmd="play", epoch=3, late_ms=late_ms, group=group, at=1.0, actual=1.0)
    ev("transport.playing", 2, 0.0)
    ev("annotation.added", 4, 2.0, text=f"{code} leaned in", tags=["engaged"], at=2.0)
    if stop:
        ev("welfare.changed", 5, 3.0, level="stop", by="facilitator")
    ev("sync.status", 7, 5.0, group=group, epoch=3, following=True, error_ms=0.2, abs_p50_ms=0.1,
       abs_p99_ms=0.9, resyncs=0, trim=1.0, seeks=0)  # fmt: skip
    ev("sync.executed", 8, 6.0, cmd="pause", epoch=4, late_ms=late_ms / 2, group=group)
    ev("transport.paused", 8, 6.0)
    ev("session.ended", 9, 6.0, reason="ended_by_facilitator")
    for i in range(40):  # looking around to the right
        yaw = math.radians(-45) / 2
        store.add_pose(player, {"session": sid, "pseq": i, "mono": 102 + i * 0.1, "media_t": i * 0.1,
                                "data": {"q": [0.0, math.sin(yaw), 0.0, math.cos(yaw)]}})  # fmt: skip


@pytest.fixture()
def store(tmp_path: Path) -> FacilitatorStore:
    st = FacilitatorStore(tmp_path / "store.sqlite")
    rec = st.add_group_record
    rec("group.member_added", {"group": GROUP, "player": "headset-1", "endpoint": "tcp://10.0.0.11:5555"})
    rec("group.member_added", {"group": GROUP, "player": "headset-2", "endpoint": "tcp://10.0.0.12:5555"})
    rec("group.load", {"group": GROUP, "film": "rehearsal", "acks": {}})
    codes = {"headset-1": "P-AAA", "headset-2": "P-BBB"}
    rec("group.sessions_started", {"group": GROUP, "participants": codes})
    for player, offset in (("headset-1", 0.0021), ("headset-2", -0.0134)):
        rec("group.clock", {"group": GROUP, "player": player, "offset": offset, "uncertainty": 0.0004,
                            "rtt_median": 0.0031, "rtt": 0.003, "drift_ppm": 1.5})  # fmt: skip
    acks = {"headset-1": {"accepted": True}, "headset-2": {"accepted": True}}
    rec("group.command", {"group": GROUP, "cmd": "play", "args": {}, "at": 1.0, "lead_s": 0.15, "epoch": 3,
                          "media_t": 0.0, "playing": True, "acks": acks})  # fmt: skip
    rec("group.figures", {"group": GROUP, "spread_ms": 0.4, "players": {
        "headset-1": {"error_ms": 0.2, "abs_p99_ms": 0.8, "loss_pct": 0.0},
        "headset-2": {"error_ms": -0.2, "abs_p99_ms": 0.9, "loss_pct": 1.0}}})  # fmt: skip
    rec("group.welfare", {"group": GROUP, "player": "headset-2", "action": "stop"})
    rec("group.command", {"group": GROUP, "cmd": "pause", "args": {}, "at": 8.0, "lead_s": 0.15, "epoch": 4,
                          "media_t": 6.0, "playing": False, "acks": acks})  # fmt: skip
    rec("group.figures", {"group": GROUP, "spread_ms": 1.2, "players": {}})
    _player_session(st, "headset-1", "s-1", "P-AAA", GROUP, 0.3, stop=False)
    _player_session(st, "headset-2", "s-2", "P-BBB", GROUP, 1.7, stop=True)
    _player_session(st, "headset-3", "s-3", "P-OTHER", "another-group", 0.1, stop=False)
    st.add_group_record("group.load", {"group": "older-group", "film": "x"})
    yield st
    st.close()


def test_store_keeps_the_group_and_finds_its_sessions(store: FacilitatorStore) -> None:
    assert [g["group"] for g in store.groups()] == ["older-group", GROUP]
    assert [s["participant"] for s in store.group_sessions(GROUP)] == ["P-AAA", "P-BBB"]
    data = load_group(store, GROUP)
    assert len(data.records) == 11 and [p.player for p in data.sessions] == ["headset-1", "headset-2"]
    summary = sync_summary(data)
    play, pause = summary["commands"]
    assert play["_landed"] == 2 and play["_worst_late_ms"] == 1.7 and pause["_worst_late_ms"] == 0.85
    assert summary["spread_ms"] == [0.4, 1.2]
    with pytest.raises(SourceError, match="no such group"):
        load_group(store, "nobody")


def test_group_report_from_the_cli(store: FacilitatorStore, tmp_path: Path) -> None:
    store.flush()
    out = tmp_path / "group.html"
    rc = facilitator_main(["report", "--group", GROUP, "--store", str(store.path), "-o", str(out)])
    assert rc == 0
    html = out.read_text(encoding="utf-8")
    # the group's facts
    assert "Group report" in html and f"<dd>{GROUP}</dd>" in html
    assert "2: headset-1, headset-2" in html and "P-AAA, P-BBB" in html
    assert "play 1, pause 1" in html and "median 0.80 ms, max 1.20 ms" in html
    # how each command landed: accepted by both, both players logged its execution, the worst lateness
    landed = r"<td>play </td>.*?<td class=t>2 of 2</td><td class=t>2</td><td class=t>1.70 ms</td>"
    assert re.search(landed, html, re.S)
    # per headset: clock offset ± uncertainty, round trip, sync error p50/p99, probe loss, welfare events
    assert "+2.10 ms ± 0.40 ms" in html and "-13.40 ms ± 0.40 ms" in html
    assert "3.10 ms" in html and "0.10 ms / 0.90 ms" in html and "1.0 %" in html
    # one section per participant, made by the per-session report (notes, heatmap, events)
    assert html.count('<article class="participant">') == 2
    assert "Participant P-AAA · headset-1" in html and "Participant P-BBB · headset-2" in html
    assert "P-AAA leaned in" in html and "P-BBB leaned in" in html
    assert html.count("Attention heatmap, whole film") == 2 and "data:image/jpeg;base64," in html
    assert "Welfare: STOP" in html and "P-OTHER" not in html
    # 'latest' is the newest group (here one without participants); a missing one is a clear error
    latest = tmp_path / "latest.html"
    args = ["report", "--group", "latest", "--store", str(store.path), "-o", str(latest)]
    assert facilitator_main(args) == 0
    assert "older-group" in latest.read_text(encoding="utf-8")
    assert "No participant session" in latest.read_text(encoding="utf-8")
    assert facilitator_main(["report", "--group", "nobody", "--store", str(store.path), "-o", str(out)]) == 2
    if __debug__ and Path("artifacts").is_dir():
        (Path("artifacts") / "report-group.html").write_text(html, encoding="utf-8")


def test_purge_drops_a_group_record_past_retention(store: FacilitatorStore) -> None:
    store.db.execute("UPDATE group_records SET utc='2020-01-01T00:00:00.000Z' WHERE grp='older-group'")
    store.purge(older_than_days=30)
    assert [g["group"] for g in store.groups()] == [GROUP]
