"""Benchmark: the media engine's sustained decode rate against `ffmpeg -threads 0 -f null` on 4K films.

Makes (once, cached in ~/.cache/viewpoint-bench or $VIEWPOINT_BENCH_CACHE) 3840x1920 H.264 and HEVC clips,
then for each prints the engine's frames/s (video decode thread -> YUV planes -> frame queue, drained by a
display loop in fast mode), ffmpeg's frames/s, and their ratio. Goal: ratio >= 0.95 for both.
Run: .venv/bin/python bench/decode.py [--repeat N] [--seconds S]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from player.media.engine import MediaEngine  # noqa: E402
from player.media.transport import TransportState  # noqa: E402

CODECS = {"h264": "libx264", "hevc": "libx265"}


def cache_dir() -> Path:
    d = Path(os.environ.get("VIEWPOINT_BENCH_CACHE", Path.home() / ".cache" / "viewpoint-bench"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def make_clip(codec: str, width: int, height: int, seconds: float, fps: int = 30) -> Path:
    """An equirect-sized test film (ffmpeg testsrc2, ultrafast), made once and cached."""
    path = cache_dir() / f"{codec}-{width}x{height}-{seconds:g}s-{fps}.mp4"
    if path.is_file() and path.stat().st_size > 0:
        return path
    if shutil.which("ffmpeg") is None:
        sys.exit("bench: ffmpeg is needed to make the benchmark films")
    tmp = path.with_suffix(".tmp.mp4")
    extra = ["-x265-params", "log-level=error"] if codec == "hevc" else []
    cmd = [
        "ffmpeg", "-v", "error", "-y", "-f", "lavfi",
        "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}",
        "-c:v", CODECS[codec], "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra,
        "-g", str(fps), "-tag:v", "hvc1" if codec == "hevc" else "avc1", str(tmp),
    ]  # fmt: skip
    print(f"making {path.name} (once) ...", flush=True)
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    tmp.replace(path)
    print(f"  {time.perf_counter() - t:.0f} s", flush=True)
    return path


def ffmpeg_fps(path: Path) -> tuple[float, int]:
    """Frames/s of `ffmpeg -threads 0 -i FILE -f null -` (wall clock, process start included)."""
    t = time.perf_counter()
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-threads", "0", "-i", str(path), "-an", "-f", "null", "-"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - t
    frames = 0
    for line in out.stderr.splitlines():
        if line.startswith("frame="):
            frames = int(line.split("=")[1].split()[0])
    if not frames:
        frames = count_frames(path)
    return frames / wall, frames


def pyav_fps(path: Path) -> tuple[float, int]:
    """Frames/s of a bare PyAV decode loop (same FFmpeg build as the engine, thread_type AUTO, no queue)."""
    import av

    t = time.perf_counter()
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        frames = sum(1 for _ in c.decode(stream))
    return frames / (time.perf_counter() - t), frames


def count_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(c.streams.video[0]) if p.size)


def engine_fps(path: Path, hwdec: str = "none") -> tuple[float, int]:
    """Frames/s the engine decodes into its frame queue, from open() until the video stream's end.

    Fast mode (8x) with a display loop draining the queue, so the decoder never waits on back-pressure.
    """
    t = time.perf_counter()
    engine = MediaEngine(path, hwdec=hwdec, audio="none")
    engine.open()
    engine.set_fast(8)
    engine.play()
    deadline = time.monotonic() + 600
    while engine.state not in (TransportState.ENDED, TransportState.ERROR) and time.monotonic() < deadline:
        engine.frame_for(time.monotonic())
        time.sleep(0.001)
    wall = time.perf_counter() - t
    decoded = engine.stats()["decoded"]
    state = engine.state
    engine.close()
    if state != TransportState.ENDED:
        sys.exit(f"bench: engine ended in state {state.value}")
    return decoded / wall, decoded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2, help="runs of each; the best is kept (default 2)")
    ap.add_argument("--seconds", type=float, default=3.0, help="clip length (default 3)")
    ap.add_argument("--width", type=int, default=3840)
    ap.add_argument("--height", type=int, default=1920)
    args = ap.parse_args()
    print(f"cpu cores: {os.cpu_count()}")
    ratios = {}
    for codec in CODECS:
        path = make_clip(codec, args.width, args.height, args.seconds)
        best_engine = best_ffmpeg = best_pyav = 0.0
        for _ in range(args.repeat):  # interleaved, so all see the same machine load
            fps_f, frames_f = ffmpeg_fps(path)
            fps_e, frames_e = engine_fps(path)
            fps_p, _ = pyav_fps(path)
            best_ffmpeg, best_engine = max(best_ffmpeg, fps_f), max(best_engine, fps_e)
            best_pyav = max(best_pyav, fps_p)
        ratio = best_engine / best_ffmpeg
        ratios[codec] = ratio
        print(
            f"{codec} {args.width}x{args.height}: engine {best_engine:.1f} fps ({frames_e} frames), "
            f"ffmpeg -threads 0 -f null {best_ffmpeg:.1f} fps ({frames_f} frames), ratio {ratio:.2f} "
            f"({'ok' if ratio >= 0.95 else 'below'} the 0.95 goal); "
            f"bare PyAV loop {best_pyav:.1f} fps (engine/PyAV {best_engine / best_pyav:.2f})"
        )
    print("ratios:", ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
