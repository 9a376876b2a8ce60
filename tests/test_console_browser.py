"""Headless Chromium drives the real console against a real headless player, step by step.

Each step is checked on the page and in the player's own session log (SQLite). Screenshots of the live view
and the report go to artifacts/ (git-ignored).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urljoin

import pytest

from content_manifest import load_library
from facilitator.console.localplayer import start_local_player
from facilitator.console.server import ConsoleServer
from player import protocol as P
from tests.browser.chromium import chromium_path, console_page
from tests.support import log_events, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

playwright_api = pytest.importorskip("playwright.sync_api")
if chromium_path() is None:
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
HEAD_SCRIPT = """\
- {t: 0.0, heading: 0, pitch: 0}
- {t: 1.2, heading: 0, pitch: 5}
- {t: 2.0, heading: 80, pitch: 10}
- {t: 3.0, heading: 95, pitch: 0}
- {t: 4.5, heading: 180, pitch: -10}
- {t: 6.0, heading: -90, pitch: 0}
"""


CLOCK_AT_LEAST = """(t) => {
  const m = document.querySelector('#clock').textContent.match(/(\\d+):(\\d+\\.\\d)/);
  return m !== null && Number(m[1]) * 60 + Number(m[2]) >= t;
}"""


class PlayerLog:
    """Read-only view of the player's session log, polled until something appears."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def events(self, session: str | None = None) -> list[dict]:
        return log_events(self.path, session)

    def wait_for(self, what: str, pred, timeout: float = 20.0, session: str | None = None) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for ev in reversed(self.events(session)):
                if pred(ev):
                    return ev
            if time.monotonic() > deadline:
                seen = [e["type"] for e in self.events(session)][-15:]
                raise AssertionError(f"the player's log has no {what} after {timeout:g} s (last: {seen})")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def rig(tmp_path_factory, sample_manifest):
    work = tmp_path_factory.mktemp("console-browser")
    head = work / "head.yaml"
    head.write_text(HEAD_SCRIPT, encoding="utf-8")
    player = start_local_player(
        sample_manifest, work / "player", extra_args=[
            "--name", "headless-1", "--eye-size", "64x64", "--display-rate", "30", "--head-script", str(head),
        ],
    )  # fmt: skip
    server = ConsoleServer(
        {"h1": player.link("headless-1")}, library=load_library(sample_manifest), port=0,
        report_dir=work / "reports", quick_tags=["distress", "engaged", "question"],
    )  # fmt: skip
    url = server.start()
    try:
        with console_page(playwright_api) as (browser, page, errors):
            yield {
                "page": page, "browser": browser, "url": url, "server": server, "player": player,
                "log": PlayerLog(player.log_path), "errors": errors, "work": work,
            }  # fmt: skip
    finally:
        server.stop()
        player.stop()


def text(page, sel: str) -> str:
    return page.locator(sel).inner_text()


def page_time(page) -> float:
    m = re.match(r"(\d+):(\d+\.\d)", text(page, "#clock"))
    assert m, text(page, "#clock")
    return int(m.group(1)) * 60 + float(m.group(2))


def test_a_whole_session_from_the_browser(rig):
    page, log = rig["page"], rig["log"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(rig["url"])

    # 1. headset and film
    page.wait_for_selector("#conn.ok", timeout=30_000)
    assert "headless-1" in text(page, "#players")
    page.get_by_role("button", name=re.compile(r"Calibration \(mono\)")).click()
    assert (
        page.get_by_role("button", name=re.compile(r"Calibration \(mono\)")).get_attribute("aria-pressed")
        == "true"
    )
    page.click("#to-warnings")

    # 2. content warnings and audience guidance, acknowledged
    assert "flashing-lights" in text(page, "#warn-list") and "0:01.0" in text(page, "#warn-list")
    assert "Suitable from age 12" in text(page, "#guidance")
    assert page.is_disabled("#to-preflight")
    page.check("#ack-warnings")
    page.click("#to-preflight")

    # 3. pre-flight from the player: the film is loaded there and its runtime reported
    page.wait_for_selector("#preflight td.res")
    checks = text(page, "#preflight")
    assert "0:06.0 (manifest 0:06.0)" in checks and "headless-1" in checks
    log.wait_for("load command", lambda e: e["type"] == "command" and e["data"]["cmd"] == "load")
    page.click("#to-consent")

    # 4. consent with a pseudonymous participant code
    page.wait_for_function("document.getElementById('participant').value !== ''")
    code = page.input_value("#participant")
    assert P.check_participant(code) == code  # offered by the one rule
    assert page.is_disabled("#record-consent")
    page.check("#c-agree")
    page.check("#c-stop")
    for name, why in [("JaneSmith", "looks like a name"), ("Jane Smith", "no spaces"),
                      ("JohnSmith1984", "date or a year"), ("a@b", "e-mail")]:  # fmt: skip
        page.fill("#participant", name)
        assert why in text(page, "#participant-why") and page.is_disabled("#record-consent")
    page.fill("#participant", code)
    assert text(page, "#participant-why") == "" and page.is_enabled("#record-consent")
    page.fill("#facilitator", "JB")
    page.click("#record-consent")
    page.wait_for_selector("#step-live:not([hidden])")
    started = log.wait_for(
        "session.started", lambda e: e["type"] == "session.started" and e["data"].get("participant")
    )
    sid = started["session"]
    assert started["data"]["participant"] == code
    assert started["data"]["consent"]["given"] is True and started["data"]["facilitator"] == "JB"
    assert "flashing-lights" in started["data"]["consent"]["note"]

    # the subtitle language is chosen from the page (the film's languages, auto, off) and sent to the player
    langs = page.eval_on_selector_all("#t-subtitles option", "os => os.map(o => o.value)")
    assert langs == ["auto", "en", "off"]
    page.select_option("#t-subtitles", "off")
    log.wait_for(
        "subtitles command",
        lambda e: (
            e["type"] == "command"
            and e["data"]["cmd"] == "subtitles"
            and e["data"]["args"] == {"language": "off"}
        ),
        session=sid,
    )

    # 5. play, then pause
    page.click("#t-play")
    log.wait_for("transport.playing", lambda e: e["type"] == "transport.playing", session=sid)
    page.wait_for_selector("#pstate:text('playing')")
    page.wait_for_function(CLOCK_AT_LEAST, arg=0.8)
    page.keyboard.press("Space")
    paused = log.wait_for("transport.paused", lambda e: e["type"] == "transport.paused", session=sid)
    page.wait_for_selector("#pstate:text('paused')")
    # the page's clock settles on the logged pause position (its ticking between updates stops)
    assert wait_for(lambda: abs(page_time(page) - paused["media_t"]) < 0.15, 10), (page_time(page), paused)

    # 6. annotate with one key (N pins the media time), a quick tag, then edit and delete
    page.keyboard.press("n")
    page.keyboard.type("turned away from the flash")
    page.keyboard.press("Enter")
    note = log.wait_for("annotation", lambda e: e["type"] == "annotation.added", session=sid)
    assert note["data"]["text"] == "turned away from the flash"
    assert abs(note["data"]["at"] - paused["media_t"]) < 0.2
    page.wait_for_selector("#notes li:has-text('turned away from the flash')")
    page.keyboard.press("1")
    tagged = log.wait_for(
        "quick tag", lambda e: e["type"] == "annotation.added" and e["data"]["tags"] == ["distress"]
    )
    page.wait_for_selector("#notes li:has-text('distress')")
    page.locator("#notes li", has_text="turned away").get_by_role("button", name=re.compile("Edit")).click()
    page.fill("#edit-text", "turned away from the flash, then back")
    page.locator("#edit-dialog").get_by_role("button", name="Save").click()
    log.wait_for(
        "annotation.edited", lambda e: e["type"] == "annotation.edited" and e["data"]["ref"] == note["seq"]
    )
    page.wait_for_selector("#notes li:has-text('then back')")
    page.locator("#notes li", has_text="distress").get_by_role("button", name=re.compile("Delete")).click()
    log.wait_for(
        "annotation.deleted",
        lambda e: e["type"] == "annotation.deleted" and e["data"]["ref"] == tagged["seq"],
    )
    page.wait_for_function("!document.querySelector('#notes').textContent.includes('distress')")

    # 7. play on with auto-pause at the chapter end: the console pauses there and shows the prompts
    page.check("#auto-pause")
    page.click("#t-play")
    log.wait_for(
        "chapter look-around", lambda e: e["type"] == "chapter.entered" and e["data"]["id"] == "look-around"
    )
    auto = log.wait_for(
        "auto pause", lambda e: e["type"] == "transport.paused" and e["seq"] > paused["seq"], session=sid
    )
    # paused in the chapter it entered (the console reacts to chapter.entered: how soon is a figure, not a
    # pass mark; a starved machine reacts later, but still before the next chapter at 4.5 s)
    assert 2.0 <= auto["media_t"] < 4.5, auto
    page.wait_for_selector("#prompts-panel.due")
    assert "What do you see in front of you?" in text(page, "#prompts")
    page.locator(".prompt", has_text="What do you see").get_by_role("button", name="Used").click()
    log.wait_for("prompt used", lambda e: e["type"] == "annotation.added" and "prompt" in e["data"]["tags"])
    page.uncheck("#auto-pause")
    page.click("#t-play")
    again = log.wait_for(
        "playing again", lambda e: e["type"] == "transport.playing" and e["seq"] > auto["seq"]
    )
    page.wait_for_selector("#pstate:text('playing')")
    time.sleep(0.6)  # let the viewer turn and the trail grow

    # 8. stop now (the button), then resume (the key)
    page.click("#w-stop")
    log.wait_for("welfare stop", lambda e: e["type"] == "welfare.changed" and e["data"]["level"] == "stop")
    page.wait_for_selector("#welfare-state:text('STOPPED')")
    log.wait_for(
        "pause by stop", lambda e: e["type"] == "transport.paused" and e["seq"] > again["seq"], session=sid
    )
    page.wait_for_selector("#pstate:text('paused')")
    page.wait_for_timeout(400)
    page.screenshot(path=str(ARTIFACTS / "console-live.png"))
    page.keyboard.press("r")
    log.wait_for("welfare resume", lambda e: e["type"] == "welfare.changed" and e["data"]["level"] == "none")
    page.wait_for_selector("#welfare-state.hidden", state="attached")
    page.wait_for_selector("#pstate:text('playing')")  # it was playing when stopped, so it plays on
    page.keyboard.press("s")
    log.wait_for("soften", lambda e: e["type"] == "welfare.changed" and e["data"]["level"] == "soften")
    page.wait_for_selector("#welfare-state:text('Softened')")
    page.click("#w-resume")
    page.wait_for_selector("#welfare-state.hidden", state="attached")

    # 9. transport: next safe point (key G), volume, chapter jump
    page.keyboard.press("g")
    log.wait_for(
        "next safe point", lambda e: e["type"] == "command" and e["data"]["cmd"] == "next_safe_point"
    )
    page.wait_for_function(CLOCK_AT_LEAST, arg=4.5)
    page.locator("#t-volume").evaluate("el => { el.value = 40; el.dispatchEvent(new Event('change')); }")
    vol = log.wait_for("volume", lambda e: e["type"] == "command" and e["data"]["cmd"] == "volume")
    assert vol["data"]["args"] == {"volume": 0.4}
    page.select_option("#t-chapter", "look-around")
    log.wait_for(
        "chapter jump", lambda e: e["type"] == "command" and e["data"]["args"].get("id") == "look-around"
    )

    # 10. end the session, write the report and look at it
    page.click("#end-session")
    ended = log.wait_for("session.ended", lambda e: e["type"] == "session.ended", session=sid)
    assert ended["data"]["reason"] == "ended_by_facilitator"
    page.wait_for_selector("#step-ended:not([hidden])")
    page.click("#make-report")
    page.wait_for_selector("#report-link:not(.hidden)", timeout=30_000)
    report_path = Path(re.search(r"Report written: (.+\.html)", text(page, "#report-msg")).group(1))
    html = report_path.read_text(encoding="utf-8")
    assert code in html and "turned away from the flash, then back" in html
    assert "Welfare: STOP" in html and "What do you see in front of you?" in html
    assert html.count("data:image/jpeg;base64,") == 4  # whole film + three chapters
    assert not re.search(r'(src|href)="(?!data:|#)', html)
    tab = rig["browser"].new_context(viewport={"width": 1000, "height": 1400})
    tab.add_cookies(page.context.cookies())  # another tab of the same browser: the console's cookie
    report_page = tab.new_page()
    report_page.goto(urljoin(rig["url"], page.locator("#report-link").get_attribute("href")))
    report_page.wait_for_selector("h1:text('Session report')")
    report_page.screenshot(path=str(ARTIFACTS / "console-report.png"), full_page=True)
    tab.close()
    assert rig["errors"] == []


def test_the_page_never_looks_live_when_the_player_is_gone(rig):
    page = rig["page"]
    page.wait_for_selector("#conn.ok")
    assert "stale" not in (page.get_attribute("body", "class") or "")
    rig["player"].process.kill()
    page.wait_for_selector("body.stale", timeout=20_000)
    page.wait_for_selector("#conn.bad", timeout=20_000)
    assert "LOST" in text(page, "#conn")
    page.screenshot(path=str(ARTIFACTS / "console-lost.png"))


def test_the_console_needs_its_token(rig):
    import urllib.error
    import urllib.request

    base = rig["url"].split("?")[0]
    for url in (base, base + "static/console.js", base + "ws"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url, timeout=5)
        assert err.value.code == 403
    req = urllib.request.Request(rig["url"], headers={"Host": "attacker.example:80"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 403
    # a browser opening the printed URL is sent on without the token in it, holding it in a cookie
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(rig["url"])
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    conn.request("GET", f"{u.path}?{u.query}", headers={"Accept": "text/html,*/*"})
    res = conn.getresponse()
    res.read()
    assert res.status == 303 and res.getheader("Location") == "/"
    assert res.getheader("Referrer-Policy") == "no-referrer"
    cookie = res.getheader("Set-Cookie")
    assert f"viewpoint_console_{u.port}=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    conn.request("GET", "/", headers={"Cookie": cookie.split(";")[0], "Accept": "text/html"})
    res = conn.getresponse()
    assert res.status == 200 and b"<html" in res.read().lower()
    conn.close()


def test_viewer_requests_and_headset_off_flash_until_acknowledged(rig, sample_library, tmp_path):
    """The viewer's side: a break request and the headset coming off reach the page as a flashing banner.

    The player here is the real controller and session server in this process, without a render loop, so the
    test can give the controller the viewer's input exactly as a headset backend would.
    """
    from facilitator.client import PlayerClient
    from facilitator.console.link import ClientLink
    from facilitator.console.localplayer import free_port_block
    from player.control import Controller
    from player.protocol.keys import Authorizations, load_public_key
    from player.session.server import SessionServer

    home = rig["player"].home
    keys = tmp_path / "keys"
    Authorizations(keys).authorize(home.identity().public, home.name, "lead")
    controller = Controller(sample_library, engine_options={"audio": "null", "hwdec": "none"})
    endpoint = f"tcp://127.0.0.1:{free_port_block(3)}"
    server = SessionServer(
        controller, endpoint, keys, tmp_path / "log.sqlite", "inproc-headset", pairing=False
    )
    controller.set_sink(server.emit)
    server.start()
    controller.load("calibration-mono")
    key = load_public_key(keys / "player.key")
    clients = [PlayerClient(endpoint, key, home.identity(), name=home.name) for _ in range(2)]
    console = ConsoleServer(
        {"p": ClientLink(*clients, name="inproc-headset")}, library=sample_library, port=0
    )
    page = rig["browser"].new_page(viewport={"width": 1366, "height": 768}, bypass_csp=True)
    log = PlayerLog(tmp_path / "log.sqlite")
    try:
        page.goto(console.start())
        page.wait_for_selector("#conn.ok", timeout=30_000)
        assert page.is_hidden("#alert")
        controller.viewer_event("break_request", {"source": "controller"})
        log.wait_for("viewer.break_request", lambda e: e["type"] == "viewer.break_request")
        page.wait_for_selector("#alert:not(.hidden)")
        assert "asked for a break" in text(page, "#alert-text")
        assert page.eval_on_selector("#alert", "el => getComputedStyle(el).animationName") == "flash"
        page.click("#alert-ack")
        page.wait_for_selector("#alert.hidden", state="attached")
        controller.viewer_event("focus_lost", {})
        log.wait_for("viewer.focus_lost", lambda e: e["type"] == "viewer.focus_lost")
        page.wait_for_selector("#alert:not(.hidden)")
        assert "Headset lost focus" in text(page, "#alert-text")  # a system menu, not taken off
        assert "VIEWER: Headset lost focus" in text(page, "#log")

        # an observer's console: sees the same, can command nothing (the page and the server both refuse)
        clients += [PlayerClient(endpoint, key, home.identity(), name=home.name) for _ in range(2)]
        observer = ConsoleServer(
            {"p": ClientLink(*clients[2:], name="inproc-headset")},
            library=sample_library,
            port=0,
            read_only=True,
        )
        page.goto(observer.start())
        page.wait_for_selector("#conn.ok", timeout=30_000)
        assert page.is_disabled("#w-stop") and "readonly" in (page.get_attribute("body", "class") or "")
        reply = page.evaluate("""() => new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/ws`);
            ws.onmessage = (m) => { const r = JSON.parse(m.data); if (r.kind === "reply") resolve(r); };
            const cmd = {kind: "cmd", id: "x1", cmd: "welfare", args: {action: "stop"}};
            ws.onopen = () => ws.send(JSON.stringify(cmd));
        })""")
        assert reply["ok"] is False and reply["error"]["code"] == "forbidden"
        observer.stop()
    finally:
        page.close()
        console.stop()
        server.stop()
        controller.close()
