"""Keys and pairing: certificates in zmq.auth format with private secrets, the code shown by the player,
one code per facilitator, roles, revocation, and wrong codes getting nowhere."""

from __future__ import annotations

import os
import stat
import sys
import time

import pytest
import zmq.auth

from facilitator.client import CommandFailed, PairingError, RequestTimeout, pair
from player.protocol.keys import (
    Authorizations,
    load_or_create_identity,
    new_pairing_code,
    normalize_pairing_code,
    pairing_keypair,
    read_cert_metadata,
)
from tests.session_support import Player, make_home, wait_for

pytestmark = pytest.mark.timeout(120)


def test_identity_files_are_zmq_certificates_with_a_private_secret(tmp_path):
    ident = load_or_create_identity(tmp_path / "keys", "player", {"name": "p1"})
    pub, sec = zmq.auth.load_certificate(tmp_path / "keys" / "player.key_secret")
    assert (pub, sec) == (ident.public, ident.secret)
    assert zmq.auth.load_certificate(tmp_path / "keys" / "player.key") == (ident.public, None)
    assert read_cert_metadata(tmp_path / "keys" / "player.key") == {"name": "p1"}
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(tmp_path / "keys" / "player.key_secret").st_mode) == 0o600
        assert stat.S_IMODE(os.stat(tmp_path / "keys").st_mode) == 0o700
    again = load_or_create_identity(tmp_path / "keys", "player")
    assert again.public == ident.public  # loaded, not replaced


def test_pairing_codes():
    code = new_pairing_code()
    assert len(code) == 9 and code[4] == "-"
    assert normalize_pairing_code(code.lower().replace("-", " ")) == code
    assert normalize_pairing_code("o1il-0000") == "0111-0000"
    with pytest.raises(ValueError, match="expected 8 characters"):
        normalize_pairing_code("ABC")
    assert pairing_keypair("7KQ4-MZ2X") == pairing_keypair("7kq4mz2x")
    assert pairing_keypair("7KQ4-MZ2X")[0] != pairing_keypair("7KQ4-MZ2Y")[0]


def test_authorizations_follow_the_folder(tmp_path):
    auth = Authorizations(tmp_path)
    a = load_or_create_identity(tmp_path / "a", "facilitator")
    assert auth.lookup(a.public) is None
    path = auth.authorize(a.public, "Alice Room 2", "observer")
    assert auth.lookup(a.public) == ("observer", path.stem)
    path.unlink()
    auth.refresh()
    assert auth.lookup(a.public) is None


def test_pairing_with_the_code_the_player_shows(sample_manifest, tmp_path):
    p = Player(sample_manifest, tmp_path / "player", "room-2").start()
    try:
        code = p.pairing_code
        assert code, p.lines
        alice = make_home(tmp_path / "alice", "alice")
        # a wrong code gets no answer at all
        with pytest.raises(PairingError, match="no answer"):
            pair(p.endpoint, "0000-0000" if code != "0000-0000" else "1111-1111", alice, timeout=1.0)
        res = pair(p.endpoint, code.lower(), alice)
        assert res.player == "room-2" and res.role == "lead"
        assert res.public_key == p.public_key()
        c = alice.client("room-2")
        assert c.hello()["role"] == "lead"
        c.request("pause")
        c.close()
        # one code, one facilitator: the player shows a new one; the old one is dead
        assert wait_for(lambda: p.pairing_code not in (None, code), 20)
        bob = make_home(tmp_path / "bob", "bob")
        with pytest.raises(PairingError):
            pair(p.endpoint, code, bob, timeout=1.0)
        obs = pair(p.endpoint, p.pairing_code, bob, role="observer")
        assert obs.role == "observer"
        b = bob.client("room-2")
        with pytest.raises(CommandFailed) as e:
            b.request("play")
        assert e.value.code == "forbidden"
        st = b.request("status")
        assert st["player"] == "room-2"
        roles = {read_cert_metadata(f).get("role") for f in (p.keys / "authorized").glob("*.key")}
        assert roles == {"lead", "observer"}
        # revoking: remove the certificate; the next connection is refused
        for f in (p.keys / "authorized").glob("bob-*.key"):
            f.unlink()
        time.sleep(1.1)
        with pytest.raises(CommandFailed) as e:  # the connection made before is refused too
            b.request("status")
        assert e.value.code == "forbidden"
        b.close(bye=False)
        b2 = bob.client("room-2", timeout=0.5, retries=1)
        with pytest.raises(RequestTimeout):  # and a new one fails the handshake
            b2.request("status")
        b2.close(bye=False)
        # the log records the pairings, never the codes
        c = alice.client("room-2")
        events = c.request("events", {"limit": 1000})["events"]
        paired = [e for e in events if e["type"] == "pairing.completed"]
        assert [e["data"]["name"] for e in paired] == ["alice", "bob"]
        assert code not in str(events)
        c.close()
    finally:
        p.stop()


def _raw_subscriber(ctx: zmq.Context, p: Player, home) -> zmq.Socket:
    """A bare SUB socket with a facilitator's keys on the player's event port (no client library)."""
    ident = home.identity()
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.curve_serverkey = p.public_key()
    sub.curve_publickey, sub.curve_secretkey = ident.public, ident.secret
    sub.setsockopt(zmq.SUBSCRIBE, b"ev")
    sub.connect(f"tcp://127.0.0.1:{p.port + 1}")
    return sub


def _event_types(sub: zmq.Socket, seconds: float) -> list[str]:
    import json

    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        if sub.poll(100):
            out.append(json.loads(sub.recv_multipart()[-1])["type"])
    return out


def test_revoking_a_console_also_closes_its_event_stream(sample_manifest, tmp_path):
    p = Player(sample_manifest, tmp_path / "player", "room-3").start()
    ctx = zmq.Context()
    try:
        alice, bob = make_home(tmp_path / "alice", "alice"), make_home(tmp_path / "bob", "bob")
        p.authorize(alice)
        p.authorize(bob)
        b_sub = _raw_subscriber(ctx, p, bob)
        c = p.client(alice)
        c.subscribe(queue_events=True, since="now")
        assert wait_for(lambda: b_sub.poll(50), 10)  # bob hears the player
        (p.keys / "authorized" / "bob.key").unlink()
        assert wait_for(
            lambda: any(
                e["type"] == "facilitator.revoked" for e in c.request("events", {"limit": 1000})["events"]
            ),
            10,
        )
        _event_types(b_sub, 0.3)  # what was queued before the revocation
        refs = [c.request("annotate", {"text": f"said after bob was removed {i}"})["ref"] for i in range(3)]
        time.sleep(0.3)
        refs.append(c.request("annotate", {"text": "and later"})["ref"])
        # alice's connection was closed too, and let in again: her client catches up on what it missed
        seen = [e for e in c.events(timeout=5.0) if e["type"] == "annotation.added"]
        assert [e["seq"] for e in seen] == refs
        assert _event_types(b_sub, 1.5) == []  # bob hears nothing more, heartbeats included
        revoked = [
            e for e in c.request("events", {"limit": 1000})["events"] if e["type"] == "facilitator.revoked"
        ]
        assert [(e["data"]["name"], e["data"]["role"]) for e in revoked] == [("bob", "lead")]
        c.close()
    finally:
        ctx.destroy(0)
        p.stop()


def test_a_certificate_role_is_read_strictly(tmp_path):
    from player.protocol.keys import write_public_cert

    auth = Authorizations(tmp_path)
    keys = [load_or_create_identity(tmp_path / n, "facilitator").public for n in ("a", "b", "c")]
    write_public_cert(auth.dir / "a.key", keys[0], {"role": " Observer", "name": "a"})
    write_public_cert(auth.dir / "b.key", keys[1], {"role": "admin", "name": "b"})
    write_public_cert(auth.dir / "c.key", keys[2], {"name": "c"})
    auth.refresh()
    assert auth.lookup(keys[0]) == ("observer", "a")  # spelling aside, what was meant
    assert auth.lookup(keys[1]) is None  # a role we do not know grants nothing
    assert auth.lookup(keys[2]) == ("lead", "c")  # none written: lead, as documented


def test_a_second_player_by_the_same_name_does_not_take_the_first_ones_place(tmp_path):
    home = make_home(tmp_path / "home", "alice")
    first = load_or_create_identity(tmp_path / "p1", "player").public
    second = load_or_create_identity(tmp_path / "p2", "player").public
    assert home.remember("room-2", "tcp://10.0.0.5:5555", first, "lead").stem == "room-2"
    assert home.remember("room-2", "tcp://10.0.0.5:5555", first, "lead").stem == "room-2"  # the same: updated
    assert home.remember("room-2", "tcp://10.0.0.9:5555", second, "lead").stem == "room-2-2"
    assert home.find("room-2")["endpoint"] == "tcp://10.0.0.5:5555"  # the first is still there
    assert home.find("room-2-2")["endpoint"] == "tcp://10.0.0.9:5555"
    assert home.remember("room-2", "tcp://10.0.0.9:5555", second, "lead", replace=True).stem == "room-2"
    assert home.find("room-2")["endpoint"] == "tcp://10.0.0.9:5555"


def test_guessing_codes_pauses_pairing_then_a_new_code_comes(tmp_path):
    """Past the limit of failed handshakes (wrong codes), the pairing socket closes for a pause; the code it
    showed is dead, and a new one is shown after the pause."""
    from player.session.pairing_desk import PairingDesk
    from player.session.sockets import Endpoints
    from tests.session_support import free_port_triple

    port = free_port_triple()
    eps = Endpoints(*(f"tcp://127.0.0.1:{port + i}" for i in range(3)))
    ctx = zmq.Context()
    poller = zmq.Poller()
    codes: list[str] = []
    desk = PairingDesk(
        ctx,
        poller,
        eps,
        Authorizations(tmp_path / "keys"),
        lambda name, role, key, cert: {"player": "p", "public_key": "x", "role": role},
        lambda: None,
        on_code=codes.append,
        announce=False,
        wrong_code_limit=5,
        cooldown_s=1.0,
    )

    def turn(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready = dict(poller.poll(50))
            if desk.socket is not None and desk.socket in ready:
                desk.read()
            if desk.monitor is not None and desk.monitor in ready:
                desk.read_monitor()
            desk.open_prepared()

    try:
        desk.open()
        first = codes[-1]
        guesser = make_home(tmp_path / "mallory", "mallory")
        wrong = "0000-0000" if first != "0000-0000" else "1111-1111"
        for _ in range(3):
            with pytest.raises(PairingError):
                pair(eps.command, wrong, guesser, timeout=0.3)
            turn(0.1)
        turn(0.2)
        assert desk.socket is None and desk.code is None  # paused: the code shown is dead
        turn(1.5)
        assert (
            len(codes) == 2 and codes[-1] != first and desk.socket is not None
        )  # a new code after the pause
    finally:
        desk.discard()
        ctx.destroy(0)
