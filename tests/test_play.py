"""viewpoint-player play, headless: snapshots follow the head script, the report, exit statuses."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from content_manifest.sample import BLUE, CYAN, GREEN, RED
from player.cli import main


def centre(path) -> np.ndarray:
    a = np.asarray(Image.open(path).convert("RGB")).astype(np.float64)
    h, w = a.shape[:2]
    return a[h // 2 - 2 : h // 2 + 2, w // 2 - 2 : w // 2 + 2].reshape(-1, 3).mean(axis=0)


def close_to(pixel: np.ndarray, colour: tuple[int, int, int]) -> bool:
    return bool(np.abs(pixel - np.array(colour)).max() <= 16)


def test_play_headless_snapshots_and_report(sample_manifest, tmp_path):
    script = tmp_path / "head.yaml"
    script.write_text(
        "- {t: 0, heading: 0}\n- {t: 1.5, heading: 90}\n- {t: 3, heading: 180}\n", encoding="utf-8"
    )
    out, report = tmp_path / "out", tmp_path / "report.json"
    code = main(
        ["play", "--manifest", str(sample_manifest), "--film", "calibration-tb", "--backend", "headless",
         "--head-script", str(script), "--eye-size", "96x96", "--fov", "60", "--display-rate", "30",
         "--snapshot-at", "0,1.5,3.2", "--out", str(out), "--report", str(report), "--speed", "2"]
    )  # fmt: skip
    data = json.loads(report.read_text())
    assert code == 0, data["reasons"]
    assert data["result"] == "pass" and data["stopped_by"] == "end"
    assert data["frames"]["decoded"] == 180 and data["decode_errors"] == 0
    for key in ("upload_ms", "render_ms"):
        assert data[key]["p50"] is not None
    assert set(data["av_drift_ms"]) == {"p50", "p99", "max"}
    assert close_to(centre(out / "snap-0.000-left.png"), RED)
    assert close_to(centre(out / "snap-0.000-right.png"), CYAN)
    assert close_to(centre(out / "snap-1.500-left.png"), GREEN)
    assert close_to(centre(out / "snap-3.200-left.png"), BLUE)
    assert close_to(centre(out / "snap-3.200-right.png"), BLUE)


def test_play_duration_stops_early(sample_manifest, tmp_path):
    report = tmp_path / "r.json"
    code = main(
        ["play", "--manifest", str(sample_manifest), "--film", "calibration-mono", "--backend", "headless",
         "--eye-size", "32x32", "--duration", "1", "--report", str(report)]
    )  # fmt: skip
    data = json.loads(report.read_text())
    assert code == 0 and data["stopped_by"] == "duration"
    # stopped at the first look past 1 s (a starved loop looks later; the film is 6 s long)
    assert 1.0 <= data["media_t_end"] < 5.0
    assert data["av_drift_ms"]["p50"] is not None and data["av_drift_ms"]["max"] >= data["av_drift_ms"]["p50"]


def test_unknown_film_and_bad_head_script(sample_manifest, tmp_path, capsys):
    assert main(["play", "--manifest", str(sample_manifest), "--film", "nope", "--backend", "headless"]) == 2
    assert "no film 'nope'" in capsys.readouterr().err
    script = tmp_path / "bad.yaml"
    script.write_text("- {t: 0, heading: 0}\n- {t: 1, pitch: 120}\n", encoding="utf-8")
    code = main(
        ["play", "--manifest", str(sample_manifest), "--film", "calibration-mono", "--backend", "headless",
         "--head-script", str(script)]
    )  # fmt: skip
    assert code == 2
    assert "keyframes[1].pitch: 120 outside -90..90" in capsys.readouterr().err


def test_snapshot_past_the_end_fails(sample_manifest, tmp_path, capsys):
    report = tmp_path / "r.json"
    code = main(
        ["play", "--manifest", str(sample_manifest), "--film", "calibration-mono", "--backend", "headless",
         "--eye-size", "32x32", "--speed", "4", "--snapshot-at", "99", "--out", str(tmp_path),
         "--report", str(report)]
    )  # fmt: skip
    assert code == 1
    data = json.loads(report.read_text())
    assert data["result"] == "fail"
    assert any("snapshot at 99.000" in r for r in data["reasons"])


@pytest.mark.parametrize("bad", [["--eye-size", "12"], ["--snapshot-at", "a,b"], ["--speed", "20"]])
def test_bad_arguments_exit_2(sample_manifest, bad):
    args = ["play", "--manifest", str(sample_manifest), "--film", "calibration-mono", "--backend", "headless"]
    with pytest.raises(SystemExit) as info:
        code = main(args + bad)
        raise SystemExit(code)
    assert info.value.code == 2


def test_head_script_interpolation():
    from player.headscript import HeadScript

    script = HeadScript.from_data([{"t": 1, "heading": 10}, {"t": 3, "heading": 30, "pitch": 20}])
    assert script.angles_at(0) == (10, 0, 0)
    assert script.angles_at(2) == pytest.approx((20, 10, 0))
    assert script.angles_at(9) == (30, 20, 0)


def test_play_with_listen_logs_the_session(sample_manifest, tmp_path):
    """With --listen the film waits in the lobby until a lead starts a consented session and plays it
    (docs/protocol.md, "Session lifecycle"); --duration then ends the run and the log holds it all."""
    import socket
    import sqlite3
    import threading

    from facilitator.client import FacilitatorHome, PlayerClient, RequestTimeout
    from player.protocol.keys import load_or_create_identity, write_public_cert
    from tests.support import wait_for

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "session.sqlite"
    home = FacilitatorHome(tmp_path / "fac", name="lead")
    write_public_cert(tmp_path / "keys" / "authorized" / "lead.key", home.identity().public, {"role": "lead"})
    result: list[int] = []
    run = threading.Thread(target=lambda: result.append(main(
        ["play", "--manifest", str(sample_manifest), "--film", "calibration-mono", "--backend", "headless",
         "--eye-size", "32x32", "--duration", "2.2", "--listen", f"tcp://127.0.0.1:{port}",
         "--keys", str(tmp_path / "keys"), "--log", str(log)]
    )), daemon=True)  # fmt: skip
    run.start()
    assert wait_for(lambda: (tmp_path / "keys" / "player.key").is_file(), 30)
    key = load_or_create_identity(tmp_path / "keys", "player").public
    lead = PlayerClient(f"tcp://127.0.0.1:{port}", key, home.identity())
    try:

        def loaded() -> bool:  # the player may still be starting (binding, loading): a timeout is "not yet"
            try:
                return lead.request("status")["controller"].get("film") == "calibration-mono"
            except RequestTimeout:
                return False

        assert wait_for(loaded, 60)
        lead.request("session.start", {"participant": "P-019", "consent": {"given": True}})
        lead.request("play")
        run.join(60)
    finally:
        lead.close()
    assert result == [0]
    with sqlite3.connect(log) as db:
        kinds = [row[0] for row in db.execute("SELECT type FROM events ORDER BY pos")]
    for kind in ("session.started", "transport.loaded", "transport.playing", "chapter.entered",
                 "content_warning.entered", "session.ended"):  # fmt: skip
        assert kind in kinds, f"{kind} missing from the session log: {kinds}"


def test_head_script_headings_are_film_headings(sample_library):
    """With front_heading 90, a script heading of 180 still looks at film heading 180 (the blue disc)."""
    import dataclasses

    from player.compose import scripted_orientation
    from player.control import Controller
    from player.headscript import HeadScript
    from player.render.projection import eye_to_film, forward_heading_pitch

    controller = Controller(sample_library, engine_options={"audio": "none", "hwdec": "none"})
    try:
        controller.load("calibration-mono")
        controller.film = dataclasses.replace(
            controller.film, front_heading=90.0
        )  # a copy: the library is shared
        q = scripted_orientation(HeadScript.fixed(heading=180.0, pitch=10.0), controller)
        direction = eye_to_film(q, controller.film.front_heading) @ np.array([0.0, 0.0, -1.0])
        heading = np.degrees(np.arctan2(direction[0], -direction[2]))
        assert heading == pytest.approx(180.0, abs=1e-6) or heading == pytest.approx(-180.0, abs=1e-6)
        assert forward_heading_pitch(q)[1] == pytest.approx(10.0)
    finally:
        controller.close()


def test_desktop_without_a_display_fails_with_a_report(sample_manifest, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    report = tmp_path / "r.json"
    code = main(
        ["play", "--manifest", str(sample_manifest), "--film", "calibration-mono", "--backend", "desktop",
         "--audio", "null", "--report", str(report)]
    )  # fmt: skip
    assert code == 1
    data = json.loads(report.read_text())
    assert data["result"] == "fail" and "display" in data["reasons"][0].lower()
    assert "Traceback" not in capsys.readouterr().err


def test_a_stop_while_the_player_waited_is_not_a_failed_film_but_a_film_that_showed_nothing_is():
    """The report's verdict: a player stopped on purpose before anything was asked to play (a facilitated
    player's lobby) has shown no picture because none was asked for, which is not a failure; one that was
    asked to play, or ran to its end, and showed no picture has failed."""
    from types import SimpleNamespace

    from player.app import PlayOptions, PlayResult, build_report

    film = SimpleNamespace(id="calibration-mono")
    info = SimpleNamespace(hwdec="none", pix_fmt="yuv420p", audio_output="null", duration=6.0)

    def report(**kw: object) -> dict:
        result = PlayResult(**kw)
        return build_report(
            film=film,
            backend_name="headless",
            result=result,
            stats={},
            media_info=info,
            options=PlayOptions(),
        )

    waited = report(stopped_by="operator", stop_detail="SIGINT")
    assert waited["result"] == "pass", waited["reasons"]
    assert waited["notes"]["stop"] == "stopped by the operator (SIGINT) at 0.000 s before the film was played"
    asked = report(stopped_by="operator", stop_detail="SIGINT", played=True)
    assert asked["result"] == "fail" and "no video frame was ever displayed" in asked["reasons"]
    ended = report(stopped_by="end", played=True)
    assert "no video frame was ever displayed" in ended["reasons"]
    shown = report(stopped_by="operator", stop_detail="SIGINT", played=True, uploads=3)
    assert shown["result"] == "pass" and not shown["notes"]["stop"].endswith("played")
