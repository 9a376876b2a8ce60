"""The group's timeline as one player sees it: where the media should be at any instant of its clock."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Timeline:
    """From player-monotonic instant ``at`` on, the group's media time is ``media_t + (now - at) * rate``
    while
    ``playing``, and ``media_t`` while paused. ``group`` names the group; ``epoch`` orders timelines (a newer
    command's timeline replaces an older one even if messages arrive out of order)."""

    at: float
    media_t: float
    playing: bool
    rate: float = 1.0
    group: str = ""
    epoch: int = 0

    def media_at(self, t: float) -> float:
        if not self.playing or t <= self.at:
            return self.media_t
        return self.media_t + (t - self.at) * self.rate

    def extrapolate(self, t: float) -> float:
        """The timeline's line at ``t``, before ``at`` too (where the group *would* be on this timeline)."""
        return self.media_t + (t - self.at) * self.rate if self.playing else self.media_t

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "media_t": self.media_t,
            "playing": self.playing,
            "rate": self.rate,
            "group": self.group,
            "epoch": self.epoch,
        }

    @classmethod
    def from_args(cls, args: dict[str, Any], where: str = "args") -> Timeline:
        """Validate a ``group.sync`` timeline (ValueError names the bad field); ``media_t`` -1 means "the
        start
        of the chapter named in the command" (resolved by the player)."""

        def num(key: str, lo: float, hi: float, default: float | None = None) -> float:
            v = args.get(key, default)
            if (
                isinstance(v, bool)
                or not isinstance(v, int | float)
                or not math.isfinite(v)
                or not lo <= v <= hi
            ):
                raise ValueError(f"{where}.{key}: expected a number in [{lo}, {hi}], got {v!r}")
            return float(v)

        playing = args.get("playing")
        if not isinstance(playing, bool):
            raise ValueError(f"{where}.playing: expected true or false, got {playing!r}")
        group = args.get("group", "")
        if not isinstance(group, str) or len(group) > 64:
            raise ValueError(f"{where}.group: expected a name of at most 64 characters")
        epoch = args.get("epoch", 0)
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"{where}.epoch: expected a non-negative integer, got {epoch!r}")
        return cls(
            at=num("at", 0.0, 1e12),
            media_t=num("media_t", -1.0, 1e7),
            playing=playing,
            rate=num("rate", 0.5, 2.0, 1.0),
            group=group,
            epoch=epoch,
        )
