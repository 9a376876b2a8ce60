"""Unit tests of the media engine's parts: frames, frame queue, audio buffer, mixer, spatial audio, clock,
transport. No decoding threads here (see test_media_engine.py)."""

from __future__ import annotations

import math
import threading
import time

import av
import numpy as np
import pytest

from player.media.audio_buffer import AudioBuffer
from player.media.clock import MediaClock
from player.media.frame_queue import FrameQueue
from player.media.frames import VideoFrame
from player.media.mixer import Mixer
from player.media.spatial import foa_decode_matrix, to_stereo
from player.media.transport import TransitionError, Transport, TransportState


def _yaw(deg: float) -> tuple[float, float, float, float]:
    """Head turned ``deg`` degrees to the right (clockwise seen from above): rotation about +Y by -deg."""
    half = math.radians(-deg) / 2
    return (0.0, math.sin(half), 0.0, math.cos(half))


# --- frames -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "dtype", "sizes", "nplanes"),
    [
        ("yuv420p", np.uint8, ((64, 48), (32, 24), (32, 24)), 3),
        ("yuv420p10le", np.uint16, ((64, 48), (32, 24), (32, 24)), 3),
        ("nv12", np.uint8, ((64, 48), (32, 24)), 2),
        ("p010le", np.uint16, ((64, 48), (32, 24)), 2),
    ],
)
def test_plane_sizes_are_texture_sizes(fmt: str, dtype: type, sizes: tuple, nplanes: int) -> None:
    frame = av.VideoFrame(64, 48, fmt)
    vf = VideoFrame.from_av(frame, pts=1.5, index=45)
    assert vf.plane_sizes == sizes
    assert len(vf.planes) == nplanes
    for arr, line, (w, h), plane in zip(vf.planes, vf.line_sizes, vf.plane_sizes, frame.planes):
        assert arr.dtype == dtype
        assert arr.shape == (h, line // arr.itemsize)
        channels = 2 if fmt in ("nv12", "p010le") and arr is not vf.planes[0] else 1
        assert line >= w * channels * arr.itemsize  # the row holds the plane's samples
        assert plane.line_size == line
    assert vf.nbytes == sum(line * h for line, (_, h) in zip(vf.line_sizes, vf.plane_sizes))
    assert vf.bit_depth == (10 if "10" in fmt else 8)


def test_frame_planes_are_views_of_the_decoder_buffer() -> None:
    frame = av.VideoFrame(32, 16, "yuv420p")
    vf = VideoFrame.from_av(frame, pts=0.0, index=0)
    assert not vf.planes[0].flags.owndata  # no copy was made


def test_unsupported_pixel_format_is_named() -> None:
    with pytest.raises(ValueError, match="rgb24"):
        VideoFrame.from_av(av.VideoFrame(16, 16, "rgb24"), pts=0.0, index=0)


# --- frame queue ------------------------------------------------------------------------------------------


def _frame(pts: float) -> VideoFrame:
    return VideoFrame.from_av(av.VideoFrame(64, 32, "yuv420p"), pts=pts, index=round(pts * 10))


def test_frame_queue_is_bounded_in_bytes_with_back_pressure() -> None:
    one = _frame(0.0).nbytes
    q = FrameQueue(3 * one)
    for i in range(3):
        assert q.put(0, _frame(i / 10), timeout=0.01)
    t = time.monotonic()
    assert not q.put(0, _frame(0.3), timeout=0.05)  # full: waits, then says no
    assert time.monotonic() - t >= 0.04
    assert q.nbytes == 3 * one and q.peak_bytes == 3 * one

    def consume() -> None:
        time.sleep(0.05)
        q.take_due(0, 0.0, 0.0)

    threading.Thread(target=consume).start()
    assert q.put(0, _frame(0.3), timeout=2.0)  # room made by the consumer wakes the producer


def test_frame_queue_is_bounded_in_time_ahead() -> None:
    q = FrameQueue(1 << 30, max_ahead=0.3)
    for i in range(3):
        assert q.put(0, _frame(i / 10), timeout=0.0)  # 0.0 .. 0.2: within 0.3 s of the first
    assert not q.put(0, _frame(0.3), timeout=0.01)  # 0.3 s ahead of the picture to show next: waits
    q.take_due(0, 0.0, 0.0)  # the first is shown: the decoder may go on
    assert q.put(0, _frame(0.3), timeout=0.0)
    with pytest.raises(ValueError, match="max_ahead"):
        FrameQueue(1 << 30, max_ahead=0)


def test_a_picture_from_before_a_seek_does_not_hold_the_decoder_back() -> None:
    q = FrameQueue(1 << 30, max_ahead=0.3)
    assert q.put(1, _frame(3.0), timeout=0.0)  # decoded before a seek, queued after the seek cleared it
    for i in range(3):  # the seek's pictures, far from the stale one
        assert q.put(2, _frame(20.0 + i / 10), timeout=0.0)
    assert not q.put(2, _frame(20.3), timeout=0.0)  # and the bound holds among them


def test_frame_queue_accepts_one_oversized_frame_when_empty() -> None:
    q = FrameQueue(10)
    assert q.put(0, _frame(0.0), timeout=0.0)
    assert not q.put(0, _frame(0.1), timeout=0.0)


def test_take_due_picks_latest_due_counts_passed_and_drops_stale_generations() -> None:
    q = FrameQueue(1 << 30)
    q.put(1, _frame(0.0), 0)  # stale generation
    for i in range(5):
        q.put(2, _frame(i / 10), 0)
    frame, passed = q.take_due(2, 0.25, 0.0)
    assert frame is not None and frame.pts == pytest.approx(0.2) and passed == 2
    assert q.take_due(2, 0.25, 0.0) == (None, 0)
    assert q.peek(2).pts == pytest.approx(0.3)
    assert q.peek(1) is None


def test_peek_due_names_what_take_due_would_take_and_leaves_it_queued() -> None:
    q = FrameQueue(1 << 30)
    q.put(1, _frame(0.0), 0)  # another generation: not a candidate, and not dropped by a peek
    for i in range(5):
        q.put(2, _frame(i / 10), 0)
    seen = q.peek_due(2, 0.25, 0.0)
    assert seen is not None and seen.pts == pytest.approx(0.2)
    assert len(q) == 6  # nothing removed
    assert q.peek_due(2, -0.5, 0.0) is None and q.peek_due(3, 9.0, 0.0) is None
    taken, _ = q.take_due(2, 0.25, 0.0)
    assert taken is seen


# --- audio buffer -----------------------------------------------------------------------------------------


def test_audio_buffer_reads_across_chunks_and_interpolates() -> None:
    b = AudioBuffer(rate=100, channels=1, ahead=10, history=1)
    b.reset(1, 0.0)
    ramp = np.arange(200, dtype=np.float32)[:, None]
    assert b.push(1, 0, ramp[:70], 0.0)
    assert b.push(1, 70, ramp[70:], 0.0)
    assert np.array_equal(b.read(60, 20, 1.0)[:, 0], np.arange(60, 80))
    half = b.read(10.5, 4, 0.5)[:, 0]
    assert np.allclose(half, [10.5, 11.0, 11.5, 12.0])
    double = b.read(10, 4, 2.0)[:, 0]
    assert np.allclose(double, [10, 12, 14, 16])
    assert b.read(190, 20, 1.0) is None  # not decoded yet: the caller holds the clock
    b.set_eof(1)
    tail = b.read(190, 20, 1.0)[:, 0]
    assert np.array_equal(tail[:10], np.arange(190, 200)) and not tail[10:].any()  # silence after the end


def test_audio_buffer_back_pressure_and_stale_generation() -> None:
    b = AudioBuffer(rate=100, channels=2, ahead=1.0, history=0.5)
    b.reset(3, 0.0)
    block = np.zeros((100, 2), np.float32)
    assert b.push(3, 0, block, 0.0) is True
    assert b.push(3, 100, block, 0.01) is False  # a second ahead already: wait
    b.consumed(100)
    assert b.push(3, 100, block, 0.0) is True
    assert b.push(2, 200, block, 0.0) is None  # decoded before a seek: dropped


def test_audio_buffer_wakes_the_producer_once_it_has_drained_by_the_refill() -> None:
    b = AudioBuffer(rate=100, channels=1, ahead=1.0, history=0.5, refill=0.25)
    b.reset(1, 0.0)
    assert b.push(1, 0, np.zeros((100, 1), np.float32), 0.0) is True  # full
    woken = []

    def producer() -> None:
        t = time.monotonic()
        b.push(1, 100, np.zeros((10, 1), np.float32), 5.0)
        woken.append(time.monotonic() - t)

    th = threading.Thread(target=producer)
    th.start()
    time.sleep(0.05)
    b.consumed(10)  # drained by 0.1 s: still above the low-water mark, the producer sleeps on
    time.sleep(0.1)
    assert not woken
    b.consumed(25)  # drained by the refill: woken, and there is room
    th.join(2.0)
    assert woken and woken[0] < 2.0


# --- mixer and spatial audio ------------------------------------------------------------------------------


def test_volume_and_mute_ramp_without_clicks() -> None:
    m = Mixer(48_000, 2)
    tone = np.full((480, 2), 0.5, np.float32)
    m.render(tone, 480, audible=True)
    steady = m.render(tone, 480, audible=True)
    assert np.allclose(steady, 0.5)
    m.set_muted(True)
    blocks = [m.render(tone, 480, audible=True) for _ in range(5)]
    out = np.concatenate(blocks)[:, 0]
    assert out[-1] == 0.0
    assert np.abs(np.diff(out)).max() < 0.5 / 480  # a 30 ms ramp: no step
    m.set_muted(False)
    m.set_volume(0.25)
    out = np.concatenate([m.render(tone, 480, audible=True) for _ in range(5)])[:, 0]
    assert out[-1] == pytest.approx(0.125) and np.abs(np.diff(out)).max() < 0.5 / 480


def test_pause_gate_fades_out_and_in() -> None:
    m = Mixer(48_000, 1)
    tone = np.ones((480, 1), np.float32)
    m.render(tone, 480, audible=True)
    m.render(tone, 480, audible=True)
    out = m.render(tone, 480, audible=False)[:, 0]
    assert out[0] > 0.9 and out[-1] == 0.0 and np.abs(np.diff(out)).max() < 0.01
    assert m.silent
    assert not m.render(tone, 480, audible=False).any()


def _beep_from(heading_deg: float) -> np.ndarray:
    """AmbiX (W, Y, Z, X) samples of a steady source at a heading (clockwise from the front)."""
    az = math.radians(-heading_deg)
    s = np.ones(64, np.float32)
    return np.stack([s, s * math.sin(az), s * 0, s * math.cos(az)], axis=1)


@pytest.mark.parametrize(
    ("source", "head", "louder"),
    [
        (90, 0, "right"),  # source on the right
        (-90, 0, "left"),
        (0, 0, "equal"),  # in front
        (90, 90, "equal"),  # turned to face it
        (90, 180, "left"),  # turned round: it is now on the left
        (90, -90, "equal"),  # behind
    ],
)
def test_foa_is_rotated_by_the_listener(source: float, head: float, louder: str) -> None:
    out = to_stereo(_beep_from(source), foa_decode_matrix(_yaw(head)))
    left, right = float(np.abs(out[:, 0]).mean()), float(np.abs(out[:, 1]).mean())
    if louder == "equal":
        assert left == pytest.approx(right, abs=1e-5)
    elif louder == "right":
        assert right > 3 * left
    else:
        assert left > 3 * right


def test_foa_pitch_up_moves_front_source_out_of_the_horizontal_plane() -> None:
    up = math.radians(90) / 2
    look_up = (math.sin(up), 0.0, 0.0, math.cos(up))  # about +X: looking up
    front = to_stereo(_beep_from(0), foa_decode_matrix((0, 0, 0, 1)))
    looking_up = to_stereo(_beep_from(0), foa_decode_matrix(look_up))
    assert np.abs(looking_up).mean() < np.abs(front).mean()


def test_mono_and_stereo_layouts() -> None:
    mono = np.arange(4, dtype=np.float32)[:, None]
    assert np.array_equal(to_stereo(mono), np.repeat(mono, 2, axis=1))
    st = np.ones((4, 2), np.float32)
    assert to_stereo(st) is st


# --- clock ------------------------------------------------------------------------------------------------


def test_clock_holds_anchors_and_never_reads_before_a_resume_point() -> None:
    c = MediaClock()
    assert c.media_at(100.0) == 0.0
    c.hold(2.0)
    c.anchor(play_time=10.0, media_t=2.0, speed=1.0)
    assert c.media_at(9.9) == 2.0  # the first resumed sample is not heard yet
    assert c.media_at(10.5) == pytest.approx(2.5)
    c.anchor(play_time=11.0, media_t=3.0, speed=2.0, ceiling=3.5)
    assert c.media_at(11.1) == pytest.approx(3.2)
    assert c.media_at(20.0) == 3.5
    c.hold(1.0)
    assert c.media_at(50.0) == 1.0 and not c.running


# --- transport --------------------------------------------------------------------------------------------


def test_transport_emits_in_order_from_one_place_and_rejects_bad_transitions() -> None:
    got: list[tuple[str, dict]] = []
    done = threading.Event()

    def handler(kind: str, data: dict) -> None:
        got.append((kind, data))
        if kind == "transport.closed":
            done.set()
        if kind == "transport.playing":
            raise RuntimeError("a faulty handler must not break the transport")

    t = Transport(handler, clock=lambda: 1.25)
    S = TransportState
    t.transition(S.LOADED)
    t.transition(S.PLAYING)
    assert not t.transition(S.PLAYING)  # no change, no event
    t.notify("rate", rate=1.5)
    with pytest.raises(TransitionError):
        t.transition(S.LOADED)
    t.transition(S.ERROR, reason="file_vanished")
    assert not t.transition(S.PLAYING)  # only close() leaves ERROR
    t.transition(S.CLOSED)
    assert done.wait(2.0)
    t.shutdown()
    kinds = [k for k, _ in got]
    assert kinds == [
        "transport.loaded",
        "transport.playing",
        "transport.rate",
        "transport.error",
        "transport.closed",
    ]
    assert got[3][1]["reason"] == "file_vanished" and got[3][1]["from"] == "playing"
    assert all(d["media_t"] == 1.25 for _, d in got)


# --- time-stretch -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.5, 0.75, 1.5, 2.0])
def test_time_stretch_keeps_pitch_and_tracks_the_source_position(rate: float) -> None:
    from player.media.stretch import TimeStretch

    sr = 48_000
    b = AudioBuffer(rate=sr, channels=2, ahead=100, history=100)
    b.reset(1, 0.0)
    t = np.arange(4 * sr) / sr
    tone = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    b.push(1, 0, np.stack([tone, tone], axis=1), 0.0)
    b.set_eof(1)
    st = TimeStretch(2)
    st.reset(sr * 0.5, rate)
    blocks, positions = [], []
    for _ in range(100):  # 1 s of output in 10 ms blocks
        block, heard = st.render(b, 480)
        blocks.append(block)
        positions.append(heard)
    out = np.concatenate(blocks)[:, 0]
    assert st.out_pos == pytest.approx(sr * 0.5 + len(out) * rate)  # the source went by at the rate
    assert np.diff(positions) == pytest.approx(480 * rate)
    steady = out[4800:]
    spectrum = np.abs(np.fft.rfft(steady * np.hanning(len(steady))))
    peak_hz = np.argmax(spectrum) * sr / len(steady)
    assert peak_hz == pytest.approx(440.0, abs=5.0)  # the pitch is kept (resampling would give 440 * rate)
    assert np.abs(steady).max() == pytest.approx(0.5, abs=0.08)  # no dropouts or doubling


def test_time_stretch_waits_for_undecoded_sound() -> None:
    from player.media.stretch import TimeStretch

    b = AudioBuffer(rate=48_000, channels=1, ahead=10, history=10)
    b.reset(1, 0.0)
    b.push(1, 0, np.zeros((1000, 1), np.float32), 0.0)
    st = TimeStretch(1)
    st.reset(0.0, 0.5)
    assert st.render(b, 4800) is None  # more than is decoded: nothing consumed
    assert st.out_pos == 0.0
