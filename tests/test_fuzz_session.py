"""Fuzzing the command decoder (hypothesis): in-process, and thousands of malformed messages thrown at a
playing player, which keeps playing and answers valid commands throughout."""

from __future__ import annotations

import json
import socket
import time

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from player import protocol as P
from tests.session_support import KeepPlaying, Player, make_home, wait_for

pytestmark = pytest.mark.timeout(180)

SAFE_NAMES = sorted(
    set(P.COMMANDS)
    - {"pause", "welfare", "load", "purge", "rate", "mute", "volume", "session.start", "session.end", "bye"}
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=12,
)


@st.composite
def near_commands(draw) -> bytes:
    """Command-shaped objects with something wrong (or, rarely, right)."""
    obj: dict = {}
    if draw(st.booleans()):
        obj["v"] = draw(st.sampled_from([1, 1, 2, 0, "1", None, True, 1.0]))
    if draw(st.integers(0, 5)):
        obj["id"] = draw(st.sampled_from(["c-1", "", "x" * 65, "bad id", "ok.id:1"]) | st.text(max_size=70))
    if draw(st.integers(0, 5)):
        obj["cmd"] = draw(st.sampled_from(SAFE_NAMES) | st.text(max_size=20) | json_scalars)
    if draw(st.integers(0, 3)):
        obj["args"] = draw(
            st.dictionaries(
                st.sampled_from(
                    ["t", "id", "text", "tags", "ref", "session", "after", "limit", "media_t", "x", "at"]
                ),
                json_values,
                max_size=4,
            )
            | json_values
        )
    if draw(st.integers(0, 6)) == 0:
        obj[draw(st.text(max_size=5))] = draw(json_values)
    return json.dumps(obj).encode()


messages = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode()),
    near_commands(),
    st.sampled_from(
        [
            b"",
            b"{",
            b"[" * 5000 + b"]" * 5000,
            b'{"v":1,"id":"a","cmd":"seek","args":{"t":1e999}}',
            b"\xff\xfe\x00",
            b'{"v":1,"id":"a","cmd":"annotate","args":{"text":"' + b"x" * 70000 + b'"}}',
        ]
    ),
)


@settings(max_examples=500, deadline=None)
@given(messages)
def test_decoder_is_total(raw):
    try:
        cmd = P.decode_command(raw)
    except P.ProtocolError as exc:
        assert exc.code in (
            P.E_BAD_JSON,
            P.E_BAD_MESSAGE,
            P.E_BAD_VERSION,
            P.E_UNKNOWN_COMMAND,
            P.E_BAD_ARGS,
            P.E_TOO_LARGE,
        )
        assert exc.message
        return
    assert cmd.cmd in P.COMMANDS and isinstance(cmd.args, dict)
    P.encode_ok(cmd.id, cmd.args)  # what it accepted can be encoded back


@pytest.fixture(scope="module")
def playing(sample_manifest, tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz")
    home = make_home(base / "lead", "lead")
    p = Player(sample_manifest, base / "p", "fuzzed")
    p.authorize(home)
    p.start()
    lead = p.client(home, timeout=2.0)
    # a film plays only inside a consented session (docs/protocol.md, "Session lifecycle")
    lead.request("session.start", {"participant": "P-077", "consent": {"given": True}})
    lead.request("play")
    keeper = KeepPlaying(lead)
    ident = home.identity()
    ctx = zmq.Context.instance()
    raw = ctx.socket(zmq.DEALER)
    raw.linger = 0
    raw.sndhwm = 100_000
    raw.curve_serverkey = p.public_key()
    raw.curve_publickey = ident.public
    raw.curve_secretkey = ident.secret
    raw.connect(p.endpoint)
    state = {"sent": 0, "replies": 0, "checks": 0, "t0": None}
    yield p, lead, raw, state
    keeper.stop()
    raw.close(0)
    lead.close()
    p.stop()


def _drain(raw, state) -> None:
    while raw.poll(0):
        reply = raw.recv()
        state["replies"] += 1
        obj = json.loads(reply)  # every reply is well-formed JSON
        assert obj["v"] == 1 and isinstance(obj["ok"], bool)


def _check_playing(lead, state) -> None:
    st_ = lead.request("status")["controller"]
    assert st_["state"] in ("playing", "seeking", "ended", "paused"), st_
    state["checks"] += 1


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(frames=st.lists(messages, min_size=1, max_size=3))
def test_malformed_messages_at_a_playing_player(playing, frames):
    _p, lead, raw, state = playing
    if state["t0"] is None:
        state["t0"] = lead.request("status")["controller"]["media_t"]
    try:
        raw.send_multipart(frames, zmq.NOBLOCK)
        state["sent"] += 1
    except zmq.Again:
        time.sleep(0.01)
    if state["sent"] % 100 == 0:
        _drain(raw, state)
        _check_playing(lead, state)


def test_after_the_fuzzing_the_player_still_plays_and_answers(playing):
    p, lead, raw, state = playing
    assert state["sent"] >= 1500
    # garbage from a peer that is not even speaking ZMTP
    for blob in (b"GET / HTTP/1.0\r\n\r\n", bytes(range(256)) * 8):
        with socket.create_connection(("127.0.0.1", p.port)) as s:
            s.sendall(blob)

    def answered() -> bool:  # the player works through its backlog of garbage (slowly, on a loaded machine)
        _drain(raw, state)
        return state["replies"] > 1000

    assert wait_for(answered, 30), state
    t1 = lead.request("status")
    time.sleep(0.8)
    t2 = lead.request("status")
    assert p.proc.poll() is None
    assert t2["controller"]["state"] == "playing" or t1["controller"]["state"] != t2["controller"]["state"]
    stats = t2["stats"]
    assert stats["errors"] + stats["dropped"] > 1000 and stats["internal_errors"] == 0
    assert lead.request("annotate", {"text": "still here"})["ref"] > 0
    moved = t2["controller"]["media_t"] != t1["controller"]["media_t"]
    assert moved or t2["controller"]["state"] != "playing"
