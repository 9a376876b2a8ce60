"""Hardware decoding's choices and the frames it hands to the renderer.

Which hardware device a film decodes on (``plan_decode``), whether CUDA frames stay on the GPU (PyAV >= 17
keeps them there with ``HWAccel(is_hw_owned=True)`` and exports each plane through DLPack; the renderer copies
them device to device into its GL textures, player/render/cuda_planes.py), and the fall-back to host memory,
said once with the reason. The host path (planes in host memory, uploaded with glTexSubImage2D) is the default
and every fall-back's destination. cuda-python (the ``gpu`` extra) is imported only for ``--hwdec cuda``.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import av

from content_manifest.formats import PIXEL_FORMATS
from player.media.frames import VideoFrame, _colorspace_name, _is_full_range

log = logging.getLogger("player.media.hwframes")

HWDEC_CHOICES = ("auto", "cuda", "d3d11va", "none")
AUTO_ORDER = ("cuda", "d3d11va")  # what `auto` tries, each where this PyAV build offers it
GPU_EXTRA = "pip install 'viewpoint-xr[gpu]' (cuda-python)"
DEVICE_FORMATS = ("nv12", "p010le")  # what NVDEC and D3D11VA give for 8- and 10-bit 4:2:0


@dataclass(frozen=True)
class GpuSupport:
    """Whether CUDA frames can stay on the GPU in this process: cuda-python importable and a CUDA device."""

    ok: bool
    why: str  # what is missing, or the device's name when ok


@dataclass(frozen=True)
class DecodePlan:
    """The hardware devices to try in order (none: software), and whether CUDA frames stay on the GPU."""

    devices: tuple[str, ...]
    keep_on_gpu: bool
    notes: tuple[str, ...] = ()  # why a device or the GPU path is not taken (said once)

    @property
    def path(self) -> str:
        return "gpu" if self.keep_on_gpu else "host"


def plan_decode(requested: str, available: Sequence[str], gpu: GpuSupport | None) -> DecodePlan:
    """``requested`` is --hwdec; ``available`` is PyAV's ``hwdevices_available()``; ``gpu`` is
    :func:`gpu_support` (only consulted for ``cuda``, the one request that keeps frames on the GPU)."""
    if requested not in HWDEC_CHOICES:
        raise ValueError(f"hwdec: expected one of {', '.join(HWDEC_CHOICES)}, got {requested!r}")
    offered = ", ".join(available) or "none"
    if requested == "none":
        return DecodePlan((), False)
    if requested == "auto":
        return DecodePlan(tuple(d for d in AUTO_ORDER if d in available), False)
    if requested not in available:
        why = f"this PyAV build offers no {requested} decoding (it offers: {offered})"
        if requested == "d3d11va" and sys.platform != "win32":
            why += "; D3D11VA exists on Windows only"
        return DecodePlan((), False, (why,))
    if requested == "d3d11va":  # PyAV exports only CUDA frames through DLPack: D3D11 frames come back to host
        return DecodePlan(("d3d11va",), False)
    if gpu is None:  # not looked at: the cuda device already failed in this process (and that was said)
        return DecodePlan(("cuda",), False)
    if not gpu.ok:
        return DecodePlan(("cuda",), False, (f"frames copied to host memory: {gpu.why}",))
    return DecodePlan(("cuda",), True)


_support: GpuSupport | None = None
_support_lock = threading.Lock()


def gpu_support() -> GpuSupport:
    """cuda-python importable and at least one CUDA device (checked once per process)."""
    global _support
    with _support_lock:
        if _support is None:
            _support = _probe_gpu()
        return _support


def skip_line(support: GpuSupport) -> str:
    """What a GPU benchmark or check prints where it cannot run."""
    why = support.why
    return f"skipped: {why}" if why.startswith("no CUDA device (") else f"skipped: no CUDA device ({why})"


def device_problem(device: str = "cuda", codec: str = "hevc") -> str | None:
    """None when PyAV's FFmpeg can create a ``device`` context for decoding ``codec`` here, else why not
    (no cuda-python involved: this is how the player finds out whether an NVIDIA GPU is there at all)."""
    from av.codec.hwaccel import HWAccel, hwdevices_available

    if device not in hwdevices_available():
        return f"this PyAV build offers no {device} decoding"
    try:
        HWAccel(device_type=device).create(av.codec.Codec(codec, "r"))
    except NotImplementedError:
        return f"this PyAV build's {codec} decoder has no {device} support"
    except Exception as exc:  # PermissionError/OSError/ValueError where there is no device or driver
        return f"{type(exc).__name__}: {exc}"
    return None


def _probe_gpu() -> GpuSupport:
    major = int(av.__version__.split(".")[0])
    if major < 17:
        return GpuSupport(False, f"PyAV {av.__version__} copies hardware frames to host memory (17 or newer)")
    problem = device_problem("cuda")
    if problem is not None:  # cuda-python is not imported where there is no CUDA device
        return GpuSupport(False, f"no CUDA device ({problem})")
    try:
        from cuda.bindings import runtime as rt
        from cuda.core.utils import StridedMemoryView  # noqa: F401  (reads the DLPack planes)
    except ImportError as exc:
        return GpuSupport(False, f"the gpu extra is not installed ({exc.name or exc}): {GPU_EXTRA}")
    err, count = rt.cudaGetDeviceCount()
    if err != rt.cudaError_t.cudaSuccess:
        return GpuSupport(False, f"no CUDA device ({_error_name(rt, err)})")
    if not count:
        return GpuSupport(False, "no CUDA device (the driver reports none)")
    err, props = rt.cudaGetDeviceProperties(0)
    name = props.name if err == rt.cudaError_t.cudaSuccess else "?"
    if isinstance(name, bytes):  # char[256]
        name = name.split(b"\0")[0].decode(errors="replace")
    return GpuSupport(True, f"CUDA device 0: {name}")


def _error_name(rt: object, err: object) -> str:
    try:
        return rt.cudaGetErrorName(err)[1].decode()  # type: ignore[attr-defined]
    except Exception:
        return str(err)


_said: set[str] = set()


def say_once(text: str) -> bool:
    """Log a fall-back's reason the first time it comes up in this process; True then."""
    with _support_lock:
        if text in _said:
            return False
        _said.add(text)
    log.warning("%s", text)
    return True


# -- the GPU path's verdict, once per process ------------------------------------------------------------
class GpuPath:
    """Whether device frames still go to the GPU; the first refusal (the renderer's interop failing) is said
    once, and from then on the decode threads copy frames to host memory before queueing them."""

    def __init__(self) -> None:
        self.refused: str | None = None
        self._lock = threading.Lock()

    def refuse(self, why: str) -> bool:
        """Record why the GPU path cannot be used; True the first time (the caller says it, once)."""
        with self._lock:
            if self.refused is not None:
                return False
            self.refused = why
        log.warning("CUDA-GL interop unavailable, frames go through host memory: %s", why)
        return True


GPU_PATH = GpuPath()


# -- frames ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PlaneCopy:
    """One plane in device (or host) memory as a 2-D copy: rows of ``width`` texels of ``channels`` samples of
    ``sample_bytes`` bytes, ``pitch`` bytes apart."""

    ptr: int
    pitch: int
    width: int
    height: int
    channels: int
    sample_bytes: int

    @property
    def row_bytes(self) -> int:
        return self.width * self.channels * self.sample_bytes


def plane_copy(ptr: int, shape: Sequence[int], strides: Sequence[int] | None, itemsize: int) -> PlaneCopy:
    """A DLPack plane (shape (H, W) or (H, W, C), strides in elements, None for C order) as a 2-D copy.
    Rows may be padded; samples within a row must be packed (what a GL texture row holds)."""
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"plane of shape {shape}: expected (height, width) or (height, width, channels)")
    channels = shape[2] if len(shape) == 3 else 1
    if strides is None:
        strides = (shape[1] * channels, channels, 1)[3 - len(shape) :]
    strides = tuple(int(s) for s in strides)
    packed = (channels, 1) if len(shape) == 3 else (1,)
    if strides[1:] != packed or itemsize not in (1, 2):
        raise ValueError(
            f"plane of shape {shape}, strides {strides}, {itemsize}-byte samples: rows are not packed "
            "8- or 16-bit texels"
        )
    pitch = strides[0] * itemsize
    row = shape[1] * channels * itemsize
    if pitch < row:
        raise ValueError(f"plane rows of {row} bytes overlap (pitch {pitch})")
    return PlaneCopy(int(ptr), pitch, shape[1], shape[0], channels, itemsize)


def plane_copy_of(view: object) -> PlaneCopy:
    """:func:`plane_copy` of a NumPy array (host DLPack) or a cuda.core ``StridedMemoryView`` (device)."""
    ctypes_ = getattr(view, "ctypes", None)
    if ctypes_ is not None:  # numpy: byte strides
        item = view.dtype.itemsize  # type: ignore[attr-defined]
        strides = tuple(s // item for s in view.strides)  # type: ignore[attr-defined]
        return plane_copy(ctypes_.data, view.shape, strides, item)  # type: ignore[attr-defined]
    return plane_copy(view.ptr, view.shape, view.strides, view.dtype.itemsize)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class DeviceFrame:
    """A decoded picture kept in CUDA memory: its planes as 2-D copies for the renderer (the same facts as a
    :class:`VideoFrame`, whose planes are host arrays). ``source`` keeps the decoder's surface alive."""

    pix_fmt: str
    width: int
    height: int
    planes: tuple[PlaneCopy, ...]
    line_sizes: tuple[int, ...]
    plane_sizes: tuple[tuple[int, int], ...]
    colorspace: str
    color_range: str
    pts: float
    index: int
    nbytes: int
    device: int
    source: object

    @property
    def bit_depth(self) -> int:
        return PIXEL_FORMATS[self.pix_fmt].depth

    def to_host(self) -> VideoFrame:
        """The same picture in host memory (the fall-back: one device-to-host copy)."""
        return host_frame(self.source, pts=self.pts, index=self.index)  # type: ignore[arg-type]


def picture_format(frame: av.VideoFrame) -> str:
    """The pixel format of a frame's planes: the software format behind a hardware frame."""
    sw = getattr(frame, "sw_format", None)
    return sw.name if sw is not None else frame.format.name


def is_cuda_frame(frame: av.VideoFrame) -> bool:
    return frame.format.name == "cuda"


def device_frame(frame: av.VideoFrame, *, pts: float, index: int, views: Sequence[object]) -> DeviceFrame:
    """Wrap a CUDA frame's planes, read through DLPack into ``views`` (one per plane, see plane_copy_of)."""
    fmt = picture_format(frame)
    if fmt not in DEVICE_FORMATS:
        raise ValueError(f"CUDA frame in {fmt!r}: expected one of {', '.join(DEVICE_FORMATS)}")
    copies = tuple(plane_copy_of(v) for v in views)
    layouts = PIXEL_FORMATS[fmt].planes
    if len(copies) != len(layouts):
        raise ValueError(f"CUDA frame in {fmt}: {len(copies)} planes, expected {len(layouts)}")
    for i, (c, (channels, sample_bytes)) in enumerate(zip(copies, layouts)):
        if (c.channels, c.sample_bytes) != (channels, sample_bytes):
            raise ValueError(
                f"CUDA frame in {fmt}: plane {i} has {c.channels}x{c.sample_bytes}-byte samples, "
                f"expected {channels}x{sample_bytes}"
            )
    return DeviceFrame(
        pix_fmt=fmt,
        width=frame.width,
        height=frame.height,
        planes=copies,
        line_sizes=tuple(c.pitch for c in copies),
        plane_sizes=tuple((c.width, c.height) for c in copies),
        colorspace=_colorspace_name(frame),  # the same colour facts as a host frame's
        color_range="full" if _is_full_range(frame) else "limited",
        pts=pts,
        index=index,
        nbytes=sum(c.pitch * c.height for c in copies),
        device=int(frame.planes[0].__dlpack_device__()[1]),
        source=frame,
    )


def host_frame(frame: av.VideoFrame, *, pts: float, index: int) -> VideoFrame:
    """A host :class:`VideoFrame` for any decoded frame; a CUDA frame is first copied to host memory (PyAV's
    reformat to its software format transfers it; no conversion)."""
    if frame.format.name in ("cuda", "d3d11"):
        frame = frame.reformat(format=picture_format(frame))
    return VideoFrame.from_av(frame, pts=pts, index=index)


def wrap_frame(frame: av.VideoFrame, *, pts: float, index: int) -> VideoFrame | DeviceFrame:
    """The decode thread's hand-over: CUDA frames stay on the GPU unless the GPU path was refused."""
    if not is_cuda_frame(frame) or GPU_PATH.refused is not None:
        return host_frame(frame, pts=pts, index=index)
    return device_frame(frame, pts=pts, index=index, views=dlpack_views(frame))


class _DecodedPlane:
    """A PyAV plane as a DLPack producer for cuda.core: PyAV refuses any consumer stream (it has none to
    order against) and cuda.core passes -1 for "no ordering"; the decoder's frame is complete when returned
    (FFmpeg's NVDEC copy runs on the legacy default stream, which the renderer's copy also uses)."""

    def __init__(self, plane: object) -> None:
        self.plane = plane

    def __dlpack__(self, *, stream: int | None = None, **_kwargs: object) -> object:
        return self.plane.__dlpack__()  # type: ignore[attr-defined]

    def __dlpack_device__(self) -> tuple[int, int]:
        return self.plane.__dlpack_device__()  # type: ignore[attr-defined]


def dlpack_views(frame: av.VideoFrame) -> list[object]:
    """Each plane of ``frame`` read through DLPack by cuda.core (the ``gpu`` extra)."""
    from cuda.core.utils import StridedMemoryView

    kind, device = frame.planes[0].__dlpack_device__()
    if kind != 1:  # a CUDA frame: its device's primary context (the one FFmpeg decodes in) current here
        from cuda.bindings import runtime as rt

        rt.cudaSetDevice(int(device))
    return [StridedMemoryView.from_dlpack(_DecodedPlane(plane), stream_ptr=-1) for plane in frame.planes]


def frames_report(info: object) -> dict:
    """The play report's ``output.video``: the decoder in use and where its pictures went, with the reason
    when the GPU path was asked for and not taken (at open, or by the renderer's interop later)."""
    frames, why = getattr(info, "frames", "host"), getattr(info, "frames_why", "")
    if frames == "gpu" and GPU_PATH.refused is not None:
        frames, why = "host", f"CUDA-GL interop unavailable: {GPU_PATH.refused}"
    return {"hwdec": getattr(info, "hwdec", "none"), "frames": frames, **({"why": why} if why else {})}


def frames_line(report: dict) -> str:
    """One line for the terminal: where the pictures go, and why not the GPU when that was asked."""
    where = "the GPU (CUDA-GL interop, no host copy)" if report["frames"] == "gpu" else "host memory"
    why = f" ({report['why']})" if report.get("why") else ""
    return f"video: decoder {report['hwdec']}, frames in {where}{why}"


# -- the doctor's view ------------------------------------------------------------------------------------
def decode_check() -> dict:
    """The doctor's decoding check: what each --hwdec gives on this machine, and what AMD/Intel users get."""
    from av.codec.hwaccel import hwdevices_available

    available = hwdevices_available()
    offered = ", ".join(available) or "none"
    details: dict = {"offered": available}
    problem = device_problem("cuda")
    if problem is None:
        gpu = gpu_support()
        details["gpu_path"] = gpu.why
        if gpu.ok:
            summary = f"NVIDIA: --hwdec cuda decodes on the GPU and keeps the frames there ({gpu.why})"
            fix = ""
        else:
            summary = f"NVIDIA decoding works; --hwdec cuda copies frames to host memory: {gpu.why}"
            fix = GPU_EXTRA
    elif "d3d11va" in available and device_problem("d3d11va") is None:
        summary = "D3D11VA: --hwdec d3d11va (or auto) decodes on the GPU, frames copied back to host memory"
        fix = ""
    else:
        summary = f"films decode on the CPU (no CUDA device: {problem}); this PyAV build offers: {offered}"
        fix = "" if sys.platform != "win32" else "An NVIDIA GPU or D3D11VA decodes 8K HEVC on the GPU."
    details["amd_intel"] = amd_intel_line(available)
    return {"ok": True, "summary": summary, "fix": fix, "blocking": False, "details": details}


def amd_intel_line(available: Sequence[str], platform: str = sys.platform) -> str:
    """What AMD and Intel GPU owners get on this platform with this PyAV build."""
    if platform == "win32":
        if "d3d11va" in available:  # PyAV exports CUDA frames only (DLPack): D3D11 ones come back to host
            return "AMD/Intel GPUs: --hwdec d3d11va (or auto) decodes on the GPU (frames copied to host)"
        return "AMD/Intel GPUs: this PyAV build has no d3d11va: films decode on the CPU"
    if "vaapi" in available:
        return "AMD/Intel GPUs: VAAPI is in this build but not used by the player: films decode on the CPU"
    return "AMD/Intel GPUs: films decode on the CPU (this PyAV build has no VAAPI)"
