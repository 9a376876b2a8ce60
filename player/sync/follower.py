"""The player's side of a group: follow the group's timeline, acting at the shared instant on this player's
clock.

The facilitator sends ``group.sync`` (see docs/group.md): a :class:`~player.sync.timeline.Timeline` (from
player instant ``at``: media time ``media_t``, playing or paused, rate) and optionally the command it stands
for
(``play``, ``pause``, ``seek``, ``chapter``), so that the controller logs and announces it as usual. The
follower:

1. *pre-rolls* ``preroll`` seconds before the instant (or at once if the instant is nearer): if the group
will be
   playing from a position this player is not at, it pauses and seeks there now, so that at the instant only
   "play" is left to do (a seek's decoding time then costs nothing in sync);
2. *acts* at the instant (scheduled on :class:`~player.sync.scheduler.Scheduler`): play or pause, and makes
the
   paused position exact; a command that arrived late acts at once and the slew absorbs the lateness;
3. *slews* during playback (:class:`~player.sync.slew.SlewController`), every ``tick`` seconds.

A viewer's own welfare stop is respected: the follower does not start a stopped headset; it keeps the timeline
and, on :meth:`catch_up` (welfare resumed), rejoins the group where the group is by then.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from player.sync.clock import now as player_now
from player.sync.scheduler import Scheduler
from player.sync.slew import SlewConfig, SlewController
from player.sync.timeline import Timeline

log = logging.getLogger(__name__)

GROUP_COMMANDS = ("play", "pause", "seek", "chapter", None)


class PlayerHooks(Protocol):
    """What the follower needs from the player (the controller and its media engine)."""

    def media_at(self, t: float) -> float:
        """Media time at player instant ``t`` (the engine's master clock)."""

    def is_playing(self) -> bool: ...

    def start_pending(self) -> bool:
        """A scheduled start not yet heard (its clock holds where paused until then): the slew waits."""

    def held(self) -> bool:
        """True while this viewer's own welfare stop (or break) holds playback."""

    late_start_max: float
    """How late ``play(at)`` may be called and still land on the clock: the transport starts skipped forward
    by its lateness. A start later than this rejoins the group instead (a fresh instant, a seek)."""

    def play(self, at: float) -> None:
        """Start so that the current position is heard at player instant ``at`` (sample-accurate); called
        up to ``late_start_max`` late, start that much further on, as if on time."""

    def pause(self) -> None: ...

    def seek(self, t: float) -> None: ...

    def set_trim(self, factor: float) -> None:
        """Media-clock rate factor around 1.0 for slewing (no event, no audible step)."""

    def chapter_start(self, args: dict[str, Any]) -> float:
        """Start of the chapter named by ``args`` (``id`` or ``index``); ValueError if none."""


@dataclass
class _Pending:
    timeline: Timeline
    cmd: str | None
    args: dict[str, Any]


class GroupFollower:
    """Follows one group's timeline; thread-safe entry points (called from the session thread)."""

    def __init__(
        self,
        hooks: PlayerHooks,
        clock: Callable[[], float] = player_now,
        preroll: float = 0.25,
        tick: float = 0.05,
        slew: SlewConfig | None = None,
        on_event: Callable[[str, dict], None] | None = None,
        position_tolerance: float = 0.001,
        late_tolerance: float | None = None,
    ) -> None:
        self.hooks = hooks
        self.clock = clock
        self.preroll = preroll
        self.position_tolerance = position_tolerance
        # how late the action may wake and still start on the clock (the hooks' skip forward); later, rejoin
        self.late_tolerance = hooks.late_start_max if late_tolerance is None else late_tolerance
        self.on_event = on_event or (lambda kind, data: None)
        # beyond the slew's reach, resync exactly: hold, seek, and play again at a shared instant
        cfg = slew or SlewConfig(seek_threshold=0.05)
        self.slew = SlewController(hooks.media_at, hooks.set_trim, lambda _target: self._resync(), cfg)
        self.resyncs = 0
        self.scheduler = Scheduler(self._tick, tick, clock)
        self.timeline: Timeline | None = None  # the one in force (its instant has come)
        self.pending: Timeline | None = None  # the newest one received, maybe not yet in force
        self._lock = threading.RLock()
        self._entries: list = []
        self.executions: list[dict[str, Any]] = []  # (bounded) what was done when, for logs and tests
        self._samples: list[tuple[float, float]] = []  # (player instant, media time) while playing, bounded
        # presented frames while playing: (display instant, media time the picture is for, frame pts)
        self._presented: list[tuple[float, float, float]] = []
        self.sample_every = 0.05
        self.status_every = (
            5.0  # a sync.status event (the sync figures, for the log) this often while playing
        )
        self._next_status = 0.0

    def start(self) -> GroupFollower:
        self.scheduler.start()
        return self

    def close(self) -> None:
        self.scheduler.stop()

    # --- entry points
    # -----------------------------------------------------------------------------------------

    def apply(self, timeline: Timeline, cmd: str | None = None, args: dict[str, Any] | None = None) -> dict:
        """Take a ``group.sync``: schedule the pre-roll and the action; returns the reply's result.

        ``cmd`` names what the timeline stands for (for the record); a ``chapter`` timeline may leave its
        ``media_t`` negative: the chapter's start is looked up here (every player has the same manifest).
        """
        if cmd not in GROUP_COMMANDS:
            raise ValueError(f"args.cmd: expected one of play, pause, seek, chapter, got {cmd!r}")
        if cmd == "chapter" and timeline.media_t < 0:
            start = self.hooks.chapter_start(dict(args or {}))
            timeline = Timeline(
                timeline.at, start, timeline.playing, timeline.rate, timeline.group, timeline.epoch
            )
        now = self.clock()
        with self._lock:
            newest = self.pending or self.timeline
            if newest is not None and timeline.group == newest.group and timeline.epoch < newest.epoch:
                return {"accepted": False, "reason": "stale", "epoch": newest.epoch, "now": now}
            self.pending = timeline
            for e in self._entries:
                self.scheduler.cancel(e)
            item = _Pending(timeline, cmd, dict(args or {}))
            # never after the action (a command that arrives late: both at once, the pre-roll first)
            prep_at = min(max(now, timeline.at - self.preroll), timeline.at)
            self._entries = [
                self.scheduler.schedule(prep_at, lambda at, actual: self._preroll(item, actual), "preroll"),
                self.scheduler.schedule(
                    timeline.at, lambda at, actual: self._act(item, at, actual), cmd or "sync"
                ),
            ]
        return {
            "accepted": True,
            "at": timeline.at,
            "now": now,
            "lead": round(timeline.at - now, 6),
            "media_t": timeline.media_t,
        }

    def refresh(self, timeline: Timeline) -> dict:
        """The same group timeline re-expressed with a fresher clock estimate: the slew follows it (no
        pre-roll,
        no seek). Ignored unless it is the group and epoch in force."""
        with self._lock:
            cur = self.timeline
            if (
                self.pending is not None
                or cur is None
                or (cur.group, cur.epoch) != (timeline.group, timeline.epoch)
            ):
                return {"accepted": False, "reason": "not the timeline in force", "now": self.clock()}
            self.timeline = timeline
        return {"accepted": True, "shift_ms": round((timeline.extrapolate(cur.at) - cur.media_t) * 1000, 3)}

    def catch_up(self, delay: float = 0.3) -> None:
        """Rejoin the group after a local hold (welfare resumed, a break ended): where the group will be."""
        with self._lock:
            tl = self.pending or self.timeline
        if tl is None:
            return
        at = self.clock() + delay
        rejoin = Timeline(at, tl.extrapolate(at), tl.playing, tl.rate, tl.group, tl.epoch)
        with self._lock:
            self.pending = None
        self.apply(rejoin, None)

    def leave(self) -> None:
        """Stop following (the group was dissolved or this player removed): no trim, nothing scheduled."""
        with self._lock:
            for e in self._entries:
                self.scheduler.cancel(e)
            self._entries = []
            self.timeline = self.pending = None
        self.slew.reset()

    def status(self) -> dict[str, Any]:
        """Sync figures for heartbeats, the log and the console."""
        tl = self.timeline
        return {
            "group": tl.group if tl else None,
            "epoch": tl.epoch if tl else None,
            "following": tl is not None,
            "resyncs": self.resyncs,
            **self.slew.figures(),
        }

    def presented(self, shown_at: float, media_t: float, pts: float) -> None:
        """A frame the player presented (render thread): shown at ``shown_at`` (group clock), made for media
        time ``media_t``, showing the frame of ``pts``. Kept while following a playing timeline, bounded."""
        tl = self.timeline
        if tl is None or not tl.playing:
            return
        with self._lock:
            self._presented.append((shown_at, media_t, pts))
            if len(self._presented) > 40000:
                del self._presented[:20000]

    def presented_since(self, since: float = 0.0) -> list[tuple[float, float, float]]:
        with self._lock:
            return [s for s in self._presented if s[0] > since]

    def samples(self, since: float = 0.0) -> list[tuple[float, float]]:
        """(player instant, media time) pairs taken while playing, newer than ``since``."""
        with self._lock:
            return [s for s in self._samples if s[0] > since]

    # --- scheduler thread
    # -------------------------------------------------------------------------------------

    def _preroll(self, item: _Pending, actual: float) -> None:
        tl = item.timeline
        if not tl.playing or self.hooks.held():
            return
        if self.hooks.is_playing():
            # already running: if already in step, nothing to prepare; else hold at the target
            if abs(self.hooks.media_at(actual) - tl.media_at(actual)) <= self.position_tolerance:
                return
            self.hooks.pause()
        if abs(self.hooks.media_at(actual) - tl.media_t) > self.position_tolerance:
            self.hooks.seek(tl.media_t)

    def _act(self, item: _Pending, at: float, actual: float) -> None:
        tl = item.timeline
        with self._lock:
            if self.pending is tl:
                self.pending = None
            self.timeline = tl
        held = self.hooks.held()
        late = actual - at
        rejoin = tl.playing and not held and late > self.late_tolerance and not self.hooks.is_playing()
        if rejoin:
            # arrived (or woke) too late to start in step: start a moment later, where the group will be
            self._resync()
        elif tl.playing and not held:
            if not self.hooks.is_playing():
                self.hooks.play(at)  # (woken up to late_start_max late: it starts that much further on)
        else:
            if self.hooks.is_playing():
                self.hooks.pause()
            if not held and abs(self.hooks.media_at(self.clock()) - tl.media_t) > self.position_tolerance:
                self.hooks.seek(tl.media_t)
        self.slew.reset()
        now = self.clock()
        record = {
            "cmd": item.cmd or "sync",
            "at": at,
            "actual": actual,
            "late_ms": round((actual - at) * 1000, 3),
            "media_t": tl.media_t,
            "playing": tl.playing,
            "held": held,
            "rejoin": rejoin,  # too late to start on the clock: a rejoin (cmd "sync") follows
            "media_after": self.hooks.media_at(now),  # where this player is, measured right after acting
            "mono_after": now,
            "epoch": tl.epoch,
            "group": tl.group,
        }
        self.executions.append(record)
        if len(self.executions) > 256:
            del self.executions[:128]
        self.on_event("sync.executed", record)

    def _resync(self) -> None:
        self.resyncs += 1
        last = self.slew.last
        self.on_event("sync.resync", {"error_ms": None if last is None else round(last.error * 1000, 3),
                                      "group": self.timeline.group if self.timeline else None})  # fmt: skip
        self.catch_up(self.preroll)

    def _tick(self, now: float) -> None:
        tl = self.timeline
        # (a start not yet heard reads as behind by its lateness: neither slewed, resynced nor sampled)
        playing = self.hooks.is_playing() and not self.hooks.start_pending()
        if tl is not None:
            self.slew.step(now, tl, playing and not self.hooks.held())
        if tl is not None and playing and now >= self._next_status:
            self._next_status = now + self.status_every
            self.on_event("sync.status", self.status())
        if playing:
            with self._lock:
                if not self._samples or now - self._samples[-1][0] >= self.sample_every - 1e-3:
                    self._samples.append((now, self.hooks.media_at(now)))
                    if len(self._samples) > 20000:
                        del self._samples[:10000]
