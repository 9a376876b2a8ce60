"""Discovery: manual addresses parse strictly; players announced over mDNS appear and disappear."""

from __future__ import annotations

import pytest

from facilitator.group.discovery import Discovery, PlayerAddress, parse_address
from player.protocol.endpoints import SERVICE_TYPE
from player.protocol.keys import fingerprint
from player.sync.advertise import Advertiser, advertise_server, service_name


@pytest.mark.parametrize(
    ("text", "host", "port", "name"),
    [
        ("10.0.0.5", "10.0.0.5", 5555, "10.0.0.5:5555"),
        ("10.0.0.5:6000", "10.0.0.5", 6000, "10.0.0.5:6000"),
        ("tcp://headset-3.local:7000", "headset-3.local", 7000, "headset-3.local:7000"),
        ("front-row = 10.0.0.7:5600", "10.0.0.7", 5600, "front-row"),
        ("[fe80::1]:5601", "fe80::1", 5601, "fe80::1:5601"),
    ],
)
def test_parse_address(text: str, host: str, port: int, name: str) -> None:
    a = parse_address(text)
    assert (a.host, a.port, a.name, a.source) == (host, port, name, "manual")
    assert a.endpoint == f"tcp://{host}:{port}"


@pytest.mark.parametrize(
    ("text", "why"), [("", "empty"), ("h:99999", "port"), ("h:x", "port"), ("[::1", "unclosed")]
)
def test_bad_addresses_name_the_problem(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_address(text)


def test_unannounceable_endpoints() -> None:
    ipc = type("Server", (), {"endpoint": "ipc:///tmp/player", "public_key": None})()
    assert advertise_server(ipc, "p") is None


def test_service_names_are_sanitised() -> None:
    assert service_name("Headset 3/back row") == f"Headset 3-back row.{SERVICE_TYPE}"
    assert len(service_name("x" * 200)) == 63 + 1 + len(SERVICE_TYPE)
    with pytest.raises(ValueError, match="port"):
        Advertiser("p", 0)


def test_manual_only_discovery() -> None:
    seen: list[list[PlayerAddress]] = []
    with Discovery(["a=127.0.0.1:5001"], mdns=False, on_change=seen.append) as d:
        d.add_manual("127.0.0.1:5002")
        d.add_manual("127.0.0.1:5002")  # twice is once
        assert [p.port for p in d.players()] == [5001, 5002]
        assert [p.port for p in d.wait_for(2, 0.1)] == [5001, 5002]
    assert seen and [p.port for p in seen[-1]] == [5001, 5002]


@pytest.mark.slow
def test_mdns_announce_browse_and_withdraw_on_loopback() -> None:
    """Multicast works on this sandbox's loopback; the test skips (saying so) where it does not."""
    with Discovery(["manual=127.0.0.1:5999"]) as d:
        if d.mdns_error:
            pytest.skip(d.mdns_error)
        server = type("Server", (), {"endpoint": "tcp://127.0.0.1:5998", "public_key": b"k" * 40})()
        adv = advertise_server(server, "group-test-headset")
        assert adv is not None
        try:
            players = d.wait_for(2, 30)
            found = [p for p in players if p.source == "mdns" and p.port == 5998]
            assert found, f"not discovered over mDNS: {players}"
            assert found[0].name == "group-test-headset"
            assert found[0].host == "127.0.0.1"
            assert found[0].properties["fp"] == fingerprint(b"k" * 40)  # to check against the pairing
            assert players[0].name == "manual"
        finally:
            adv.close()
        # the goodbye packet removes it
        import time

        deadline = time.monotonic() + 30
        while any(p.port == 5998 for p in d.players()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(p.port == 5998 for p in d.players())
