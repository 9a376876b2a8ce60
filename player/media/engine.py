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
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from player.media.audio_buffer import AudioBuffer
from player.media.audio_decoder import AudioDecoder, output_layout
from player.media.audio_output import OUTPUT_RATE, DeviceOutput, NullOutput, open_output
from player.media.clock import MediaClock
from player.media.frame_queue import FrameQueue
from player.media.frames import PLANE_LAYOUTS, VideoFrame
from player.media.mixer import Mixer
from player.media.stretch import TimeStretch
from player.media.transport import EventHandler, Transport, TransportState
from player.media.video_decoder import VideoDecoder

__all__ = ["MediaEngine", "MediaError", "MediaInfo", "TransportState"]

log = logging.getLogger(__name__)
S = TransportState

HWDEC_CHOICES = ("auto", "cuda", "none")
AUDIO_CHOICES = ("auto", "null", "none")
LAYOUT_CHOICES = ("stereo", "mono", "ambix-foa")
RATE_RANGE = (0.5, 2.0)
RATE_MODE = "stretch"  # rates other than 1: "stretch" (WSOLA, pitch kept) or "resample" (pitch follows)
FAST_MAX = 8.0
TRIM_MAX = 0.05  # set_trim: group sync slews within +-5 % (it uses far less: see player/sync/slew.py)
START_SKIP_MAX = 0.25  # play(at=...): a start this late still lands on the clock by skipping forward
BUFFERING_AFTER = 0.25  # seconds the clock must be held by missing data before the state says BUFFERING
PROBE_PACKETS = 600
ERROR_EVENTS_IN_FULL = 10  # decode errors emitted one by one; after that at most one event per second
DECODER_HELD_FRAMES = 10  # pictures a decoder keeps besides one per thread (8K HEVC measured: ~10)
DECODER_MEMORY_SHARE = 0.4  # at most this share of queue_bytes goes to frame threads' pictures


_cuda_unavailable: str | None = None
"""Why the cuda device could not be created, once it failed in this process (then it is not tried again)."""


class MediaError(Exception):
    """A film that cannot be played (or a bad request), with a machine-readable ``reason``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class MediaInfo:
    """What open() found out about the film."""

    path: Path
    width: int
    height: int
    fps: float
    duration: float | None
    pix_fmt: str
    has_audio: bool
    video_codec: str = ""
    bit_depth: int = 8
    colorspace: str = "bt709"
    color_range: str = "limited"
    hwdec: str = "none"  # the decoder actually in use: "cuda" or "none"
    audio_codec: str | None = None
    audio_channels: int = 0
    audio_rate: int = 0
    audio_output: str = "null"  # "miniaudio:<backend>" or "null"
    frame_count: int | None = None
    extra: dict = field(default_factory=dict)


class MediaEngine:
    """Plays one film: see docs/architecture.md for the API and docs/transport.md for the states."""

    def __init__(
        self,
        path: str | Path,
        hwdec: str = "auto",
        queue_bytes: int = 512 << 20,
        audio: str = "auto",
        audio_layout: str = "stereo",
        on_event: EventHandler | None = None,
    ) -> None:
        if hwdec not in HWDEC_CHOICES:
            raise ValueError(f"hwdec: expected one of {', '.join(HWDEC_CHOICES)}, got {hwdec!r}")
        if audio not in AUDIO_CHOICES:
            raise ValueError(f"audio: expected one of {', '.join(AUDIO_CHOICES)}, got {audio!r}")
        if audio_layout not in LAYOUT_CHOICES:
            raise ValueError(
                f"audio_layout: expected one of {', '.join(LAYOUT_CHOICES)}, got {audio_layout!r}"
            )
        if int(queue_bytes) <= 0:
            raise ValueError(f"queue_bytes: expected a positive number of bytes, got {queue_bytes!r}")
        self.path = Path(path)
        self.hwdec = hwdec
        self.audio = audio
        self.audio_layout = audio_layout
        self.info: MediaInfo | None = None
        self.audio_tap: Callable[[float, np.ndarray], None] | None = None  # sees every output block (tests)

        self._clock = MediaClock()
        self._transport = Transport(on_event, self._clock.now)
        self._lock = self._transport.lock
        self._budget = int(queue_bytes)
        self._decoder_reserve = 0
        self._queue = FrameQueue(self._budget)
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

    def _open(self) -> MediaInfo:
        path = self.path
        if not path.is_file():
            raise MediaError("not_found", f"film file not found: {path}")
        container, hw_active, primed = self._open_video(path)
        stream = container.streams.video[0]
        first = primed[0]
        fmt = first.format.name
        fps = _stream_fps(stream)
        duration = _duration(container, stream)
        origin = (container.start_time or 0) / av.time_base if container.start_time is not None else 0.0
        probe = VideoFrame.from_av(first, pts=0.0, index=0)

        self._video = VideoDecoder(
            path,
            container,
            stream,
            origin,
            self,
            queue=self._queue,
            fps=fps,
            duration=duration,
            lateness=self._decoder_lateness,
        )
        self._video.primed = primed
        self._budget_frames(probe.nbytes, stream.codec_context.thread_count)

        audio_codec, channels, audio_rate = None, 0, 0
        if self.audio != "none":
            opened = self._open_audio(path, origin)
            if opened is not None:
                audio_codec, channels, audio_rate = opened
        self._output = open_output(self.audio, self._render_audio, self._no_device)
        self._output.tap = self._tap
        return MediaInfo(
            path=path,
            width=first.width,
            height=first.height,
            fps=fps,
            duration=duration,
            pix_fmt=fmt,
            has_audio=self._audio is not None,
            video_codec=stream.codec_context.name,
            bit_depth=probe.bit_depth,
            colorspace=probe.colorspace,
            color_range=probe.color_range,
            hwdec=hw_active,
            audio_codec=audio_codec,
            audio_channels=channels,
            audio_rate=audio_rate,
            audio_output=self._output.name,
            frame_count=round(duration * fps) if duration else None,
        )

    def _software_instead(self, why: str) -> None:
        """Tell listeners that cuda decoding was asked for and software decodes instead."""
        self._transport.notify(
            "warning",
            reason="hwdec_unavailable",
            requested=self.hwdec,
            active="none",
            message=f"cuda decoding unavailable ({why}); using software",
        )

    def _open_video(self, path: Path) -> tuple[av.container.InputContainer, str, list[av.VideoFrame]]:
        """Open the container and decode the first picture (hardware first when asked; software fallback)."""
        global _cuda_unavailable
        if self.hwdec in ("auto", "cuda") and _cuda_unavailable is None:
            try:
                from av.codec.hwaccel import HWAccel

                accel = HWAccel(device_type="cuda", allow_software_fallback=True)
                container = _av_open(path, hwaccel=accel)
                try:
                    primed = _probe_video(path, container, self._budget)
                except MediaError:
                    container.close()
                    raise
                # PyAV falls back to software silently where NVDEC lacks the codec or profile; frames copied
                # back from the GPU come as NV12/P010, software ones as planar YUV
                hw_frames = primed[0].format.name in ("nv12", "p010le")
                ctx = container.streams.video[0].codec_context
                active = "cuda" if ctx.is_hwaccel and hw_frames else "none"
                if active == "none":
                    self._software_instead("the cuda decoder did not take this stream")
                return container, active, primed
            except MediaError as exc:
                if exc.reason in ("not_found", "no_video", "unreadable", "unsupported_codec"):
                    raise  # not a hardware matter: software would fail the same way
                why = str(exc)
            except Exception as exc:  # PyAV raises PermissionError/ValueError/... where there is no device
                why = f"{type(exc).__name__}: {exc}"
                _cuda_unavailable = why  # no device: later films go straight to software, without a word
            level = logging.WARNING if self.hwdec == "cuda" else logging.INFO
            log.log(level, "hardware decoding (cuda) unavailable, decoding in software: %s", why)
            self._software_instead(why)
        container = _av_open(path)
        try:
            return container, "none", _probe_video(path, container, self._budget)
        except MediaError:
            container.close()
            raise

    def _budget_frames(self, frame_bytes: int, threads: int) -> None:
        """Keep the decoder's own pictures (threads in flight, reference frames) inside ``queue_bytes``:
        the queue gets what is left, but never less than two frames."""
        reserve = frame_bytes * (max(1, threads) + DECODER_HELD_FRAMES)
        self._decoder_reserve = reserve
        self._queue.max_bytes = max(self._budget - reserve, 2 * frame_bytes)

    def _open_audio(self, path: Path, origin: float) -> tuple[str, int, int] | None:
        try:
            container = _av_open(path)
        except MediaError:
            return None
        if not container.streams.audio:
            container.close()
            return None
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        if ctx is None or ctx.codec is None:
            container.close()
            self._transport.notify(
                "warning",
                reason="audio_unsupported",
                message=f"{path.name}: its audio cannot be decoded; playing without sound",
            )
            return None
        channels = ctx.layout.nb_channels if ctx.layout else ctx.channels
        if self.audio_layout == "ambix-foa" and channels != 4:
            self._transport.notify(
                "warning",
                reason="audio_layout_mismatch",
                message=f"{path.name}: ambix-foa expected 4 channels, found {channels}",
            )
        layout_name, out_channels = output_layout(channels, self.audio_layout)
        self._buffer = AudioBuffer(OUTPUT_RATE, out_channels)
        mixer = Mixer(OUTPUT_RATE, out_channels)
        mixer.set_volume(self._mixer.volume)  # settings made before open() carry over
        mixer.set_muted(self._mixer.muted)
        if self._orientation is not None:
            mixer.set_orientation(self._orientation)
        self._mixer = mixer
        self._audio = AudioDecoder(
            path, container, stream, origin, self, buffer=self._buffer, layout_name=layout_name
        )
        return ctx.name, channels, ctx.sample_rate or 0

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
        out["frame_budget_bytes"] = self._budget
        out["decoder_reserve_bytes"] = self._decoder_reserve
        out["state"] = self.state.value
        out["media_t"] = self.media_time()
        if isinstance(self._output, NullOutput):
            out["output_underruns"] = self._output.underruns
        return out

    # --- the audio output callback: the clock's heartbeat ---------------------------------------------

    def _tap(self, play_time: float, block: np.ndarray) -> None:
        tap = self.audio_tap
        if tap is not None:
            tap(play_time, block)

    def _render_audio(self, n: int, play_time: float) -> np.ndarray:
        """Called by the output for every block: advance the transport, anchor the clock, return sound."""
        with self._lock:
            try:
                return self._render_locked(n, play_time)
            except Exception as exc:  # never let the audio thread die with a traceback
                log.exception("audio render failed")
                self._fatal_locked("audio_failed", f"audio rendering failed: {exc}")
                return np.zeros((n, 2), dtype=np.float32)

    def _render_locked(self, n: int, play_time: float) -> np.ndarray:
        st = self.state
        gen = self._generation
        if (
            self._gate_open
            and st in (S.LOADED, S.PLAYING, S.PAUSED, S.SEEKING, S.BUFFERING)
            and self._ready(gen)
        ):
            self._gate_open = False
            if st == S.SEEKING:
                self._transport.transition(
                    S.PLAYING if self._resume else S.PAUSED, seeked_to=round(self._pos / OUTPUT_RATE, 6)
                )
                st = self.state
        running = st in (S.PLAYING, S.BUFFERING) and not self._gate_open
        if not running:
            return self._silence(n, gen)

        speed = self._fast if self._fast > 1.0 else self._rate * self._trim
        if self._play_at is not None:  # a scheduled start: silent (clock held) until the block at the instant
            if play_time < self._play_at:
                return self._silence(n, gen)
            late = play_time - self._play_at
            self._play_at = None
            if late <= START_SKIP_MAX:
                self._pos += late * speed * OUTPUT_RATE
        end = self._end_time(gen)
        pos_t = self._pos / OUTPUT_RATE
        if end is not None and pos_t >= end - 1e-6:
            self._clock.hold(end)
            self._pos = end * OUTPUT_RATE
            self._transport.transition(
                S.ENDED, reason=self._end_reason, **({"message": self._truncated} if self._truncated else {})
            )
            return self._silence(n, gen)

        block: np.ndarray | None = None
        stretched = False
        if self._buffer is not None:
            if self._fast > 1.0:
                block = None  # fast mode is silent and does not wait for sound
            elif self._rate == 1.0 or RATE_MODE == "resample":
                # (group sync's trim of a few per mille is resampled: inaudible, and sample-exact)
                block = self._buffer.read(self._pos, n, speed)
                if block is None:
                    return self._underrun(n, play_time)
            else:
                stretch = self._stretch
                if stretch is None or stretch.out_pos != self._pos:
                    stretch = self._stretch = TimeStretch(self._buffer.channels)
                    stretch.reset(self._pos, speed)
                stretch.rate = speed  # a new rate or trim goes on from here, without a break
                rendered = stretch.render(self._buffer, n)
                if rendered is None:
                    return self._underrun(n, play_time)
                block, heard = rendered
                pos_t = heard / OUTPUT_RATE
                stretched = True
        if self._held_since is not None:
            self._held_since = None
            if st == S.BUFFERING:
                self._transport.transition(S.PLAYING)
        ceiling = end if end is not None else float("inf")
        self._clock.anchor(play_time, pos_t, speed, ceiling)
        out = self._mixer.render(block, n, audible=self._fast <= 1.0)
        if stretched:
            self._pos = self._stretch.out_pos
        else:
            self._pos += n * speed
        if self._buffer is not None:
            self._buffer.consumed(self._pos)
        return out

    def _silence(self, n: int, gen: int) -> np.ndarray:
        # fade out from where the sound was (without moving the position), then silence
        block = None
        if self._buffer is not None and not self._mixer.silent:
            block = self._buffer.read(self._pos, n, 1.0)
        return self._mixer.render(block, n, audible=False)

    def _underrun(self, n: int, play_time: float) -> np.ndarray:
        self._stats["audio_underruns"] += 1
        self._clock.hold(self._pos / OUTPUT_RATE)
        now = time.monotonic()
        if self._held_since is None:
            self._held_since = now
        elif now - self._held_since > BUFFERING_AFTER and self.state == S.PLAYING:
            self._transport.transition(S.BUFFERING, reason="audio_late")
        return self._mixer.render(None, n, audible=False)

    def _ready(self, gen: int) -> bool:
        """Whether the current generation's first picture and sound are decoded (or their streams ended)."""
        video_ok = self._queue.peek(gen) is not None or (
            self._video_end is not None and self._video_end[0] == gen
        )
        if not video_ok:
            return False
        if self._buffer is None:
            return True
        return self._buffer.covers(self._pos, 2048) or (
            self._audio_end is not None and self._audio_end[0] == gen
        )

    def _end_time(self, gen: int) -> float | None:
        if self._video_end is None or self._video_end[0] != gen:
            return None
        end = self._video_end[1]
        if self._audio is not None:
            if self._audio_end is None or self._audio_end[0] != gen:
                return None
            end = max(end, self._audio_end[1])
        return end

    # --- decoder hooks (called on the decode threads) -------------------------------------------------

    def decode_error(self, stream: str, message: str) -> None:
        with self._lock:
            self._stats["decode_errors"] += 1
            count = self._stats["decode_errors"]
            now = time.monotonic()
            if count <= ERROR_EVENTS_IN_FULL or now - self._last_error_event >= 1.0:
                self._last_error_event = now
                self._transport.notify(
                    "error", reason="corrupt_packet", fatal=False, stream=stream, count=count, message=message
                )

    def reached_end(self, stream: str, generation: int, end_t: float, truncated: str | None) -> None:
        with self._lock:
            if generation != self._generation:
                return
            if stream == "video":
                self._video_end = (generation, end_t)
            else:
                self._audio_end = (generation, end_t)
            if truncated and self._truncated is None:
                self._truncated = truncated
                self._end_reason = "truncated"
                self._transport.notify(
                    "error",
                    reason="truncated",
                    fatal=False,
                    stream=stream,
                    ends_at=round(end_t, 3),
                    message=truncated,
                )
            elif truncated:
                self._end_reason = "truncated"

    def fatal(self, reason: str, message: str) -> None:
        with self._lock:
            self._fatal_locked(reason, message)

    def _fatal_locked(self, reason: str, message: str) -> None:
        if self.state in (S.ERROR, S.CLOSED):
            return
        self._clock.hold(self._clock.now())
        self._transport.transition(S.ERROR, reason=reason, message=message, fatal=True)
        for dec in (self._video, self._audio):
            if dec is not None:
                dec.stop()


# --- helpers ----------------------------------------------------------------------------------------------


def _factor(name: str, value: object, lo: float, hi: float) -> float:
    """A speed factor from a caller, checked against ``lo..hi``; ValueError names it and the range."""
    if not isinstance(value, int | float) or not lo <= value <= hi:
        raise ValueError(f"{name}: expected {lo:g}..{hi:g}, got {value!r}")
    return float(value)


def _av_open(path: Path, **kwargs: object) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r", **kwargs)
    except FileNotFoundError:
        raise MediaError("not_found", f"film file not found: {path}") from None
    except av.error.PermissionError:
        raise  # hardware device creation: the caller falls back
    except av.error.InvalidDataError as exc:
        raise MediaError(
            "unreadable", f"{path.name} is not a playable film (truncated or not a media file): {exc}"
        ) from None
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError("unreadable", f"cannot open {path}: {exc}") from None


def _probe_video(
    path: Path, container: av.container.InputContainer, budget: int = 512 << 20
) -> list[av.VideoFrame]:
    """Check the video stream can be decoded into a supported format; return the first decoded frames."""
    if not container.streams.video:
        raise MediaError("no_video", f"{path.name} has no video stream")
    stream = container.streams.video[0]
    ctx = stream.codec_context
    if ctx is None or ctx.codec is None:
        raise MediaError(
            "unsupported_codec", f"{path.name}: its video codec is unknown to this player (no decoder for it)"
        )
    name = ctx.codec.name
    stream.thread_type = "AUTO"
    threads = _thread_cap(ctx.width, ctx.height, budget)
    if threads:
        ctx.thread_count = threads
    frames: list[av.VideoFrame] = []
    errors = 0
    try:
        for i, packet in enumerate(container.demux(stream)):
            if i >= PROBE_PACKETS:
                break
            try:
                frames = list(ctx.decode(packet if packet.size or packet.dts is not None else None))
            except av.error.FFmpegError:
                errors += 1
                continue
            if frames:
                break
    except av.error.PermissionError:
        raise
    except av.error.FFmpegError as exc:
        raise MediaError("unreadable", f"{path.name}: reading the video failed: {exc}") from None
    if not frames:
        raise MediaError(
            "unsupported_codec" if errors else "no_video",
            f"{path.name}: no picture could be decoded from its {name} video stream",
        )
    fmt = frames[0].format.name
    if fmt not in PLANE_LAYOUTS:
        raise MediaError(
            "unsupported_pixel_format",
            f"{path.name}: {name} video in pixel format {fmt!r} is not supported "
            f"(supported: {', '.join(PLANE_LAYOUTS)})",
        )
    return frames


def _thread_cap(width: int, height: int, budget: int) -> int:
    """A thread count for huge pictures, or 0 (FFmpeg's own choice).

    Each frame thread holds a picture: 17 threads on a 16-core PC at 8K would hold 0.8 GB. Keep them within
    DECODER_MEMORY_SHARE of the frame budget (at least 2).
    """
    frame_bytes = width * height * 3 // 2
    auto = min((os.cpu_count() or 1) + 1, 16)
    if frame_bytes <= 0 or auto * frame_bytes <= DECODER_MEMORY_SHARE * budget:
        return 0
    return max(2, int(DECODER_MEMORY_SHARE * budget // frame_bytes))


def _stream_fps(stream: av.video.stream.VideoStream) -> float:
    for rate in (stream.average_rate, getattr(stream, "guessed_rate", None), stream.base_rate):
        if rate:
            fps = float(rate)
            if 1.0 <= fps <= 1000.0:
                return fps
    return 30.0


def _duration(container: av.container.InputContainer, stream: av.stream.Stream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None
