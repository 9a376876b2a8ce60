"""Headless Chromium drives the console's group view against real headless players in one group.

Four headsets are paired, three are switched on: the console starts with the three (the fourth shown ABSENT
with the reason), and the fourth joins mid-film where the group is, with its participant's session. Each step
is checked on the page and in every player's own session log (SQLite): clock and sync figures, the content
warnings acknowledged before the group may start, a group play and a group pause land on every player (each
logs the scheduled command's execution), one headset's STOP fades only that headset and is shown prominently,
and the group report is written from the facilitator store. Then STOP ALL from the keyboard (Esc, Shift+X)
with a text field focused and by click, each followed by RESUME ALL (button and Shift+R), and the group's
safe-point skip. Screenshot: artifacts/console-group.png (git-ignored).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from content_manifest import load_library
from facilitator.console.group import make_group_console
from facilitator.console.link import ClientLink
from facilitator.console.server import ConsoleServer
from facilitator.group.rehearsal import REHEARSAL_FILM, Rehearsal, write_rehearsal_library
from facilitator.store import FacilitatorStore
from tests.browser.chromium import chromium_path, console_page
from tests.support import log_events

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

playwright_api = pytest.importorskip("playwright.sync_api")
if chromium_path() is None:
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
GROUP = "room-2"
NAMES = ("headset-1", "headset-2", "headset-3")
LATE = "headset-4"  # paired, switched on only mid-film
CELL_MATCHES = """([name, cell, re]) => {
  const td = document.querySelector(`#headsets tr[data-player='${name}'] ${cell}`);
  return td !== null && new RegExp(re).test(td.textContent);
}"""


def wait_in_logs(players: dict, what: str, pred, timeout: float = 20.0) -> dict[str, dict]:
    """The newest event matching ``pred`` in each player's log (waits until every log has one)."""
    deadline = time.monotonic() + timeout
    while True:
        found = {}
        for name, p in players.items():
            ev = next((e for e in reversed(log_events(p.log)) if pred(e)), None)
            if ev is not None:
                found[name] = ev
        if len(found) == len(players):
            return found
        if time.monotonic() > deadline:
            missing = sorted(set(players) - set(found))
            raise AssertionError(f"no {what} in the logs of {', '.join(missing)} after {timeout:g} s")
        time.sleep(0.1)


def wait_new(player, seen: int, what: str, pred, timeout: float = 20.0) -> dict:
    """The first event matching ``pred`` among those a player logged after its first ``seen`` events."""
    deadline = time.monotonic() + timeout
    while True:
        ev = next((e for e in log_events(player.log)[seen:] if pred(e)), None)
        if ev is not None:
            return ev
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} in {player.name}'s log after {timeout:g} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    work = tmp_path_factory.mktemp("console-group")
    manifest = write_rehearsal_library(work / "library", seconds=20)
    library = load_library(manifest)
    rehearsal = Rehearsal(work / "players", len(NAMES) + 1, manifest, eye_size="32x32", display_rate=10.0)
    rehearsal.start(absent=(LATE,))
    store = FacilitatorStore(work / "store.sqlite")
    mains, urgents = rehearsal.clients(), rehearsal.clients()
    links = {n: ClientLink(mains[n], urgents[n], name=n, store=store) for n in mains}
    group = make_group_console(
        links, name=GROUP, library=library, store=store, record_jsonl=work / "group.jsonl", figures_every=2.0
    )
    server = ConsoleServer(links, library=library, port=0, report_dir=work / "reports", group=group)
    url = server.start().replace("/?token=", "/group?token=", 1)
    try:
        with console_page(playwright_api) as (_browser, page, errors):
            yield {
                "page": page, "url": url, "server": server, "group": group, "store": store, "work": work,
                "players": {p.name: p for p in rehearsal.players if p.name != LATE}, "errors": errors,
                "rehearsal": rehearsal,
            }  # fmt: skip
    finally:
        server.stop()
        rehearsal.stop()
        store.close()


def row(page, name: str):
    return page.locator(f"#headsets tbody tr[data-player='{name}']")


def test_group_view_drives_three_headsets(rig):
    page, players = rig["page"], rig["players"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(rig["url"])

    # every headset at a glance, with its clock figures (offset ± uncertainty, round trip) and link health
    page.wait_for_selector("#conn:text('3 of 4 headsets here, 1 ABSENT')", timeout=30_000)
    assert page.locator("#headsets tbody tr").count() == 4
    assert "has not answered" in row(page, LATE).locator(".st").inner_text()
    assert page.inner_text("#g-name") == GROUP
    for name in NAMES:
        page.wait_for_function(CELL_MATCHES, arg=[name, ".off", "±\\s*\\d+\\.\\d+ ms"])
        r = row(page, name)
        assert re.search(r"rtt\s+\d+\.\d ms", r.locator(".off").inner_text())
        assert "live" in r.locator(".hl").inner_text()

    # the film on every headset, then consent and a session per headset, tagged with the group
    page.select_option("#g-film", REHEARSAL_FILM)
    page.click("#g-load")
    page.wait_for_selector(
        "#g-msg:text('Loaded rehearsal: pre-flight passed on every headset here (absent: headset-4')"
    )
    assert page.locator("#g-chapter option").count() == 3  # "Jump to chapter…", opening, middle
    codes = {n: row(page, n).locator("input.code").input_value() for n in (*NAMES, LATE)}
    assert all(re.fullmatch(r"[A-Z]{3}-\d{3}", c) for c in codes.values()) and len(set(codes.values())) == 4
    assert page.is_disabled("#g-start")
    page.check("#g-agree")
    page.check("#g-knows")
    page.fill("#g-facilitator", "JB")
    page.click("#g-start")
    started = wait_in_logs(
        players, "session.started", lambda e: e["type"] == "session.started" and e["data"].get("participant")
    )
    for name, ev in started.items():
        assert ev["data"]["group"] == GROUP and ev["data"]["participant"] == codes[name]
        assert ev["data"]["consent"]["given"] is True
    for name in NAMES:
        row(page, name).locator(".who", has_text=codes[name]).wait_for()

    # the film has a content warning: the group cannot start until it is acknowledged (read to the group)
    assert "raised-voices" in page.inner_text("#g-warn-list")
    assert page.is_disabled("#g-play")
    page.keyboard.press("Space")
    assert "read the content warnings" in page.inner_text("#log")
    page.check("#g-warn-ack")
    page.wait_for_selector("#g-play:not([disabled])")
    # a group play (Space) lands on all three at one scheduled instant
    page.keyboard.press("Space")
    played = wait_in_logs(
        players, "sync.executed play", lambda e: e["type"] == "sync.executed" and e["data"]["cmd"] == "play"
    )
    assert len({ev["data"]["epoch"] for ev in played.values()}) == 1
    assert len({round(ev["data"]["media_t"], 3) for ev in played.values()}) == 1
    wait_in_logs(players, "transport.playing", lambda e: e["type"] == "transport.playing")
    page.wait_for_selector("#gstate:text('playing')")
    page.wait_for_selector("#g-nextwarn:text('Next warning in')")
    # the fourth headset is switched on mid-film: it joins where the group is, with its participant's session
    rig["rehearsal"].launch(LATE)
    late = rig["rehearsal"].player(LATE)
    joined = wait_new(
        late, 0, "a rejoin", lambda e: e["type"] == "sync.executed" and e["data"]["cmd"] == "sync"
    )
    assert joined["data"]["playing"] and joined["data"]["media_t"] > 0.5
    started = wait_new(
        late, 0, "its session", lambda e: e["type"] == "session.started" and e["data"]["participant"]
    )
    assert started["data"]["participant"] == codes[LATE] and started["data"]["group"] == GROUP
    row(page, LATE).locator(".st", has_text="playing").wait_for(timeout=30_000)
    page.wait_for_selector("#conn:text('4 headsets live')", timeout=30_000)
    for name in NAMES:
        page.wait_for_function(CELL_MATCHES, arg=[name, ".err", "[+-]?\\d+\\.\\d\\d ms"], timeout=30_000)
        row(page, name).locator(".st", has_text="playing").wait_for()

    # one viewer's STOP: only that headset fades; the others play on; the page offers to pause the group
    row(page, "headset-2").get_by_role("button", name="Stop headset-2").click()
    stopped = wait_in_logs(
        {"headset-2": players["headset-2"]},
        "welfare stop",
        lambda e: e["type"] == "welfare.changed" and e["data"].get("level") == "stop",
    )
    assert stopped
    page.wait_for_selector("#alert:not(.hidden)")
    assert "headset-2 STOPPED (this headset only)" in page.inner_text("#alert-text")
    page.wait_for_selector("#stop-banner:text('STOPPED: headset-2 (this headset only')")
    row(page, "headset-2").locator(".wl", has_text="STOPPED").wait_for()
    page.wait_for_selector("#stopped:text('1 STOPPED')")
    time.sleep(1.2)  # the others keep playing through the next state updates
    for name in ("headset-1", "headset-3"):
        evs = log_events(players[name].log)
        assert not [e for e in evs if e["type"] == "welfare.changed"], name
        assert [e["type"] for e in evs if e["type"].startswith("transport.")][-1] == "transport.playing", name
        assert row(page, name).locator(".st").inner_text().startswith("playing")
        assert "ok" in row(page, name).locator(".wl").inner_text()
    page.screenshot(path=str(ARTIFACTS / "console-group.png"))
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet in portrait: stacked, nothing cut off
    page.screenshot(path=str(ARTIFACTS / "console-group-tablet.png"))
    page.set_viewport_size({"width": 1366, "height": 768})

    # Resume: that headset comes back to the film and rejoins the group where it is by then
    h2 = players["headset-2"]
    seen = len(log_events(h2.log))
    page.get_by_role("button", name="Resume headset-2").click()
    back = wait_new(h2, seen, "welfare none", lambda e: e["type"] == "welfare.changed")
    assert back["data"]["level"] == "none"
    rejoin = wait_new(
        h2, seen, "a rejoin", lambda e: e["type"] == "sync.executed" and e["data"]["cmd"] == "sync"
    )
    assert rejoin["data"]["playing"] and not rejoin["data"]["held"]
    page.wait_for_selector("#alert.hidden", state="attached")
    page.wait_for_selector("#stop-banner.hidden", state="attached")
    row(page, "headset-2").locator(".st", has_text="playing").wait_for(timeout=30_000)
    row(page, "headset-2").locator(".wl", has_text="ok").wait_for()

    # pause the whole group from the keyboard (P): every player executes the same scheduled pause
    page.keyboard.press("p")
    paused = wait_in_logs(
        players, "sync.executed pause", lambda e: e["type"] == "sync.executed" and e["data"]["cmd"] == "pause"
    )
    assert len({ev["data"]["epoch"] for ev in paused.values()}) == 1
    page.wait_for_selector("#gstate:text('paused')")
    wait_in_logs(players, "transport.paused", lambda e: e["type"] == "transport.paused")
    assert not rig["errors"], rig["errors"]

    # the group report, from the facilitator store: group facts, sync figures, one section per participant
    page.click("#g-report")
    page.wait_for_selector("#g-report-link:not(.hidden)", timeout=30_000)
    path = Path(re.search(r"Group report written: (.+)$", page.inner_text("#g-msg")).group(1).strip())
    report = path.read_text(encoding="utf-8")
    assert f"group {GROUP}" in report and "Sync figures per headset" in report
    for name in (*NAMES, LATE):
        assert f"Participant {codes[name]} · {name}" in report
    assert report.count('<article class="participant">') == 4
    assert re.search(r"<td>play </td>.*?<td class=t>3 of 4</td><td class=t>3</td>", report, re.S)
    records = {json.loads(line)["type"] for line in (rig["work"] / "group.jsonl").read_text().splitlines()}
    assert {"group.member_added", "group.load", "group.command", "group.welfare", "group.clock"} <= records
    stored = {r["type"] for r in rig["store"].group_records(GROUP)}
    assert {"group.command", "group.welfare", "group.figures", "group.sessions_started"} <= stored


def _all_logged(players: dict, seen: dict[str, int], what: str, pred) -> dict[str, dict]:
    return {name: wait_new(p, seen[name], what, pred) for name, p in players.items()}


def _executed(cmd: str):
    return lambda e: e["type"] == "sync.executed" and e["data"]["cmd"] == cmd


def _played_or_rejoined(e: dict) -> bool:
    return e["type"] == "sync.executed" and (
        e["data"]["cmd"] == "play" or (e["data"]["cmd"] == "sync" and e["data"]["playing"] is True)
    )


def _level(level: str):
    return lambda e: e["type"] == "welfare.changed" and e["data"].get("level") == level


def test_stop_all_and_resume_all_from_every_state(rig):
    """STOP ALL by Esc with the seek box focused, by Shift+X while typing the facilitator's initials, and by
    click; each lifted by RESUME ALL (button, Shift+R, button), after which the group plays on together."""
    page = rig["page"]
    players = {**rig["players"], LATE: rig["rehearsal"].player(LATE)}
    page.keyboard.press("Space")  # the first test left the group paused
    page.wait_for_selector("#gstate:text('playing')")

    def typed_then(field: str, text: str, key: str):
        return lambda: (page.click(field), page.keyboard.type(text), page.keyboard.press(key))

    ways = [
        ("Esc in the seek box", typed_then("#g-seek", "1:0", "Escape")),
        ("Shift+X in a text field", typed_then("#g-facilitator", "jb", "Shift+X")),
        ("the STOP ALL button", lambda: page.click("#g-stopall")),
    ]
    resumes = [lambda: page.click("#g-resumeall"), lambda: page.keyboard.press("Shift+R"),
               lambda: page.click("#g-resumeall")]  # fmt: skip
    for (how, stop), resume in zip(ways, resumes, strict=True):
        seen = {n: len(log_events(p.log)) for n, p in players.items()}
        stop()
        _all_logged(players, seen, f"welfare stop by {how}", _level("stop"))
        page.wait_for_selector("#stop-banner:text('ALL HEADSETS STOPPED')")
        page.wait_for_selector("#gstate:text('paused')")
        assert page.input_value("#g-seek") in ("", "1:0")  # the key did not go into the field
        page.locator("body").click(position={"x": 5, "y": 5})  # no field focused for Shift+R
        seen = {n: len(log_events(p.log)) for n, p in players.items()}
        resume()
        _all_logged(players, seen, f"welfare none after {how}", _level("none"))
        # each headset plays at the group's instant; one whose resume landed after that instant (a loaded
        # machine) rejoins the playing group at once instead (a sync execution on the same timeline)
        played = _all_logged(players, seen, "group play after RESUME ALL", _played_or_rejoined)
        assert len({ev["data"]["epoch"] for ev in played.values()}) == 1, how
        page.wait_for_selector("#stop-banner.hidden", state="attached")
        page.wait_for_selector("#gstate:text('playing')")
        assert "X" not in page.input_value("#g-facilitator")  # Shift+X stopped, it typed nothing

    # the group's safe-point skip (G): every headset seeks to the film's next safe point together. The group
    # first goes back to 0:02 (the steps above take longer on a loaded machine: the film may be past its last
    # safe point by now), and the skip then lands on a safe point (10 s, or 15 s if the group passed 9.5 s)
    seen = {n: len(log_events(p.log)) for n, p in players.items()}
    page.fill("#g-seek", "0:02")
    page.press("#g-seek", "Enter")
    back = lambda e: _executed("seek")(e) and e["data"]["media_t"] < 3  # noqa: E731
    _all_logged(players, seen, "group seek to 0:02", back)
    page.locator("body").click(position={"x": 5, "y": 5})  # no field focused for G
    seen = {n: len(log_events(p.log)) for n, p in players.items()}
    page.keyboard.press("g")
    seeks = _all_logged(players, seen, "safe-point seek", _executed("seek"))
    targets = {round(ev["data"]["media_t"], 3) for ev in seeks.values()}
    assert len(targets) == 1 and targets <= {10.0, 15.0}, targets
    assert not rig["errors"], rig["errors"]
