"""Session protocol benchmark, CURVE on, loopback.

Prints:
* command round-trip latency p50/p99 (goal: p99 < 5 ms) against a real headless player process, for a
  heartbeat, a read (``status``), playback commands (``pause``/``play``) and ``annotate`` (for the last
  two the events are committed to the SQLite log and published before the reply), with the log's default
  ``synchronous=FULL`` (fsync per commit) and with ``NORMAL`` (crash-safe, not power-loss-safe);
* durable events/s: events emitted into a SessionServer, committed (group commit, synchronous=FULL) and
  published, counted when a CURVE subscriber has them;
* that figure as a ratio of raw SQLite inserts/s measured in the same run on the same disk with the same
  rows and pragmas: one transaction per insert (the naive durable way) and all in one transaction (the bound).

Usage: .venv/bin/python bench/events.py [--n-rtt 1000] [--n-events 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from content_manifest import load_library  # noqa: E402
from content_manifest.sample import write_sample_library  # noqa: E402
from facilitator.client import FacilitatorHome, PlayerClient  # noqa: E402
from player.control import Controller  # noqa: E402
from player.protocol.keys import load_or_create_identity, write_public_cert  # noqa: E402
from player.session.log import connect  # noqa: E402
from player.session.server import SessionServer  # noqa: E402
from tests.session_support import Player  # noqa: E402


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def rtt(manifest: Path, work: Path, n: int, sync: str) -> dict[str, list[float]]:
    home = FacilitatorHome(work / f"fac-{sync}", name="bench")
    home.identity()
    os.environ["VIEWPOINT_LOG_SYNC"] = sync  # read by the player's session server
    p = Player(manifest, work / f"player-{sync}", "bench")
    p.authorize(home)
    p.start()
    out: dict[str, list[float]] = {"ping": [], "status": [], "pause/play": [], "annotate": []}
    try:
        c = p.client(home, timeout=2.0)
        c.hello()
        c.request("session.start", {"participant": "P-7303", "consent": {"given": True}})  # play needs one
        for _ in range(50):  # warm up
            c.request("status")
        for i in range(n):
            for key, cmd, args in (
                ("ping", "ping", {}),
                ("status", "status", {}),
                ("pause/play", "pause" if i % 2 == 0 else "play", {}),
                ("annotate", "annotate", {"text": f"bench {i}"}),
            ):
                t = time.perf_counter()
                c.request(cmd, args)
                out[key].append((time.perf_counter() - t) * 1000)
        c.close()
    finally:
        p.stop()
        os.environ.pop("VIEWPOINT_LOG_SYNC", None)
    return out


WHAT = {
    "ping": "heartbeat, session thread only",
    "status": "read, answered by the controller",
    "pause/play": "controller + command and transport events committed, then reply",
    "annotate": "event committed and published, then reply",
}


def durable_throughput(manifest: Path, work: Path, n: int) -> float:
    lib = load_library(manifest)
    controller = Controller(lib)
    keys = work / "tkeys"
    home = FacilitatorHome(work / "tfac", name="bench")
    ident = home.identity()
    write_public_cert(keys / "authorized" / "bench.key", ident.public, {"role": "lead"})
    server = SessionServer(
        controller,
        "tcp://127.0.0.1:0",
        keys,
        work / "throughput.sqlite",
        "bench",
        announce=False,
        pairing=False,
    )
    controller.set_sink(server.emit)
    server.start()
    got = threading.Event()
    count = [0]

    def on_event(ev: dict) -> None:
        if ev["type"] == "bench.tick":
            count[0] += 1
            if count[0] >= n:
                got.set()

    client = PlayerClient(
        server.endpoint, load_or_create_identity(keys, "player").public, ident, name="bench"
    )
    client.subscribe(on_event, since="now")
    data = {"k": "transport-like payload", "media_t": 12.5, "reason": None}
    t0 = time.perf_counter()
    for _ in range(n):
        controller.emit("bench.tick", data)
    if not got.wait(120):
        raise SystemExit(f"only {count[0]} of {n} events arrived")
    dt = time.perf_counter() - t0
    commits = server.stats["commits"]
    client.close()
    server.stop()
    print(f"  ({n} events in {commits} commits: {n / max(commits, 1):.0f} events per group commit)")
    return n / dt


COMMIT_MS: list[float] = []


def raw_sqlite(work: Path, n: int) -> tuple[float, float]:
    """Inserts/s of the same rows with the log's pragmas: one commit per row, and one commit for all."""
    rows = []
    for i in range(n):
        env = {
            "v": 1,
            "session": "s-bench",
            "seq": i + 1,
            "mono": 1.0,
            "utc": "2026-01-01T00:00:00.000Z",
            "film": None,
            "media_t": 12.5,
            "type": "bench.tick",
            "data": {"k": "transport-like payload", "media_t": 12.5, "reason": None},
        }
        rows.append(("s-bench", i + 1, "bench.tick", env["utc"], 1.0, None, 12.5, json.dumps(env)))
    sql = "INSERT INTO events(session, seq, type, utc, mono, film, media_t, json) VALUES(?,?,?,?,?,?,?,?)"
    db = connect(work / "raw1.sqlite")
    t = time.perf_counter()
    for r in rows:
        t1 = time.perf_counter()
        db.execute("BEGIN")
        db.execute(sql, r)
        db.execute("COMMIT")
        COMMIT_MS.append((time.perf_counter() - t1) * 1000)
    single = n / (time.perf_counter() - t)
    db.close()
    db = connect(work / "raw2.sqlite")
    t = time.perf_counter()
    db.execute("BEGIN")
    db.executemany(sql, rows)
    db.execute("COMMIT")
    batch = n / (time.perf_counter() - t)
    db.close()
    return single, batch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-rtt", type=int, default=1000)
    ap.add_argument("--n-events", type=int, default=20000)
    args = ap.parse_args()
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    lib_dir = ROOT / "build" / "bench-sample-library"
    manifest = lib_dir / "manifest.yaml"
    if not manifest.exists():
        manifest = write_sample_library(lib_dir)
    with tempfile.TemporaryDirectory(prefix="viewpoint-bench-events-") as tmp:
        work = Path(tmp)
        for sync in ("FULL", "NORMAL"):
            print(
                f"command round trip, CURVE, loopback, real headless player process, log synchronous={sync}:"
            )
            lat = rtt(manifest, work, args.n_rtt, sync)
            for cmd, xs in lat.items():
                print(
                    f"  {cmd:<10} p50 {statistics.median(xs):6.3f} ms  p99 {pct(xs, 99):6.3f} ms  "
                    f"max {max(xs):7.3f} ms  ({WHAT[cmd]}, n={len(xs)})"
                )
            worst = max(pct(xs, 99) for xs in lat.values())
            print(f"  goal p99 < 5 ms: {'met' if worst < 5.0 else 'NOT met'} (worst p99 {worst:.3f} ms)")
            if sync == "FULL":
                full = lat
        print("durable events (log commit, then publish, counted at a CURVE subscriber):")
        eps = durable_throughput(manifest, work, args.n_events)
        single, batch = raw_sqlite(work, args.n_events)
        print(f"  durable events/s           {eps:10.0f}")
        print(f"  raw SQLite inserts/s       {single:10.0f}  (a transaction per insert, synchronous=FULL)")
        print(f"  raw SQLite inserts/s       {batch:10.0f}  (all in one transaction)")
        print(f"  ratio durable / raw single {eps / single:10.2f}")
        print(f"  ratio durable / raw batch  {eps / batch:10.3f}")
        c50, c99 = statistics.median(COMMIT_MS), pct(COMMIT_MS, 99)
        a99 = pct(full["annotate"], 99)
        print(
            f"raw SQLite commit (fsync) latency: p50 {c50:.3f} ms  p99 {c99:.3f} ms; durable command "
            f"p99 / raw commit p99 = {a99 / c99:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
