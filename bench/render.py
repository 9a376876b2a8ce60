"""Renderer benchmark: upload time of one 4K (3840x1920) yuv420p frame against a plain memcpy of the same
bytes (ratio, measured in the same run), and frames/s at the QA eye size for two eyes.

With an NVIDIA GPU (EGL device platform) add ``--eye-size 2064x2208 --film-size 7680x3840 --pix-fmt
yuv420p10le`` to measure headset-size eyes on an 8K 10-bit picture (what an 8K HEVC decoder hands over), and
``--hwdec cuda`` to upload NVDEC's frames kept on the GPU through CUDA-GL interop (the gpu extra); without a
CUDA device ``--hwdec cuda`` says "skipped: ..." and exits 0.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av
import numpy as np

from player.render.glplatform import ensure_platform

ensure_platform()

from OpenGL import GL  # noqa: E402

from bench.picture_pass import picture_program  # noqa: E402
from player.backends.base import EyeView  # noqa: E402
from player.media.frames import VideoFrame  # noqa: E402
from player.media.hwframes import DeviceFrame, gpu_support, skip_line, wrap_frame  # noqa: E402
from player.render import Renderer  # noqa: E402
from player.render.egl import EGLContext  # noqa: E402
from player.render.projection import head_orientation, symmetric_fov  # noqa: E402
from player.render.targets import OffscreenTarget  # noqa: E402


def make_frame(width: int, height: int, pix_fmt: str = "yuv420p") -> tuple[VideoFrame, av.VideoFrame]:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
    return VideoFrame.from_av(frame, pts=0.0, index=0), frame


def nvdec_frames(width: int, height: int, pix_fmt: str) -> tuple[VideoFrame, DeviceFrame, list]:
    """The first picture of an HEVC film of this size (bench/decode.py's maker) decoded by NVDEC twice:
    copied back to host memory, and kept on the GPU."""
    from bench.decode import make_clip
    from scripts.gpu_check import decoded

    ten_bit = pix_fmt in ("yuv420p10le", "p010le")
    path = make_clip("hevc", width, height, 1.0, 30, "yuv420p10le" if ten_bit else "yuv420p")
    copied, kept = next(decoded(path, False)), next(decoded(path, True))
    device = wrap_frame(kept, pts=0.0, index=0)
    if not isinstance(device, DeviceFrame):
        sys.exit(f"bench: NVDEC's frame came to host memory ({kept.format.name})")
    return VideoFrame.from_av(copied, pts=0.0, index=0), device, [copied, kept]


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def reference_fps(targets: list[OffscreenTarget], frame: VideoFrame, seconds: float) -> float:
    """Frames/s of the cheapest possible pass into the same targets: one luma fetch per pixel."""
    program = picture_program()
    texture = int(GL.glGenTextures(1))
    GL.glBindTexture(GL.GL_TEXTURE_2D, texture)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
    GL.glPixelStorei(GL.GL_UNPACK_ROW_LENGTH, frame.line_sizes[0])
    GL.glTexImage2D(
        GL.GL_TEXTURE_2D, 0, GL.GL_R8, frame.width, frame.height, 0, GL.GL_RED, GL.GL_UNSIGNED_BYTE,
        ctypes.c_void_p(frame.planes[0].ctypes.data),
    )  # fmt: skip
    GL.glPixelStorei(GL.GL_UNPACK_ROW_LENGTH, 0)
    vao = int(GL.glGenVertexArrays(1))
    GL.glBindVertexArray(vao)
    GL.glUseProgram(program)
    frames, start = -1, 0.0
    while frames < 0 or time.perf_counter() - start < seconds:
        for target in targets:
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target.framebuffer)
            GL.glViewport(0, 0, target.width, target.height)
            GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        GL.glFinish()
        if frames < 0:
            start = time.perf_counter()  # the first pass compiled the shader
        frames += 1
    fps = frames / (time.perf_counter() - start)
    GL.glDeleteTextures([texture])
    GL.glDeleteVertexArrays(1, [vao])
    GL.glDeleteProgram(program)
    return fps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--eye-size", default="916x960", help="eye size WxH for the frames/s figure")
    parser.add_argument("--film-size", default="3840x1920", help="picture size WxH (4K equirect by default)")
    parser.add_argument("--pix-fmt", default="yuv420p", choices=("yuv420p", "yuv420p10le", "nv12", "p010le"))
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--hwdec", choices=("none", "cuda"), default="none",
        help="cuda: also upload NVDEC frames kept on the GPU through CUDA-GL interop (an HEVC film of the "
        "film size; NVIDIA GPU and the gpu extra), and draw from them",
    )  # fmt: skip
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to draw for frames/s")
    args = parser.parse_args()
    ew, eh = (int(v) for v in args.eye_size.lower().split("x"))
    if args.hwdec == "cuda":
        support = gpu_support()
        if not support.ok:
            print(skip_line(support))
            return 0
        print(f"GPU path: {support.why}")

    ctx = EGLContext(prefer="device" if args.hwdec == "cuda" else "auto")
    gl_name = (GL.glGetString(GL.GL_RENDERER) or b"").decode()
    print(f"GL renderer: {gl_name} (EGL {ctx.platform})")
    fw, fh = (int(v) for v in args.film_size.lower().split("x"))
    frame, _keep = make_frame(fw, fh, args.pix_fmt)
    device_frame = None
    if args.hwdec == "cuda":  # NVDEC's picture, in host memory (copied back) and kept on the GPU
        frame, device_frame, _keep = nvdec_frames(fw, fh, args.pix_fmt)
    label = f"{fw}x{fh} {frame.pix_fmt}"
    nbytes = sum(ls * p.shape[0] for ls, p in zip(frame.line_sizes, frame.planes))
    dst = np.empty(nbytes, dtype=np.uint8)

    def memcpy() -> None:
        offset = 0
        for plane in frame.planes:
            ctypes.memmove(dst.ctypes.data + offset, plane.ctypes.data, plane.nbytes)
            offset += plane.nbytes

    memcpy_ms = median_ms(memcpy, args.repeat)
    print(f"{label} frame: {nbytes / 2**20:.1f} MiB; memcpy {memcpy_ms:.3f} ms (median of {args.repeat})")
    for mode in ("direct", "pbo"):
        renderer = Renderer("equirect360", "mono", 0.0, upload_mode=mode)

        def upload(renderer: Renderer = renderer) -> None:
            renderer.upload(frame)
            GL.glFinish()

        upload()  # allocate textures
        ms = median_ms(upload, args.repeat)
        print(f"upload ({mode:6}): {ms:.3f} ms per frame = {ms / memcpy_ms:.2f}x memcpy")
        renderer.close()
    if device_frame is not None:
        renderer = Renderer("equirect360", "mono", 0.0)

        def interop(renderer: Renderer = renderer) -> None:
            renderer.upload(device_frame)
            GL.glFinish()

        interop()  # allocate and register the textures
        ms = median_ms(interop, args.repeat)
        print(f"upload (CUDA-GL interop, on the GPU): {ms:.3f} ms per frame = {ms / memcpy_ms:.2f}x memcpy")
        renderer.close()

    renderer = Renderer("equirect360", "mono", 0.0)
    renderer.upload(device_frame if device_frame is not None else frame)
    targets = [OffscreenTarget(ew, eh), OffscreenTarget(ew, eh)]
    fov = symmetric_fov(100.0, ew, eh)
    for eye, target in enumerate(targets):  # warm up: the driver compiles the shaders on first use
        renderer.draw_eye(eye, EyeView(head_orientation(0.0, 0.0), fov), target.target)
    GL.glFinish()
    frames, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        view = EyeView(head_orientation(frames * 3.0, 10.0), fov)
        for eye, target in enumerate(targets):
            renderer.draw_eye(eye, view, target.target)
        GL.glFinish()
        frames += 1
    elapsed = time.perf_counter() - start
    print(
        f"draw two {ew}x{eh} eyes from the {label} picture: {frames / elapsed:.1f} frames/s "
        f"({elapsed / frames * 1000:.1f} ms per frame)"
    )
    reference = reference_fps(targets, frame, args.seconds)
    print(
        f"reference (one texture fetch per pixel, same targets): {reference:.1f} frames/s; "
        f"the renderer runs at {frames / elapsed / reference:.2f}x of it"
    )
    for t in targets:
        t.delete()
    renderer.close()
    ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
