"""STOP NOW on the single console page is reachable from every state, by click and by key: with the
note-edit dialog open (the dialog must not make the page inert), with a text field focused; and the page
says NOT RECORDING, not "live", while the headset's session log cannot be written.

Debian's Chromium drives the real console against a real headless player process; each stop is checked in
the player's own session log."""

from __future__ import annotations

import re
import sqlite3
import threading
import time

import pytest

from content_manifest import load_library
from facilitator.console.localplayer import start_local_player
from facilitator.console.server import ConsoleServer
from tests.browser.chromium import chromium_path, console_page
from tests.support import log_events

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

playwright_api = pytest.importorskip("playwright.sync_api")
if chromium_path() is None:
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def rig(tmp_path_factory, sample_manifest):
    work = tmp_path_factory.mktemp("console-stop")
    player = start_local_player(
        sample_manifest, work / "player",
        extra_args=["--name", "headless-1", "--eye-size", "32x32", "--display-rate", "30"],
    )  # fmt: skip
    server = ConsoleServer({"h1": player.link("headless-1")}, library=load_library(sample_manifest), port=0)
    url = server.start()
    direct = player.client(timeout=3.0)
    direct.request("session.start", {"participant": "P-5150", "consent": {"given": True}})
    direct.request("load", {"film": "calibration-mono"})
    try:
        with console_page(playwright_api) as (_browser, page, errors):
            page.goto(url)
            page.wait_for_selector("#conn.ok", timeout=30_000)
            page.wait_for_selector("#step-live:not([hidden])", timeout=10_000)
            yield {"page": page, "player": player, "direct": direct, "errors": errors, "server": server}
    finally:
        server.stop()
        player.stop()


def _stops(player) -> int:
    return sum(
        1
        for e in log_events(player.log_path)
        if e["type"] == "welfare.changed" and e["data"]["level"] == "stop"
    )


def _stopped_once_more(player, before: int, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if _stops(player) > before:
            return True
        time.sleep(0.05)
    return False


def _resume(rig) -> None:
    rig["direct"].request("welfare", {"action": "resume"})
    rig["page"].wait_for_selector("#welfare-state.hidden", state="attached")


def _open_edit_dialog(page) -> None:
    page.keyboard.press("Escape")  # nothing focused: Esc is a stop as well; resumed below by the caller
    page.keyboard.press("n")
    page.keyboard.type("looked away")
    page.keyboard.press("Enter")
    page.wait_for_selector("#notes li:has-text('looked away')")
    page.locator("#notes li", has_text="looked away").first.get_by_role(
        "button", name=re.compile("Edit")
    ).click()
    page.wait_for_selector("#edit-dialog[open]")
    page.focus("#edit-text")


@pytest.mark.parametrize("how", ["click", "escape", "x-outside-the-field"])
def test_stop_is_reachable_while_the_note_dialog_is_open(rig, how):
    page, player = rig["page"], rig["player"]
    _open_edit_dialog(page)
    _resume(rig)
    assert page.is_visible("#edit-dialog")
    before = _stops(player)
    if how == "click":
        page.click("#w-stop")  # a modal dialog would make this button inert: the click would not land
    elif how == "escape":
        page.keyboard.press("Escape")  # from inside the dialog's text field
    else:
        page.locator("#edit-text").evaluate("el => el.blur()")  # focus leaves the field; the dialog stays
        page.keyboard.press("x")
    assert _stopped_once_more(player, before), how
    page.wait_for_selector("#welfare-state:text('STOPPED')")
    if page.is_visible("#edit-dialog"):
        page.locator("#edit-dialog").get_by_role("button", name="Cancel").click()
    _resume(rig)
    assert not rig["errors"]


def test_stop_from_a_focused_text_field(rig):
    page, player = rig["page"], rig["player"]
    page.keyboard.press("n")  # the note field, focused
    page.keyboard.type("x marks")  # typing an x is text, not a stop
    before = _stops(player)
    page.keyboard.press("Escape")
    assert _stopped_once_more(player, before)
    _resume(rig)


def test_the_page_says_not_recording_when_the_log_cannot_be_written(rig):
    page, player = rig["page"], rig["player"]
    page.wait_for_selector("#rec.hidden", state="attached")
    other = sqlite3.connect(str(player.log_path), isolation_level=None, timeout=10)
    other.execute("BEGIN IMMEDIATE")  # the player's log writer waits: a stall
    try:
        rig["direct"].request("annotate", {"text": "written later"})
        page.wait_for_selector("#rec:not(.hidden)", timeout=15_000)
        assert "NOT RECORDING" in page.inner_text("#rec")
        assert "NOT RECORDING" in page.inner_text("#conn")
        assert "pill bad" in page.get_attribute("#conn", "class")
        before = _stops(player)
        page.click("#w-stop")  # the stop still works: the controller acts before the log
        page.wait_for_selector("#welfare-state:text('STOPPED')", timeout=10_000)
    finally:
        other.execute("COMMIT")
        other.close()
    assert _stopped_once_more(player, before)
    page.wait_for_selector("#rec.hidden", state="attached", timeout=15_000)
    page.wait_for_selector("#conn.ok")
    _resume(rig)


def test_stop_does_not_wait_for_busy_command_workers(rig):
    """Every worker of the console's command pool busy (slow loads, reports, a player that does not answer):
    STOP NOW still leaves at once."""
    page, player, server = rig["page"], rig["player"], rig["server"]
    release = threading.Event()
    busy = [server._pool.submit(release.wait, 30) for _ in range(16)]
    try:
        before = _stops(player)
        page.click("#w-stop")
        assert _stopped_once_more(player, before)
    finally:
        release.set()
        for f in busy:
            f.result(5)
    _resume(rig)
