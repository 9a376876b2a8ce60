"""Device check for --hwdec cuda's GPU path, for a person with an NVIDIA GPU (and `pip install -e '.[gpu]'`).

Makes (once, cached like bench/decode.py's films) an 8K HEVC film with the project's benchmark film maker,
decodes it twice with NVDEC: frames kept on the GPU (the player's --hwdec cuda) and frames copied back to host
memory (the host path). The first go through CUDA-GL interop into the renderer's plane textures, the second
are uploaded from host memory; both sets of textures are read back and must match byte for byte. Prints the
per-frame timings of both paths. Exit 0 when every frame matched (or, without a CUDA device, after printing
"skipped: ..."), 1 otherwise.

Run: .venv/bin/python scripts/gpu_check.py [--frames 30] [--width 7680 --height 3840] [--ten-bit]
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import av  # noqa: E402
import numpy as np  # noqa: E402

from player.media.hwframes import GPU_PATH, DeviceFrame, gpu_support, skip_line, wrap_frame  # noqa: E402


def decoded(path: Path, keep_on_gpu: bool) -> Iterator[av.VideoFrame]:
    """NVDEC's frames of ``path``: kept on the GPU (format "cuda") or copied back (NV12/P010)."""
    from av.codec.hwaccel import HWAccel

    accel = HWAccel(device_type="cuda", allow_software_fallback=False, is_hw_owned=keep_on_gpu)
    with av.open(str(path), hwaccel=accel) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        yield from container.decode(stream)


def read_back(planes: object) -> list[np.ndarray]:
    """Each plane texture's level 0 as bytes (glGetTexImage)."""
    from OpenGL.raw.GL.VERSION.GL_1_0 import glGetTexImage

    from player.render.gl import GL

    out = []
    GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
    for tex, spec in zip(planes.textures, planes.specs):  # type: ignore[attr-defined]
        data = np.zeros(spec.height * spec.width * spec.pixel_bytes, dtype=np.uint8)
        fmt = GL.GL_RED if spec.channels == 1 else GL.GL_RG
        kind = GL.GL_UNSIGNED_BYTE if spec.sample_bytes == 1 else GL.GL_UNSIGNED_SHORT
        GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
        glGetTexImage(GL.GL_TEXTURE_2D, 0, fmt, kind, ctypes.c_void_p(data.ctypes.data))
        out.append(data)
    return out


def timed_upload(planes: object, frame: object) -> float:
    """Milliseconds to put ``frame`` into ``planes`` and let GL finish with it."""
    from player.render.gl import GL

    start = time.perf_counter()
    planes.upload(frame)  # type: ignore[attr-defined]
    GL.glFinish()
    return (time.perf_counter() - start) * 1000.0


def figures(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"{name}: p50 {statistics.median(values):.2f} ms, p99 {p99:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=30, help="frames to check (default 30)")
    ap.add_argument("--width", type=int, default=7680)
    ap.add_argument("--height", type=int, default=3840)
    ap.add_argument("--ten-bit", action="store_true", help="a 10-bit film (P010 from NVDEC)")
    args = ap.parse_args(argv)
    support = gpu_support()
    if not support.ok:
        print(skip_line(support))
        return 0
    from bench.decode import make_clip
    from player.media.frames import VideoFrame
    from player.render.egl import EGLContext
    from player.render.gl import GL
    from player.render.planes import PlaneTextures

    print(f"GPU path: {support.why}")
    seconds = max(1.0, args.frames / 30 + 0.5)
    depth = "yuv420p10le" if args.ten_bit else "yuv420p"
    path = make_clip("hevc", args.width, args.height, seconds, 30, depth)
    ctx = EGLContext(prefer="device")
    print(f"GL renderer: {(GL.glGetString(GL.GL_RENDERER) or b'').decode()} (EGL {ctx.platform})")
    on_gpu, on_host = PlaneTextures("direct"), PlaneTextures("auto")
    gpu_ms, host_ms, decode_gpu, decode_host, mismatches, checked = [], [], [], [], 0, 0
    try:
        gpu_frames, host_frames = decoded(path, True), decoded(path, False)
        for i in range(args.frames):
            t = time.perf_counter()
            raw = next(gpu_frames, None)
            decode_gpu.append((time.perf_counter() - t) * 1000.0)
            t = time.perf_counter()
            copied = next(host_frames, None)
            decode_host.append((time.perf_counter() - t) * 1000.0)
            if raw is None or copied is None:
                break
            frame = wrap_frame(raw, pts=0.0, index=i)
            if not isinstance(frame, DeviceFrame):
                print(f"FAIL: frame {i} came to host memory ({raw.format.name}); {GPU_PATH.refused or ''}")
                return 1
            gpu_ms.append(timed_upload(on_gpu, frame))
            if GPU_PATH.refused is not None or on_gpu.cuda is None:
                print(f"FAIL: CUDA-GL interop refused: {GPU_PATH.refused}")
                return 1
            host_ms.append(timed_upload(on_host, VideoFrame.from_av(copied, pts=0.0, index=i)))
            got, want = read_back(on_gpu), read_back(on_host)
            checked += 1
            bad = [p for p, (a, b) in enumerate(zip(got, want)) if not np.array_equal(a, b)]
            if bad:
                mismatches += 1
                print(f"frame {i}: planes {bad} differ between the GPU path and the host path")
        print(f"{checked} frames of {args.width}x{args.height} {frame.pix_fmt} (HEVC, NVDEC)")
        print(figures("decode, frames kept on the GPU", decode_gpu[1:] or decode_gpu))
        print(figures("decode, frames copied to host memory", decode_host[1:] or decode_host))
        print(figures("upload through CUDA-GL interop (device to device)", gpu_ms[1:] or gpu_ms))
        print(figures("upload from host memory (glTexSubImage2D)", host_ms[1:] or host_ms))
        ratio = statistics.median(gpu_ms[1:] or gpu_ms) / statistics.median(host_ms[1:] or host_ms)
        print(f"interop / host upload time: {ratio:.2f}")
    finally:
        on_gpu.release()
        on_host.release()
        ctx.close()
    if mismatches or not checked:
        print(f"FAIL: {mismatches} of {checked} frames differ")
        return 1
    print(f"PASS: {checked} frames through CUDA-GL interop match the host path byte for byte")
    return 0


if __name__ == "__main__":
    sys.exit(main())
