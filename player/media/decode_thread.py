"""The part the video and audio decode threads share: seek requests, stopping, demux/decode error handling and
noticing a film file that vanished. Nothing here waits without a timeout.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import av

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_ERRORS = 64
"""Demux/decode errors in a row after which the rest of the file is taken as unreadable (truncated)."""
FILE_CHECK_SECONDS = 0.5


class DecoderHooks(Protocol):
    """What a decode thread reports to the engine (called on the decode thread)."""

    def decode_error(self, stream: str, message: str) -> None: ...
    def reached_end(self, stream: str, generation: int, end_t: float, truncated: str | None) -> None: ...
    def fatal(self, reason: str, message: str) -> None: ...


@dataclass
class SeekRequest:
    generation: int
    target: float


class DecodeThread(threading.Thread):
    """Demux one stream of its own container and decode it; subclasses deliver the frames."""

    kind = "stream"

    def __init__(
        self,
        path: Path,
        container: av.container.InputContainer,
        stream: av.stream.Stream,
        origin: float,
        hooks: DecoderHooks,
    ) -> None:
        super().__init__(name=f"viewpoint-{self.kind}-decode", daemon=True)
        self.path = path
        self.container = container
        self.stream = stream
        self.origin = origin
        self.hooks = hooks
        self.time_base = float(stream.time_base) if stream.time_base else 0.0
        self._lock = threading.Lock()
        self._pending: SeekRequest | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.generation = 0
        self._file_stat = _stat(path)
        self._next_check = 0.0
        self.errors = 0

    # --- control (any thread) -------------------------------------------------------------------------

    def request_seek(self, generation: int, target: float) -> None:
        with self._lock:
            self._pending = SeekRequest(generation, target)
        self._wake.set()
        self.wake_producer()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self.wake_producer()

    def wake_producer(self) -> None:
        """Wake this thread if it is waiting for room downstream (overridden)."""

    @property
    def interrupted(self) -> bool:
        """A seek or a stop is waiting: abandon the frame in hand."""
        return self._stopping.is_set() or self._pending is not None

    # --- thread ---------------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._loop()
        except _Vanished as exc:
            self.hooks.fatal(exc.reason, str(exc))
        except Exception as exc:  # never a traceback on the console: a fatal transport error instead
            log.exception("%s decode thread failed", self.kind)
            self.hooks.fatal("decode_failed", f"{self.kind} decoding failed: {exc}")
        finally:
            try:
                self.container.close()
            except Exception:
                pass

    def _loop(self) -> None:
        packets: Iterator[av.Packet] | None = None
        at_end = False
        consecutive = 0
        while not self._stopping.is_set():
            with self._lock:
                request, self._pending = self._pending, None
            if request is not None:
                self.generation = request.generation
                self._seek(request.target)
                packets, at_end, consecutive = None, False, 0
            if at_end:
                self._wake.wait(0.1)
                self._wake.clear()
                self._check_file(force=False)
                continue
            self._check_file(force=False)
            if packets is None:
                packets = self.container.demux(self.stream)
            try:
                packet = next(packets)
            except (StopIteration, av.error.EOFError):
                self._finish(truncated=None)
                at_end = True
                continue
            except av.error.FFmpegError as exc:
                self._check_file(force=True)
                consecutive += 1
                message = f"unreadable data in {self.path.name}: {exc}"
                at_end = self._failed(consecutive, "reading", message, exc)
                continue
            if packet.size == 0 and packet.dts is None:
                self._drain(None)
                continue
            self._before_decode()
            try:
                frames = self.stream.codec_context.decode(packet)
                consecutive = 0
            except av.error.FFmpegError as exc:
                consecutive += 1
                message = f"corrupt {self.kind} packet at {self._packet_time(packet):.3f} s: {exc}"
                at_end = self._failed(consecutive, "decoding", message, exc)
                continue
            for frame in frames:
                if not self._deliver(frame):
                    break

    def _failed(self, consecutive: int, doing: str, message: str, exc: Exception) -> bool:
        """Report an error; after MAX_CONSECUTIVE_ERRORS in a row, end the stream as truncated (True)."""
        self._error(message)
        if consecutive < MAX_CONSECUTIVE_ERRORS:
            return False
        self._finish(truncated=f"stopped {doing} after {consecutive} errors: {exc}")
        return True

    def _drain(self, _packet: object) -> None:
        """Flush the decoder at the end of the stream and deliver what it still held."""
        try:
            frames = self.stream.codec_context.decode(None)
        except av.error.FFmpegError:
            frames = []
        for frame in frames:
            if not self._deliver(frame):
                break

    def _finish(self, truncated: str | None) -> None:
        self._drain(None)
        self._finish_stream(truncated)

    def _seek(self, target: float) -> None:
        ts = math.floor((max(target, 0.0) + self.origin) / self.time_base) if self.time_base else 0
        try:
            self.container.seek(ts, stream=self.stream, backward=True, any_frame=False)
        except av.error.FFmpegError:
            # past the end or an index problem: restart from the beginning and decode forward
            self.container.seek(0, backward=True, any_frame=False)
        self.stream.codec_context.flush_buffers()
        self._on_seek(target)

    def _packet_time(self, packet: av.Packet) -> float:
        ts = packet.pts if packet.pts is not None else packet.dts
        return (ts or 0) * self.time_base - self.origin

    def _error(self, message: str) -> None:
        self.errors += 1
        self.hooks.decode_error(self.kind, message)

    def _check_file(self, force: bool) -> None:
        now = time.monotonic()
        if not force and now < self._next_check:
            return
        self._next_check = now + FILE_CHECK_SECONDS
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise _Vanished("file_vanished", f"the film file {self.path} is gone") from None
        except OSError as exc:
            raise _Vanished("file_unreadable", f"the film file {self.path} cannot be read: {exc}") from None
        if self._file_stat is not None and st.st_size < self._file_stat[0]:
            raise _Vanished("file_changed", f"the film file {self.path} shrank while playing")

    # --- subclass hooks -------------------------------------------------------------------------------

    def _before_decode(self) -> None:
        """Called before each packet is decoded (the video decoder's late-frame dropping)."""

    def _on_seek(self, target: float) -> None:
        raise NotImplementedError

    def _deliver(self, frame: av.frame.Frame) -> bool:
        """Hand a decoded frame on; False when interrupted (a seek or stop is waiting)."""
        raise NotImplementedError

    def _finish_stream(self, truncated: str | None) -> None:
        raise NotImplementedError


class _Vanished(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _stat(path: Path) -> tuple[int, float] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime
