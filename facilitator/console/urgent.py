"""The console's urgent sender: a thread of its own that sends a player's welfare commands the moment the
console's event loop hands them over.

Thread ownership: one `UrgentSender` per player link, started by ``ClientLink.start`` (thread
``console-urgent-<player>``). It is the only console thread that sends the *pages'* urgent commands on the
link's urgent connection; the event loop only puts a job on its queue (:meth:`UrgentSender.submit`, no
executor, no task in between) and awaits the returned future. Other threads that use the same connection
(the group page's STOP ALL) take turns with it through the client's own lock.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any


class UrgentSender:
    """Sends urgent commands over ``client`` (a `facilitator.client.PlayerClient`), one at a time, in the
    order they were submitted."""

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"console-urgent-{name}", daemon=True)
        self._thread.start()

    def submit(self, cmd: str, args: dict[str, Any]) -> Future:
        """Queue ``cmd`` (from any thread; returns at once): the future holds the player's result, or the
        client's error (CommandFailed, RequestTimeout)."""
        fut: Future = Future()
        self._jobs.put((cmd, args, fut))
        return fut

    def close(self, timeout: float = 1.0) -> None:
        self._jobs.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                self._fail_waiting()
                return
            cmd, args, fut = job
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(self._client.request(cmd, args))
            except BaseException as exc:  # handed to whoever awaits the future
                fut.set_exception(exc)

    def _fail_waiting(self) -> None:
        """Closed: what was still queued fails (never left waiting)."""
        from facilitator.client import RequestTimeout

        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None and job[2].set_running_or_notify_cancel():
                job[2].set_exception(RequestTimeout(f"{job[0]}: the console's link was closed"))
