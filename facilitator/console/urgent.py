"""The console's urgent sender: a player's welfare commands leave on the thread that hands them over (the
console's event loop), and a thread of its own waits for the answers.

Thread ownership: one `UrgentSender` per player link, started by ``ClientLink.start`` (thread
``console-urgent-<player>``). :meth:`UrgentSender.submit`, called on the event loop, sends the command's
first try right there when nothing is ahead of it (`PlayerClient.begin`: no thread hop, no executor, no task
in front of the stop) and queues the rest of the work (the answer, retries) for the sender thread; when
something is ahead of it, or the connection is busy, the whole command is queued, so commands leave in the
order they were submitted. Other threads that use the same connection (the group page's STOP ALL) take
turns with it through the client's own lock.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any


class UrgentSender:
    """Sends urgent commands over ``client`` (a `facilitator.client.PlayerClient`) in the order they were
    submitted."""

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._order = threading.Lock()  # submit() against the thread finishing a job
        self._queued = 0  # jobs submitted and not finished
        self._thread = threading.Thread(target=self._run, name=f"console-urgent-{name}", daemon=True)
        self._thread.start()

    def submit(self, cmd: str, args: dict[str, Any]) -> Future:
        """Send ``cmd`` (from any thread; never blocks): the future holds the player's result, or the
        client's error (CommandFailed, RequestTimeout)."""
        fut: Future = Future()
        with self._order:
            begun = self._client.begin(cmd, args) if self._queued == 0 else None  # on its way already
            self._queued += 1
        self._jobs.put((cmd, args, fut, begun))
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
            cmd, args, fut, begun = job
            try:
                if begun is None and not fut.set_running_or_notify_cancel():
                    continue  # cancelled before it was sent
                if begun is not None:  # sent already: always waited for (this frees the connection)
                    result = self._client.finish(begun, cmd)
                else:
                    result = self._client.request(cmd, args)
                if not fut.done():
                    fut.set_result(result)
            except BaseException as exc:  # handed to whoever awaits the future
                if not fut.done():
                    fut.set_exception(exc)
            finally:
                with self._order:
                    self._queued -= 1

    def _fail_waiting(self) -> None:
        """Closed: what was still queued fails (never left waiting)."""
        from facilitator.client import RequestTimeout

        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is None:
                continue
            cmd, _args, fut, begun = job
            if begun is not None:  # sent: its answer is still waited for (the client's lock is released)
                try:
                    fut.set_result(self._client.finish(begun, cmd))
                except BaseException as exc:
                    fut.set_exception(exc)
            elif fut.set_running_or_notify_cancel():
                fut.set_exception(RequestTimeout(f"{cmd}: the console's link was closed"))
