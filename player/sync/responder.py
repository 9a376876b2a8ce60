"""The player's side of clock estimation: answer a ``clock.sync`` ping with its receive and send instants.

The facilitator stamps ``t0`` before sending and ``t3`` on receipt; the player stamps ``t1`` as soon as the
request is in hand and ``t2`` as late as possible before the reply leaves. All player stamps are on the player's
monotonic clock (:func:`player.sync.clock.now`), the clock the media engine and scheduled commands use.
"""

from __future__ import annotations

from collections.abc import Callable

from player.sync.clock import now as player_now


class ClockSyncResponder:
    """Builds ``clock.sync`` results; counts requests for diagnostics."""

    def __init__(self, clock: Callable[[], float] = player_now) -> None:
        self.clock = clock
        self.requests = 0

    def received(self) -> float:
        """Stamp t1: call the moment a request has been read off the socket."""
        return self.clock()

    def result(self, args: dict, t1: float) -> dict:
        """The reply's result; t2 is stamped here, so build the reply last, just before sending."""
        self.requests += 1
        seq = args.get("seq") if isinstance(args, dict) else None
        return {"t1": t1, "seq": seq, "t2": self.clock()}
