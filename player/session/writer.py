"""The log writer: the session log's commits on a thread of their own, and the log's health.

The session thread never waits on the disk: it hands each batch (events, pose batches, request replies) to
this thread and goes back to its sockets. A batch that cannot be written (disk full, read-only, I/O error)
is kept and written again every ``RETRY_S`` until it goes in, so nothing recorded is lost and recording
resumes by itself when the disk comes back. A commit that takes longer than ``STALL_S`` makes the log
``stalled``. The health states are those of ``docs/protocol.md`` ("Log health"): ``ok``, ``stalled``,
``full``, ``read_only``, ``failed``; the session thread reports each change once, with its real cause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .log import EventRow, LogError, PoseBatch, SessionLog

STALL_S = 1.5  # a commit running longer than this: the log is "stalled" (a busy disk may take 0.5 s)
RETRY_S = 1.0  # a failed batch is written again this often

STATE_CAUSES = {
    "ok": "recording",
    "stalled": "the log disk is not completing writes (I/O stall)",
    "full": "the log disk is full",
    "read_only": "the log disk or file is read-only",
    "failed": "the log file cannot be written (I/O error)",
}


@dataclass
class Batch:
    """One group commit and what waits for it (the replies go out once it is published)."""

    events: list[EventRow] = field(default_factory=list)
    poses: list[PoseBatch] = field(default_factory=list)
    requests: list[tuple[Any, ...]] = field(default_factory=list)
    replies: list[tuple[Any, bytes, Any]] = field(default_factory=list)

    @property
    def rows(self) -> bool:
        return bool(self.events or self.poses or self.requests)

    def extend(self, other: Batch) -> None:
        self.events += other.events
        self.poses += other.poses
        self.requests += other.requests
        self.replies += other.replies


class LogWriter:
    """Writes one batch at a time on its own thread with its own connection; ``on_change`` (any thread)
    is called when a batch is done or the health changes, to wake the session thread."""

    def __init__(self, path: Path, synchronous: str, on_change: Callable[[], None]):
        self.log = SessionLog(path, synchronous, busy_timeout=60.0)  # only this thread writes
        self._on_change = on_change
        self._cond = threading.Condition()
        self._todo: Batch | None = None
        self._done: Batch | None = None
        self._since: float | None = None  # when the current write began
        self._failure: tuple[str, str] | None = None  # (state, message) of the last failed write
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="viewpoint-log-writer", daemon=True)
        self._thread.start()

    # -- session thread

    @property
    def busy(self) -> bool:
        return self._todo is not None or self._done is not None

    def submit(self, batch: Batch) -> None:
        """Write ``batch`` (only when not :attr:`busy`)."""
        with self._cond:
            assert self._todo is None and self._done is None
            self._todo = batch
            self._since = time.monotonic()
            self._cond.notify()

    def take_done(self) -> Batch | None:
        """The batch now durable, if any (then the writer is free again)."""
        with self._cond:
            done, self._done = self._done, None
            return done

    def health(self, now: float | None = None) -> tuple[str, str]:
        """(state, cause): ``ok``, or why nothing can be recorded now."""
        with self._cond:
            failure, since = self._failure, self._since
        if failure is not None:
            return failure
        now = time.monotonic() if now is None else now
        if since is not None and now - since > STALL_S:
            return "stalled", f"{STATE_CAUSES['stalled']}: one commit has waited {now - since:.1f} s"
        return "ok", STATE_CAUSES["ok"]

    def stall_at(self) -> float | None:
        """When the write under way becomes a stall (for the session loop's timeout)."""
        since = self._since
        return None if since is None or self._failure is not None else since + STALL_S

    def wait(self, timeout: float) -> bool:
        """Wait until the current batch is done (True) or ``timeout`` passed (False)."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._todo is not None:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.log.close()

    # -- writer thread

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._todo is None and not self._closing:
                    self._cond.wait()
                if self._todo is None:
                    return
                batch = self._todo
            while True:
                try:
                    self.log.append(batch.events, batch.poses, batch.requests)
                except Exception as exc:  # a LogError (the disk), or a bug: never a dead writer thread
                    if not isinstance(exc, LogError):
                        exc = LogError(f"{type(exc).__name__}: {exc}")
                    self._failed(exc)
                    with self._cond:
                        if self._closing:
                            return
                        self._cond.wait(RETRY_S)
                        if self._closing:
                            return
                    continue
                break
            with self._cond:
                self._todo, self._done, self._since, self._failure = None, batch, None, None
                self._cond.notify_all()
            self._on_change()

    def _failed(self, exc: LogError) -> None:
        state = getattr(exc, "state", "failed")
        message = f"{STATE_CAUSES.get(state, state)} ({exc})"
        with self._cond:
            first = self._failure is None or self._failure[0] != state
            self._failure = (state, message)
        if first:
            self._on_change()
