"""The group page's room tools in Chromium, against real headless players: gaze thumbnails, notes, and
adding a headset found on the network.

Three headsets are paired; two start in the group, the third is switched on later and announces itself
over mDNS. Each player's head is scripted to look at heading 90, pitch 20. Sessions are started from the
page with pose consent; headset-2's session is then restarted without it. The thumbnails show headset-1's
gaze as a dot at the right place on its film's picture, and "not shared" for headset-2. A participant note
goes into headset-1's log only; a group note into both logs, with one shared group id. The third headset,
found by mDNS and matched to its pairing by key fingerprint, is added with one click and joins; a player
announced with a key the console has not paired is listed as not paired, with no Add button.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from content_manifest import load_library
from facilitator.console.group import make_group_console
from facilitator.console.link import ClientLink
from facilitator.console.server import ConsoleServer
from facilitator.group.rehearsal import REHEARSAL_FILM, Rehearsal, write_rehearsal_library
from player.protocol.keys import fingerprint
from player.sync.advertise import advertise_server
from tests.browser.chromium import chromium_path, console_page
from tests.support import log_events, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

playwright_api = pytest.importorskip("playwright.sync_api")
if chromium_path() is None:
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
GROUP = "room-notes"
LATE = "headset-3"
HEAD = "- {t: 0.0, heading: 90, pitch: 20}\n- {t: 60.0, heading: 90, pitch: 20}\n"


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    work = tmp_path_factory.mktemp("group-notes")
    manifest = write_rehearsal_library(work / "library", seconds=20)
    library = load_library(manifest)
    head = work / "head.yaml"
    head.write_text(HEAD, encoding="utf-8")
    rehearsal = Rehearsal(work / "players", 3, manifest, eye_size="32x32", display_rate=10.0,
                          extra_args=("--head-script", str(head)))  # fmt: skip
    rehearsal.start(absent=(LATE,))
    mains, urgents = rehearsal.clients(), rehearsal.clients()
    links = {n: ClientLink(mains[n], urgents[n], name=n) for n in ("headset-1", "headset-2")}

    def paired() -> dict[str, dict]:
        return {p.name: {"endpoint": p.endpoint, "fingerprint": fingerprint(p.public_key)}
                for p in rehearsal.players}  # fmt: skip

    def link_factory(target: str) -> ClientLink:
        return ClientLink(mains[target], urgents[target], name=target)

    group = make_group_console(links, name=GROUP, library=library, link_factory=link_factory,
                               discover=True, paired=paired)  # fmt: skip
    server = ConsoleServer(links, library=library, port=0, report_dir=work / "reports", group=group)
    url = server.start().replace("/?token=", "/group?token=", 1)
    try:
        with console_page(playwright_api) as (_browser, page, errors):
            yield {"page": page, "url": url, "group": group, "rehearsal": rehearsal, "links": links,
                   "errors": errors}  # fmt: skip
    finally:
        server.stop()
        rehearsal.stop()


def _log(rig, name: str) -> list[dict]:
    return log_events(rig["rehearsal"].player(name).log)


def _notes(rig, name: str, text: str) -> list[dict]:
    return [e for e in _log(rig, name) if e["type"] == "annotation.added" and e["data"].get("text") == text]


def test_gaze_thumbnails_and_notes(rig):
    page, group = rig["page"], rig["group"]
    page.goto(rig["url"])
    page.wait_for_selector("#conn:text('2 headsets live')", timeout=30_000)
    page.select_option("#g-film", REHEARSAL_FILM)
    page.click("#g-load")
    page.wait_for_selector("#g-msg:text('Loaded rehearsal')", timeout=30_000)
    # before any session: no gaze is shown
    page.wait_for_selector("#g-gaze figure[data-player='headset-1'] .gz-msg:text('no session')")
    page.check("#g-agree")
    page.check("#g-knows")
    assert page.is_checked("#g-pose")
    page.click("#g-start")
    wait_for(lambda: all(group.controller.members[n].client.state.get("participant") for n in rig["links"]))
    # headset-2's viewer withdraws pose consent: its session restarts without it (same code, same group)
    code2 = rig["links"]["headset-2"].client.state["participant"]
    consent = {"given": True, "method": "verbal", "pose_capture": False}
    args = {"participant": code2, "consent": consent, "group": GROUP}
    rig["links"]["headset-2"].command("session.start", args)

    # headset-1: the dot where its viewer looks (heading 90, pitch 20 -> 75 % across, 38.9 % down)
    dot = "#g-gaze figure[data-player='headset-1'] .gz-dot"
    page.wait_for_selector(dot, state="visible", timeout=30_000)
    gz = group.state()["gaze"]["headset-1"]
    assert gz["shared"] and abs(gz["heading"] - 90) < 2 and abs(gz["pitch"] - 20) < 2, gz
    left = float(page.eval_on_selector(dot, "d => d.style.left").rstrip("%"))
    top = float(page.eval_on_selector(dot, "d => d.style.top").rstrip("%"))
    assert abs(left - 75.0) < 1.0 and abs(top - (50 - 20 / 180 * 100)) < 1.0, (left, top)
    img = "#g-gaze figure[data-player='headset-1'] img"
    page.wait_for_function(f"() => {{ const i = document.querySelector(\"{img}\"); "
                           "return i && !i.hidden && i.complete && i.naturalWidth > 0; }")  # fmt: skip
    assert "api/frame/rehearsal" in page.get_attribute(img, "src")
    # headset-2: no pose consent, no dot, says so; the player sends no pose (its log has none either)
    page.wait_for_selector("#g-gaze figure[data-player='headset-2'] .gz-msg:text('not shared')")
    assert page.is_hidden("#g-gaze figure[data-player='headset-2'] .gz-dot")
    assert group.state()["gaze"]["headset-2"]["shared"] is False

    # a participant note: headset-1's log only
    page.select_option("#g-note-for", "headset-1")
    page.fill("#g-note", "leaned back at the first flash")
    page.click("#g-note-go")
    page.wait_for_selector("#g-notes li:has-text('leaned back at the first flash')")
    assert wait_for(lambda: _notes(rig, "headset-1", "leaned back at the first flash"))
    # a group note (Ctrl+Enter): every participant's log, one shared id
    page.select_option("#g-note-for", "")
    page.fill("#g-note", "fire alarm test outside, room got loud")
    page.press("#g-note", "Control+Enter")
    page.wait_for_selector("#g-notes li:has-text('fire alarm test outside')")
    copies = {n: wait_for(lambda n=n: _notes(rig, n, "fire alarm test outside, room got loud"))
              for n in ("headset-1", "headset-2")}  # fmt: skip
    ids = set()
    for evs in copies.values():
        assert len(evs) == 1
        tags = evs[0]["data"]["tags"]
        assert "group-note" in tags
        ids |= {t for t in tags if t.startswith("group-note:")}
    assert len(ids) == 1 and re.fullmatch(r"group-note:gn-[0-9a-f]{8}", ids.pop())
    assert not _notes(rig, "headset-2", "leaned back at the first flash")
    assert page.input_value("#g-note") == ""
    # in the free-text note Shift+X types a capital X (prose), and nothing is stopped
    page.click("#g-note")
    page.keyboard.press("Shift+X")
    page.keyboard.type("-ray")
    assert page.input_value("#g-note") == "X-ray"
    page.wait_for_timeout(300)  # a stop would show its banner at once
    assert page.locator("#stop-banner.hidden").count() == 1
    page.fill("#g-note", "")
    # bad input is refused with a line naming what (the page's command, as a second page could send it)
    for args, why in (({"text": "  "}, "args.text"), ({"text": "x" * 4001}, "at most 4000"),
                      ({"text": "x", "player": "nobody"}, "'nobody' is not in group")):  # fmt: skip
        with pytest.raises(ValueError, match=why):
            group.command("note", args)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-group-room.png"), full_page=True)
    assert not rig["errors"], rig["errors"]


def test_headset_found_on_the_network_is_added_with_one_click(rig):
    page, group = rig["page"], rig["group"]
    if group.discovery_error:
        pytest.skip(group.discovery_error)
    page.goto(rig["url"])
    page.wait_for_selector("#conn:text('2 headsets live')", timeout=30_000)
    stranger = type("Server", (), {"endpoint": "tcp://127.0.0.1:5997", "public_key": b"s" * 40})()
    # zeroconf's blocking calls refuse the thread playwright's event loop runs on: another thread
    with ThreadPoolExecutor(1) as pool:
        adv = pool.submit(advertise_server, stranger, "not-ours").result(60)
    try:
        rig["rehearsal"].launch(LATE, extra=("--advertise",))
        stranger_row = "#g-found-list li[data-found='not-ours']"
        page.wait_for_selector(f"{stranger_row}:has-text('not paired')", timeout=30_000)
        assert page.locator(f"{stranger_row} button").count() == 0
        add = page.locator(f"#g-found-list li[data-found='{LATE}'] button:text('Add')")
        add.wait_for(timeout=30_000)
        add.click()
        page.wait_for_selector(f"#headsets tbody tr[data-player='{LATE}']", timeout=30_000)
        page.wait_for_selector("#conn:text('3 headsets live')", timeout=30_000)
        page.wait_for_selector(f"#g-found-list li[data-found='{LATE}']:has-text('in the group')")
        assert LATE in group.controller.members
        assert wait_for(lambda: group.controller.members[LATE].present, timeout=30)
        # no session on it yet: a note for its participant is refused, saying why
        with pytest.raises(ValueError, match="no session running"):
            group.command("note", {"text": "joined late", "player": LATE})
    finally:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(adv.close).result(60)
    assert not rig["errors"], rig["errors"]
