"""CPU time the player spends per OpenXR display frame, under Monado (simulated headset) in the xr root.

From xrWaitFrame returning to xrEndFrame returning, this thread's CPU time only (GPU and compositor waits
excluded), p50 and p99, for the projection layer (our renderer draws both eyes every display frame) and the
equirect layer (the compositor samples the film; we convert once per video frame). The reference, measured in
the same run, is the least a Python client can do per frame (scripts/xr/bare_loop.py: clear both eyes,
submit one projection layer). Goal for the projection layer (the only path on SteamVR and Virtual Desktop):
p50 <= 1.2x and p99 <= 1.5x the bare loop's.

Two more figures say where the rest goes. "bare loop drawing a picture" (scripts/xr/bare_loop.py --draw)
draws a full-viewport triangle showing a small texture into each eye instead of clearing it: on a software
rasteriser (llvmpipe) setting up any full-eye textured draw is CPU on this thread, a cost a GPU takes off
it. "whole loop" runs to the next wait_frame call, so work the player does after submitting a frame (input
sync, uploading the next picture) is counted too.

The rows are run in turn, --rounds times, and each row's frames are pooled: the machine's slow spells (a
shared VM's stolen time moves the reference by 20 % between runs) then weigh on every row alike. The last line
gives each round's projection/reference p50 ratio, to show the spread.

usage: python bench/xr_frame.py [--frames N] [--rounds R] [--compositor null|xcb]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
XR_ROOT = REPO / "scripts" / "xr-root.sh"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def in_root(args: list[str], share: Path, compositor: str) -> subprocess.CompletedProcess:
    cmd = ["sh", str(XR_ROOT), "run", "--compositor", compositor, "--share", str(share), "--", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300, help="display frames per run")
    ap.add_argument("--rounds", type=int, default=3, help="runs of every row, interleaved")
    ap.add_argument("--compositor", choices=("null", "xcb"), default="null")
    args = ap.parse_args()
    check = subprocess.run(["sh", str(XR_ROOT), "check"], capture_output=True, text=True)
    if check.returncode != 0:
        print(f"xr_frame: skipped: {check.stdout.strip()}")
        return 0
    subprocess.run(["sh", str(XR_ROOT), "build"], check=True, capture_output=True)
    from content_manifest.sample import write_sample_library

    with tempfile.TemporaryDirectory(prefix="vp-xrbench-") as tmp:
        work = Path(tmp)
        manifest = write_sample_library(work / "lib")
        samples: dict[str, list[float]] = {}  # row -> CPU ms per frame, pooled over the rounds
        round_ratios: list[float] = []  # each round's projection p50 / reference p50
        for _ in range(args.rounds):  # interleaved, so a slow spell of the machine weighs on every row alike
            got = one_round(args, work, manifest)
            if got is None:
                return 1
            for name, values in got.items():
                samples.setdefault(name, []).extend(values)
            round_ratios.append(pct(got[PROJECTION], 0.5) / pct(got[REF], 0.5))
        rows = [(name, samples[name]) for name in SUBMIT_ROWS]
        loops = [(name, samples["loop:" + name]) for name in LOOP_ROWS]
        print(
            f"Monado {args.compositor} compositor, {args.rounds} rounds of {args.frames} frames per row, "
            "interleaved; CPU ms per display frame"
        )
        table("submit path: wait_frame return -> end_frame return (the goal's figure)", rows)
        table("whole loop: wait_frame return -> next wait_frame call", loops)
        spread = ", ".join(f"{r:.2f}" for r in round_ratios)
        print(f"projection p50 / reference p50 in each round: {spread}")
    return 0


REF, DRAW = "reference (bare pyopenxr loop)", "  bare loop drawing a picture"
PROJECTION = "player, projection layer"
SUBMIT_ROWS = (
    REF,
    DRAW,
    PROJECTION,
    "  of which OpenXR backend (projection)",
    "player, equirect2 layer",
    "  of which OpenXR backend (equirect2)",
)
LOOP_ROWS = (REF, DRAW, PROJECTION, "player, equirect2 layer")


def one_round(args: argparse.Namespace, work: Path, manifest: Path) -> dict[str, list[float]] | None:
    """Each row's CPU ms per frame from one run of the bare loops and the player (the first 5 frames
    dropped); None, with the reason printed, when a run failed."""
    out: dict[str, list[float]] = {}
    for flag, name in (("", REF), ("--draw", DRAW)):
        bare = in_root(
            ["python", "scripts/xr/bare_loop.py", str(args.frames), *([flag] if flag else [])],
            work,
            args.compositor,
        )
        if bare.returncode != 0:
            print(bare.stdout[-2000:], bare.stderr[-2000:], file=sys.stderr)
            return None
        data = json.loads(bare.stdout.strip().splitlines()[-1])
        out[name], out["loop:" + name] = data["cpu_ms"][5:], data["loop_cpu_ms"][5:]
    for layer in ("projection", "equirect2"):
        report = work / f"{layer}.json"
        report.unlink(missing_ok=True)
        proc = in_root(
            [
                "python",
                "scripts/xr/xr_session.py",
                "--library",
                str(manifest),
                "--report",
                str(report),
                "--layer",
                layer,
                "--graphics",
                "egl",
                "--frames",
                str(args.frames),
            ],
            work,
            args.compositor,
        )
        data = json.loads(report.read_text()) if report.exists() else {}
        if not data.get("ok"):
            print(proc.stderr[-2000:], data.get("traceback", ""), file=sys.stderr)
            return None
        name = f"player, {layer} layer"
        out[name], out["loop:" + name] = data["cpu_ms"][5:], data["loop_cpu_ms"][5:]
        out[f"  of which OpenXR backend ({layer})"] = data["backend_cpu_ms"][5:]
    return out


def table(title: str, rows: list[tuple[str, list[float]]]) -> None:
    """Rows of p50/p99/mean with their ratios to the first row (the reference) and the goal's verdict."""
    ref50, ref99 = pct(rows[0][1], 0.5), pct(rows[0][1], 0.99)
    print(title)
    print(f"{'':36s} {'p50':>7s} {'p99':>7s} {'mean':>7s} {'p50/ref':>8s} {'p99/ref':>8s} goal")
    for name, values in rows:
        p50, p99 = pct(values, 0.5), pct(values, 0.99)
        goal = "ok" if p50 <= 1.2 * ref50 and p99 <= 1.5 * ref99 else "over (1.2x p50, 1.5x p99)"
        print(
            f"{name:36s} {p50:7.3f} {p99:7.3f} {statistics.fmean(values):7.3f} "
            f"{p50 / ref50:8.2f} {p99 / ref99:8.2f} {goal}"
        )


if __name__ == "__main__":
    sys.exit(main())
