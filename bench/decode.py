"""Benchmark: the media engine's sustained decode rate against `ffmpeg -threads 0 -f null` on 4K films.

Makes (once, cached in ~/.cache/viewpoint-bench or $VIEWPOINT_BENCH_CACHE) 3840x1920 H.264 and HEVC clips,
then for each prints the engine's frames/s (video decode thread -> YUV planes -> frame queue, drained by a
display loop in fast mode), ffmpeg's frames/s, and their ratio. Goal: ratio >= 0.95 for both.
Run: .venv/bin/python bench/decode.py [--repeat N] [--seconds S] [--width W --height H] [--hwdec H]
On an NVIDIA machine, the issue-16 figure: --width 7680 --height 3840 --fps 60 --hwdec cuda (frames kept on
the GPU; the gpu extra) and again with none; without a CUDA device --hwdec cuda says "skipped: ..." (exit 0).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from player.media.engine import MediaEngine  # noqa: E402
from player.media.hwframes import gpu_support, skip_line  # noqa: E402
from player.media.transport import TransportState  # noqa: E402

CODECS = {"h264": "libx264", "hevc": "libx265"}


def cache_dir() -> Path:
    d = Path(os.environ.get("VIEWPOINT_BENCH_CACHE", Path.home() / ".cache" / "viewpoint-bench"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def make_clip(
    codec: str, width: int, height: int, seconds: float, fps: int = 30, pix_fmt: str = "yuv420p"
) -> Path:
    """An equirect-sized test film (ffmpeg testsrc2, ultrafast), made once and cached."""
    depth = "" if pix_fmt == "yuv420p" else f"-{pix_fmt}"
    path = cache_dir() / f"{codec}-{width}x{height}-{seconds:g}s-{fps}{depth}.mp4"
    if path.is_file() and path.stat().st_size > 0:
        return path
    if shutil.which("ffmpeg") is None:
        sys.exit("bench: ffmpeg is needed to make the benchmark films")
    tmp = path.with_suffix(".tmp.mp4")
    extra = ["-x265-params", "log-level=error"] if codec == "hevc" else []
    cmd = [
        "ffmpeg", "-v", "error", "-y", "-f", "lavfi",
        "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}",
        "-c:v", CODECS[codec], "-preset", "ultrafast", "-pix_fmt", pix_fmt, *extra,
        "-g", str(fps), "-tag:v", "hvc1" if codec == "hevc" else "avc1", str(tmp),
    ]  # fmt: skip
    print(f"making {path.name} (once) ...", flush=True)
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    tmp.replace(path)
    print(f"  {time.perf_counter() - t:.0f} s", flush=True)
    return path


@dataclass
class Run:
    frames: int
    wall: float  # seconds
    cpu: float  # CPU seconds, all threads

    @property
    def fps(self) -> float:
        return self.frames / self.wall

    @property
    def fps_per_cpu(self) -> float:
        return self.frames / self.cpu


def ffmpeg_run(path: Path) -> Run:
    """`ffmpeg -threads 0 -i FILE -f null -` (wall clock with process start; CPU of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN) if resource else None
    t = time.perf_counter()
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-threads", "0", "-i", str(path), "-an", "-f", "null", "-"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - t
    cpu = float("nan")
    if resource and before:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    frames = 0
    for line in out.stderr.splitlines():
        if line.startswith("frame="):
            frames = int(line.split("=")[1].split()[0])
    return Run(frames or count_frames(path), wall, cpu)


def pyav_run(path: Path) -> Run:
    """A bare PyAV decode loop (the engine's FFmpeg build, thread_type AUTO, no queue, no threads of ours)."""
    import av

    t, c0 = time.perf_counter(), time.process_time()
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        frames = sum(1 for _ in c.decode(stream))
    return Run(frames, time.perf_counter() - t, time.process_time() - c0)


def count_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(c.streams.video[0]) if p.size)


def engine_run(path: Path, hwdec: str = "none") -> Run:
    """The engine from open() until the video stream's end: decode thread -> YUV planes -> frame queue,
    drained by a display loop in fast mode (8x), so the decoder never waits on back-pressure."""
    t, c0 = time.perf_counter(), time.process_time()
    engine = MediaEngine(path, hwdec=hwdec, audio="none")
    engine.open()
    engine.set_fast(8)
    engine.play()
    deadline = time.monotonic() + 600
    while engine.state not in (TransportState.ENDED, TransportState.ERROR) and time.monotonic() < deadline:
        engine.frame_for(time.monotonic())
        time.sleep(0.002)
    wall, cpu = time.perf_counter() - t, time.process_time() - c0
    decoded = engine.stats()["decoded"]
    state = engine.state
    engine.close()
    if state != TransportState.ENDED:
        sys.exit(f"bench: engine ended in state {state.value}")
    return Run(decoded, wall, cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs of each; the best is kept")
    ap.add_argument("--seconds", type=float, default=6.0, help="clip length (default 6)")
    ap.add_argument("--width", type=int, default=3840)
    ap.add_argument("--height", type=int, default=1920)
    hwdec = ("none", "cuda", "d3d11va", "auto")
    ap.add_argument("--hwdec", choices=hwdec, default="none", help="the engine's decoder")
    ap.add_argument("--fps", type=int, default=30, help="clip frame rate (the issue-16 figure: 60)")
    args = ap.parse_args()
    if args.hwdec == "cuda":  # the GPU path (frames kept on the GPU) needs an NVIDIA GPU and the gpu extra
        support = gpu_support()
        if not support.ok:
            print(skip_line(support))
            return
        print(f"GPU path: {support.why}")
    print(f"cpu cores: {os.cpu_count()}; load average before: {_load()}")
    ratios = {}
    for codec in CODECS:
        path = make_clip(codec, args.width, args.height, args.seconds, args.fps)
        runs: dict[str, list[Run]] = {"engine": [], "ffmpeg": [], "pyav": []}
        for _ in range(args.repeat):  # interleaved, so all see the same machine load
            runs["ffmpeg"].append(ffmpeg_run(path))
            runs["engine"].append(engine_run(path, args.hwdec))
            runs["pyav"].append(pyav_run(path))
        best = {k: max(v, key=lambda r: r.fps) for k, v in runs.items()}
        eff = {k: max(r.fps_per_cpu for r in v) for k, v in runs.items()}
        ratio = best["engine"].fps / best["ffmpeg"].fps
        ratios[codec] = ratio
        print(
            f"{codec} {args.width}x{args.height}, {best['engine'].frames} frames, best of {args.repeat}, "
            f"engine hwdec {args.hwdec}:\n"
            f"  engine {best['engine'].fps:.1f} fps, ffmpeg -threads 0 -f null {best['ffmpeg'].fps:.1f} fps: "
            f"ratio {ratio:.2f} ({'meets' if ratio >= 0.95 else 'below'} the 0.95 goal)\n"
            f"  bare PyAV loop {best['pyav'].fps:.1f} fps "
            f"(engine/PyAV {best['engine'].fps / best['pyav'].fps:.2f})\n"
            f"  frames per CPU-second (less sensitive to a shared machine): engine {eff['engine']:.1f}, "
            f"ffmpeg {eff['ffmpeg']:.1f}, PyAV {eff['pyav']:.1f} "
            f"(engine/ffmpeg {eff['engine'] / eff['ffmpeg']:.2f})"
        )
    print("ratios:", ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()), f"; load average after: {_load()}")


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except (AttributeError, OSError):
        return "n/a"


if __name__ == "__main__":
    main()
