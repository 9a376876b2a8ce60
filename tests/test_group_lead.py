"""The lead of a group command learns from the commands before it: one that reached a headset late (the
facilitator's worker for it was busy) makes the next ones leave earlier, so no headset needs to rejoin."""

from __future__ import annotations

import time

import pytest

from facilitator.group.controller import GroupController
from facilitator.group.rehearsal import Rehearsal, write_rehearsal_library
from facilitator.group.schedule import LEAD_MAX, AckedWithin

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_the_lead_covers_the_slowest_recent_acknowledgement() -> None:
    acked = AckedWithin(keep=3, factor=1.25, slack=0.02)
    assert acked.lead() == 0.0  # nothing learned: the round trips decide
    acked.observe(0.4)
    assert acked.lead() == pytest.approx(1.25 * 0.4 + 0.02)
    for _ in range(3):  # three quicker commands later the slow one is forgotten
        acked.observe(0.1)
    assert acked.lead() == pytest.approx(1.25 * 0.1 + 0.02)
    acked.observe(60.0)
    assert acked.lead() == LEAD_MAX


def test_a_command_that_came_late_makes_the_next_leave_earlier(tmp_path) -> None:
    manifest = write_rehearsal_library(tmp_path / "library", seconds=20)
    r = Rehearsal(tmp_path / "players", 2, manifest, eye_size="32x32", display_rate=10.0)
    g = GroupController("lead")
    try:
        r.start(timeout=90)
        for name, client in r.clients().items():
            g.add(name, client, subscribe=False)
        assert g.wait_ready(60)
        g.pause()  # a first command on an idle group: on time
        before = g.lead()
        slow = g.members["headset-1"]
        busy = slow.submit(lambda: time.sleep(0.8))  # its worker busy (a slow link's poll, a starved laptop)
        late = g.pause()
        busy.result(10)
        assert slow.last_command["arrived_early_ms"] < 0, late  # it came after its instant
        assert g.lead() >= 0.8 > before  # the next commands leave early enough for it
        on_time = g.play()
        assert on_time["lead_s"] >= 0.8
        assert all(m.last_command["arrived_early_ms"] > 0 for m in g.members.values()), on_time
    finally:
        g.close()
        r.stop()
