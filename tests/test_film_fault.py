"""A film fault is not a player fault: a film cut short or gone while it plays ends that film with a clear
event (``film.failed``), the player keeps listening in the calm scene and plays the next film.

A real headless player process (``--listen``) playing a real encoded film from a copy of the sample library,
whose file the test truncates mid-play."""

from __future__ import annotations

import os
import time

import pytest

from player import protocol as P
from tests.session_support import Player, copy_tree, make_home, wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def rig(sample_manifest, tmp_path):
    library = tmp_path / "library"
    copy_tree(sample_manifest.parent, library)
    home = make_home(tmp_path / "lead", "lead")
    player = Player(library / sample_manifest.name, tmp_path / "p", "faulty")
    player.authorize(home)
    player.start()
    client = player.client(home, timeout=3.0)
    events: list[dict] = []
    client.subscribe(events.append, since="now")
    yield player, client, events, library
    client.close()
    player.stop()


def _session(client) -> None:
    client.request("session.start", {"participant": "P-801", "consent": {"given": True}})


@pytest.mark.parametrize("fault", ["truncated", "replaced"])
def test_a_film_cut_short_mid_play_ends_that_film_and_the_player_listens_on(rig, fault):
    player, client, events, library = rig
    _session(client)
    client.request("load", {"film": "calibration-mono"})
    client.request("play")
    assert wait_for(lambda: client.request("status")["controller"]["state"] == "playing", 10)
    film = library / "calibration-mono.mp4"
    if fault == "truncated":  # cut to its first few kilobytes, as a copy interrupted or a disk error
        with open(film, "r+b") as f:
            f.truncate(min(os.path.getsize(film) // 8, 16_384))
    else:  # gone: the file deleted, and a cut-short copy written where it was
        data = film.read_bytes()
        film.unlink()
        film.write_bytes(data[: len(data) // 8])
    client.request("seek", {"t": 4.0})  # the decoder must read what is gone now
    assert wait_for(lambda: any(e["type"] == "film.failed" for e in events), 15), [e["type"] for e in events]
    failed = next(e for e in events if e["type"] == "film.failed")
    assert failed["data"]["film"] == "calibration-mono" and failed["data"]["reason"]
    assert P.EVENTS["film.failed"].alert
    time.sleep(1.0)
    assert player.proc is not None and player.proc.poll() is None  # still running, still listening
    st = client.request("status")["controller"]
    assert st["film"] == "calibration-mono" and st["state"] in ("error", "ended")
    # the next film plays
    client.request("load", {"film": "calibration-tb"})
    client.request("play")
    assert wait_for(lambda: client.request("status")["controller"]["state"] == "playing", 10)
    assert player.proc.poll() is None
