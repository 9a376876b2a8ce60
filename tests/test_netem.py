"""The netem relay: bytes arrive intact, in order, never earlier than the link allows; loss shows as delay."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import zmq

from tests.netem import MSS, LinkProfile, NetemRelay, echo_server


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        assert chunk, "connection closed early"
        buf += chunk
    return bytes(buf)


def test_relay_delivers_intact_in_order_and_not_early() -> None:
    srv = echo_server()
    try:
        with NetemRelay(srv.getsockname(), delay=0.020, jitter=0.005, seed=1) as relay:  # noqa: SIM117
            with socket.create_connection(("127.0.0.1", relay.port)) as c:
                c.settimeout(10)
                rtts = []
                for i in range(10):
                    msg = f"ping {i}".encode()
                    t0 = time.monotonic()
                    c.sendall(msg)
                    assert _recv_exactly(c, len(msg)) == msg
                    rtts.append(time.monotonic() - t0)
                # two one-way trips, each at least delay - jitter
                assert min(rtts) >= 2 * 0.015
                payload = bytes(range(256)) * 800  # 200 KiB: many segments, jittered, must stay in order
                c.sendall(payload)
                assert _recv_exactly(c, len(payload)) == payload
        st = relay.stats
        assert st.connections == 1
        assert st.segments >= 2 * (len(payload) // MSS)
        assert all(d >= 0.015 - 1e-9 for d in st.delays)
        assert st.lost == 0
        assert st.reordered > 0  # jitter over many segments reorders some; TCP semantics re-sequence them
    finally:
        srv.close()


def test_loss_shows_as_retransmission_delay_without_corruption() -> None:
    srv = echo_server()
    try:
        link = {"delay": 0.002, "jitter": 0.001, "loss": 0.3, "loss_delay": 0.05, "seed": 7}
        with NetemRelay(srv.getsockname(), **link) as relay:  # noqa: SIM117
            with socket.create_connection(("127.0.0.1", relay.port)) as c:
                c.settimeout(10)
                for i in range(20):
                    msg = f"message {i}".encode() * 10
                    c.sendall(msg)
                    assert _recv_exactly(c, len(msg)) == msg
        st = relay.stats
        assert st.lost > 0
        assert max(st.delays) >= 0.05  # a lost segment waited for its retransmission
    finally:
        srv.close()


def test_zeromq_req_rep_through_relay() -> None:
    ctx = zmq.Context.instance()
    rep = ctx.socket(zmq.REP)
    rep.linger = 0
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            if rep.poll(50):
                rep.send(rep.recv())

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with NetemRelay(("127.0.0.1", port), delay=0.010, jitter=0.002, loss=0.01, seed=3) as relay:
            req = ctx.socket(zmq.REQ)
            req.linger = 0
            req.connect(relay.endpoint)
            try:
                for i in range(30):
                    t0 = time.monotonic()
                    req.send(b"%d" % i)
                    assert req.poll(5000), "no reply through the relay"
                    assert req.recv() == b"%d" % i
                    assert time.monotonic() - t0 >= 2 * 0.008
            finally:
                req.close()
    finally:
        stop.set()
        t.join(2)
        rep.close()


def test_asymmetric_links_and_bad_profiles() -> None:
    up = LinkProfile(delay=0.001, jitter=0.0)
    relay = NetemRelay(("127.0.0.1", 9), delay=0.03, jitter=0.0, upstream=up)
    assert relay.downstream.delay == 0.03 and relay.upstream.delay == 0.001
    with pytest.raises(ValueError, match="loss"):
        LinkProfile(loss=1.5)
    with pytest.raises(ValueError, match="jitter"):
        LinkProfile(delay=0.001, jitter=0.01)
    with pytest.raises(ValueError, match="delay"):
        LinkProfile(delay=-1)


def test_unreachable_target_closes_client_connection() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    dead_port = probe.getsockname()[1]
    probe.close()
    with NetemRelay(("127.0.0.1", dead_port), delay=0.001, jitter=0.0) as relay:  # noqa: SIM117
        with socket.create_connection(("127.0.0.1", relay.port)) as c:
            c.settimeout(5)
            assert c.recv(10) == b""


def test_a_room_of_links_relays_from_its_own_process_and_sums_what_they_did() -> None:
    """tests/netem_room.py: every link of a room on one loop in a child process, each delaying both ways, and
    the room's stats sum every link."""
    from tests.netem_room import Link, RelayRoom

    servers = [echo_server() for _ in range(3)]
    try:
        links = [Link(s.getsockname()[1], seed=i, group=i // 2, burst_seed=7) for i, s in enumerate(servers)]
        with RelayRoom(links, burst_every=1000.0, delay=0.010, jitter=0.0) as room:
            assert len(room.endpoints) == 3 and len(set(room.endpoints)) == 3
            for endpoint in room.endpoints:
                port = int(endpoint.rsplit(":", 1)[1])
                with socket.create_connection(("127.0.0.1", port)) as c:
                    c.settimeout(10)
                    t0 = time.monotonic()
                    c.sendall(b"x" * 3000)  # three segments each way
                    assert _recv_exactly(c, 3000) == b"x" * 3000
                    assert time.monotonic() - t0 >= 2 * 0.010  # one delay each way
            stats = room.stats()
        assert stats["segments"] >= 3 * 2 * 3 and stats["lost"] == 0  # at least three segments each way
    finally:
        for s in servers:
            s.close()


def test_a_far_end_that_never_reads_stops_the_relay_reading() -> None:
    """Backpressure: the relay holds at most its write backlog (and what its timers hold) for a far end that
    takes nothing; the sender then blocks, as over a real link, instead of the relay reading without bound."""
    srv = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(srv.accept()[0]), daemon=True).start()  # accepts, never reads
    try:
        with NetemRelay(srv.getsockname(), delay=0.002, jitter=0.0) as relay:
            with socket.create_connection(("127.0.0.1", relay.port)) as c:
                c.settimeout(3.0)
                sent, chunk = 0, b"x" * (1 << 20)
                with pytest.raises(TimeoutError):
                    while sent < 256 << 20:
                        c.sendall(chunk)
                        sent += len(chunk)
            assert relay.stats.bytes < 64 << 20, relay.stats.bytes  # of the 256 MiB the sender had
    finally:
        srv.close()
        for s in held:
            s.close()
