"""Benchmark: peak memory (RSS) playing an 8K (7680x3840) HEVC film, against the frame-queue bound + 300 MiB.

The decoder first fills the queue (not playing), then the film plays through at 1x with a 60 Hz display loop.
Prints the process's peak RSS, the RSS before opening the film, the queue's own peak, and the bound.
Run: .venv/bin/python bench/memory.py [--queue-mib 512] [--seconds 2]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from decode import make_clip  # noqa: E402

from player.media.engine import MediaEngine  # noqa: E402
from player.media.transport import TransportState  # noqa: E402

MIB = 1 << 20


def current_rss() -> int | None:
    """Resident set size in bytes now (Linux /proc; psutil elsewhere when installed)."""
    try:
        with open("/proc/self/statm") as f:
            import os

            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        pass
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        return None


class PeakSampler(threading.Thread):
    """Samples the RSS every 5 ms (the kernel's ru_maxrss is also read at the end where there is one)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            rss = current_rss()
            if rss:
                self.peak = max(self.peak, rss)
            self._halt.wait(0.005)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        try:
            import resource

            self.peak = max(self.peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        except ImportError:
            pass
        return self.peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queue-mib", type=int, default=512)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    path = make_clip("hevc", 7680, 3840, args.seconds)
    import av  # noqa: F401  (loaded before the baseline, as in the player)
    import numpy  # noqa: F401

    baseline = current_rss() or 0
    sampler = PeakSampler()
    sampler.start()
    engine = MediaEngine(path, hwdec="auto", audio="none", queue_bytes=args.queue_mib * MIB)
    info = engine.open()
    t = time.monotonic()
    last, still_since = -1, time.monotonic()
    while time.monotonic() - t < 30:  # let the decoder fill the queue until it waits on back-pressure
        s = engine.stats()
        if s["queue_bytes"] != last:
            last, still_since = s["queue_bytes"], time.monotonic()
        elif time.monotonic() - still_since > 1.0:
            break
        time.sleep(0.05)
    filled = engine.stats()["queue_bytes"]
    engine.play()
    deadline = time.monotonic() + 600
    while engine.state not in (TransportState.ENDED, TransportState.ERROR) and time.monotonic() < deadline:
        engine.frame_for(time.monotonic() + 0.016)
        time.sleep(1 / 60)
    stats = engine.stats()
    engine.close()
    peak = sampler.stop()
    bound = args.queue_mib * MIB + 300 * MIB
    print(f"film: {path.name} {info.width}x{info.height} {info.pix_fmt} hwdec={info.hwdec}")
    print(
        f"frame budget (queue_bytes) {args.queue_mib} MiB: estimated decoder-held pictures "
        f"{stats['decoder_reserve_bytes'] / MIB:.0f} MiB, "
        f"queue limit {stats['queue_limit_bytes'] / MIB:.0f} MiB "
        f"(at least 2 frames); "
        f"queue filled to {filled / MIB:.0f} MiB before play, "
        f"queue peak {stats['queue_peak_bytes'] / MIB:.0f} MiB; frames decoded {stats['decoded']}, "
        f"presented {stats['presented']}, skipped {stats['skipped']}"
    )
    print(
        f"RSS before open {baseline / MIB:.0f} MiB; peak RSS {peak / MIB:.0f} MiB; "
        f"bound (queue + 300 MiB) {bound / MIB:.0f} MiB; peak/bound {peak / bound:.2f} "
        f"({'within' if peak <= bound else 'OVER'} the bound)"
    )


if __name__ == "__main__":
    main()
