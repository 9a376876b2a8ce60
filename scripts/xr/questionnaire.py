"""The headset questionnaire end to end, inside the xr root: `viewpoint-player play --backend openxr --listen`
(the real CLI) against Monado's remote driver, a facilitator paired over ZeroMQ/CURVE.

After the film the facilitator sends ``questionnaire.show``; the script turns Monado's simulated Index
controllers to point their aim rays at answers and pulls their triggers (real OpenXR actions), takes a welfare
stop half way (the panel must hide; the trigger must answer nothing) and checks the player's session log.
With the XCB compositor it keeps the Xvfb screen (what the headset shows) at each step. Writes a JSON report
(used by tests/test_xr_questionnaire.py).

usage: python scripts/xr/questionnaire.py --library MANIFEST --workdir DIR --report OUT.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sqlite3
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from listening_player import ListeningPlayer, script_main

ITEMS = [
    {
        "instrument": "understanding",
        "item": "aware",
        "text": "I understand better what a child in this home goes through.",
        "kind": "likert",
        "labels": ["Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree"],
    },
    {"instrument": "post", "item": "recommend", "text": "Would you recommend it?", "kind": "yes_no"},
]


SLATE = (52, 60, 76)  # a choice's box on the panel (player/render/panel_layout.py)
# the highlight over a box (player/render/panel.py HIGHLIGHT) is amber: red over green over blue; about
# (182, 134, 66) on Monado, which blends in linear light (the exact value depends on the swapchain's format)


def aim(remote, hand: str, item: dict, heading: float, choice: int) -> None:
    """Turn ``hand``'s controller so that its aim ray runs from where it is to the middle of ``choice``."""
    from monado_remote import yaw_pitch_quat

    from player.render.panel_layout import layout, place

    lay = layout(item)
    panel = place(heading, lay)
    u0, v0, u1, v1 = lay.uv_box(choice)
    target = panel.point((u0 + u1) / 2, (v0 + v1) / 2)
    ctrl = remote.right if hand == "right" else remote.left
    origin = [c - h for c, h in zip(ctrl.position, remote.head_position)]
    d = [t - o for t, o in zip(target, origin)]
    ctrl.orientation = yaw_pitch_quat(
        math.degrees(math.atan2(d[0], -d[2])), math.degrees(math.atan2(d[1], math.hypot(d[0], d[2])))
    )
    remote.send()


def pull_until(remote, hand: str, wait_event, kind: str, mark: int, **match: object) -> dict | None:
    """Hold ``hand``'s trigger until the event arrives (however slowly the loaded machine draws frames; a
    press shorter than a frame would never be seen), then let go."""
    ctrl = remote.right if hand == "right" else remote.left
    ctrl.buttons["trigger_click"] = True
    remote.send()
    try:
        return wait_event(kind, mark, timeout=40.0, **match)
    finally:
        ctrl.buttons["trigger_click"] = False
        remote.send()


def run(args: argparse.Namespace) -> dict:
    from monado_remote import MonadoRemote

    from facilitator.client import FacilitatorHome, pair

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    launched = ListeningPlayer(args, work)
    player, endpoint, log_path = launched.proc, launched.endpoint, launched.log_path
    report: dict = {"ok": False}
    events: list[dict] = []
    steps: list[dict] = []
    report["steps"] = steps
    screen = os.environ.get("VIEWPOINT_XVFB_SCREEN")

    screens: dict[str, dict] = {}
    report["screens"] = screens

    def keep_screen(name: str, until=None, timeout: float = 30.0) -> None:
        """Keep the Xvfb screen as screen-NAME.png once ``until(counts)`` holds (the compositor's window
        follows a few frames behind), with its panel and highlight pixel counts."""
        if not screen:
            return
        import numpy as np
        from PIL import Image
        from xwd import read_xwd

        end = time.monotonic() + timeout
        while True:
            img = read_xwd(screen)
            rgb = img.astype(int)
            r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
            counts = {
                "slate": int((np.abs(rgb - np.array(SLATE)).max(axis=2) <= 12).sum()),
                "amber": int(((r > g + 25) & (g > b + 40) & (r > 120)).sum()),
            }
            if until is None or until(counts) or time.monotonic() > end:
                break
            time.sleep(0.2)
        screens[name] = counts
        Image.fromarray(img).save(work / f"screen-{name}.png")

    try:
        home = FacilitatorHome(work / "facilitator", name="facilitator-test")
        client = home.client(pair(endpoint, launched.pairing_code(), home).player)
        client.hello()
        client.subscribe(on_event=events.append, since="session")

        def wait_event(kind: str, after: int = 0, timeout: float = 30.0, **match: object) -> dict | None:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                for e in events[after:]:
                    data = e.get("data") or {}
                    if e.get("type") == kind and all(data.get(k) == v for k, v in match.items()):
                        return e
                time.sleep(0.05)
            return None

        def wait_status(predicate, timeout: float = 30.0) -> dict:
            end = time.monotonic() + timeout
            status: dict = {}
            while time.monotonic() < end:
                status = client.request("status")["controller"]
                if predicate(status):
                    return status
                time.sleep(0.1)
            return status

        steps.append({"step": "focused", "seen": wait_event("viewer.focus_gained", timeout=30) is not None})
        remote = MonadoRemote()
        try:  # outside a consented session the panel is refused
            client.request("questionnaire.show", {"phase": "post", "items": ITEMS})
            steps.append({"step": "lobby", "refused": None})
        except Exception as exc:
            steps.append({"step": "lobby", "refused": getattr(exc, "code", type(exc).__name__)})
        client.request("session.start", {"participant": "P-XRQ1", "consent": {"given": True}})
        mark = len(events)
        client.request("play")
        steps.append({"step": "film", "ended": wait_event("transport.ended", mark, timeout=40) is not None})
        keep_screen("before")
        shown = client.request("questionnaire.show", {"phase": "post", "items": ITEMS})
        heading = float(shown["heading"])
        steps.append(
            {
                "step": "shown",
                "result": shown,
                "status": wait_status(lambda s: "right" in s.get("questionnaire", {}).get("pointing", {})),
            }
        )
        # the right hand points at "Disagree" (2; at rest it points at "Agree") and pulls the trigger
        aim(remote, "right", ITEMS[0], heading, 1)
        pointing = wait_status(lambda s: s.get("questionnaire", {}).get("pointing", {}).get("right") == 1)
        keep_screen("pointing", lambda c: c["slate"] > 2000 and c["amber"] > 500)
        answered = pull_until(
            remote, "right", wait_event, "questionnaire.answered", len(events), item="aware"
        )
        steps.append({"step": "first", "pointing": pointing.get("questionnaire"), "event": answered})
        # a welfare stop: the panel hides under the calm scene and the trigger answers nothing
        aim(remote, "left", ITEMS[1], heading, 0)
        wait_status(lambda s: s.get("questionnaire", {}).get("pointing", {}).get("left") == 0)
        mark = len(events)
        client.request("welfare", {"action": "stop"})
        stopped = wait_status(lambda s: s.get("questionnaire", {}).get("hidden") is True)
        keep_screen("stopped", lambda c: c["slate"] < 50)
        # hold the trigger until the player has drawn a frame with it held (the ray moved to "No" meanwhile),
        # then let go and wait for a frame with it released (the ray back on "Yes")
        remote.left.buttons["trigger_click"] = True
        aim(remote, "left", ITEMS[1], heading, 1)
        seen_held = wait_status(lambda s: s.get("questionnaire", {}).get("pointing", {}).get("left") == 1)
        remote.left.buttons["trigger_click"] = False
        aim(remote, "left", ITEMS[1], heading, 0)
        wait_status(lambda s: s.get("questionnaire", {}).get("pointing", {}).get("left") == 0)
        client.request("annotate", {"text": "after the trigger under the stop"})  # a marker in the log
        marker = wait_event("annotation.added", mark)
        during_stop = [e for e in events[mark:] if e.get("type") == "questionnaire.answered"]
        steps.append({"step": "stop", "hidden": stopped.get("questionnaire", {}).get("hidden"),
                      "held_seen": seen_held.get("questionnaire", {}).get("pointing", {}).get("left") == 1,
                      "marker": marker is not None, "answers": during_stop})  # fmt: skip
        mark = len(events)
        client.request("welfare", {"action": "resume"})
        wait_status(lambda s: s.get("questionnaire", {}).get("hidden") is False)
        second = pull_until(remote, "left", wait_event, "questionnaire.answered", mark, item="recommend")
        closed = wait_event("questionnaire.closed", mark)
        keep_screen("after")
        steps.append({"step": "second", "event": second, "closed": closed})
        player.send_signal(signal.SIGINT)
        rc = player.wait(60)
        client.close()
        remote.close()
        con = sqlite3.connect(log_path)
        try:
            logged = [json.loads(r[0]) for r in con.execute("SELECT json FROM events ORDER BY pos")]
        finally:
            con.close()
        report.update(ok=True, rc=rc, logged=logged, events=events)
    except Exception:
        report["traceback"] = traceback.format_exc()
    finally:
        launched.end(report)
    return report


def main(argv: list[str] | None = None) -> int:
    return script_main(run, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
