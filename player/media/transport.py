"""The transport state machine: the one place where playback state changes and events are emitted.

States and transitions are written down in docs/transport.md. Every state change and every notice (rate,
volume, warnings, non-fatal errors) goes through :meth:`Transport.transition` or :meth:`Transport.notify`,
which queue the event under the state lock (so events keep the order of the changes) and hand it to
``on_event(kind, data)`` on a dedicated dispatch thread (so a handler may call back into the engine).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from enum import StrEnum

log = logging.getLogger(__name__)

EventHandler = Callable[[str, dict], None]


class TransportState(StrEnum):
    """Where playback is (see docs/transport.md)."""

    IDLE = "idle"  # constructed, not opened
    LOADED = "loaded"  # opened, at the start, not running
    PLAYING = "playing"
    PAUSED = "paused"
    SEEKING = "seeking"  # waiting for the target frame (and audio) after a seek
    BUFFERING = "buffering"  # playing, but the clock is held because data is late
    ENDED = "ended"
    ERROR = "error"  # a fatal error (data has the reason); only close() leaves it
    CLOSED = "closed"


S = TransportState

# Allowed transitions: from -> set of to. ERROR and CLOSED are reachable from every state but CLOSED.
_ALLOWED: dict[TransportState, set[TransportState]] = {
    S.IDLE: {S.LOADED},
    S.LOADED: {S.PLAYING, S.PAUSED, S.SEEKING},
    S.PLAYING: {S.PAUSED, S.SEEKING, S.BUFFERING, S.ENDED},
    S.PAUSED: {S.PLAYING, S.SEEKING, S.ENDED},
    S.SEEKING: {S.PLAYING, S.PAUSED, S.ENDED, S.SEEKING},
    S.BUFFERING: {S.PLAYING, S.PAUSED, S.SEEKING, S.ENDED},
    S.ENDED: {S.PLAYING, S.PAUSED, S.SEEKING},
    S.ERROR: set(),
    S.CLOSED: set(),
}

_STOP = object()


class TransitionError(RuntimeError):
    """A transport change that the state machine does not allow (a programming error)."""


class Transport:
    """Holds the state, checks each change against the table and emits the matching event."""

    def __init__(self, on_event: EventHandler | None, clock: Callable[[], float]) -> None:
        self._on_event = on_event
        self._media_time = clock
        self.lock = threading.RLock()
        self._state = S.IDLE
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._stopped = False
        self._thread = threading.Thread(target=self._dispatch, name="viewpoint-media-events", daemon=True)
        self._thread.start()
        self.history: list[tuple[str, dict]] = []  # last events, for diagnostics (bounded)

    @property
    def state(self) -> TransportState:
        return self._state

    def transition(self, new: TransportState, **data: object) -> bool:
        """Move to ``new`` and emit ``transport.<new>``; False (and nothing emitted) if already there.

        SEEKING -> SEEKING is allowed (a new seek while seeking) and emitted again.
        """
        with self.lock:
            old = self._state
            if old == new and new != S.SEEKING:
                return False
            if old == S.CLOSED or (old == S.ERROR and new != S.CLOSED):
                return False  # terminal: later changes (a race with a failing thread) are ignored
            if new not in (S.ERROR, S.CLOSED) and new not in _ALLOWED[old]:
                raise TransitionError(f"transport: {old.value} -> {new.value} is not allowed")
            self._state = new
            data.setdefault("from", old.value)
            self._emit(f"transport.{new.value}", data)
            return True

    def notify(self, kind: str, **data: object) -> None:
        """Emit a notice that is not a state change (``transport.rate``, ``transport.warning``, ...)."""
        with self.lock:
            if self._state == S.CLOSED:
                return
            self._emit(f"transport.{kind}", data)

    def _emit(self, kind: str, data: dict) -> None:
        data.setdefault("media_t", round(self._media_time(), 4))
        data.setdefault("mono", time.monotonic())
        self.history.append((kind, data))
        if len(self.history) > 256:
            del self.history[:128]
        log.debug("%s %s", kind, data)
        self._queue.put((kind, data))

    def _dispatch(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=0.5)  # no wait without a timeout, even here
            except queue.Empty:
                if self._state == S.CLOSED and self._stopped:
                    return
                continue
            if item is _STOP:
                return
            kind, data = item
            if self._on_event is None:
                continue
            try:
                self._on_event(kind, data)
            except Exception:  # a faulty handler must not stop playback
                log.exception("on_event handler failed for %s", kind)

    def shutdown(self, timeout: float = 2.0) -> None:
        """Deliver what is queued, then stop the dispatch thread."""
        self._stopped = True
        self._queue.put(_STOP)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
