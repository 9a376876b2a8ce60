"""The media engine: one film, decoded on its own threads, timed by the audio clock (see docs/transport.md).

Threads: a video decode thread and an audio decode thread (each with its own demuxer), the audio output
(a device callback, or the null output's thread), and a dispatch thread for events. The render thread only
calls :meth:`MediaEngine.frame_for`, which never blocks.

Time mapping: ``frame_for(display_time)`` asks the clock which media time will be heard at ``display_time``
(monotonic seconds). The audio output reports, for every block it renders, when the block's first sample will
be heard (``play_time``, output latency included) and which media time that sample carries; the clock runs at
the playback speed from that anchor. So a picture and the sound of the same media time meet at the viewer.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

from player.media.audio_buffer import AudioBuffer
from player.media.audio_decoder import AudioDecoder
from player.media.audio_output import OUTPUT_RATE, PERIOD, PERIOD_RANGE, DeviceOutput, NullOutput
from player.media.audio_render import EngineAudio
from player.media.clock import MediaClock
from player.media.decoder_hooks import DecoderHooks
from player.media.frame_queue import FrameQueue
from player.media.frames import VideoFrame
from player.media.hwframes import HWDEC_CHOICES
from player.media.mixer import Mixer
from player.media.opening import (
    EngineOpening,
    MediaError,
    MediaInfo,
)
from player.media.stretch import TimeStretch
from player.media.transport import EventHandler, Transport, TransportState
from player.media.video_decoder import VideoDecoder

__all__ = ["MediaEngine", "MediaError", "MediaInfo", "TransportState"]

log = logging.getLogger(__name__)
S = TransportState

AUDIO_CHOICES = ("auto", "null", "none")
LAYOUT_CHOICES = ("stereo", "mono", "ambix-foa")
RATE_RANGE = (0.5, 2.0)
FAST_MAX = 8.0
DECODE_AHEAD_S = 3.0  # the decoder runs at most this far (media seconds) ahead of the picture shown
TRIM_MAX = 0.05  # set_trim: group sync slews within +-5 % (it uses far less: see player/sync/slew.py)


class MediaEngine(EngineOpening, EngineAudio, DecoderHooks):
    """Plays one film: see docs/architecture.md for the API and docs/transport.md for the states."""

    def __init__(
        self,
        path: str | Path,
        hwdec: str = "auto",
        queue_bytes: int = 512 << 20,
        audio: str = "auto",
        audio_layout: str = "stereo",
        on_event: EventHandler | None = None,
        audio_period: float = PERIOD,
    ) -> None:
        if hwdec not in HWDEC_CHOICES:
            raise ValueError(f"hwdec: expected one of {', '.join(HWDEC_CHOICES)}, got {hwdec!r}")
        if audio not in AUDIO_CHOICES:
            raise ValueError(f"audio: expected one of {', '.join(AUDIO_CHOICES)}, got {audio!r}")
        if audio_layout not in LAYOUT_CHOICES:
            raise ValueError(
                f"audio_layout: expected one of {', '.join(LAYOUT_CHOICES)}, got {audio_layout!r}"
            )
        low, high = PERIOD_RANGE
        if not low <= audio_period <= high:
            raise ValueError(f"audio_period: expected {low}..{high} seconds, got {audio_period!r}")
        if int(queue_bytes) <= 0:
            raise ValueError(f"queue_bytes: expected a positive number of bytes, got {queue_bytes!r}")
        self.path = Path(path)
        self.hwdec = hwdec
        self.audio = audio
        self.audio_layout = audio_layout
        self.audio_period = audio_period  # the output's period: how often it asks for a block
        self.info: MediaInfo | None = None
        self.audio_tap: Callable[[float, np.ndarray], None] | None = None  # sees every output block (tests)

        self._clock = MediaClock()
        self._transport = Transport(on_event, self._clock.now)
        self._lock = self._transport.lock
        self._budget = int(queue_bytes)
        self._decoder_reserve = 0
        self._queue = FrameQueue(self._budget, DECODE_AHEAD_S)
        self._video: VideoDecoder | None = None
        self._audio: AudioDecoder | None = None
        self._buffer: AudioBuffer | None = None
        self._mixer = Mixer(OUTPUT_RATE, 0)
        self._output: NullOutput | DeviceOutput | None = None
        self._stretch: TimeStretch | None = None
        self._orientation: tuple[float, float, float, float] | None = None

        # transport variables, guarded by self._lock
        self._generation = 0
        self._pos = 0.0  # media position of the next audio sample to render, in output samples
        self._rate = 1.0
        self._fast = 1.0
        self._trim = 1.0  # group sync's slew factor on top of the rate (player.sync), no events
        self._play_at: float | None = None  # a scheduled start (monotonic seconds), see play(at=...)
        self._resume = False  # where SEEKING goes when done: PLAYING (True) or PAUSED
        self._gate_open = True  # data for the current generation is not ready yet (clock held)
        self._held_since: float | None = None
        self._video_end: tuple[int, float] | None = None  # (generation, end time) once the video stream ended
        self._audio_end: tuple[int, float] | None = None
        self._truncated: str | None = None
        self._end_reason = "end"

        # render-thread state
        self._current: VideoFrame | None = None
        self._current_gen = -1
        self._stats = {
            "decoded": 0,
            "presented": 0,
            "repeated": 0,
            "skipped": 0,
            "decode_errors": 0,
            "audio_underruns": 0,
        }
        self._drift: deque[float] = deque(maxlen=512)
        self._last_error_event = 0.0

    # --- properties -----------------------------------------------------------------------------------

    @property
    def state(self) -> TransportState:
        return self._transport.state

    @property
    def start_pending(self) -> bool:
        """A scheduled start (``play(at=...)``) not yet heard: the clock holds where paused until its first
        block, up to an output latency after the call (or the end of a seek)."""
        return self._play_at is not None

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def fast(self) -> float:
        return self._fast

    @property
    def duration(self) -> float | None:
        return self.info.duration if self.info else None

    # --- open / close ---------------------------------------------------------------------------------

    def open(self) -> MediaInfo:
        """Open the film, start decoding; LOADED at 0 (not running). Raises MediaError with a reason."""
        if self.state != S.IDLE:
            raise MediaError("already_open", f"{self.path.name}: open() was already called")
        try:
            info = self._open()
        except MediaError as exc:
            self._transport.transition(S.ERROR, reason=exc.reason, message=str(exc), fatal=True)
            raise
        self.info = info
        with self._lock:
            self._transport.transition(
                S.LOADED,
                path=str(self.path),
                duration=info.duration,
                width=info.width,
                height=info.height,
                fps=info.fps,
                pix_fmt=info.pix_fmt,
                has_audio=info.has_audio,
                hwdec=info.hwdec,
                audio_output=info.audio_output,
            )
        assert self._output is not None and self._video is not None
        self._video.start()
        if self._audio is not None:
            self._audio.start()
        self._output.start()
        return info

    def _decoder_lateness(self, pts: float) -> float | None:
        """How far the clock has run past the decoder's latest picture (None: no dropping wanted: paused,
        seeking, or fast mode, where QA wants every picture decoded)."""
        if self._fast > 1.0 or not self._clock.running or self.state != S.PLAYING:
            return None
        return self._clock.now() - pts

    def _no_device(self, why: str) -> None:
        self._transport.notify("warning", reason="no_audio_device", message=f"{why}; using the null output")

    def close(self) -> None:
        """Stop everything and release the file. Safe to call twice, and from any state."""
        with self._lock:
            if self.state == S.CLOSED:
                return
            self._transport.transition(S.CLOSED)
        for dec in (self._video, self._audio):
            if dec is not None:
                dec.stop()
        if self._output is not None:
            self._output.close()
        for dec in (self._video, self._audio):
            if dec is not None and dec.is_alive() and threading.current_thread() is not dec:
                dec.join(2.0)
        self._queue.clear()
        self._transport.shutdown()

    def __enter__(self) -> MediaEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- commands -------------------------------------------------------------------------------------

    def play(self, at: float | None = None) -> bool:
        """Start or resume (exactly where paused). From ENDED: from the start. True when it took effect.

        ``at`` (monotonic seconds, group sync): the media time where paused is heard at ``at`` exactly,
        sample-accurately, whatever the output's block grid; the sound is silent until then, and a start
        called late skips forward by the lateness (up to ``START_SKIP_MAX``) so the clock runs as if on time.
        """
        with self._lock:
            st = self.state
            if at is not None and st in (S.LOADED, S.PAUSED, S.SEEKING):
                self._play_at = float(at)
            if st in (S.LOADED, S.PAUSED):
                self._transport.transition(S.PLAYING)
                return True
            if st == S.SEEKING:
                self._resume = True
                return True
            if st == S.ENDED:
                self._seek_locked(0.0, resume=True, cause="restart")
                return True
            return False

    def pause(self) -> bool:
        """Pause: the clock stops now; play() resumes at exactly this media time."""
        with self._lock:
            self._play_at = None
            st = self.state
            if st in (S.PLAYING, S.BUFFERING):
                m = self._clock.now()
                self._clock.hold(m)
                self._pos = m * OUTPUT_RATE
                self._held_since = None
                self._transport.transition(S.PAUSED)
                return True
            if st == S.SEEKING:
                self._resume = False
                return True
            if st == S.LOADED:
                self._transport.transition(S.PAUSED)
                return True
            return False

    def seek(self, t: float, *, cause: str = "seek", **data: object) -> bool:
        """Go to media time ``t`` (seconds, clamped to the film): the frame shown next is the one for ``t``.

        Playing goes on playing after the seek, paused stays paused. ``cause`` and ``data`` (e.g.
        ``cause="chapter", chapter="intro"``) are carried in the ``transport.seeking`` event.
        """
        if not isinstance(t, int | float) or not math.isfinite(t):
            raise ValueError(f"seek: t must be a finite number of seconds, got {t!r}")
        with self._lock:
            st = self.state
            if st in (S.IDLE, S.ERROR, S.CLOSED):
                return False
            resume = st in (S.PLAYING, S.BUFFERING) or (st == S.SEEKING and self._resume)
            self._seek_locked(float(t), resume=resume, cause=cause, **data)
            return True

    def _seek_locked(self, t: float, resume: bool, cause: str, **data: object) -> None:
        info = self.info
        if info is not None and info.duration:
            t = min(t, max(0.0, info.duration - 1.0 / info.fps))
        t = max(0.0, t)
        self._generation += 1
        gen = self._generation
        self._pos = t * OUTPUT_RATE
        self._clock.hold(t)
        self._resume = resume
        self._gate_open = True
        self._held_since = None
        self._video_end = self._audio_end = None
        self._end_reason = "end"
        self._queue.clear()
        if self._buffer is not None:
            self._buffer.reset(gen, self._pos)
        if self._video is not None:
            self._video.request_seek(gen, t)
        if self._audio is not None:
            self._audio.request_seek(gen, t)
        self._transport.transition(S.SEEKING, target=round(t, 6), cause=cause, **data)

    def set_rate(self, rate: float) -> None:
        """Playback rate 0.5..2 with sound, time-stretched (WSOLA): voices keep their pitch."""
        self._set_speed(rate=_factor("rate", rate, *RATE_RANGE))

    def set_trim(self, factor: float) -> None:
        """Group sync's slew: a speed factor within 1 ± ``TRIM_MAX`` on top of the rate, applied from the next
        audio block; no event (player.sync records its own figures). 1.0 turns it off."""
        if not isinstance(factor, int | float) or not abs(factor - 1.0) <= TRIM_MAX:
            raise ValueError(f"trim: expected {1 - TRIM_MAX:g}..{1 + TRIM_MAX:g}, got {factor!r}")
        with self._lock:
            self._trim = float(factor)

    def set_fast(self, factor: float) -> None:
        """Video-only fast mode (QA): 1 (off) .. 8 times; sound is muted while it is on."""
        self._set_speed(fast=_factor("fast", factor, 1.0, FAST_MAX))

    def _set_speed(self, rate: float | None = None, fast: float | None = None) -> None:
        """Change the rate or the fast factor; a change is told as one ``rate`` event with both."""
        with self._lock:
            new_rate = self._rate if rate is None else rate
            new_fast = self._fast if fast is None else fast
            if (new_rate, new_fast) == (self._rate, self._fast):
                return
            self._rate, self._fast = new_rate, new_fast
            self._transport.notify("rate", rate=self._rate, fast=self._fast)

    def set_volume(self, volume: float) -> None:
        """Output volume 0..1, ramped (no clicks)."""
        if not isinstance(volume, int | float) or not 0.0 <= volume <= 1.0:
            raise ValueError(f"volume: expected 0..1, got {volume!r}")
        self._mixer.set_volume(float(volume))
        self._transport.notify("volume", volume=float(volume), muted=self._mixer.muted)

    def set_muted(self, muted: bool) -> None:
        self._mixer.set_muted(bool(muted))
        self._transport.notify("volume", volume=self._mixer.volume, muted=bool(muted))

    def set_listener_orientation(self, orientation: tuple[float, float, float, float]) -> None:
        """Head orientation (x, y, z, w) in the film's frame, for ambisonic sound; call once per frame."""
        self._orientation = orientation
        self._mixer.set_orientation(orientation)

    # --- clock and frames -----------------------------------------------------------------------------

    def media_time(self, at: float | None = None) -> float:
        """The master clock: media seconds heard at monotonic time ``at`` (default: now)."""
        return self._clock.media_at(time.monotonic() if at is None else at)

    def frame_for(self, display_time: float) -> VideoFrame | None:
        """The frame to be on screen at ``display_time`` (monotonic seconds). Never blocks.

        Returns the same object as last time when the picture does not change (the renderer uploads only
        when it does); None before the first picture is decoded.
        """
        m = self._clock.media_at(display_time)
        gen = self._generation
        frame, passed = self._queue.take_due(gen, m, 0.001)
        current = self._current
        if frame is None and (current is None or self._current_gen != gen):
            # nothing due yet for this generation: show the first decoded picture rather than nothing/old
            head = self._queue.peek(gen)
            if head is not None and (current is None or not self._clock.running):
                frame, passed = self._queue.take_due(gen, head.pts, 0.0)
        if frame is not None:
            if (current is not None and frame is not current) or current is None:
                self._stats["presented"] += 1
            self._stats["skipped"] += passed
            self._current, self._current_gen = frame, gen
            if self._clock.running and passed == 0:
                self._drift.append(round((m - frame.pts) * 1000.0, 3))
            return frame
        if (
            current is not None
            and self._clock.running
            and self.info is not None
            and m > current.pts + 2.0 / self.info.fps
            and not (self._video_end is not None and self._video_end[0] == gen)
        ):
            self._stats["repeated"] += 1
        return current

    def next_frame(self, display_time: float) -> VideoFrame | None:
        """The new picture `frame_for(display_time)` will return while the film plays on, without taking it
        (the loop uploads it after submitting the current display frame); None when the picture will not
        change or is not decoded yet. Never blocks and counts nothing."""
        if not self._clock.running or self._current is None:
            return None
        frame = self._queue.peek_due(self._generation, self._clock.media_at(display_time), 0.001)
        return frame if frame is not None and frame is not self._current else None

    def stats(self) -> dict:
        """Counters since open: decoded, presented, repeated, skipped, decode_errors, av_drift_ms, ..."""
        out = dict(self._stats)
        out["decoded"] = self._video.decoded if self._video else 0
        out["late_drop_episodes"] = self._video.drop_episodes if self._video else 0
        out["av_drift_ms"] = list(self._drift)
        out["queue_bytes"] = self._queue.nbytes
        out["queue_peak_bytes"] = self._queue.peak_bytes
        out["queue_frames"] = len(self._queue)
        out["queue_limit_bytes"] = self._queue.max_bytes
        out["queue_ahead_limit_s"] = self._queue.max_ahead
        out["frame_budget_bytes"] = self._budget
        out["decoder_reserve_bytes"] = self._decoder_reserve
        out["state"] = self.state.value
        out["media_t"] = self.media_time()
        if isinstance(self._output, NullOutput):
            out["output_underruns"] = self._output.underruns
        return out


# --- helpers ----------------------------------------------------------------------------------------------


def _factor(name: str, value: object, lo: float, hi: float) -> float:
    """A speed factor from a caller, checked against ``lo..hi``; ValueError names it and the range."""
    if not isinstance(value, int | float) or not lo <= value <= hi:
        raise ValueError(f"{name}: expected {lo:g}..{hi:g}, got {value!r}")
    return float(value)
