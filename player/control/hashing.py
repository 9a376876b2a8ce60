"""Film files hashed off the render and session threads."""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from content_manifest.safefile import sha256_regular

log = logging.getLogger("player.control")


class FilmHasher:
    """sha256 of film files on a worker thread, always of their content: a film changed in place with the same
    size and modification time is caught. Only a hash still running for the same file is shared."""

    CHUNK = 1 << 20

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="viewpoint-film-hash")
        self._lock = threading.RLock()  # a hash done already calls _forget at once, in submit
        self._running: dict[str, Future] = {}
        self._closed = threading.Event()

    def submit(self, path: Path) -> Future:
        """A future for the file's sha256 (hex), read afresh unless a hash of the same file is under way."""
        os.stat(path)  # a missing file raises here, at once
        key = str(Path(path).resolve())
        with self._lock:
            fut = self._running.get(key)
            fresh = fut is None or fut.done()
            if fresh:
                fut = self._running[key] = self._pool.submit(self._hash, Path(path))
        if fresh:  # outside the lock: a hash already done runs the callback here, and it takes the lock
            fut.add_done_callback(lambda f, k=key: self._forget(k, f))
        return fut

    def _forget(self, key: str, fut: Future) -> None:
        with self._lock:
            if self._running.get(key) is fut:
                del self._running[key]

    def _hash(self, path: Path) -> str:
        # the one sha256 helper: regular files only; stops between blocks when the player is closing
        return sha256_regular(path, block=self.CHUNK, stop=self._closed.is_set)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
