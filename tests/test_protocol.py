"""The protocol codec: valid commands decode, bad ones get a precise error, the catalogue and clone state."""

from __future__ import annotations

import json
import re

import pytest

from player.session import protocol as P


def cmd(name, args=None, rid="c-1", v=1) -> bytes:
    return json.dumps({"v": v, "id": rid, "cmd": name, "args": args or {}}).encode()


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("load", {"film": "calibration-mono", "play": True}),
        ("play", {}),
        ("pause", {"at": 12.5}),
        ("seek", {"t": 12.5}),
        ("chapter", {"id": "intro"}),
        ("next_safe_point", {}),
        ("rate", {"rate": 0.5}),
        ("volume", {"volume": 0.3, "muted": False}),
        ("mute", {"muted": True}),
        ("recentre", {}),
        ("welfare", {"action": "stop"}),
        ("annotate", {"text": "looked away", "tags": ["distress", "chapter 2"], "media_t": 3.0}),
        ("annotation.edit", {"ref": 4, "tags": []}),
        ("annotation.delete", {"ref": 4}),
        ("session.start", {"participant": "P-017", "consent": {"given": True, "method": "written"}}),
        ("session.end", {"reason": "finished"}),
        ("status", {}),
        ("snapshot", {}),
        ("events", {"session": "s-1", "after": 3, "limit": 10}),
        ("clock.sync", {"seq": 3}),
        ("purge", {"older_than_days": 30}),
    ],
)
def test_valid_commands_decode(name, args):
    c = P.decode_command(cmd(name, args))
    assert (c.id, c.cmd) == ("c-1", name)
    assert c.args == {
        k: (
            float(v)
            if isinstance(v, int)
            and not isinstance(v, bool)
            and k in ("t", "at", "rate", "volume", "media_t", "older_than_days")
            else v
        )
        for k, v in args.items()
    }


@pytest.mark.parametrize(
    ("raw", "code", "where"),
    [
        (b"not json", P.E_BAD_JSON, "command"),
        (b"[1,2]", P.E_BAD_MESSAGE, "JSON object"),
        (cmd("seek", {"t": 1}, rid=""), P.E_BAD_MESSAGE, "id"),
        (cmd("seek", {"t": 1}, v=2), P.E_BAD_VERSION, "v:"),
        (cmd("warp"), P.E_UNKNOWN_COMMAND, "warp"),
        (cmd("seek", {}), P.E_BAD_ARGS, "args.t: missing"),
        (cmd("seek", {"t": "soon"}), P.E_BAD_ARGS, "args.t: expected media seconds"),
        (cmd("seek", {"t": -2}), P.E_BAD_ARGS, "args.t"),
        (cmd("seek", {"t": True}), P.E_BAD_ARGS, "args.t"),
        (cmd("seek", {"t": 1, "speed": 2}), P.E_BAD_ARGS, "args.speed: unknown argument (known: at, t)"),
        (cmd("rate", {"rate": 9}), P.E_BAD_ARGS, "args.rate"),
        (cmd("volume", {}), P.E_BAD_ARGS, "at least one of volume, muted"),
        (cmd("welfare", {"action": "panic"}), P.E_BAD_ARGS, "one of soften, stop, resume"),
        (cmd("annotate", {"tags": ["ok", ""]}), P.E_BAD_ARGS, "args.tags[1]"),
        (
            cmd("session.start", {"participant": "Jane Smith", "consent": {"given": True}}),
            P.E_BAD_ARGS,
            "args.participant",
        ),
        (
            cmd("session.start", {"participant": "P-1", "consent": {"given": False}}),
            P.E_BAD_ARGS,
            "args.consent.given",
        ),
        (
            cmd("session.start", {"participant": "P-1", "consent": {"given": True, "name": "x"}}),
            P.E_BAD_ARGS,
            "args.consent.name",
        ),
        (b'{"v":1,"id":"a","cmd":"seek","args":{"t":Infinity}}', P.E_BAD_ARGS, "args.t"),
        (b'{"v":1,"id":"a","cmd":"seek","args":[]}', P.E_BAD_ARGS, "args: expected an object"),
        (b'{"v":1,"id":"a","cmd":"seek","extra":1}', P.E_BAD_MESSAGE, "extra: unknown field"),
        (b"x" * (P.MAX_MESSAGE_BYTES + 1), P.E_TOO_LARGE, "limit"),
        (b"[" * 30000 + b"]" * 30000, P.E_BAD_JSON, "command"),
        (b"\xff\xfe", P.E_BAD_JSON, "UTF-8"),
    ],
)
def test_bad_commands_name_what_is_wrong(raw, code, where):
    with pytest.raises(P.ProtocolError) as e:
        P.decode_command(raw)
    assert e.value.code == code
    assert where in e.value.message


def test_errors_keep_the_request_id_when_it_is_usable():
    with pytest.raises(P.ProtocolError) as e:
        P.decode_command(cmd("seek", {"t": "x"}, rid="c-99"))
    assert e.value.request_id == "c-99"
    reply = json.loads(P.encode_error(e.value.request_id, e.value.code, e.value.message))
    assert reply == {
        "v": 1,
        "id": "c-99",
        "ok": False,
        "error": {"code": "bad_args", "message": e.value.message},
    }
    assert P.decode_reply(P.encode_ok("c-1", {"x": 1}))["result"] == {"x": 1}


def test_register_command_for_other_parts():
    spec = P.register_command("group.sync", None, target="controller", doc="test")
    try:
        c = P.decode_command(cmd("group.sync", {"at": 1.0, "anything": [1, 2]}))
        assert c.args == {"at": 1.0, "anything": [1, 2]}
        assert spec.lead_only
        with pytest.raises(ValueError):
            P.register_command("Bad Name")
    finally:
        P.COMMANDS.pop("group.sync", None)


def test_clone_state_folds_events_and_time_format():
    s = P.initial_state()
    for t, data in [
        ("session.started", {"participant": "P-1"}),
        ("transport.playing", {}),
        ("chapter.entered", {"id": "c2"}),
        ("welfare.changed", {"level": "soften"}),
        ("content_warning.entered", {"tags": ["violence"]}),
    ]:
        P.apply_event(s, {"session": "s-1", "seq": 1, "type": t, "data": data, "film": "f", "media_t": 2.0})
    assert (s["participant"], s["transport"], s["chapter"], s["welfare"], s["film"], s["media_t"]) == (
        "P-1",
        "playing",
        "c2",
        "soften",
        "f",
        2.0,
    )
    assert s["warning"] == {"tags": ["violence"]}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", P.utc_now())


def test_welfare_commands_go_first_and_each_console_keeps_its_order():
    from player.session.dispatch import welfare_first

    def cmd(ident: bytes, name: str, n: int) -> tuple[bytes, str, bytes, float]:
        return (ident, "k", f'{{"v": 1, "id": "{name}-{n}", "cmd": "{name}", "args": {{}}}}'.encode(), 0.0)

    flood = [cmd(b"obs", "events", i) for i in range(3)]
    lead = [cmd(b"lead", "annotate", 0), cmd(b"lead", "welfare", 1), cmd(b"lead", "play", 2)]
    backlog = [flood[0], lead[0], flood[1], lead[1], flood[2], lead[2]]
    assert welfare_first(backlog) == [lead[0], lead[1], flood[0], flood[1], flood[2], lead[2]]
    assert welfare_first(flood) == flood  # nothing to move
