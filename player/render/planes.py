"""The decoder's YUV planes as GL textures, uploaded in place with GL_UNPACK_ROW_LENGTH (no repacking).

Two upload paths: ``direct`` (glTexSubImage2D from the frame's memory) and ``pbo`` (a ring of pixel buffer
objects: copy into a mapped buffer, then let the driver DMA from it asynchronously). ``auto`` picks ``direct``
on software rasterisers (Mesa llvmpipe, where a PBO only adds a copy); on GPU drivers it times both paths on
the first frames (the render thread's CPU time per upload, which is what the frame budget pays) and keeps the
faster one.
"""

from __future__ import annotations

import ctypes
import os
import statistics
import time
from dataclasses import dataclass

from content_manifest.formats import PIXEL_FORMATS, unsupported
from player.media.frames import VideoFrame
from player.media.hwframes import DeviceFrame
from player.render.gl import GL

_INTERNAL = {(1, 1): GL.GL_R8, (2, 1): GL.GL_RG8, (1, 2): GL.GL_R16, (2, 2): GL.GL_RG16}
_FORMAT = {1: GL.GL_RED, 2: GL.GL_RG}
_TYPE = {1: GL.GL_UNSIGNED_BYTE, 2: GL.GL_UNSIGNED_SHORT}
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "lavapipe")


@dataclass(frozen=True, slots=True)
class PlaneSpec:
    """One plane's GL texture: size in texels, (channels, bytes per sample)."""

    width: int
    height: int
    channels: int
    sample_bytes: int

    @property
    def pixel_bytes(self) -> int:
        return self.channels * self.sample_bytes


def plane_specs(pix_fmt: str, width: int, height: int) -> tuple[PlaneSpec, ...]:
    """Texture sizes: full-size luma, chroma subsampled as the format says (4:2:0, 4:2:2, 4:4:4)."""
    fmt = PIXEL_FORMATS.get(pix_fmt)
    if fmt is None:
        raise ValueError(unsupported(pix_fmt))
    sx, sy = fmt.chroma_shift
    cw, ch = (width + (1 << sx) - 1) >> sx, (height + (1 << sy) - 1) >> sy
    specs = []
    for i, (channels, sample_bytes) in enumerate(fmt.planes):
        w, h = (width, height) if i == 0 else (cw, ch)
        specs.append(PlaneSpec(w, h, channels, sample_bytes))
    return tuple(specs)


def choose_upload_mode(requested: str = "auto") -> str:
    """Resolve ``auto`` for the current GL context (``VIEWPOINT_UPLOAD`` overrides)."""
    requested = os.environ.get("VIEWPOINT_UPLOAD", requested)
    if requested not in ("auto", "direct", "pbo"):
        raise ValueError(f"upload mode {requested!r}: expected auto, direct or pbo")
    if requested != "auto":
        return requested
    renderer = GL.glGetString(GL.GL_RENDERER) or b""
    text = renderer.decode(errors="replace").lower()
    return "direct" if any(name in text for name in SOFTWARE_RENDERERS) else "auto"


class PlaneTextures:
    """Texture objects for the current pixel format and size, re-created when either changes."""

    def __init__(self, upload_mode: str = "auto", ring: int = 3) -> None:
        self.mode = choose_upload_mode(upload_mode)  # "direct", "pbo", or "auto" while trying both
        self._trials: dict[str, list[float]] = {"direct": [], "pbo": []}
        self.textures: list[int] = []
        self.specs: tuple[PlaneSpec, ...] = ()
        self.key: tuple[str, int, int] | None = None
        self._pbos: list[int] = []
        self._pbo_size = 0
        self._ring = max(2, ring)
        self._next = 0
        self.cuda = None  # player.render.cuda_planes.CudaTextures once CUDA frames arrive (--hwdec cuda)

    # -- allocation -------------------------------------------------------------------------------------
    def _allocate(self, frame: VideoFrame | DeviceFrame) -> None:
        self.release()
        self.specs = plane_specs(frame.pix_fmt, frame.width, frame.height)
        self.textures = [int(GL.glGenTextures(1)) for _ in self.specs]
        for tex, spec in zip(self.textures, self.specs):
            GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
            GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_BASE_LEVEL, 0)
            GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAX_LEVEL, 0)
            GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
            GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
            # Horizontal repeat: a 360 picture is continuous across its left and right edges, so the sampler
            # filters the seam like any other pair of columns (the shader clamps wherever that is not so).
            GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_REPEAT)
            GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)
            GL.glTexImage2D(
                GL.GL_TEXTURE_2D,
                0,
                _INTERNAL[(spec.channels, spec.sample_bytes)],
                spec.width,
                spec.height,
                0,
                _FORMAT[spec.channels],
                _TYPE[spec.sample_bytes],
                None,
            )
        self.key = (frame.pix_fmt, frame.width, frame.height)

    def release(self) -> None:
        if self.cuda is not None:  # unregistered from CUDA before the textures go
            self.cuda.release()
            self.cuda = None
        if self.textures:
            GL.glDeleteTextures(self.textures)
        if self._pbos:
            GL.glDeleteBuffers(len(self._pbos), self._pbos)
        self.textures, self._pbos, self._pbo_size, self.key = [], [], 0, None

    # -- upload -----------------------------------------------------------------------------------------
    def upload(self, frame: VideoFrame | DeviceFrame) -> None:
        if self.key != (frame.pix_fmt, frame.width, frame.height):
            self._allocate(frame)
        if isinstance(frame, DeviceFrame):  # kept on the GPU: copied device to device (cuda_planes.py)
            from player.render.cuda_planes import upload_device

            host = upload_device(self, frame)
            if host is None:
                return
            frame = host  # interop unavailable (said once): the host path
        for i, spec in enumerate(self.specs):
            plane = frame.planes[i]
            need = frame.line_sizes[i] * (spec.height - 1) + spec.width * spec.pixel_bytes
            if plane.nbytes < need or frame.line_sizes[i] % spec.pixel_bytes:
                raise ValueError(
                    f"frame {frame.index} plane {i}: {plane.nbytes} bytes with line size "
                    f"{frame.line_sizes[i]} "
                    f"cannot hold {spec.width}x{spec.height} samples of {spec.pixel_bytes} bytes"
                )
            if not plane.flags["C_CONTIGUOUS"]:
                raise ValueError(f"frame {frame.index} plane {i}: not contiguous in memory")
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        try:
            mode = self.mode
            if mode == "auto":
                mode = "pbo" if len(self._trials["direct"]) > len(self._trials["pbo"]) else "direct"
            start = time.perf_counter()
            if mode == "pbo":
                self._upload_pbo(frame)
            else:
                for i, spec in enumerate(self.specs):
                    source = ctypes.c_void_p(frame.planes[i].ctypes.data)
                    self._sub_image(i, spec, frame.line_sizes[i], source)
            if self.mode == "auto":
                self._trial(mode, time.perf_counter() - start)
        finally:
            GL.glPixelStorei(GL.GL_UNPACK_ROW_LENGTH, 0)
            GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)

    TRIALS = 6  # uploads timed per path before "auto" settles (the first of each is dropped: allocation)

    def _trial(self, mode: str, seconds: float) -> None:
        self._trials[mode].append(seconds)
        if all(len(t) >= self.TRIALS for t in self._trials.values()):
            median = {m: statistics.median(t[1:]) for m, t in self._trials.items()}
            self.mode = min(median, key=median.__getitem__)

    def _sub_image(self, i: int, spec: PlaneSpec, line_size: int, source: ctypes.c_void_p) -> None:
        GL.glPixelStorei(GL.GL_UNPACK_ROW_LENGTH, line_size // spec.pixel_bytes)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.textures[i])
        GL.glTexSubImage2D(
            GL.GL_TEXTURE_2D, 0, 0, 0, spec.width, spec.height,
            _FORMAT[spec.channels], _TYPE[spec.sample_bytes], source,
        )  # fmt: skip

    def _upload_pbo(self, frame: VideoFrame) -> None:
        sizes = [frame.line_sizes[i] * spec.height for i, spec in enumerate(self.specs)]
        total = sum(sizes)
        if total > self._pbo_size:
            if self._pbos:
                GL.glDeleteBuffers(len(self._pbos), self._pbos)
            self._pbos = [int(b) for b in GL.glGenBuffers(self._ring)]
            self._pbo_size = total
        pbo = self._pbos[self._next]
        self._next = (self._next + 1) % len(self._pbos)
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, pbo)
        GL.glBufferData(GL.GL_PIXEL_UNPACK_BUFFER, self._pbo_size, None, GL.GL_STREAM_DRAW)  # orphan
        address = GL.glMapBufferRange(
            GL.GL_PIXEL_UNPACK_BUFFER, 0, total, GL.GL_MAP_WRITE_BIT | GL.GL_MAP_INVALIDATE_BUFFER_BIT
        )
        if not isinstance(address, int):
            address = int(ctypes.cast(address, ctypes.c_void_p).value or 0)
        if not address:
            GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)
            raise RuntimeError("glMapBufferRange returned no memory for the frame upload")
        offset = 0
        for i, size in enumerate(sizes):
            ctypes.memmove(address + offset, frame.planes[i].ctypes.data, size)
            offset += size
        GL.glUnmapBuffer(GL.GL_PIXEL_UNPACK_BUFFER)
        offset = 0
        for i, spec in enumerate(self.specs):
            self._sub_image(i, spec, frame.line_sizes[i], ctypes.c_void_p(offset))
            offset += sizes[i]
