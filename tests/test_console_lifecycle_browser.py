"""Issue 14 in headless Chromium against a real headless player: the console follows the player's session
lifecycle. play before consent is refused by the player; the live picture is the calm scene when the viewer
sees it (a stop, no session); a second tab is read-only until it takes over (STOP NOW works from any tab);
after a player crash the session shows as interrupted and a lead resumes it with its consent; a lead purges
from the page and the console's report of the purged session goes."""

from __future__ import annotations

import re
import signal

import pytest

from content_manifest import load_library
from facilitator.console.localplayer import start_local_player
from facilitator.console.server import ConsoleServer
from tests.browser.chromium import chromium_path, console_page
from tests.support import log_events, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

playwright_api = pytest.importorskip("playwright.sync_api")
if chromium_path() is None:
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

WS_COMMAND = """([cmd, args]) => new Promise((resolve) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);  // another tab's connection
    ws.onmessage = (m) => {
        const r = JSON.parse(m.data);
        if (r.kind === "reply") { ws.close(); resolve(r); }
    };
    ws.onopen = () => ws.send(JSON.stringify({kind: "cmd", id: "t1", cmd, args}));
})"""
PAGE_COMMAND = """([cmd, args]) => command(cmd, args).then(() => "done", (e) => e.message)"""


def _logged(player, pred) -> list[dict]:
    return [e for e in log_events(player.log_path) if pred(e)]


def _start(manifest, work, home=None, port=None):
    extra = ["--name", "h1", "--eye-size", "32x32", "--display-rate", "30"]
    return start_local_player(manifest, work, extra_args=extra, home=home, port=port)


def test_the_console_follows_the_players_lifecycle(sample_manifest, tmp_path):
    work = tmp_path / "player"
    player = _start(sample_manifest, work)
    reports = tmp_path / "reports"
    server = ConsoleServer({"h1": player.link("h1")}, library=load_library(sample_manifest), port=0,
                           report_dir=reports)  # fmt: skip
    url = server.start()
    try:
        with console_page(playwright_api) as (browser, page, errors):
            page.goto(url)
            page.wait_for_selector("#conn.ok", timeout=30_000)
            # the page's own play before consent: the player refuses it, nothing moves
            refused = page.evaluate(PAGE_COMMAND, ["play", {}])
            assert "no session with recorded consent" in refused, refused
            page.evaluate("() => { document.querySelector('#c-pose').checked = true; }")
            page.get_by_role("button", name=re.compile(r"Calibration \(mono\)")).click()
            page.click("#to-warnings")
            page.check("#ack-warnings")
            page.click("#to-preflight")
            page.wait_for_selector("#to-consent:not([disabled])", timeout=30_000)
            page.click("#to-consent")
            page.wait_for_function("document.getElementById('participant').value !== ''")
            code = page.input_value("#participant")
            page.check("#c-agree")
            page.check("#c-stop")
            page.click("#record-consent")
            page.wait_for_selector("#step-live:not([hidden])")
            page.click("#t-play")
            page.wait_for_selector("#pstate:text('playing')")
            page.wait_for_selector("#picture:not(.calm)")
            # STOP NOW: the live picture is what the viewer sees, the calm scene
            page.keyboard.press("x")
            page.wait_for_selector("#picture.calm")
            assert "calm scene" in page.get_attribute("#picture", "data-calm")

            # a second tab: read-only with a notice, STOP NOW still works, it can take over
            second = browser.new_page(viewport={"width": 1366, "height": 768}, bypass_csp=True)
            second.on("dialog", lambda d: d.accept())
            second.goto(url)
            second.wait_for_selector("#tab-notice:not([hidden])")
            assert page.is_hidden("#tab-notice")
            reply = second.evaluate(WS_COMMAND, ["welfare", {"action": "resume"}])
            assert reply["ok"] is False and "another tab drives" in reply["error"]["message"]
            page.keyboard.press("r")  # the driving tab resumes
            page.wait_for_selector("#picture:not(.calm)")
            second.click("#w-stop")  # a stop from any tab
            assert wait_for(lambda: _logged(player, lambda e: e["type"] == "welfare.changed"
                                            and e["data"]["level"] == "stop")[1:], 20)  # fmt: skip
            second.click("#take-over")
            page.wait_for_selector("#tab-notice:not([hidden])")
            second.wait_for_selector("#tab-notice[hidden]", state="attached")
            second.close()
            page.wait_for_selector("#tab-notice[hidden]", state="attached")  # the other tab went: it drives
            page.keyboard.press("r")  # it was playing when the other tab stopped it: it plays on
            page.wait_for_selector("#pstate:text('playing')")

            # the player crashes and comes back: the session shows as interrupted, a lead resumes it
            started = _logged(
                player, lambda e: e["type"] == "session.started" and e["data"].get("participant")
            )
            sid = started[-1]["session"]
            player.process.send_signal(signal.SIGKILL)
            player.process.wait(10)
            port = int(player.endpoint.rsplit(":", 1)[1])
            restarted = _start(sample_manifest, work, home=player.home, port=port)
            page.wait_for_selector("#interrupted:not([hidden])", timeout=30_000)
            assert code in page.inner_text("#interrupted-text")
            page.wait_for_selector("#h-ended:text('Session interrupted')")
            page.click("#resume-session")
            page.wait_for_selector("#step-live:not([hidden])")

            def is_resumed(e: dict) -> bool:
                resumed_from = (e["data"].get("resumed") or {}).get("session")
                return e["type"] == "session.started" and resumed_from == sid

            assert wait_for(lambda: _logged(restarted, is_resumed), 20)
            resumed = _logged(restarted, is_resumed)
            assert resumed and resumed[-1]["data"]["participant"] == code
            assert resumed[-1]["data"]["consent"]["given"] is True
            page.wait_for_selector("#interrupted[hidden]", state="attached")

            # end it: the calm scene; a report; then the lead purges from the page and the report goes
            page.click("#end-session")
            page.wait_for_selector("#step-ended:not([hidden])")
            page.click("#make-report")
            page.wait_for_selector("#report-link:not(.hidden)", timeout=30_000)
            written = list(reports.glob("report-*.html"))
            assert len(written) == 1
            page.click("#new-session")
            page.click("#data-panel summary")
            page.fill("#purge-days", "0")
            page.click("#purge")
            page.wait_for_selector("#purge-msg:text('Purged')", timeout=30_000)
            assert not written[0].exists()
            purged = _logged(restarted, lambda e: e["type"] == "log.purged")
            assert purged and sid in purged[-1]["data"]["sessions"]
            assert errors == []
    finally:
        server.stop()
        player.stop()
        if "restarted" in locals():
            restarted.stop()
