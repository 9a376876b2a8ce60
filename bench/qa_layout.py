"""Benchmark: what `qa`'s layout checks (5 sampled pictures, metadata, halves and seam) cost per film, as a
ratio to decoding the whole film once (what qa's play and `check --verify-media` already do).

Encodes a 4K top-bottom test film (3840x3840, H.264, FRAMES frames) in a temporary folder, then times, in the
same run: the layout checks (probe + sample_pictures + picture_findings) and a plain PyAV decode of every
frame. Prints CPU and wall seconds and the ratio. Takes about a minute on 2 cores.
Run: .venv/bin/python bench/qa_layout.py [--frames N] [--size PX]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from content_manifest.layout import metadata_findings, picture_findings, sample_pictures
from content_manifest.model import Film
from content_manifest.probe import probe
from tests.qa_films import encode, picture


def timed(fn) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def decode_all(path: Path) -> int:
    n = 0
    with av.open(str(path)) as c:
        c.streams.video[0].thread_type = "AUTO"
        for _ in c.decode(video=0):
            n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--size", type=int, default=3840, help="eye width in pixels (the picture is square)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tb.mp4"
        eye = picture("equirect360", "top-bottom", 256)
        big = av.VideoFrame.from_ndarray(eye, format="rgb24").reformat(width=args.size, height=args.size)
        frame = big.to_ndarray()
        encode(path, lambda i: frame, frames=args.frames)
        film = Film(id="tb", title="tb", folder=Path(tmp), file="tb.mp4", sha256="0" * 64,
                    projection="equirect360", stereo="top-bottom")  # fmt: skip

        def layout():
            info = probe(path)
            return metadata_findings(film, info.spherical) + picture_findings(film, sample_pictures(path))

        lw, lc, findings = timed(layout)
        dw, dc, count = timed(lambda: decode_all(path))
    print(f"film: {args.size}x{args.size} top-bottom, {count} frames")
    print(f"layout checks : wall {lw:7.3f} s  cpu {lc:7.3f} s  findings: {len(findings)}")
    print(f"decode all    : wall {dw:7.3f} s  cpu {dc:7.3f} s")
    print(f"ratio layout/decode: wall {lw / dw:.3f}  cpu {lc / dc:.3f}")


if __name__ == "__main__":
    main()
