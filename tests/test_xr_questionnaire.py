"""The headset questionnaire under Monado: the real CLI with a facilitator paired over ZeroMQ/CURVE, Monado's
remote driver turning its simulated Index controllers so their aim rays point at answers and pulling their
triggers (real OpenXR actions). The ray-panel maths, the drawing on Mesa and the welfare rule without a
runtime: tests/test_headset_questionnaire.py."""

from __future__ import annotations

import json

import pytest

from tests import test_xr
from tests.test_xr import run_in_root

xr_root, xr_library = test_xr.xr_root, test_xr.xr_library  # the same session fixtures: one root, one library
pytestmark = [pytest.mark.xr, pytest.mark.timeout(240)]


def test_answers_with_the_controllers_ray_and_trigger_under_monado(xr_root, xr_library, tmp_path):
    work = tmp_path / "questionnaire"
    report_path = tmp_path / "questionnaire.json"
    args = ["python", "scripts/xr/questionnaire.py", "--library", str(xr_library), "--workdir", str(work),
            "--report", str(report_path)]  # fmt: skip
    proc = run_in_root(args, [xr_library.parent, tmp_path], compositor="xcb", remote=True)
    assert report_path.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    r = json.loads(report_path.read_text())
    assert r.get("ok"), r.get("traceback")
    steps = {s["step"]: s for s in r["steps"]}
    assert steps["focused"]["seen"] and steps["film"]["ended"]
    assert steps["lobby"]["refused"] == "no_consent"
    assert steps["shown"]["result"]["items"] == 2
    assert steps["shown"]["status"]["questionnaire"]["pointing"]["right"] == 3  # at rest: "Agree"
    assert steps["first"]["pointing"]["pointing"]["right"] == 1, steps["first"]
    first = steps["first"]["event"]["data"]
    assert first == {"instrument": "understanding", "item": "aware", "phase": "post", "value": 2,
                     "by": "headset", "source": "headset"}  # fmt: skip
    stop = steps["stop"]
    assert stop["hidden"] is True and stop["held_seen"] and stop["marker"] and stop["answers"] == []
    assert steps["second"]["event"]["data"]["value"] == "yes"
    assert steps["second"]["closed"]["data"] == {
        "phase": "post",
        "reason": "answered",
        "answered": 2,
        "items": 2,
    }
    # durable: the session log holds both answers, in the consented session, after the stop
    logged = [(e["type"], e["data"]) for e in r["logged"]]
    answers = [d for t, d in logged if t == "questionnaire.answered"]
    got = [(a["item"], a["value"], a["source"]) for a in answers]
    assert got == [("aware", 2, "headset"), ("recommend", "yes", "headset")]
    # shown in the session report, with the tablet's answers
    from facilitator.report.html import build_report

    answered = [e for e in r["logged"] if e["type"] == "questionnaire.answered"]
    session = answered[0]["session"]
    page = build_report([e for e in r["logged"] if e["session"] == session])
    assert "<td>post</td><td>understanding</td><td>aware</td><td>2</td>" in page
    assert "<td>post</td><td>post</td><td>recommend</td><td>yes</td>" in page
    kinds = [t for t, _ in logged]
    assert kinds.index("welfare.changed") < kinds.index("questionnaire.closed")
    assert r["rc"] in (0, 1) and "Traceback" not in r["stderr"], r["stderr"][-2000:]
    # what the headset showed (Monado's compositor on Xvfb): the panel's boxes and the highlight where the ray
    # points, none before it showed, and none under the welfare stop's calm scene
    screens = r["screens"]
    assert screens["before"]["slate"] < 200 and screens["before"]["amber"] < 100, screens
    assert screens["pointing"]["slate"] > 2000 and screens["pointing"]["amber"] > 500, screens
    assert screens["stopped"]["slate"] < 50 and screens["stopped"]["amber"] < 50, screens
