"""The log reader: read commands (``snapshot``, ``events``, ``poses``, ``sessions``) answered from the log on
a thread of their own, with their own SQLite connection, so the session thread never touches the disk for
them: a frozen or slow disk (even reading needs SQLite to write its shared-memory index) holds up those
replies, never the reading of the command socket and so never a stop.

The session thread builds each job with what it alone knows (the published ``seq``, the controller's status)
and hands it over; at most `MAX_JOBS` wait (more are answered ``unavailable``); finished replies are sent by
the session thread on its next turn. A command that needs the log before it can act (an annotation's edit
looks up its target, ``session.resume`` the interrupted session) is split the same way: the reader reads,
and the session thread carries the command out with what was read on its next turn (``ReadJob.then``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from player import protocol as P

from .log import LogError, SessionLog

log = logging.getLogger("viewpoint.session")

MAX_JOBS = 256  # read commands waiting for the reader at most (all consoles)
PACE_S = 0.002  # a pause after each reply built (at most a few hundred heavy replies a second)


@dataclass(frozen=True)
class ReadJob:
    """A reply built from the log: ``build(log)`` returns its bytes (on the reader thread). With ``then``,
    ``build`` only reads, and ``then`` is called on the session thread with what it returned (or the
    exception it raised) to carry the command out."""

    request_id: str
    build: Callable[[SessionLog], Any]
    then: Callable[[Any], None] | None = None


class LogReader:
    def __init__(self, path: Path, on_done: Callable[[], None]):
        self._path = path
        self._on_done = on_done
        self._jobs: queue.Queue = queue.Queue(MAX_JOBS)
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="viewpoint-log-reader", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error

    def submit(self, job: ReadJob, sock: Any, ident: bytes) -> bool:
        """Queue ``job`` (its reply goes to ``ident`` on ``sock``); False when `MAX_JOBS` are waiting."""
        try:
            self._jobs.put_nowait((job, sock, ident))
        except queue.Full:
            return False
        return True

    def take_done(self) -> list[tuple[Any, bytes, bytes | Callable[[], None]]]:
        """Finished jobs: (socket, ident, reply bytes), or (None, b"", the rest of a command to run)."""
        out = []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                return out

    def close(self, timeout: float = 2.0) -> None:
        with contextlib.suppress(queue.Full):
            self._jobs.put_nowait(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            db = SessionLog(self._path)
        except (LogError, OSError) as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                item = self._jobs.get()
                if item is None:
                    return
                job, sock, ident = item
                if job.then is not None:
                    try:
                        value = job.build(db)
                    except Exception as exc:  # the command's own error handling reports it
                        value = exc
                    self._done.put((None, b"", functools.partial(job.then, value)))
                else:
                    try:
                        payload = job.build(db)
                    except Exception as exc:
                        log.exception("log reader: building a reply failed")
                        payload = P.encode_error(job.request_id, P.E_INTERNAL, f"{type(exc).__name__}: {exc}")
                    self._done.put((sock, ident, payload))
                self._on_done()
                time.sleep(PACE_S)  # let go of the interpreter: a flood of reads never starves the others
        finally:
            db.close()
