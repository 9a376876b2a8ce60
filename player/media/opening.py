"""Opening a film for the media engine: probing the file, starting the video and audio decoders and the
output, within the frame-memory budget (the engine's ``open`` calls :meth:`EngineOpening._open`)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import av

from content_manifest.safefile import irregular
from player.media.audio_buffer import AudioBuffer
from player.media.audio_decoder import AudioDecoder, output_layout
from player.media.audio_output import OUTPUT_RATE, open_output
from player.media.frames import PLANE_LAYOUTS
from player.media.hwframes import (
    DEVICE_FORMATS,
    GPU_PATH,
    DecodePlan,
    GpuSupport,
    gpu_support,
    picture_format,
    plan_decode,
    say_once,
    wrap_frame,
)
from player.media.mixer import Mixer
from player.media.video_decoder import VideoDecoder

log = logging.getLogger("player.media.engine")

_cuda_unavailable: str | None = None
"""Why the cuda device could not be created, once it failed in this process (then it is not tried again)."""
_other_unavailable: dict[str, str] = {}  # the same for the other device types (d3d11va)


def _why_unavailable(device: str) -> str | None:
    return _cuda_unavailable if device == "cuda" else _other_unavailable.get(device)


PROBE_PACKETS = 600
DECODER_HELD_FRAMES = 10  # pictures a decoder keeps besides one per thread (8K HEVC measured: ~10)
DECODER_MEMORY_SHARE = 0.4  # at most this share of queue_bytes goes to frame threads' pictures


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
    hwdec: str = "none"  # the decoder actually in use: "cuda", "d3d11va" or "none"
    frames: str = "host"  # where decoded pictures go to the renderer: "gpu" (CUDA-GL interop) or "host"
    frames_why: str = ""  # why "host" when the GPU path was asked for
    audio_codec: str | None = None
    audio_channels: int = 0
    audio_rate: int = 0
    audio_output: str = "null"  # "miniaudio:<backend>" or "null"
    frame_count: int | None = None
    extra: dict = field(default_factory=dict)


class EngineOpening:
    """The engine's opening steps (a mixin of :class:`player.media.engine.MediaEngine`)."""

    def _open(self) -> MediaInfo:
        path = self.path
        try:
            why = irregular(path)  # a FIFO or a device would block or never end: refused by name
        except OSError:
            raise MediaError("not_found", f"film file not found: {path}") from None
        if why is not None:
            raise MediaError("not_a_file", f"{path} {why}, not a regular file: refused")
        container, hw_active, primed = self._open_video(path)
        stream = container.streams.video[0]
        first = primed[0]
        fmt = picture_format(first)
        fps = _stream_fps(stream)
        duration = _duration(container, stream)
        origin = (container.start_time or 0) / av.time_base if container.start_time is not None else 0.0
        probe = wrap_frame(first, pts=0.0, index=0)

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
        self._output = open_output(self.audio, self._render_audio, self._no_device, self.audio_period)
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
            frames=self._frames[0],
            frames_why=self._frames[1],
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
            message=f"hardware decoding unavailable ({why}); using software",
        )

    def _open_video(self, path: Path) -> tuple[av.container.InputContainer, str, list[av.VideoFrame]]:
        """Open the container and decode the first picture: on the hardware devices --hwdec names, in order
        (player/media/hwframes.py), CUDA frames kept on the GPU for ``cuda``; software where none takes it."""
        global _cuda_unavailable
        plan = self._decode_plan()
        self._frames = (plan.path, plan.notes[0] if plan.notes else "")
        tried = []
        for device in plan.devices:
            if _why_unavailable(device) is not None:
                continue
            keep = plan.keep_on_gpu and device == "cuda"
            try:
                from av.codec.hwaccel import HWAccel

                accel = HWAccel(device_type=device, allow_software_fallback=True, is_hw_owned=keep)
                container = _av_open(path, hwaccel=accel)
                try:
                    primed = _probe_video(path, container, self._budget)
                except MediaError:
                    container.close()
                    raise
                # PyAV falls back to software silently where the device lacks the codec or profile; frames
                # copied back from the GPU come as NV12/P010, CUDA frames kept there as "cuda", software
                # ones as planar YUV
                name = primed[0].format.name
                ctx = container.streams.video[0].codec_context
                active = device if ctx.is_hwaccel and name in ("cuda", *DEVICE_FORMATS) else "none"
                if active == "none":
                    self._frames = ("host", "")
                    self._software_instead(f"the {device} decoder did not take this stream")
                elif name != "cuda":
                    self._frames = ("host", self._frames[1])
                return container, active, primed
            except MediaError as exc:
                if exc.reason in ("not_found", "no_video", "unreadable", "unsupported_codec"):
                    raise  # not a hardware matter: software would fail the same way
                why = str(exc)
            except Exception as exc:  # PyAV raises PermissionError/ValueError/... where there is no device
                why = f"{type(exc).__name__}: {exc}"
                if device == "cuda":
                    _cuda_unavailable = why  # no device: later films go straight to software, without a word
                else:
                    _other_unavailable[device] = why
            tried.append(f"{device}: {why}")
        self._frames = ("host", "; ".join(tried) or self._frames[1])
        if tried or (self._plan_said and not plan.devices):  # --hwdec d3d11va on a build without it: once
            why = "; ".join(tried) or plan.notes[0]
            level = logging.WARNING if self.hwdec != "auto" else logging.INFO
            log.log(level, "hardware decoding unavailable, decoding in software: %s", why)
            self._software_instead(why)
        container = _av_open(path)
        try:
            return container, "none", _probe_video(path, container, self._budget)
        except MediaError:
            container.close()
            raise

    def _decode_plan(self) -> DecodePlan:
        """What --hwdec asks for on this PyAV build (cuda-python is looked at only for ``cuda``)."""
        from av.codec.hwaccel import hwdevices_available

        available = hwdevices_available()
        gpu = None
        if self.hwdec == "cuda" and "cuda" in available and _why_unavailable("cuda") is None:
            gpu = gpu_support()
            if gpu.why.startswith("no CUDA device ("):
                gpu = None  # the decoder's own attempt fails next and says so (software): one message
            elif GPU_PATH.refused is not None:  # the renderer found no interop: copy back in the decoder
                gpu = GpuSupport(False, f"CUDA-GL interop unavailable: {GPU_PATH.refused}")
        plan = plan_decode(self.hwdec, available, gpu)
        self._plan_said = bool(plan.notes) and say_once(plan.notes[0])
        return plan

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
    fmt = picture_format(frames[0])
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
