"""The player's group follower: scheduled actions at the shared instant, pre-roll, slewing, welfare holds.

These drive the follower against a small simulated transport (a media clock that plays, pauses, seeks and
takes
a rate trim, like the engine's) so that the sync logic is checked on its own; tests/test_group_players.py
runs it
inside real headless players.
"""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from facilitator.group.schedule import GroupTimeline, lead_time
from player.sync.follower import GroupFollower
from player.sync.scheduler import Scheduler
from player.sync.slew import SlewConfig, SlewController
from player.sync.timeline import Timeline


class SimTransport:
    """A media clock: media = m0 + (t - t0) * rate * trim while playing."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.playing = False
        self.t0 = 0.0
        self.m0 = 0.0
        self.trim = 1.0
        self.hold = False
        self.calls: list[tuple[str, float]] = []
        self.commands: list[tuple[str, dict]] = []

    latency = 0.0  # an output's: a start is heard this long after play() (the clock holds until then)
    heard_at = 0.0

    def media_at(self, t: float) -> float:
        with self.lock:
            if not self.playing or t < self.heard_at:
                return self.m0
            return self.m0 + (t - self.t0) * self.trim

    def _rebase(self, t: float) -> None:
        self.m0 = self.media_at_unlocked(t)
        self.t0 = t

    def media_at_unlocked(self, t: float) -> float:
        return self.m0 + (t - self.t0) * self.trim if self.playing else self.m0

    def is_playing(self) -> bool:
        return self.playing

    def start_pending(self) -> bool:
        return self.playing and self.clock() < self.heard_at

    def held(self) -> bool:
        return self.hold

    late_start_max = 0.125  # as the engine: a start called up to this late lands on the clock

    def play(self, at: float | None = None) -> None:
        t = self.clock()
        with self.lock:
            # a start called late skips forward by its lateness (up to late_start_max), as the engine's does
            self.t0 = at if at is not None and 0 <= t - at <= self.late_start_max else t
            self.heard_at = t + self.latency
            self.playing = True
        self.calls.append(("play", t))

    def pause(self) -> None:
        t = self.clock()
        with self.lock:
            self._rebase(t)
            self.playing = False
        self.calls.append(("pause", t))

    def seek(self, m: float) -> None:
        t = self.clock()
        with self.lock:
            self.m0, self.t0 = m, t
        self.calls.append(("seek", m))

    def set_trim(self, f: float) -> None:
        t = self.clock()
        with self.lock:
            self._rebase(t)
            self.trim = f

    def chapter_start(self, args: dict) -> float:
        starts = {"intro": 0.0, "middle": 30.0}
        if args.get("id") not in starts:
            raise ValueError(f"args.id: no chapter {args.get('id')!r}")
        return starts[args["id"]]


def test_slew_converges_without_seeking_and_seeks_when_far() -> None:
    t = [0.0]
    sim = SimTransport(clock=lambda: t[0])
    sim.seek(10.0 + 0.020)  # 20 ms ahead of the group
    sim.play()
    tl = Timeline(at=0.0, media_t=10.0, playing=True)
    slew = SlewController(sim.media_at, sim.set_trim, sim.seek, SlewConfig())
    errors = []
    for _ in range(200):  # 10 s at 20 Hz
        t[0] += 0.05
        step = slew.step(t[0], tl, True)
        errors.append(step.error)
        assert abs(step.trim - 1.0) <= SlewConfig().max_trim + 1e-12
    assert slew.seeks == 0
    assert abs(errors[-1]) <= SlewConfig().deadband + 1e-6
    assert all(abs(b) <= abs(a) + 1e-9 for a, b in itertools.pairwise(errors))  # monotone, no overshoot
    slew.config = SlewConfig(seek_latency=0.0)  # this simulated seek lands at once
    sim.seek(50.0)  # far away: a seek, not a slew
    t[0] += 0.05
    assert slew.step(t[0], tl, True).action == "seek"
    assert abs(sim.media_at(t[0] + 0.05) - tl.media_at(t[0] + 0.05)) < 1e-6
    assert slew.step(t[0], tl, False).action == "idle" and sim.trim == 1.0  # locally held: left alone
    figs = slew.figures()
    assert figs["seeks"] == 1 and figs["abs_p99_ms"] >= figs["abs_p50_ms"]


def test_scheduler_runs_in_time_order_never_early_and_late_ones_at_once() -> None:
    ran: list[tuple[str, float, float]] = []
    ticks = []
    s = Scheduler(tick=ticks.append, tick_period=0.01).start()
    try:
        now = time.monotonic()
        done = threading.Event()
        s.schedule(now + 0.06, lambda at, actual: ran.append(("b", at, actual)), "b")
        s.schedule(now + 0.03, lambda at, actual: ran.append(("a", at, actual)), "a")
        cancelled = s.schedule(now + 0.04, lambda at, actual: ran.append(("x", at, actual)), "x")
        s.cancel(cancelled)
        s.schedule(now - 1.0, lambda at, actual: ran.append(("late", at, actual)), "late")
        s.schedule(now + 0.08, lambda at, actual: done.set(), "done")
        assert done.wait(5)
    finally:
        s.stop()
    assert [r[0] for r in ran] == ["late", "a", "b"]
    assert all(actual >= at for _, at, actual in ran)
    assert len(ticks) >= 3


def _follower(sim: SimTransport, events: list) -> GroupFollower:
    return GroupFollower(sim, preroll=0.1, tick=0.02, on_event=lambda k, d: events.append((k, d))).start()


def _wait_for(pred, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_play_pause_seek_land_at_the_instant() -> None:
    sim, events = SimTransport(), []
    f = _follower(sim, events)
    try:
        at = time.monotonic() + 0.2
        sim.seek(3.0)  # paused somewhere else: the pre-roll seeks to the group position
        res = f.apply(Timeline(at, 5.0, True, group="g", epoch=1), "play", {})
        assert res["accepted"] and res["lead"] == pytest.approx(at - res["now"], abs=1e-6)
        _wait_for(lambda: sim.playing)
        play_t = next(t for name, t in sim.calls if name == "play")
        assert play_t >= at
        assert ("seek", 5.0) in sim.calls
        # pause 0.1 s later: paused exactly at the group's position
        at2 = time.monotonic() + 0.1
        f.apply(Timeline(at2, 5.0 + (at2 - at), False, group="g", epoch=2), "pause", {})
        _wait_for(lambda: not sim.playing)
        assert sim.media_at(time.monotonic()) == pytest.approx(5.0 + (at2 - at), abs=0.0011)
        # a stale timeline (older epoch) is refused
        assert f.apply(Timeline(at, 1.0, True, group="g", epoch=1), "play", {})["accepted"] is False
        # a command acted a little late (a loaded machine): it starts skipped forward, on the clock, with
        # no rejoin (a rejoin's own action could wake late again: a headset short of CPU would never play)
        late_at = time.monotonic() - 0.05
        f.apply(Timeline(late_at, 8.0, True, group="g", epoch=3), "seek", {"t": 8.0})
        _wait_for(lambda: len(f.executions) >= 3)
        assert f.executions[-1]["late_ms"] >= 50 and sim.playing
        now = time.monotonic()
        assert sim.media_at(now) == pytest.approx(8.0 + now - late_at, abs=0.002)
        assert f.resyncs == 0
        # too late to start in step: it rejoins a moment later where the group is by then
        late_at = time.monotonic() - 0.5
        f.apply(Timeline(late_at, 20.0, True, group="g", epoch=4), "seek", {"t": 20.0})
        _wait_for(lambda: len(f.executions) >= 5)
        _wait_for(
            lambda: abs(sim.media_at(time.monotonic()) - (20.0 + time.monotonic() - late_at)) < 0.002, 10
        )
        # the late one rejoined at a fresh instant: one more execution, one resync
        executed = [d for k, d in events if k == "sync.executed"]
        assert executed[3]["late_ms"] >= 500 and executed[3]["rejoin"] and not executed[2]["rejoin"]
        assert f.resyncs >= 1 and executed[-1]["cmd"] == "sync" and executed[-1]["late_ms"] < 125
        assert any(k == "sync.status" for k, _ in events)  # the sync figures, for the session log
    finally:
        f.close()


def test_the_slew_waits_for_a_start_to_be_heard() -> None:
    """Until a start is heard (an output's latency after play(at)) the clock holds where paused, and reads as
    behind by the lateness: judged then, a start 30 ms late with 80 ms of output latency looked 110 ms off
    and was resynced, though it lands on the clock."""
    sim, events = SimTransport(), []
    sim.latency = 0.08
    f = _follower(sim, events)
    try:
        late_at = time.monotonic() - 0.03
        f.apply(Timeline(late_at, 2.0, True, group="g", epoch=1), "play", {})
        _wait_for(lambda: sim.playing and not sim.start_pending())
        time.sleep(0.3)  # several slew steps after it is heard
        now = time.monotonic()
        assert sim.media_at(now) == pytest.approx(2.0 + now - late_at, abs=0.002)
        assert f.resyncs == 0 and f.slew.seeks == 0, [d for k, d in events if k == "sync.resync"]
        assert all(abs(e) < 0.002 for _t, e in f.slew.errors), list(f.slew.errors)  # no held-clock errors
    finally:
        f.close()


def test_chapter_resolves_its_start_and_bad_commands_are_refused() -> None:
    sim, events = SimTransport(), []
    f = _follower(sim, events)
    try:
        at = time.monotonic() + 0.05
        res = f.apply(Timeline(at, -1.0, False, group="g", epoch=1), "chapter", {"id": "middle"})
        assert res["media_t"] == 30.0
        _wait_for(lambda: len(f.executions) == 1)
        assert sim.media_at(time.monotonic()) == 30.0 and not sim.playing
        with pytest.raises(ValueError, match="no chapter"):
            f.apply(Timeline(at, -1.0, False, group="g", epoch=2), "chapter", {"id": "nope"})
        with pytest.raises(ValueError, match=r"args\.cmd"):
            f.apply(Timeline(at, 1.0, False, group="g", epoch=2), "load", {})
    finally:
        f.close()


def test_welfare_hold_is_respected_then_catches_up() -> None:
    sim, events = SimTransport(), []
    sim.hold = True
    f = _follower(sim, events)
    try:
        at = time.monotonic() + 0.05
        f.apply(Timeline(at, 0.0, True, group="g", epoch=1), "play", {})
        _wait_for(lambda: len(f.executions) == 1)
        assert not sim.playing and f.executions[0]["held"]
        time.sleep(0.2)
        sim.hold = False  # welfare resumed: rejoin where the group is by then
        f.catch_up(delay=0.1)
        _wait_for(lambda: sim.playing)
        now = time.monotonic()
        assert sim.media_at(now) == pytest.approx(now - at, abs=0.005)
        assert f.status()["following"] and f.status()["group"] == "g"
        f.leave()
        assert f.status()["following"] is False
    finally:
        f.close()


def test_group_timeline_math_and_lead_time() -> None:
    tl = GroupTimeline(anchor=100.0, media_t=0.0, playing=False)
    tl = tl.play(101.0)
    assert tl.media_at(103.0) == pytest.approx(2.0) and tl.epoch == 1
    p = tl.pause(104.0)
    assert p.media_at(200.0) == pytest.approx(3.0) and not p.playing
    s = p.seek(105.0, 42.0)
    assert s.media_at(300.0) == 42.0 and s.epoch == 3
    args = tl.for_player(offset=-50.0, group="g")
    assert args["at"] == pytest.approx(51.0) and args["playing"] is True
    assert Timeline.from_args(args).media_at(53.0) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="playing"):
        Timeline.from_args({**args, "playing": 1})
    with pytest.raises(ValueError, match="rate"):
        Timeline.from_args({**args, "rate": 9})
    from facilitator.group.clock import ClockEstimate

    wifi = ClockEstimate(0.0, 0.02, 0.001, 0.05, 0.04, 0.05, 0.0, 10, 0.0)
    lan = ClockEstimate(0.0, 0.0002, 0.0, 0.0004, 0.0004, 0.0004, 0.0, 10, 0.0)
    assert lead_time([lan]) == pytest.approx(0.15)
    assert lead_time([lan, wifi]) == pytest.approx(2 * 0.05 + 0.2 + 0.02 + 0.05)
    assert lead_time([lan, None]) == 0.5


def test_refresh_moves_the_target_and_the_slew_follows_without_seeking() -> None:
    """A fresher clock estimate (or drift) shifts the timeline by a few ms: slewed away, no pause, no seek."""
    sim, events = SimTransport(), []
    f = _follower(sim, events)
    try:
        at = time.monotonic() + 0.05
        f.apply(Timeline(at, 0.0, True, group="g", epoch=1), "play", {})
        _wait_for(lambda: sim.playing)
        calls_before = list(sim.calls)
        shifted = Timeline(
            at + 0.003, 0.0, True, group="g", epoch=1
        )  # the group is 3 ms "later" than thought
        res = f.refresh(shifted)
        assert res["accepted"] and res["shift_ms"] == pytest.approx(-3.0, abs=1e-6)
        _wait_for(
            lambda: abs(sim.media_at(time.monotonic()) - shifted.media_at(time.monotonic())) < 0.0006, 10
        )
        assert sim.calls == calls_before  # no pause, no seek: only the rate trim moved
        assert f.slew.seeks == 0 and f.resyncs == 0
        # a refresh for another epoch or group is not the timeline in force
        assert f.refresh(Timeline(at, 0.0, True, group="g", epoch=2))["accepted"] is False
        assert f.refresh(Timeline(at, 0.0, True, group="other", epoch=1))["accepted"] is False
    finally:
        f.close()
