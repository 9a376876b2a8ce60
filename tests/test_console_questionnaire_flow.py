"""Issue 15, console side: the programme's questionnaire steps in the console page's own session flow, in
headless Chromium against a real headless player. "Before the film" holds the film back until every question
is answered (in the participant view, logged by the player) or skipped with a reason (logged as a note);
"After the film" follows the film's end, and an early end; after a welfare stop it is only offered. Site and
cohort (the console's setting, else what this laptop last used) reach session.started in the player's log.
Also, without a browser: the label rule for site and cohort, on the command line and on the wire."""

from __future__ import annotations

import re
import signal

import pytest

from content_manifest import load_library
from facilitator.console import cli as console_cli
from facilitator.console.link import LinkError
from facilitator.console.localplayer import start_local_player
from facilitator.console.participant import ParticipantDesk
from facilitator.console.server import ConsoleServer
from facilitator.programme.definition import builtin_programme, load_programme
from facilitator.store import FacilitatorStore
from player import protocol as P
from tests.browser.chromium import chromium_path
from tests.support import log_events, wait_for

PROGRAMME = """\
programme_version: 1
title: Flow test programme
instruments:
  - id: understanding
    when: [pre, post]
    items:
      - {id: impact, text: I understand the impact on children., kind: likert, points: 5,
         labels: [Strongly disagree, Disagree, Neither, Agree, Strongly agree]}
      - {id: aware, text: Have you seen this before?, kind: yes_no}
  - id: after
    when: [post]
    films: [calibration-mono]
    items:
      - {id: role, text: Your role, kind: choice, options: [Police, Social work]}
"""
CONSENT = {"given": True, "method": "verbal"}
PAGE_COMMAND = """([cmd, args]) => command(cmd, args).then(() => "done", (e) => e.message)"""


# ---------------------------------------------------------------------------------------- no browser


@pytest.mark.parametrize("good", ["Leeds North", "Köln", "Cohort 2026/1", "St Mary's", "x", "A" * 40])
def test_a_site_or_cohort_label_is_short_bounded_text(good):
    assert P.label(good, "args.site") == good


@pytest.mark.parametrize(
    "bad", ["", " Leeds", "Leeds ", "A" * 41, "jane@example.org", "07700 900123", "07700900123", "a\n",
            "a\nb", "Bob;", "<b>", 7, None]
)  # fmt: skip
def test_a_label_that_is_not_one_is_refused_by_name(bad):
    with pytest.raises(P.ProtocolError) as exc:
        P.label(bad, "args.cohort")
    assert exc.value.code == P.E_BAD_ARGS
    assert exc.value.message.startswith("args.cohort: expected a label of 1..40 letters")


def test_the_session_start_command_checks_site_and_cohort_by_the_catalogue():
    args = {"participant": "P-042", "consent": CONSENT, "site": "Leeds North", "cohort": "2026 spring"}
    spec = P.COMMANDS["session.start"]
    assert P.check_args(spec.args, args)["site"] == "Leeds North"
    with pytest.raises(P.ProtocolError, match=r"args\.site: expected a label"):
        P.check_args(spec.args, {**args, "site": "jane@example.org"})


@pytest.mark.parametrize("option", ["--site", "--cohort"])
def test_the_console_refuses_a_bad_label_in_one_line(option, capsys):
    with pytest.raises(SystemExit) as exc:
        console_cli.main([option, "Jane Smith 07700900123", "--no-browser"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"viewpoint-facilitator console: error: argument {option}: expected a label")


def test_without_a_programme_file_the_flow_has_no_questionnaire_steps(tmp_path):
    desk = ParticipantDesk(None, programme=builtin_programme())
    assert desk.flow("calibration-mono") == {
        "programme": False, "title": "", "phases": {"pre": [], "post": []}, "site": None, "cohort": None,
    }  # fmt: skip
    (tmp_path / "programme.yaml").write_text(PROGRAMME, encoding="utf-8")
    desk = ParticipantDesk(None, programme=load_programme(tmp_path / "programme.yaml"))
    flow = desk.flow("calibration-tb")  # the "after" instrument belongs to another film
    assert flow["phases"] == {
        "pre": ["understanding.impact", "understanding.aware"],
        "post": ["understanding.impact", "understanding.aware"],
    }
    assert desk.flow("calibration-mono")["phases"]["post"][-1] == "after.role"


# ---------------------------------------------------------------------------------------- in Chromium


@pytest.fixture(scope="module")
def rig(tmp_path_factory, sample_manifest):
    work = tmp_path_factory.mktemp("questionnaire-flow")
    (work / "programme.yaml").write_text(PROGRAMME, encoding="utf-8")
    extra = ["--name", "h1", "--eye-size", "32x32", "--display-rate", "30"]
    player = start_local_player(sample_manifest, work / "player", extra_args=extra)
    store = FacilitatorStore(work / "store.sqlite")
    link = player.link("h1", store=store)
    server = ConsoleServer({"h1": link}, library=load_library(sample_manifest), port=0,
                           report_dir=work / "reports")  # fmt: skip
    server.participant.programme = load_programme(work / "programme.yaml")
    server.participant.site, server.participant.cohort = "Leeds North", "2026 spring"
    server.participant.store_path = store.path
    url = server.start()
    try:
        yield {"server": server, "player": player, "link": link, "url": url, "store": store}
    finally:
        server.stop()
        player.stop()
        store.close()


def test_the_player_refuses_a_bad_site_on_the_wire(rig):
    with pytest.raises(LinkError) as exc:
        rig["link"].command("session.start", {"participant": "P-042", "consent": CONSENT, "site": "a@b.org"})
    assert exc.value.code == P.E_BAD_ARGS and "args.site: expected a label" in exc.value.message


def test_a_resumed_session_keeps_its_site_and_cohort(sample_manifest, tmp_path):
    """After a crash, session.resume opens a new session: its session.started carries the same labels."""
    extra = ["--name", "h2", "--eye-size", "32x32", "--display-rate", "30"]
    player = start_local_player(sample_manifest, tmp_path / "p", extra_args=extra)
    restarted = None
    try:
        args = {"participant": "P-077", "consent": CONSENT, "site": "Site 3", "cohort": "Wave 2"}
        sid = player.link("h2").command("session.start", args)["session"]
        player.process.send_signal(signal.SIGKILL)
        player.process.wait(10)
        port = int(player.endpoint.rsplit(":", 1)[1])
        restarted = start_local_player(sample_manifest, tmp_path / "p", extra_args=extra, home=player.home,
                                       port=port)  # fmt: skip
        new = restarted.link("h2").command("session.resume", {"session": sid})["session"]
        started = [e for e in log_events(restarted.log_path, new) if e["type"] == "session.started"]
        assert started[0]["data"]["resumed"]["session"] == sid
        assert (started[0]["data"]["site"], started[0]["data"]["cohort"]) == ("Site 3", "Wave 2")
    finally:
        player.stop()
        if restarted is not None:
            restarted.stop()


def _events(rig, session: str | None = None) -> list[dict]:
    return log_events(rig["player"].log_path, session)


def _through_to_consent(page, film: str) -> None:
    page.get_by_role("button", name=re.compile(film)).click()
    page.click("#to-warnings")
    page.check("#ack-warnings")
    page.click("#to-preflight")
    page.wait_for_selector("#to-consent:not([disabled])", timeout=30_000)
    page.click("#to-consent")
    page.wait_for_selector("#step-consent:not([hidden])")
    page.wait_for_function("document.getElementById('participant').value !== ''")
    page.check("#c-agree")
    page.check("#c-stop")


def _started(rig, code: str) -> dict:
    found = wait_for(lambda: [e for e in _events(rig) if e["type"] == "session.started"
                              and e["data"].get("participant") == code], 20)  # fmt: skip
    assert found, f"no session.started for {code}"
    return found[-1]


def test_the_questionnaire_steps_in_the_session_flow(rig):
    playwright_api = pytest.importorskip("playwright.sync_api")
    if chromium_path() is None:
        pytest.skip("Debian's chromium is not installed")
    from tests.browser.chromium import console_page

    codes: list[str] = []
    with console_page(playwright_api) as (_browser, page, errors):
        page.goto(rig["url"])
        page.wait_for_selector("#conn.ok", timeout=30_000)
        _through_to_consent(page, r"Calibration \(mono\)")
        # the console's site and cohort fill the fields; a bad label is refused by the player, by name
        assert page.input_value("#programme-site") == "Leeds North"
        assert page.input_value("#programme-cohort") == "2026 spring"
        assert page.inner_text("#record-consent") == "Record consent and continue"
        page.fill("#programme-site", "jane@example.org")
        page.click("#record-consent")
        page.wait_for_function("document.getElementById('consent-msg').textContent.includes('args.site')")
        page.fill("#programme-site", "Leeds North")
        page.fill("#programme-cohort", "Cohort B")
        code = page.input_value("#participant")
        codes.append(code)
        page.click("#record-consent")

        # before the film: the film waits for the answers
        page.wait_for_selector("#step-before:not([hidden])")
        assert page.is_visible('#steps li[data-step="before"]') and page.is_hidden("#t-play")
        assert page.inner_text("#before-progress") == "Answered 0 of 2."
        assert page.is_disabled("#to-live") and page.is_disabled("#before-skip")
        started = _started(rig, code)
        assert started["data"]["site"] == "Leeds North" and started["data"]["cohort"] == "Cohort B"
        sid = started["session"]
        with page.expect_popup() as popup_info:
            page.click("#before-open")
        tablet = popup_info.value
        tablet.wait_for_selector("#answers button")
        tablet.get_by_role("button", name="4 · Agree").click()
        page.wait_for_selector("#before-progress:text('Answered 1 of 2.')")
        assert page.is_disabled("#to-live")
        tablet.get_by_role("button", name="No").click()
        tablet.wait_for_function("document.body.dataset.done === '1'")
        box = tablet.locator("#handback").bounding_box()  # the hand-back: this window closes
        tablet.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        with tablet.expect_event("close", timeout=10_000):
            tablet.mouse.down()
        page.wait_for_selector("#to-live:not([disabled])")
        assert page.inner_text("#before-progress") == "Answered 2 of 2: all done."
        answered = [(e["data"]["item"], e["data"]["phase"]) for e in _events(rig, sid)
                    if e["type"] == "questionnaire.answered"]  # fmt: skip
        assert answered == [("impact", "pre"), ("aware", "pre")]
        assert not [e for e in _events(rig, sid) if e["type"] == "transport.playing"]  # no film yet
        page.click("#to-live")

        # the film ends: the questions after it come next; skipped with a reason, then the session ends
        page.wait_for_selector("#step-live:not([hidden])")
        page.click("#t-play")
        page.wait_for_selector("#step-after:not([hidden])", timeout=30_000)
        assert page.inner_text("#after-progress") == "Answered 0 of 3."
        assert page.is_hidden("#after-welfare") and page.is_disabled("#after-end")
        page.fill("#after-reason", "participant had to leave")
        page.click("#after-skip")
        page.wait_for_selector("#after-end:not([disabled])")
        assert "participant had to leave" in page.inner_text("#after-progress")
        page.click("#after-end")
        page.wait_for_selector("#step-ended:not([hidden])")
        events = _events(rig, sid)
        skips = [e["data"] for e in events if e["type"] == "annotation.added"]
        assert [(d["text"], d["tags"]) for d in skips] == [
            ("Questions after the film skipped: participant had to leave", ["questionnaire skipped", "post"])
        ]
        assert [e["type"] for e in events if e["type"] in ("transport.ended", "session.ended")] == [
            "transport.ended", "session.ended"]  # fmt: skip

        # a second session on this laptop, the console without a setting: the fields remember the last labels
        rig["server"].participant.site = rig["server"].participant.cohort = None
        page.click("#new-session")
        page.reload()
        page.wait_for_selector("#conn.ok", timeout=30_000)
        _through_to_consent(page, r"Calibration \(top-bottom\)")
        assert page.input_value("#programme-site") == "Leeds North"
        assert page.input_value("#programme-cohort") == "Cohort B"
        code = page.input_value("#participant")
        codes.append(code)
        page.click("#record-consent")
        page.wait_for_selector("#step-before:not([hidden])")
        sid = _started(rig, code)["session"]
        page.fill("#before-reason", "declined")
        page.click("#before-skip")
        page.wait_for_selector("#to-live:not([disabled])")
        page.click("#to-live")
        page.wait_for_selector("#step-live:not([hidden])")
        page.click("#t-play")
        page.wait_for_selector("#pstate:text('playing')")
        # ended early: the questions after the film come first (the film pauses); back to the film
        page.click("#end-session")
        page.wait_for_selector("#step-after:not([hidden])")
        assert page.inner_text("#after-progress") == "Answered 0 of 2."  # this film: no "after" instrument
        # the same questions on the headset's panel (controllers), then taken off again
        page.click("#after-headset")
        page.wait_for_selector("#after-headset-off:not([hidden])")
        assert "In the headset: 2 question(s)" in page.inner_text("#after-msg")
        shown = [e["data"] for e in _events(rig, sid) if e["type"] == "command"
                 and e["data"]["cmd"] == "questionnaire.show"]  # fmt: skip
        assert [(i["instrument"], i["item"]) for i in shown[-1]["args"]["items"]] == [
            ("understanding", "impact"), ("understanding", "aware")]  # fmt: skip
        page.click("#after-headset-off")
        assert wait_for(lambda: [e for e in _events(rig, sid) if e["type"] == "questionnaire.closed"], 20)
        page.wait_for_selector("#after-headset-off[hidden]", state="attached")
        page.click("#after-back")
        page.wait_for_selector("#step-live:not([hidden])")
        assert page.is_visible("#to-after")
        # after a welfare stop they are offered, never forced: End session ends it
        page.keyboard.press("x")
        assert wait_for(lambda: [e for e in _events(rig, sid) if e["type"] == "welfare.changed"
                                 and e["data"]["level"] == "stop"], 20)  # fmt: skip
        page.wait_for_function("document.getElementById('welfare-state').textContent.startsWith('STOPPED')")
        page.click("#end-session")
        page.wait_for_selector("#step-ended:not([hidden])")
        events = _events(rig, sid)
        assert [e["data"]["text"] for e in events if e["type"] == "annotation.added"] == [
            "Questions before the film skipped: declined"]  # fmt: skip
        assert any(e["type"] == "session.ended" for e in events)
        assert not [e for e in events if e["type"] == "questionnaire.answered"]
        started = _started(rig, code)
        assert (started["data"]["site"], started["data"]["cohort"]) == ("Leeds North", "Cohort B")
        # the programme page's headline figures, for this session's site and cohort
        wait_for(lambda: len([r for r in _collected(rig) if r[0] in codes]) == 2, 20)
        with page.expect_popup() as popup_info:
            page.click("#ended-programme")
        figures = popup_info.value
        figures.wait_for_load_state()
        assert "site=Leeds+North&cohort=Cohort+B" in figures.url
        body = figures.inner_text("body")
        assert "site: Leeds North; cohort: Cohort B" in body
        headline = ["2", "sessions", "2", "participants", "1", "sites", "2", "films", "50.00", "%"]
        assert figures.inner_text(".big").split() == [*headline, "completed"], body[:400]
        agreed = "100% of 1 agreed with “I understand the impact on children.” before the film (1 of 1)."
        assert agreed in body
        figures.close()
        bad = page.request.get(rig["url"].split("?")[0] + "programme?site=jane%40example.org")
        assert bad.status == 400 and bad.text().startswith("site: expected a label")
        assert errors == []
    # programme collect takes them from session.started

    def both() -> list[tuple] | None:
        rows = [r for r in _collected(rig) if r[0] in codes]
        return rows if len(rows) == 2 else None

    rows = wait_for(both, 20) or _collected(rig)
    assert [(site, cohort) for _code, site, cohort in rows] == [("Leeds North", "Cohort B")] * 2


def _collected(rig) -> list[tuple]:
    """programme collect over this console's facilitator store (its fallback site is not used)."""
    from facilitator.programme.collect import collect_store
    from facilitator.programme.store import ProgrammeStore

    target = ProgrammeStore(None)
    try:
        collect_store(target, rig["store"].path, rig["server"].participant.programme, site="fallback")
        sql = "SELECT participant, site, cohort FROM sessions ORDER BY started_utc"
        return target.con.execute(sql).fetchall()
    finally:
        target.close()
