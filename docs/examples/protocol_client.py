"""A minimal Viewpoint protocol client built from docs/protocol.md alone (pyzmq only).

    python docs/examples/protocol_client.py ENDPOINT PLAYER_CERT TOOL_CERT_SECRET

ENDPOINT is the player's command socket (``tcp://10.0.0.5:5555``); the events are on port + 1. PLAYER_CERT
is the player's public certificate (``player.key``); TOOL_CERT_SECRET this tool's secret certificate, whose
public half is in the player's ``KEYS/authorized/``. It takes a snapshot, pins a note and waits for the
``annotation.added`` event, then exits 0. Safe to run any number of times: every request id is new.
"""

from __future__ import annotations

import json
import sys
import time
import uuid

import zmq
import zmq.auth


def main(endpoint: str, player_cert: str, tool_secret: str) -> int:
    server_key, _ = zmq.auth.load_certificate(player_cert)
    public, secret = zmq.auth.load_certificate(tool_secret)
    ctx = zmq.Context.instance()

    def curve(sock: zmq.Socket) -> zmq.Socket:
        sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = server_key, public, secret
        sock.linger = 0
        return sock

    host, port = endpoint.rsplit(":", 1)
    cmd = curve(ctx.socket(zmq.DEALER))
    cmd.connect(endpoint)
    sub = curve(ctx.socket(zmq.SUB))
    sub.subscribe(b"ev")
    sub.subscribe(b"hb")
    sub.connect(f"{host}:{int(port) + 1}")
    run = uuid.uuid4().hex[:8]  # request ids unique per run: a reused id would get the old reply

    def request(name: str, args: dict, timeout_s: float = 5.0) -> dict:
        rid = f"ex-{run}-{name}"
        cmd.send_json({"v": 1, "id": rid, "cmd": name, "args": args})
        if not cmd.poll(int(timeout_s * 1000)):
            raise SystemExit(f"{name}: no reply in {timeout_s} s")
        reply = cmd.recv_json()
        if reply.get("id") != rid or not reply.get("ok"):
            raise SystemExit(f"{name}: {reply}")
        return reply["result"]

    # A SUB receives only what is published after its subscription reached the player: wait for the
    # first heartbeat (one a second) before doing anything whose event we want to see.
    deadline = time.monotonic() + 10
    while not (sub.poll(500) and sub.recv_multipart()[0] == b"hb"):
        if time.monotonic() > deadline:
            raise SystemExit("no heartbeat from the player: is the tool's certificate authorised?")
    snap = request("snapshot", {})
    print("session", snap["session"]["id"], "seq", snap["seq"])
    ref = request("annotate", {"text": "from a script"})["ref"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not sub.poll(500):
            continue
        topic, body = sub.recv_multipart()
        event = json.loads(body)
        if topic == b"ev" and event["type"] == "annotation.added" and event["seq"] == ref:
            print("annotation.added", ref)
            return 0
    raise SystemExit("annotation.added not seen within 10 s")


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
