"""The media engine's error paths: each ends in an event with a reason (or a MediaError at open), never a hang
or a traceback."""

from __future__ import annotations

import os
import random
import shutil
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from player.media.engine import MediaEngine, MediaError
from player.media.transport import TransportState
from tests.test_media_engine import film_path

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]

S = TransportState


class Events:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict]] = []
        self._cond = threading.Condition()
        self.shown_pts: list[float] = []  # the pictures the loop was given, in order

    def __call__(self, kind: str, data: dict) -> None:
        with self._cond:
            self.items.append((kind, data))
            self._cond.notify_all()

    def wait_for(self, kind: str, timeout: float = 20.0) -> dict:
        with self._cond:
            ok = self._cond.wait_for(lambda: any(k == kind for k, _ in self.items), timeout)
            assert ok, f"no {kind} event; got {[k for k, _ in self.items]}"
            return next(d for k, d in self.items if k == kind)

    def of(self, kind: str) -> list[dict]:
        with self._cond:
            return [d for k, d in self.items if k == kind]


def play_through(path: Path, **kwargs: object) -> tuple[MediaEngine, Events]:
    """Open and play at 8x, drawing frames like the playback loop, until ENDED or ERROR."""
    events = Events()
    engine = MediaEngine(path, audio="null", hwdec="none", on_event=events, **kwargs)
    engine.open()
    engine.set_fast(8)
    engine.play()
    deadline = time.monotonic() + 45
    while engine.state not in (S.ENDED, S.ERROR):
        assert time.monotonic() < deadline, f"hung in {engine.state}"
        frame = engine.frame_for(time.monotonic())
        if frame is not None and (not events.shown_pts or frame.pts != events.shown_pts[-1]):
            events.shown_pts.append(frame.pts)
        time.sleep(0.005)
    return engine, events


@pytest.fixture(scope="module")
def films(sample_manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Damaged and unsupported variants of calibration-mono."""
    src = film_path(sample_manifest, "calibration-mono")
    d = tmp_path_factory.mktemp("media-errors")
    out: dict[str, Path] = {}

    # corrupt packets: the payload of a few video packets overwritten with noise
    with av.open(str(src)) as c:
        packets = [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size]
    data = bytearray(src.read_bytes())
    rng = random.Random(7)
    for pos, size in packets[40:44] + packets[100:102]:
        data[pos + 4 : pos + size] = bytes(rng.randrange(256) for _ in range(size - 4))
    out["corrupt"] = d / "corrupt.mp4"
    out["corrupt"].write_bytes(bytes(data))

    # truncated: index at the front (faststart), cut at 60%; and index at the end, cut (unopenable)
    faststart = d / "faststart.mp4"
    with av.open(str(src)) as inp, av.open(str(faststart), "w", options={"movflags": "+faststart"}) as o:
        streams = {s.index: o.add_stream_from_template(s) for s in inp.streams}
        for p in inp.demux():
            if p.dts is None:
                continue
            p.stream = streams[p.stream.index]
            o.mux(p)
    blob = faststart.read_bytes()
    out["truncated"] = d / "truncated.mp4"
    out["truncated"].write_bytes(blob[: int(len(blob) * 0.6)])
    raw = src.read_bytes()
    out["truncated_no_index"] = d / "truncated-no-index.mp4"
    out["truncated_no_index"].write_bytes(raw[: int(len(raw) * 0.6)])

    # unsupported: an unknown video codec (the sample entry's fourcc changed), an RGB picture, no video
    out["unknown_codec"] = d / "unknown-codec.mp4"
    out["unknown_codec"].write_bytes(raw.replace(b"avc1", b"zzz1"))
    out["rgb"] = d / "rgb.mp4"  # H.264 in RGB (libx264rgb): decodes to planar gbrp, not YUV
    with av.open(str(out["rgb"]), "w") as o:
        v = o.add_stream("libx264rgb", rate=10)
        v.width, v.height, v.pix_fmt = 64, 64, "rgb24"
        for i in range(5):
            f = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 40, np.uint8), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, 10)
            for p in v.encode(f):
                o.mux(p)
        for p in v.encode():
            o.mux(p)
    out["audio_only"] = d / "audio-only.m4a"
    with av.open(str(out["audio_only"]), "w", format="mp4") as o:
        a = o.add_stream("aac", rate=48000, layout="stereo")
        frame = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp", layout="stereo")
        frame.sample_rate = 48000
        for i in range(10):
            frame.pts = i * 1024
            for p in a.encode(frame):
                o.mux(p)
        for p in a.encode():
            o.mux(p)
    out["text"] = d / "notes.mp4"
    out["text"].write_text("not a film\n")
    return out


def test_corrupt_packets_are_skipped_counted_and_reported(films: dict[str, Path]) -> None:
    engine, events = play_through(films["corrupt"])
    stats = engine.stats()
    engine.close()
    assert engine.state == S.CLOSED
    assert events.of("transport.ended")[0]["reason"] == "end"  # played on to the end
    errors = events.of("transport.error")
    assert errors and all(e["reason"] == "corrupt_packet" and e["fatal"] is False for e in errors)
    assert stats["decode_errors"] >= 6 and errors[-1]["count"] == stats["decode_errors"]
    # pictures kept coming after the damage, to the film's last second (how many were shown rather than
    # skipped as late depends on how much CPU the machine gave this loop at 8x: not asserted)
    duration = engine.duration or 0.0
    assert duration > 2.0
    assert stats["presented"] > 10
    assert max(events.shown_pts) > duration - 1.0, (events.shown_pts[-5:], duration)


def test_truncated_file_plays_what_is_there_and_ends_with_an_error_event(films: dict[str, Path]) -> None:
    engine, events = play_through(films["truncated"])
    engine.close()
    error = events.wait_for("transport.error")
    assert error["reason"] == "truncated" and error["fatal"] is False
    assert 2.0 < error["ends_at"] < 5.0
    ended = events.of("transport.ended")[0]
    assert ended["reason"] == "truncated"


@pytest.mark.parametrize(
    ("name", "reason", "words"),
    [
        ("truncated_no_index", "unreadable", "truncated"),
        ("unknown_codec", "unsupported_codec", "codec"),
        ("rgb", "unsupported_pixel_format", "gbrp"),  # 4:4:4 YUV plays now: content_manifest.formats
        ("audio_only", "no_video", "no video"),
        ("text", "unreadable", "notes.mp4"),
    ],
)
def test_unplayable_films_fail_clearly_at_open(
    films: dict[str, Path], name: str, reason: str, words: str
) -> None:
    events = Events()
    engine = MediaEngine(films[name], audio="null", on_event=events)
    with pytest.raises(MediaError) as info:
        engine.open()
    assert info.value.reason == reason
    assert words in str(info.value)
    assert events.wait_for("transport.error")["reason"] == reason
    assert engine.state == S.ERROR
    engine.close()


def test_missing_file_and_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not found") as info:
        MediaEngine(tmp_path / "nope.mp4", audio="null").open()
    assert info.value.reason == "not_found"
    for kwargs, word in (
        ({"hwdec": "vaapi"}, "hwdec"),
        ({"audio": "alsa"}, "audio"),
        ({"audio_layout": "5.1"}, "audio_layout"),
        ({"queue_bytes": 0}, "queue_bytes"),
    ):
        with pytest.raises(ValueError, match=word):
            MediaEngine(tmp_path / "x.mp4", **kwargs)


@pytest.mark.skipif(sys.platform == "win32", reason="an open file cannot be deleted on Windows")
@pytest.mark.parametrize(("how", "reason"), [("delete", "file_vanished"), ("shrink", "file_changed")])
def test_file_vanishing_mid_play_is_an_error_event(
    sample_manifest: Path, tmp_path: Path, how: str, reason: str
) -> None:
    path = tmp_path / "film.mp4"
    shutil.copy(film_path(sample_manifest, "calibration-mono"), path)
    events = Events()
    engine = MediaEngine(path, audio="null", hwdec="none", on_event=events)
    engine.open()
    engine.play()
    events.wait_for("transport.playing")
    time.sleep(0.2)
    if how == "delete":
        path.unlink()
    else:
        os.truncate(path, path.stat().st_size // 3)
    error = events.wait_for("transport.error", timeout=20)
    assert error["reason"] == reason and error["fatal"] is True
    assert engine.state == S.ERROR
    engine.frame_for(time.monotonic())  # still answers, without blocking
    assert not engine.play()
    engine.close()
    assert engine.state == S.CLOSED


def test_no_audio_device_falls_back_to_the_null_output_once(
    sample_manifest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import player.media.audio_output as audio_output

    monkeypatch.setattr(audio_output, "_no_device_until", 0.0)
    said = []
    for _ in range(2):
        events = Events()
        engine = MediaEngine(film_path(sample_manifest, "calibration-mono"), audio="auto", on_event=events)
        info = engine.open()
        engine.close()
        said.append([w for w in events.of("transport.warning") if w["reason"] == "no_audio_device"])
    if info.audio_output == "null":  # no sound card here: said once, with the reason, then not probed again
        assert len(said[0]) == 1 and "null output" in said[0][0]["message"]
        assert said[1] == []


def test_hwdec_falls_back_to_software_once(sample_manifest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import player.media.opening as opening_module

    monkeypatch.setattr(opening_module, "_cuda_unavailable", None)
    warned = []
    for _ in range(2):
        events = Events()
        engine = MediaEngine(film_path(sample_manifest, "calibration-mono"), audio="none", on_event=events)
        info = engine.open()
        engine.close()
        warned.append([w for w in events.of("transport.warning") if w["reason"] == "hwdec_unavailable"])
        assert events.wait_for("transport.loaded")["hwdec"] == info.hwdec
    if info.hwdec == "none":  # no cuda device here: said by the first film only; both play in software
        assert len(warned[0]) == 1 and warned[1] == []
        assert "software" in warned[0][0]["message"]


def test_settings_made_before_open_carry_over(sample_manifest: Path) -> None:
    engine = MediaEngine(film_path(sample_manifest, "calibration-mono"), audio="null", hwdec="none")
    engine.set_volume(0.3)
    engine.set_muted(True)
    engine.open()
    try:
        assert engine._mixer.volume == 0.3 and engine._mixer.muted
        assert engine._mixer.channels == 2
    finally:
        engine.close()


def test_a_fifo_or_a_device_in_place_of_a_film_is_refused_by_name(tmp_path: Path) -> None:
    """A film swapped for a FIFO or a link to a device after the library was read never blocks the engine."""
    fifo = tmp_path / "film.mp4"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.mp4"
    zero.symlink_to("/dev/zero")
    for path, what in ((fifo, "is a FIFO"), (zero, "is a link to a character device")):
        with pytest.raises(MediaError) as e:
            MediaEngine(path, audio="null").open()
        assert e.value.reason == "not_a_file" and what in str(e.value)
