"""Scheduling math for group commands: the group timeline on the facilitator's clock, and how far ahead to
act.

A group command takes effect at one shared instant ``G`` on the facilitator's clock, a little in the future,
so
that every player has the command in hand before it. Each player gets ``G`` on its own clock
(``G + offset_i``) and acts then. ``G`` is ``now + lead`` where the lead covers the slowest player's command
path
(a few round trips, the clock uncertainty, and some scheduling slack); a player whose command still arrives
late
(a retransmission) acts at once and starts that much further into the film, so it lands in step anyway.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from facilitator.group.clock import ClockEstimate

LEAD_MIN = 0.15  # seconds: one display frame at 72 Hz is 14 ms; this leaves room for thread wake-ups
LEAD_MAX = 2.0
LEAD_UNKNOWN = 0.5  # a player with no clock estimate yet


@dataclass(frozen=True, slots=True)
class GroupTimeline:
    """The group's media time as a function of the facilitator's clock (see player.sync.timeline.Timeline)."""

    anchor: float  # facilitator instant
    media_t: float
    playing: bool
    rate: float = 1.0
    epoch: int = 0

    def media_at(self, t: float) -> float:
        if not self.playing or t <= self.anchor:
            return self.media_t
        return self.media_t + (t - self.anchor) * self.rate

    def play(self, at: float) -> GroupTimeline:
        return GroupTimeline(at, self.media_at(at), True, self.rate, self.epoch + 1)

    def pause(self, at: float) -> GroupTimeline:
        return GroupTimeline(at, self.media_at(at), False, self.rate, self.epoch + 1)

    def seek(self, at: float, media_t: float) -> GroupTimeline:
        return GroupTimeline(at, media_t, self.playing, self.rate, self.epoch + 1)

    def for_player(self, offset: float, group: str) -> dict:
        """The ``group.sync`` timeline for a player whose clock reads ``offset`` ahead of ours."""
        return {
            "at": self.anchor + offset,
            "media_t": self.media_t,
            "playing": self.playing,
            "rate": self.rate,
            "group": group,
            "epoch": self.epoch,
        }


RTO_MIN = 0.2  # Linux's minimum TCP retransmission timeout: what one lost segment costs at worst
LOSSY_RTT = 0.002  # round trips above this are treated as a link that loses packets (Wi-Fi), not a cable


def lead_time(estimates: Iterable[ClockEstimate | None], margin: float = 0.05) -> float:
    """How far ahead to schedule so that every player holds the command before the instant.

    A clean link (loopback, cable) needs a round trip and scheduling slack: ``LEAD_MIN``. A lossy one (Wi-Fi)
    must also absorb one retransmission: two median round trips of the slowest player, plus ``RTO_MIN``, its
    clock uncertainty and a margin. A command that still arrives late is handled by the player (it rejoins a
    moment later in step), so this is a trade between responsiveness and never needing that.
    """
    need = LEAD_MIN
    for e in estimates:
        if e is None:
            need = max(need, LEAD_UNKNOWN)
        elif e.rtt_median > LOSSY_RTT:
            need = max(need, 2.0 * e.rtt_median + RTO_MIN + e.uncertainty + margin)
        else:
            need = max(need, 2.0 * e.rtt_median + e.uncertainty + margin)
    return min(LEAD_MAX, need)


class AckedWithin:
    """How long the group's last commands took to be in every headset's hands: for each of the last ``keep``
    scheduled commands, the seconds from scheduling it to the slowest headset's acknowledgement.

    Round trips (``lead_time``) do not see what delays a command on its way out or in a headset: the
    facilitator's workers busy with many headsets, a headset short of CPU. Measured on the commands
    themselves, :meth:`lead` is ``factor`` times the slowest recent one plus ``slack``, so a command that
    came late once makes the next ones leave earlier (and a headset rejoining late is not needed)."""

    def __init__(self, keep: int = 8, factor: float = 1.25, slack: float = 0.02) -> None:
        self._recent: deque[float] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self.factor = factor
        self.slack = slack

    def observe(self, seconds: float) -> None:
        """One command: ``seconds`` from scheduling it to the slowest present headset's acknowledgement."""
        with self._lock:
            self._recent.append(max(0.0, float(seconds)))

    def lead(self) -> float:
        """The lead that would have had every recent command in hand in time (0 before any command)."""
        with self._lock:
            slowest = max(self._recent, default=0.0)
        return 0.0 if slowest == 0.0 else min(LEAD_MAX, self.factor * slowest + self.slack)
