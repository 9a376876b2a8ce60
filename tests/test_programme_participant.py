"""The participant view in headless Chromium against a real headless player: a participant answers the pre
questionnaire one question at a time; each answer lands in the player's session log as questionnaire.answered;
nothing else is reachable from the page; a long press hands the tablet back; bad answers are refused."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urljoin

import pytest

from content_manifest import load_library
from facilitator.console.localplayer import start_local_player
from facilitator.console.server import ConsoleServer
from facilitator.programme.definition import load_programme
from facilitator.store import FacilitatorStore
from tests.browser.chromium import chromium_path, console_page
from tests.support import log_events

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

playwright_api = pytest.importorskip("playwright.sync_api")
if chromium_path() is None:
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

PROGRAMME = """\
programme_version: 1
instruments:
  - id: understanding
    when: [pre, post]
    items:
      - {id: impact, text: I understand the impact on children., kind: likert, points: 5,
         labels: [Strongly disagree, Disagree, Neither, Agree, Strongly agree]}
      - {id: confidence, text: How confident are you?, kind: scale_0_10}
      - {id: aware, text: Have you seen this before?, kind: yes_no}
  - id: after
    when: [post]
    items:
      - {id: role, text: Your role, kind: choice, options: [Police, Social work]}
"""


@pytest.fixture(scope="module")
def rig(tmp_path_factory, sample_manifest):
    work = tmp_path_factory.mktemp("participant")
    (work / "programme.yaml").write_text(PROGRAMME, encoding="utf-8")
    player = start_local_player(
        sample_manifest, work / "player", extra_args=["--name", "headless-1", "--eye-size", "64x64"]
    )
    store = FacilitatorStore(work / "store.sqlite")
    link = player.link("headless-1", store=store)
    server = ConsoleServer(
        {"h1": link},
        library=load_library(sample_manifest),
        port=0,
        report_dir=work / "reports",
    )
    server.participant.programme = load_programme(work / "programme.yaml")
    server.participant.store_path = store.path
    url = server.start()
    try:
        consent = {"given": True, "method": "verbal"}
        started = link.command("session.start", {"participant": "P-042", "consent": consent})
        with console_page(playwright_api) as (_browser, page, errors):
            yield {
                "page": page,
                "url": url,
                "player": player,
                "session": started["session"],
                "errors": errors,
                "link": link,
            }
    finally:
        server.stop()
        player.stop()


def answers_logged(rig: dict, n: int, timeout: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = [
            e
            for e in log_events(rig["player"].log_path, rig["session"])
            if e["type"] == "questionnaire.answered"
        ]
        if len(found) >= n or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_participant_answers_one_question_at_a_time(rig) -> None:
    page = rig["page"]
    page.goto(urljoin(rig["url"], "participant?phase=pre&" + rig["url"].split("?", 1)[1]))
    page.wait_for_selector("#answers button")
    assert page.text_content("#progress") == "Question 1 of 3"
    assert page.inner_text("#question") == "I understand the impact on children."
    sizes = page.eval_on_selector_all(
        "#answers button", "bs => bs.map(b => b.getBoundingClientRect().height)"
    )
    assert len(sizes) == 5 and min(sizes) >= 60  # large targets
    page.get_by_role("button", name="4 · Agree").click()
    page.wait_for_function("document.querySelector('#progress').textContent === 'Question 2 of 3'")
    page.get_by_role("button", name="7", exact=True).click()
    page.wait_for_function("document.querySelector('#progress').textContent === 'Question 3 of 3'")
    page.get_by_role("button", name="No").click()
    page.wait_for_function("document.body.dataset.done === '1'")
    got = answers_logged(rig, 3)
    assert [(e["data"]["item"], e["data"]["value"], e["data"]["phase"]) for e in got] == [
        ("impact", 4, "pre"),
        ("confidence", 7, "pre"),
        ("aware", "no", "pre"),
    ]
    assert all(e["data"]["instrument"] == "understanding" for e in got)
    assert rig["errors"] == []


def test_the_programme_page_counts_the_answers(rig) -> None:
    page = rig["page"]
    page.goto(rig["url"])  # the console links both pages from its session flow's steps
    hrefs = page.eval_on_selector_all(
        "#step-before a.btn, #step-live a.btn, #step-after a.btn", "as => as.map(a => a.getAttribute('href'))"
    )
    assert {"participant?phase=pre", "participant?phase=post", "programme"} <= set(hrefs)
    response = page.goto(urljoin(rig["url"], "programme"))
    assert response.status == 200
    assert "script-src" not in response.headers["content-security-policy"]  # the page runs nothing
    body = page.inner_text("body")
    assert "100% of 1 agreed with “I understand the impact on children.” before the film (1 of 1)." in body
    assert "0% of 1 said yes to “Have you seen this before?” before the film (0 of 1)." in body


def test_nothing_else_is_reachable_and_a_long_press_hands_back(rig) -> None:
    page = rig["page"]
    page.goto(urljoin(rig["url"], "participant?phase=post&" + rig["url"].split("?", 1)[1]))
    page.wait_for_selector("#answers button")
    assert page.text_content("#progress") == "Question 1 of 4"  # post: the scale and the choice
    assert page.locator("a, form, iframe, input, select").count() == 0
    focused = set()
    for _ in range(12):
        page.keyboard.press("Tab")
        focused.add(page.evaluate("document.activeElement.closest('#answers') !== null"))
    assert focused == {True}  # the keyboard only moves between the answers
    page.go_back()
    assert "/participant" in page.url
    page.keyboard.press("Escape")
    assert "/participant" in page.url
    box = page.locator("#handback").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.wait_for_timeout(600)
    page.mouse.up()  # a short press does nothing
    assert "/participant" in page.url
    page.mouse.down()
    page.wait_for_url(lambda u: "/participant" not in u, timeout=5000)
    page.mouse.up()
    assert page.url.rstrip("/").endswith(rig["url"].split("/?")[0].rsplit("/", 1)[-1]) or page.url.endswith(
        "/"
    )


def test_bad_answers_are_refused_and_not_logged(rig) -> None:
    page = rig["page"]
    page.goto(urljoin(rig["url"], "participant?phase=pre&" + rig["url"].split("?", 1)[1]))
    before = len(answers_logged(rig, 0, timeout=0))
    post = """async (body) => {
        const r = await fetch('api/answer', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                             body: JSON.stringify(body)});
        return [r.status, await r.json()];
    }"""
    cases = [
        (
            {"instrument": "understanding", "item": "impact", "phase": "pre", "value": 9},
            "expected a whole number 1..5",
        ),
        ({"instrument": "understanding", "item": "nope", "phase": "pre", "value": 1}, "not a question"),
        ({"instrument": "after", "item": "role", "phase": "pre", "value": "Police"}, "after is asked post"),
        (
            {"instrument": "after", "item": "role", "phase": "post", "value": "Chef"},
            "expected one of: Police",
        ),
    ]
    for body, why in cases:
        status, reply = page.evaluate(post, body)
        assert status == 400 and why in reply["error"], (body, reply)
    status, reply = page.evaluate(post, "x" * 10_000)
    assert status == 400
    time.sleep(0.5)
    assert len(answers_logged(rig, 0, timeout=0)) == before
    assert json.dumps(reply)  # a JSON reply, not a crash page


def test_no_session_means_no_answer(rig, tmp_path: Path) -> None:
    rig["link"].command("session.end", {})
    page = rig["page"]
    page.goto(urljoin(rig["url"], "participant?phase=pre&" + rig["url"].split("?", 1)[1]))
    page.wait_for_selector("#answers button")
    page.get_by_role("button", name="4 · Agree").click()
    page.wait_for_function("document.querySelector('#note').textContent.startsWith('Not saved')")
    assert page.text_content("#progress") == "Question 1 of 3"  # still the same question
