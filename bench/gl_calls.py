"""What a GL state call costs the render thread when another Python thread wants the interpreter lock.

The renderer makes about 20 GL state calls per eye and display frame. Through PyOpenGL (the reference, in the
same run) each one releases the GIL around the C call; with another thread of the player running Python
(the decoder's glue, the session thread, the audio output), the lock is handed over at each release and the
render thread waits to take it back. The player's held calls (player/render/gl_held.py) keep it. Printed: the
render thread's CPU and wall time per call, alone and beside one busy Python thread, and the ratios
held / PyOpenGL.

usage: python bench/gl_calls.py [--calls N]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def per_call(fn, calls: int) -> tuple[float, float]:
    """(thread CPU µs, wall µs) per call of ``fn(0, 0, 64, 64)``."""
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(calls):
        fn(0, 0, 64, 64)
    return (time.thread_time() - cpu) / calls * 1e6, (time.perf_counter() - wall) / calls * 1e6


def busy(stop: threading.Event) -> None:
    """Pure Python work, as a decoder's or session's glue between its C calls."""
    while not stop.is_set():
        sum(range(200))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=20000)
    args = ap.parse_args()
    from player.render.egl import EGLContext

    ctx = EGLContext()
    ctx.make_current()
    from player.render.gl import GL
    from player.render.gl_held import held_gl

    rows = {"PyOpenGL glViewport (reference)": GL.glViewport, "held glViewport": held_gl().glViewport}
    print(f"{'':34s} {'beside':>16s} {'cpu µs':>8s} {'wall µs':>9s}")
    results: dict[tuple[str, str], tuple[float, float]] = {}
    for beside in ("nothing", "a busy thread"):
        stop = threading.Event()
        other = threading.Thread(target=busy, args=(stop,), daemon=True) if beside != "nothing" else None
        if other is not None:
            other.start()
        try:
            for name, fn in rows.items():
                calls = args.calls if beside == "nothing" else max(200, args.calls // 50)
                results[name, beside] = per_call(fn, calls)
                cpu, wall = results[name, beside]
                print(f"{name:34s} {beside:>16s} {cpu:8.2f} {wall:9.2f}")
        finally:
            stop.set()
            if other is not None:
                other.join()
    for beside in ("nothing", "a busy thread"):
        ref_cpu, ref_wall = results["PyOpenGL glViewport (reference)", beside]
        cpu, wall = results["held glViewport", beside]
        print(f"held / PyOpenGL beside {beside}: cpu {cpu / ref_cpu:.2f}x, wall {wall / ref_wall:.3f}x")
    ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
