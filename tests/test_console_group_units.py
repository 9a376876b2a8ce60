"""The group console's pure parts: which headset events alert the group page, and command checks."""

from __future__ import annotations

import pytest

from facilitator.console.group import GroupConsole, viewer_alert
from facilitator.group.controller import GroupController


def test_viewer_signals_alert_the_group_page() -> None:
    assert "asked for a break" in viewer_alert("viewer.break_request", {})
    assert "lost focus" in viewer_alert("viewer.focus_lost", {})  # a system menu is not a headset off
    assert "taken off" in viewer_alert("viewer.headset_off", {})
    assert "back in use" in viewer_alert("viewer.focus_gained", {})
    assert viewer_alert("transport.error", {"reason": "decoder"}) == "playback error: decoder"
    assert "from the headset" in viewer_alert("welfare.changed", {"level": "stop", "by": "viewer"})
    # the facilitator's own actions and ordinary events are not alerts
    assert viewer_alert("welfare.changed", {"level": "stop", "by": "facilitator"}) is None
    assert viewer_alert("welfare.changed", {"level": "none", "by": "viewer"}) is None
    assert viewer_alert("transport.playing", {}) is None


def test_page_commands_are_checked_before_any_player_is_asked() -> None:
    g = GroupConsole(GroupController("checks"), {})
    with pytest.raises(ValueError, match=r"args\.t"):
        g.command("seek", {"t": "soon"})
    with pytest.raises(ValueError, match="not in group checks"):
        g.command("welfare", {"player": "nobody", "action": "stop"})
    with pytest.raises(ValueError, match=r"participant code for a: .*name"):
        g.command("start_sessions", {"participants": {"a": "JaneDoe"}, "consent": {"given": True}})
    with pytest.raises(ValueError, match=r"consent\.given"):
        g.command("start_sessions", {"participants": {"a": "P-1"}, "consent": {}})
    with pytest.raises(ValueError, match="its own participant code"):
        g.command("start_sessions", {"participants": {"a": "P-1", "b": "P-1"}, "consent": {"given": True}})
    with pytest.raises(Exception, match="not a group command"):
        g.command("format_disk", {})
