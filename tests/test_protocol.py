"""The protocol codec: valid commands decode, bad ones get a precise error, the catalogue and clone state."""

from __future__ import annotations

import json
import re

import pytest

from player import protocol as P


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


def test_group_commands_are_catalogue_entries_with_argument_specs():
    c = P.decode_command(cmd("group.sync", {"timeline": {"at": 1.0}, "cmd": "play"}))
    assert c.args == {"timeline": {"at": 1.0}, "cmd": "play"} and P.COMMANDS["group.sync"].target == P.GROUP
    with pytest.raises(P.ProtocolError, match=r"args\.anything: unknown argument"):
        P.decode_command(cmd("group.sync", {"timeline": {}, "anything": 1}))
    with pytest.raises(P.ProtocolError, match=r"args\.cmd: expected one of play"):
        P.decode_command(cmd("group.sync", {"timeline": {}, "cmd": "welfare"}))
    assert not hasattr(P, "register_command")  # no run-time registration: the table is the table


def test_too_large_and_broken_json_echo_the_request_id():
    """A Lazy Pirate client matches replies by id: too_large and bad_json carry it where it can be read."""
    pad = b"x" * (P.MAX_MESSAGE_BYTES + 10)
    big = b'{"v":1,"id":"c-big","cmd":"annotate","args":{"text":"' + pad + b'"}}'
    with pytest.raises(P.ProtocolError) as e:
        P.decode_command(big)
    assert (e.value.code, e.value.request_id) == (P.E_TOO_LARGE, "c-big")
    with pytest.raises(P.ProtocolError) as e:
        P.decode_command(b'{"v":1,"id":"c-7","cmd":')
    assert (e.value.code, e.value.request_id) == (P.E_BAD_JSON, "c-7")


def test_chapter_by_index_is_accepted_and_exactly_one_of_id_or_index():
    assert P.decode_command(cmd("chapter", {"index": 2})).args == {"index": 2}
    with pytest.raises(P.ProtocolError, match="exactly one of id, index"):
        P.decode_command(cmd("chapter", {"index": 2, "id": "a"}))


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
