"""CUDA frames into the renderer's plane textures, device to device (CUDA-GL interop, cuda-python runtime).

The textures are the ones :class:`player.render.planes.PlaneTextures` made for the host path (R8 + RG8 for
NV12, R16 + RG16 for P010), so the shader samples them the same way. Each texture is registered with CUDA once
(``cudaGraphicsGLRegisterImage``, write-discard); per frame each is mapped, its level-0 array receives the
decoder's plane (``cudaMemcpy2DToArrayAsync``, device to device, on the legacy default stream that FFmpeg's
NVDEC copy also uses), and unmapped, which orders the copy before GL's next use of the texture. The picture
never passes through host memory. Imported only when a CUDA frame reaches the renderer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from player.media.frames import VideoFrame
from player.media.hwframes import GPU_PATH, DeviceFrame, PlaneCopy

if TYPE_CHECKING:
    from player.render.planes import PlaneSpec, PlaneTextures

GL_TEXTURE_2D = 0x0DE1
MAX_GL_DEVICES = 8
LEGACY_STREAM = 0  # the legacy default stream: ordered after FFmpeg's NVDEC copy into the frame


class InteropError(RuntimeError):
    """CUDA-GL interop cannot be used (no driver, the GL context not on a CUDA device, a failed call)."""


def copy_plan(specs: Sequence[PlaneSpec], frame: DeviceFrame) -> list[PlaneCopy]:
    """The frame's planes checked against the textures they go into (what the host path checks too)."""
    if len(frame.planes) != len(specs):
        raise ValueError(f"frame {frame.index}: {len(frame.planes)} planes for {len(specs)} textures")
    for i, (c, spec) in enumerate(zip(frame.planes, specs)):
        if (c.width, c.height, c.channels, c.sample_bytes) != (
            spec.width, spec.height, spec.channels, spec.sample_bytes,
        ):  # fmt: skip
            raise ValueError(
                f"frame {frame.index} plane {i}: {c.width}x{c.height} texels of "
                f"{c.channels}x{c.sample_bytes} bytes, the texture holds {spec.width}x{spec.height} of "
                f"{spec.channels}x{spec.sample_bytes}"
            )
        if c.pitch < c.row_bytes:
            raise ValueError(f"frame {frame.index} plane {i}: pitch {c.pitch} < row of {c.row_bytes} bytes")
    return list(frame.planes)


class CudaTextures:
    """The plane textures registered with CUDA; :meth:`copy` puts a :class:`DeviceFrame` into them.

    Construct and use with the GL context current. Raises :class:`InteropError` when interop is impossible
    (then the caller takes the host path, said once)."""

    def __init__(self, textures: Sequence[int], specs: Sequence[PlaneSpec]) -> None:
        try:
            from cuda.bindings import runtime as rt
        except ImportError as exc:
            raise InteropError(f"cuda-python is not installed ({exc})") from None
        self._rt = rt
        self.specs = tuple(specs)
        self._resources: list[object] = []
        err, count, devices = rt.cudaGLGetDevices(MAX_GL_DEVICES, rt.cudaGLDeviceList.cudaGLDeviceListAll)
        if err != rt.cudaError_t.cudaSuccess:
            raise InteropError(f"the OpenGL context is not on a CUDA device ({self._name(err)})")
        self.devices = tuple(int(d) for d in list(devices)[:count])
        if not self.devices:
            raise InteropError("the OpenGL context is not on a CUDA device (cudaGLGetDevices found none)")
        flags = rt.cudaGraphicsRegisterFlags.cudaGraphicsRegisterFlagsWriteDiscard
        try:
            for tex in textures:
                err, resource = rt.cudaGraphicsGLRegisterImage(int(tex), GL_TEXTURE_2D, flags)
                self._check(err, f"registering texture {tex}")
                self._resources.append(resource)
        except InteropError:
            self.release()
            raise

    def _name(self, err: object) -> str:
        try:
            return self._rt.cudaGetErrorName(err)[1].decode()
        except Exception:
            return str(err)

    def _check(self, err: object, what: str) -> None:
        if err != self._rt.cudaError_t.cudaSuccess:
            raise InteropError(f"{what}: {self._name(err)}")

    def copy(self, frame: DeviceFrame) -> None:
        """Copy the frame's planes into the textures, device to device."""
        if frame.device not in self.devices:
            raise InteropError(
                f"the frame is on CUDA device {frame.device}, the OpenGL context on {list(self.devices)}"
            )
        rt = self._rt
        kind = rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice
        for i, (resource, c) in enumerate(zip(self._resources, copy_plan(self.specs, frame))):
            (err,) = rt.cudaGraphicsMapResources(1, resource, LEGACY_STREAM)
            self._check(err, f"mapping texture {i}")
            try:
                err, array = rt.cudaGraphicsSubResourceGetMappedArray(resource, 0, 0)
                self._check(err, f"texture {i}'s array")
                (err,) = rt.cudaMemcpy2DToArrayAsync(
                    array, 0, 0, c.ptr, c.pitch, c.row_bytes, c.height, kind, LEGACY_STREAM
                )
                self._check(err, f"copying plane {i}")
            finally:
                (err,) = rt.cudaGraphicsUnmapResources(1, resource, LEGACY_STREAM)
            self._check(err, f"unmapping texture {i}")

    def release(self) -> None:
        """Unregister the textures (before they are deleted)."""
        for resource in self._resources:
            self._rt.cudaGraphicsUnregisterResource(resource)
        self._resources = []


def upload_device(planes: PlaneTextures, frame: DeviceFrame) -> VideoFrame | None:
    """Put a CUDA frame into ``planes``' textures (allocated for it): None when copied on the device; else
    (interop unavailable, said once, and the GPU path refused for the rest of the process) the frame in host
    memory for the host path to upload."""
    if GPU_PATH.refused is None:
        try:
            if planes.cuda is None:
                planes.cuda = CudaTextures(planes.textures, planes.specs)
            planes.cuda.copy(frame)
            return None
        except InteropError as exc:
            if planes.cuda is not None:
                planes.cuda.release()
                planes.cuda = None
            GPU_PATH.refuse(str(exc))
    return frame.to_host()
