"""One player of a group, on the facilitator's side: its worker thread, clock estimate, health and presence.

The worker owns the member's command path: clock probes (a burst at first and after the player comes back,
then every ``probe_period``), ``group.status`` polls and the group's commands. A member is *present* when
it answered within ``LOST_S`` and has a clock estimate; otherwise it is *absent* with a reason, and group
commands go on without it. When an absent member answers again (switched on late, restarted, back in Wi-Fi
range) its worker catches it up on its own thread, so no other headset waits: the group's film if it has
another (or none), its participant's session if one was assigned and is not running, the welfare stop it
was under, then a rejoin at the group's position (docs/group.md, "A group is whoever is there").
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from facilitator.group.clock import ClockEstimator, probe
from facilitator.group.schedule import GroupTimeline

if TYPE_CHECKING:
    from facilitator.group.controller import GroupController

log = logging.getLogger(__name__)

AUTO_REJOIN_S = 3.0
LOST_S = 10.0  # silent this long: absent, commands skip it (a loaded link or a Wi-Fi burst is not a loss)
CONNECTED_S = 3.0  # heard within this: "live" on the page (silent longer: LOST n s, still sent commands)
PLAYING_STATES = ("playing", "buffering")
NO_HISTORY = 1e12  # group.status "since": later than any player instant, so no samples or frames come back


class GroupError(Exception):
    """A group operation that could not be done (the message says which player and why)."""


class GroupMember:
    """One player in the group: its client, clock estimate, health and sync figures (worker thread)."""

    def __init__(
        self,
        name: str,
        client: Any,
        group: GroupController,
        probe_period: float,
        status_period: float,
        collect_samples: bool,
    ) -> None:
        self.name = name
        self.client = client
        self.group = group
        self.estimator = ClockEstimator()
        self.probe_period = probe_period
        self.status_period = status_period
        self.collect_samples = collect_samples
        self.samples: list[tuple[float, float]] = []  # (player instant, media time) from group.status
        self.presented: list[tuple[float, float, float]] = []  # (shown at, media time, frame pts): frames
        self.sync: dict[str, Any] = {}
        self.probes = 0
        self.probes_lost = 0
        self.last_ok: float | None = None
        self.last_error: str | None = None
        self.last_command: dict[str, Any] | None = None
        self.welfare_hold: str | None = None  # the welfare action this console left it under (stop/soften)
        self.present = False
        self.absent_since: float | None = time.monotonic()
        self.catch_ups = 0
        self._burst = 8
        self._seq = 0
        self._last_auto_rejoin = -1e9
        self._jobs: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"group-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._jobs.put(None)
        self._thread.join(3)

    def submit(self, fn: Callable[[], Any]) -> Future:
        fut: Future = Future()
        self._jobs.put((fn, fut))
        return fut

    # -- worker ------------------------------------------------------------------------------------------

    def _send(self, tl: GroupTimeline, cmd: str | None, args: dict) -> dict[str, Any]:
        return self.group._send(self, tl, cmd, args)

    def _request(self, cmd: str, args: dict, timeout: float) -> dict | None:
        return self.client.try_request(cmd, args, timeout=timeout)

    def probe_once(self) -> bool:
        self._seq += 1
        self.probes += 1
        try:
            sample = probe(self.estimator, self._request, self._seq, time.monotonic, timeout=1.0)
        except Exception as e:  # a refused or broken reply: counted as lost, reported as the last error
            self.last_error = f"group.clock: {e}"
            sample = None
        if sample is None:
            self.probes_lost += 1
            return False
        self.last_ok = time.monotonic()
        return True

    def presence(self, now: float | None = None) -> tuple[bool, str | None]:
        """(present, why not): present means heard within ``LOST_S`` and a clock estimate in hand."""
        now = time.monotonic() if now is None else now
        if self.last_ok is None:
            return False, "has not answered since the console started" + _because(self.last_error)
        silent = now - self.last_ok
        if silent > LOST_S:
            return False, f"lost: silent for {silent:.0f} s" + _because(self.last_error)
        if self.estimator.estimate() is None:
            return False, "answering again: measuring its clock"
        return True, None

    def _check_presence(self) -> None:
        """Note comings and goings; one that comes back has its clock measured afresh (it may have
        restarted, on another clock) and is caught up at its next status poll."""
        now = time.monotonic()
        heard = self.last_ok is not None and now - self.last_ok <= LOST_S
        if self.present and not heard:
            self.present = False
            self.absent_since = now
            _, why = self.presence(now)
            self.group.record("group.member_absent", {"group": self.group.name, "player": self.name,
                                                       "reason": why})  # fmt: skip
        elif not self.present and heard:
            if self.absent_since is not None and self.estimator.samples and self._burst == 0:
                self.estimator = ClockEstimator()  # back after a silence: a restart means another clock
                self._burst = 8
                self.last_ok = now
                return
            if self.estimator.estimate() is None or (self._burst > 0 and len(self.estimator.samples) < 3):
                return
            self.present = True
            self.absent_since = None
            self._last_auto_rejoin = -1e9  # catch up at the next status poll
            self.group.record("group.member_present", {"group": self.group.name, "player": self.name})

    def poll_status(self) -> None:
        # the history since the last answer when collecting it (benches, tests); otherwise none, where
        # "since" 0 would ask, at every poll, for all of it (up to 12,000 tuples: ~0.6 MB a headset a poll)
        since = (self.samples[-1][0] if self.samples else 0.0) if self.collect_samples else NO_HISTORY
        try:
            res = self.client.try_request("group.status", {"since": since}, timeout=1.0)
        except Exception as e:
            self.last_error = f"group.status: {e}"
            return
        if res is None:
            return
        self.last_ok = time.monotonic()
        samples = res.pop("samples", [])
        presented = res.pop("presented", [])
        self.sync = res
        if self.collect_samples:
            self.samples.extend((float(a), float(b)) for a, b in samples)
            last = self.presented[-1][0] if self.presented else -1e18
            self.presented.extend((float(a), float(b), float(c)) for a, b, c in presented if a > last)
        self._rejoin_if_lost()

    def _rejoin_if_lost(self) -> None:
        """A player that does not follow the group's timeline in force (restarted, joined late, lost the
        command) is caught up and brought to where the group is: automatically, at most every
        ``AUTO_REJOIN_S``."""
        g, now = self.group, time.monotonic()
        tl = g.timeline
        if not g.auto_catch_up or not self.present or tl.epoch == 0:
            return  # off, absent, or nothing commanded yet
        if now - self._last_auto_rejoin < AUTO_REJOIN_S:
            return  # a rejoin just sent
        if tl.anchor > now - 1.0:
            return  # a command in flight
        player = self.sync.get("player") or {}
        film, transport = player.get("film"), player.get("state")
        if g.film is not None and film != g.film and transport in PLAYING_STATES:
            return  # playing another film: the facilitator decides (load, then rejoin)
        behind = self.sync.get("group") != g.name or self.sync.get("epoch") != tl.epoch
        film_ok = g.film is None or film == g.film  # None: the group never loaded one (the players' own)
        if not behind and film_ok and not self._session_missing():
            return
        self._last_auto_rejoin = now
        try:
            result = self.catch_up(film)
        except Exception as e:
            self.last_error = f"catch-up: {e}"
            g.record("group.rejoin", {"group": g.name, "player": self.name, "auto": True, "error": str(e)})
            return
        g.record("group.rejoin", {"group": g.name, "player": self.name, "auto": True, "result": result})

    def _session_missing(self) -> bool:
        code = self.group.assigned.get(self.name)
        session = self.sync.get("session") or {}
        if code is None:
            return False
        return session.get("participant") != code or session.get("group") != self.group.name

    def catch_up(self, film: str | None) -> dict[str, Any]:
        """On this member's worker: film, session, welfare hold, then the rejoin (see module doc)."""
        g = self.group
        self.catch_ups += 1
        done: dict[str, Any] = {}
        if g.film is not None and film != g.film:
            self.client.request("load", {"film": g.film}, timeout=15.0, retries=0)
            done["loaded"] = g.film
        if self._session_missing():
            args = {"participant": g.assigned[self.name], "consent": g.consent, "group": g.name}
            if g.facilitator:
                args["facilitator"] = g.facilitator
            self.client.request("session.start", args, timeout=2.0)
            done["session"] = g.assigned[self.name]
        if self.welfare_hold:  # a headset stopped for its viewer stays stopped, restarted or not
            self.client.request("welfare", {"action": self.welfare_hold}, timeout=1.0)
            done["welfare"] = self.welfare_hold
        done["sync"] = self._send(*g.rejoin_timeline(self))
        return done

    def refresh(self) -> None:
        """Re-send the group's timeline in force, re-anchored at a recent instant and expressed with the
        offset there: the player slews onto it. Only while playing, once the command has taken effect.

        Re-anchoring is what absorbs drift: a player runs its timeline at one media second per second of *its*
        clock, so a timeline anchored once runs ``drift`` fast or slow for ever (100 ppm: 6 ms a minute, a
        resync every 8 minutes); anchored half a second ago at each refresh, it is off by at most the drift
        over one refresh period (0.2 ms at 100 ppm and 2 s). Half a second back, so the anchor is never in
        the player's future (the slew holds off before a timeline's instant)."""
        tl = self.group.timeline
        now = time.monotonic()
        if not tl.playing or tl.anchor > now or self.sync.get("epoch") != tl.epoch:
            return
        g = max(tl.anchor, now - 0.5)
        here = GroupTimeline(g, tl.media_at(g), tl.playing, tl.rate, tl.epoch)
        try:
            payload = {"timeline": here.for_player(self.offset(g), self.group.name), "refresh": True}
            self.client.request("group.sync", payload, timeout=2.0, retries=0)
        except Exception as e:
            self.last_error = f"group.sync refresh: {e}"

    def _run(self) -> None:
        # a quick first estimate: a burst of 8 probes 30 ms apart (again after the player comes back)
        next_probe = time.monotonic()
        next_status = time.monotonic() + self.status_period
        next_refresh = time.monotonic() + self.group.refresh_period
        while not self._stop.is_set():
            now = time.monotonic()
            wait = max(0.0, min(next_probe, next_status, next_refresh) - now)
            try:
                job = self._jobs.get(timeout=wait)
            except queue.Empty:
                job = False
            if job is None:
                return
            if job:
                fn, fut = job
                if fut.set_running_or_notify_cancel():
                    try:
                        fut.set_result(fn())
                    except BaseException as e:
                        fut.set_exception(e)
                continue
            now = time.monotonic()
            if now >= next_probe:
                ok = self.probe_once()
                if ok and self._burst > 0:
                    self._burst -= 1
                    next_probe = now + 0.03
                else:
                    next_probe = now + self.probe_period
                self._check_presence()
            if now >= next_status:
                self.poll_status()
                next_status = now + self.status_period
            if now >= next_refresh:
                self.refresh()
                next_refresh = now + self.group.refresh_period

    # -- views -------------------------------------------------------------------------------------------

    def offset(self, at: float) -> float:
        est = self.estimator.estimate(at)
        if est is None:
            raise GroupError(f"{self.name}: no clock estimate yet (no group.clock answer)")
        return est.offset

    def common_samples(self) -> list[tuple[float, float]]:
        """The collected (instant, media time) samples with instants on the facilitator's clock."""
        if not self.samples or self.estimator.estimate() is None:
            return []
        return [(self.estimator.to_facilitator(t), m) for t, m in self.samples]

    def view(self) -> dict[str, Any]:
        est = self.estimator.estimate()
        health = {}
        try:
            health = dict(self.client.health())
        except Exception:
            pass
        state = dict(getattr(self.client, "state", {}) or {})
        polled = self.sync.get("player") or {}
        now = time.monotonic()
        silent = None if self.last_ok is None else round(now - self.last_ok, 3)
        _, absent_reason = self.presence(now)
        return {
            "name": self.name,
            "endpoint": getattr(self.client, "endpoint", None),
            "present": self.present,
            "absent_reason": None if self.present else absent_reason,
            "welfare_hold": self.welfare_hold,
            "connected": silent is not None and silent <= CONNECTED_S,
            "health": {
                "last_heard_s": silent,
                "probes": self.probes,
                "probes_lost": self.probes_lost,
                "loss_pct": round(100.0 * self.probes_lost / self.probes, 2) if self.probes else None,
                "events_gaps": health.get("gaps"),
                "last_error": self.last_error,
            },
            "clock": None
            if est is None
            else {
                "offset_ms": round(est.offset * 1000, 3),
                "uncertainty_ms": round(est.uncertainty * 1000, 3),
                "spread_ms": round(est.spread * 1000, 3),
                "rtt_ms": round(est.rtt * 1000, 3),
                "rtt_min_ms": round(est.rtt_min * 1000, 3),
                "rtt_median_ms": round(est.rtt_median * 1000, 3),
                "drift_ppm": round(est.drift_ppm, 2),
                "samples": est.samples,
            },
            "state": {  # polled from the player every status_period; the event stream fills the rest
                "transport": polled.get("state", state.get("transport")),
                "film": polled.get("film", state.get("film")),
                "media_t": polled.get("media_t", state.get("media_t")),
                "chapter": polled.get("chapter", state.get("chapter")),
                "participant": state.get("participant"),
                "session": state.get("session"),
            },
            "welfare": polled.get("welfare", state.get("welfare", "none")),
            "sync": {
                k: self.sync.get(k)
                for k in (
                    "following",
                    "epoch",
                    "error_ms",
                    "abs_p50_ms",
                    "abs_p99_ms",
                    "trim",
                    "seeks",
                    "resyncs",
                )
            },
            "last_command": self.last_command,
        }


def _because(error: str | None) -> str:
    return f" ({error})" if error else ""
