"""Welfare stop latency: from the click on STOP NOW in the browser to the player stopped, fade started.

A real headless player (CURVE on, loopback) plays the sample film; the real console serves the page to
Debian's Chromium. Each round: the film plays, the bench clicks STOP NOW with the mouse, and the time runs
from just before the click (this process's monotonic clock) to the `welfare.changed` event's `mono` stamp,
which the player takes after its controller has paused the clock, muted and started the fade (same machine,
same CLOCK_MONOTONIC). The reference, measured in the same run, is the same stop sent straight through the
client (no browser, no console): the ratio shows what the browser and the console add.

    .venv/bin/python bench/welfare.py [--rounds 100]

Goal: p99 under 100 ms on loopback.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from content_manifest import load_library
from content_manifest.sample import write_sample_library
from facilitator.console.localplayer import start_local_player
from facilitator.console.server import ConsoleServer
from tests.browser.chromium import launch

GOAL_P99_MS = 100.0


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def wait_event(client, pred, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    for ev in client.events(timeout=timeout):
        if pred(ev):
            return ev
        if time.monotonic() > deadline:
            break
    raise TimeoutError("the expected event did not arrive")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=100)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="viewpoint-bench-welfare-"))
    manifest = write_sample_library(work / "library")
    library = load_library(manifest)
    extra = ["--name", "bench-headset", "--eye-size", "64x64", "--display-rate", "60"]
    with start_local_player(manifest, work / "player", extra_args=extra) as player:
        watcher = player.client(timeout=2.0)
        watcher.subscribe(queue_events=True, since="now")
        direct = player.client(timeout=2.0)
        direct.request("load", {"film": "calibration-mono"})
        server = ConsoleServer({"h1": player.link("bench-headset")}, library=library, port=0)
        url = server.start()

        def start_playing() -> None:
            st = direct.request("status", {})["controller"]
            if (st.get("media_t") or 0) > 4.5 or st.get("state") == "ended":
                direct.request("seek", {"t": 0.0})
            direct.request("play", {})
            time.sleep(0.15)

        def stopped(after: float):
            return lambda e: (
                e["type"] == "welfare.changed" and e["data"]["level"] == "stop" and e["mono"] >= after
            )

        browser_ms: list[float] = []
        direct_ms: list[float] = []
        try:
            with sync_playwright() as pw:
                browser = launch(pw)
                page = browser.new_page(viewport={"width": 1366, "height": 768})
                page.goto(url)
                page.wait_for_selector("#conn.ok", timeout=10_000)
                box = page.locator("#w-stop").bounding_box()
                x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
                page.mouse.move(x, y)
                for i in range(args.rounds):
                    # browser: mouse click on STOP NOW
                    start_playing()
                    t0 = time.monotonic()
                    page.mouse.click(x, y)
                    ev = wait_event(watcher, stopped(t0))
                    browser_ms.append((ev["mono"] - t0) * 1000)
                    direct.request("welfare", {"action": "resume"})
                    # reference: the same stop straight through the client
                    start_playing()
                    t0 = time.monotonic()
                    direct.request("welfare", {"action": "stop"})
                    ev = wait_event(watcher, stopped(t0))
                    direct_ms.append((ev["mono"] - t0) * 1000)
                    direct.request("welfare", {"action": "resume"})
                    if i % 10 == 9:
                        print(f"  {i + 1}/{args.rounds} rounds", flush=True)
                browser.close()
        finally:
            server.stop()
    b50, b99 = statistics.median(browser_ms), pct(browser_ms, 99)
    d50, d99 = statistics.median(direct_ms), pct(direct_ms, 99)
    print(f"welfare stop, browser click -> player in welfare state, fade started ({args.rounds} rounds)")
    print(f"  browser + console: p50 {b50:6.1f} ms  p99 {b99:6.1f} ms  max {max(browser_ms):6.1f} ms")
    print(f"  client directly:   p50 {d50:6.1f} ms  p99 {d99:6.1f} ms  max {max(direct_ms):6.1f} ms (ref.)")
    print(f"  ratio browser/reference: p50 {b50 / d50:.2f}x  p99 {b99 / d99:.2f}x")
    print("  slowest browser rounds (ms): " + ", ".join(f"{v:.1f}" for v in sorted(browser_ms)[-5:]))
    verdict = "PASS" if b99 < GOAL_P99_MS else "FAIL"
    print(f"  goal p99 < {GOAL_P99_MS:g} ms: {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
