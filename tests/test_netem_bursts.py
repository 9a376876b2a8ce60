"""The relay's dead bursts: nothing gets through a dead window; TCP's back-off decides when it does."""

from __future__ import annotations

import socket
import time

import pytest

from tests.netem import DeadBursts, NetemRelay, echo_server


def _roundtrip(c: socket.socket, msg: bytes) -> float:
    """Send, read it all back; the monotonic instant it was complete."""
    c.sendall(msg)
    buf = b""
    while len(buf) < len(msg):
        chunk = c.recv(65536)
        assert chunk, "connection closed early"
        buf += chunk
    assert buf == msg
    return time.monotonic()


def test_nothing_crosses_a_dead_window() -> None:
    """A message sent into a 1 s dead window is retried after 0.1, 0.3, 0.7, 1.5 s (doubling): its echo cannot
    be back before the window ends (whenever the relay reads it, however loaded the machine); before and after
    the window the link answers as usual."""
    srv = echo_server()
    try:
        bursts = DeadBursts(windows=[])
        with NetemRelay(srv.getsockname(), delay=0.002, jitter=0.0, loss_delay=0.1, bursts=bursts) as relay:  # noqa: SIM117
            with socket.create_connection(("127.0.0.1", relay.port)) as c:
                c.settimeout(20)
                _roundtrip(c, b"before")  # the link works before the burst
                now = time.monotonic()
                end = now + 1.0
                bursts.add(now - 0.05, end)
                back = _roundtrip(c, b"into the burst")
                assert back >= end, f"a reply came back {end - back:.3f} s before the dead window ended"
                _roundtrip(c, b"after")
        assert relay.stats.burst_delayed >= 1
        assert bursts.hits >= 1
    finally:
        srv.close()


def test_random_bursts_are_seeded_and_shared() -> None:
    """The schedule is a seeded Poisson process of fixed-length windows; two relays can share one (a
    headset's command and event links go deaf together)."""
    a = DeadBursts(0.3, every=2.0, seed=5, start=100.0)
    b = DeadBursts(0.3, every=2.0, seed=5, start=100.0)
    wa, wb = a.windows(400.0), b.windows(400.0)
    assert wa == wb and len(wa) > 50  # seeded: the same windows
    assert all(abs((e - s) - 0.3) < 1e-9 for s, e in wa)
    gaps = [wa[i + 1][0] - wa[i][1] for i in range(len(wa) - 1)]
    assert all(g >= 0 for g in gaps)
    assert 1.0 < sum(gaps) / len(gaps) < 3.0  # mean about `every`
    i = next(i for i in range(len(gaps)) if gaps[i] > 1.0)  # a window with a quiet second after it
    s, e = wa[i]
    assert a.window_at(s + 0.1) == (s, e)
    assert a.window_at(e + 0.5) is None
    assert a.retransmit_delay(s + 0.05, 0.2) == pytest.approx(0.6)  # tries at +0.2 (dead), then +0.6
    assert a.retransmit_delay(e + 0.5, 0.2) == 0.0
    with pytest.raises(ValueError, match="duration"):
        DeadBursts(0.0)
