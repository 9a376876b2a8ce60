"""The media engine end to end on the calibration films: A/V sync measured from what the engine outputs (the
null output's samples with their play times, the frames handed to a simulated display), seek accuracy read
from the picture, transport events, rate, fast mode, volume, ambisonics."""

from __future__ import annotations

import bisect
import math
import random
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from content_manifest.sample import FILM_FPS, FILMS, read_flash, read_frame_number
from player.media.engine import MediaEngine, MediaInfo
from player.media.frames import VideoFrame
from player.media.transport import TransportState

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]

S = TransportState
RATE = 48_000
SYNC_TOLERANCE = 0.020
DISPLAY_STEP = 0.004  # the simulated display asks for a frame every 4 ms
MAX_BEHIND = 0.020  # a display loop further behind than this skips ahead
LATE_RENDER = 0.020  # an output block rendered this long after its play time: a real device would underrun


class Recorder:
    """Plays an engine like the playback loop does, recording what would be heard and seen, and when."""

    def __init__(self, path: Path, **kwargs: object) -> None:
        self.events: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self.engine = MediaEngine(path, audio="null", hwdec="none", on_event=self._on_event, **kwargs)
        self.blocks: list[tuple[float, np.ndarray]] = []
        self.engine.audio_tap = self._on_audio
        self.shown: list[tuple[float, VideoFrame]] = []
        self.clock: list[tuple[float, float]] = []  # (display time, media time) at every display step
        self.gaps: list[tuple[float, float]] = []  # display steps skipped because the test thread was starved
        self.late_audio: list[float] = []  # blocks rendered after they should have been heard (starved)
        self.late_flashes: list[float] = []  # flash onsets whose frame was decoded too late (decoder starved)
        self._t = 0.0
        self.final_stats: dict | None = None

    def _on_event(self, kind: str, data: dict) -> None:
        with self._lock:
            self.events.append((kind, data))

    def _on_audio(self, play_time: float, block: np.ndarray) -> None:
        self.blocks.append((play_time, block.copy()))
        if time.monotonic() > play_time + LATE_RENDER:
            self.late_audio.append(play_time)

    def open(self) -> MediaInfo:
        info = self.engine.open()
        self._t = time.monotonic()
        return info

    def run(self, until: Callable[[], bool], timeout: float = 15.0) -> None:
        """Drive the display on a fixed grid of display times until ``until()`` (or fail after timeout)."""
        deadline = time.monotonic() + timeout
        self._t = max(self._t, time.monotonic() - 0.05)
        while not until():
            now = time.monotonic()
            assert now < deadline, f"timed out in state {self.engine.state}"
            if self._t + DISPLAY_STEP < now - MAX_BEHIND:  # this thread was starved: skip, as a display would
                self.gaps.append((self._t, now))
                self._t = now
            self._t += DISPLAY_STEP
            frame = self.engine.frame_for(self._t)
            self.clock.append((self._t, self.engine.media_time(self._t)))
            if frame is not None and (not self.shown or frame is not self.shown[-1][1]):
                self.shown.append((self._t, frame))
            lag = self._t - time.monotonic() - 0.002
            if lag > 0:
                time.sleep(lag)

    def close(self) -> dict:
        """Close the engine; return (and keep) its last stats."""
        self.final_stats = self.engine.stats()
        self.engine.close()
        return self.final_stats

    def starved(self) -> bool:
        """Whether the CPU starvation of this run could have hidden a frame or a beep from the recording."""
        skipped = (self.final_stats or self.engine.stats())["skipped"]
        return bool(self.gaps or self.late_flashes or self.audio_breaks() or skipped)

    def run_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        self.run(lambda: time.monotonic() >= end)

    def run_to(self, media_t: float) -> None:
        self.run(lambda: self.engine.media_time() >= media_t or self.engine.state == S.ENDED)

    def wait_state(self, *states: TransportState) -> None:
        self.run(lambda: self.engine.state in states)

    def kinds(self) -> list[str]:
        with self._lock:
            return [k for k, _ in self.events]

    # --- analysis --------------------------------------------------------------------------------------

    def beep_onsets(self, channel: int | None = 0, threshold: float = 0.1) -> list[float]:
        """Monotonic times at which a beep starts in the output (after >= 100 ms of quiet); ``channel`` None:
        in either channel."""
        onsets: list[float] = []
        last_loud = -math.inf
        for play_time, block in self.blocks:
            level = np.abs(block).max(axis=1) if channel is None else np.abs(block[:, channel])
            loud = np.flatnonzero(level > threshold)
            if loud.size == 0:
                continue
            first = play_time + loud[0] / RATE
            if first - last_loud >= 0.1:
                onsets.append(first)
            last_loud = play_time + loud[-1] / RATE
        return onsets

    def flash_onsets(self) -> list[tuple[float, int]]:
        """(display time, frame number) of each shown frame lighting the flash patch after an unlit one.

        A picture counts from the first display time at which it is on screen *and* the clock runs at or past
        its pts (a first picture shown while the clock still waits counts from when the clock starts).
        """
        out: list[tuple[float, int]] = []
        lit_before = False
        times = [t for t, _ in self.clock]
        for t, frame in self.shown:
            luma = luma_of(frame)
            number = read_frame_number(luma)
            assert number == frame.index, f"picture says frame {number}, engine says {frame.index}"
            lit = read_flash(luma)
            if lit and not lit_before:
                onset = self._running_from(times, t, frame.pts)
                out.append((onset, number))
                self.late_flashes.extend([onset] if self.was_late(onset, frame.pts) else [])
            lit_before = lit
        return out

    def was_late(self, onset: float, pts: float, frame_duration: float = 1 / FILM_FPS) -> bool:
        """Whether the clock was already past the frame's whole slot when it was first shown."""
        i = bisect.bisect_left([t for t, _ in self.clock], onset)
        return i < len(self.clock) and self.clock[i][1] > pts + frame_duration

    def _running_from(self, times: list[float], t0: float, pts: float) -> float:
        i = max(1, bisect.bisect_left(times, t0))
        for j in range(i, len(self.clock)):
            (_, m_prev), (t, m) = self.clock[j - 1], self.clock[j]
            if m >= pts - 0.001 and m > m_prev:
                return max(t0, t - DISPLAY_STEP) if m_prev >= pts - 0.001 else t
        return t0

    def audio_breaks(self) -> list[float]:
        """Play times where the output's timeline jumps or was rendered late (the output starved of CPU:
        what a real device would have heard as an underrun)."""
        out = list(self.late_audio)
        for (t0, b0), (t1, _) in zip(self.blocks, self.blocks[1:]):
            if abs(t1 - (t0 + len(b0) / RATE)) > 0.005:
                out.append(t1)
        return out

    def beep_level(self, start: float, end: float) -> tuple[float, float]:
        """Mean absolute (left, right) output of the samples heard between two monotonic times."""
        parts = []
        for t, block in self.blocks:
            if t + len(block) / RATE < start or t > end:
                continue
            times = t + np.arange(len(block)) / RATE
            parts.append(block[(times >= start) & (times < end)])
        a = np.abs(np.concatenate(parts)) if parts else np.zeros((1, 2))
        return float(a[:, 0].mean()), float(a[:, 1].mean())


def luma_of(frame: VideoFrame) -> np.ndarray:
    return frame.planes[0][: frame.height, : frame.width]


def sync_offsets(rec: Recorder, flashes: list[float], beeps: list[float]) -> list[float]:
    """Beep time minus flash time for each flash and its nearest beep, leaving out pairs the measurement
    itself spoiled: the test thread or the null output starved of CPU right before them (a picture seen late
    because nobody looked), or the decoder starved (the flash frame decoded after its slot had passed: a
    throughput matter, counted by the engine as repeated/skipped, not a timing one)."""
    assert flashes and beeps, f"{len(flashes)} flashes, {len(beeps)} beeps"
    breaks = rec.audio_breaks()
    offsets, spoiled = [], []
    for t_flash in flashes:
        t_beep = min(beeps, key=lambda b, t=t_flash: abs(b - t))
        starved = (
            any(t_flash - 0.05 <= end and start <= t_flash for start, end in rec.gaps)
            or any(min(t_flash, t_beep) - 0.3 <= b <= max(t_flash, t_beep) for b in breaks)
            or t_flash in rec.late_flashes
        )
        (spoiled if starved else offsets).append(t_beep - t_flash)
    print(
        "A/V offsets (ms, + = sound after picture):",
        [round(o * 1000, 1) for o in offsets],
        f"(left out, starved: {[round(o * 1000, 1) for o in spoiled]})" if spoiled else "",
    )
    if not offsets:
        pytest.skip("CPU starvation spoiled every A/V measurement (machine overloaded)")
    assert max(abs(o) for o in offsets) < SYNC_TOLERANCE, f"A/V offsets (s): {offsets}"
    return offsets


def assert_in_sync(rec: Recorder, expected_flash_frames: list[int]) -> list[float]:
    flashes = rec.flash_onsets()
    seen = [n for _, n in flashes]
    if rec.starved():  # a flash frame may have come and gone unseen
        assert set(seen) <= set(expected_flash_frames) and seen == sorted(seen)
    else:
        assert seen == expected_flash_frames
        assert len(rec.beep_onsets()) == len(expected_flash_frames)
    return sync_offsets(rec, [t for t, _ in flashes], rec.beep_onsets())


def film_path(manifest: Path, film_id: str) -> Path:
    """A sample film's file, next to the sample manifest (without depending on the manifest loader)."""
    spec = next(f for f in FILMS if f.film_id == film_id)
    return manifest.parent / spec.file


@pytest.fixture(scope="module")
def mono(sample_manifest: Path) -> Path:
    return film_path(sample_manifest, "calibration-mono")


@pytest.fixture(scope="module")
def foa(sample_manifest: Path) -> Path:
    return film_path(sample_manifest, "calibration-foa")


def test_av_sync_over_the_whole_film(mono: Path) -> None:
    rec = Recorder(mono)
    info = rec.open()
    assert (info.width, info.height, info.fps, info.pix_fmt) == (512, 256, 30.0, "yuv420p")
    assert info.has_audio and info.duration == pytest.approx(6.0, abs=0.05)
    rec.engine.play()
    rec.wait_state(S.ENDED)
    stats = rec.close()
    assert_in_sync(rec, [0, 30, 60, 90, 120, 150])
    assert stats["decoded"] == 180 and stats["presented"] + stats["skipped"] == 180
    assert stats["decode_errors"] == 0
    drift = sorted(abs(d) for d in stats["av_drift_ms"])
    assert drift and drift[len(drift) // 2] < 20
    if not rec.starved():  # nothing starved: every frame shown, each on time
        assert drift[-1] < 20
    kinds = rec.kinds()
    assert kinds[kinds.index("transport.loaded") :] == [
        "transport.loaded",
        "transport.playing",
        "transport.ended",
        "transport.closed",
    ]
    ended = next(d for k, d in rec.events if k == "transport.ended")
    assert ended["reason"] == "end" and ended["media_t"] == pytest.approx(6.0, abs=0.05)


def test_av_sync_after_pause_seek_and_rate_changes(mono: Path) -> None:
    rec = Recorder(mono)
    rec.open()
    e = rec.engine
    e.play()
    rec.run_to(1.5)
    e.pause()
    paused_at = e.media_time()
    rec.run_for(0.3)
    assert e.media_time() == paused_at  # the clock stood still
    e.play()
    assert e.media_time() == pytest.approx(paused_at, abs=1e-9)  # resumes exactly there
    rec.run_to(2.4)
    e.seek(3.6)
    assert e.state == S.SEEKING
    rec.run_to(3.7)
    e.set_rate(2.0)  # the beep at 4 s at double speed
    rec.run_to(4.4)
    e.set_rate(0.5)  # the beep at 5 s at half speed
    rec.run_to(5.3)
    e.set_rate(1.0)
    rec.wait_state(S.ENDED)
    e.close()
    assert_in_sync(rec, [0, 30, 60, 120, 150])
    kinds = rec.kinds()
    for k in ("transport.paused", "transport.seeking", "transport.rate", "transport.ended"):
        assert k in kinds
    seeked = [d for k, d in rec.events if k == "transport.playing" and "seeked_to" in d]
    assert seeked and seeked[0]["seeked_to"] == pytest.approx(3.6)


def test_seek_accuracy_over_many_random_seeks(mono: Path) -> None:
    rec = Recorder(mono)
    rec.open()
    e = rec.engine
    e.seek(2.0, cause="chapter", chapter="look-around")  # a chapter jump is a seek to its start
    rec.wait_state(S.PAUSED)
    rec.run(lambda: "transport.paused" in rec.kinds())  # events arrive on their own thread, in order
    seeking = [d for k, d in rec.events if k == "transport.seeking"]
    assert seeking[-1]["cause"] == "chapter" and seeking[-1]["chapter"] == "look-around"
    assert read_frame_number(luma_of(e.frame_for(time.monotonic()))) == 60
    rng = random.Random(20261121)
    targets = [rng.uniform(0.0, 5.96) for _ in range(36)] + [0.0, 1.0, 37 / 30, 2.5, 5.0, 179 / 30]
    for t in targets:
        e.seek(t)
        rec.wait_state(S.PAUSED)
        frame = e.frame_for(time.monotonic())
        assert frame is not None
        expected = math.floor(t * FILM_FPS + 1e-9)
        assert read_frame_number(luma_of(frame)) == expected, f"seek to {t:.4f} s"
        assert e.media_time() == pytest.approx(t)
    # and while playing: the first new picture after the seek is the target's
    e.seek(0.2)
    rec.wait_state(S.PAUSED)
    e.play()
    for t in (4.21, 0.5, 2.987, 1.0):
        rec.run_for(0.1)
        before = rec.shown[-1][1] if rec.shown else None
        n_before = len(rec.shown)
        e.seek(t)
        rec.wait_state(S.PLAYING)
        rec.run(lambda n=n_before, b=before: len(rec.shown) > n and rec.shown[-1][1] is not b)
        first_new = rec.shown[n_before][1]
        assert read_frame_number(luma_of(first_new)) == math.floor(t * FILM_FPS + 1e-9)
    e.close()


def test_fast_mode_and_rate_limits(mono: Path) -> None:
    rec = Recorder(mono)
    rec.open()
    e = rec.engine
    with pytest.raises(ValueError, match="rate"):
        e.set_rate(3.0)
    with pytest.raises(ValueError, match="fast"):
        e.set_fast(9)
    with pytest.raises(ValueError, match="seek"):
        e.seek(float("nan"))
    e.set_fast(8)
    e.play()
    rec.wait_state(S.ENDED)
    rec.run_for(0.05)  # the display's next look shows the last picture
    e.close()
    numbers = [f.index for _, f in rec.shown]
    assert numbers == sorted(numbers) and numbers[-1] == 179
    # the film went by 8 times faster than real time: the media clock's slope between display steps where it
    # ran (read from the engine's clock at the display times, so not from how fast this machine decoded)
    steps = [(t1 - t0, m1 - m0) for (t0, m0), (t1, m1) in pairwise(rec.clock) if t1 > t0 and m1 > m0]
    slopes = sorted(dm / dt for dt, dm in steps)
    median = slopes[len(slopes) // 2] if slopes else None
    assert median == pytest.approx(8.0, rel=0.02), slopes[:: len(slopes) // 20 + 1]
    assert not rec.beep_onsets()  # fast mode is silent


def test_volume_mute_and_restart_after_end(mono: Path) -> None:
    rec = Recorder(mono)
    rec.open()
    e = rec.engine
    e.play()
    rec.run_to(0.5)
    e.set_muted(True)
    rec.run_to(1.5)
    e.set_muted(False)
    e.set_volume(0.5)
    rec.run_to(2.2)
    onsets = rec.beep_onsets(threshold=0.05)
    assert len(onsets) == 2  # the beep at 1 s was muted
    left, _ = rec.beep_level(onsets[1], onsets[1] + 0.04)
    first, _ = rec.beep_level(onsets[0], onsets[0] + 0.04)
    assert left == pytest.approx(first / 2, rel=0.15)
    e.seek(5.8)
    rec.wait_state(S.ENDED)
    e.play()  # from the end: starts again at 0
    rec.wait_state(S.PLAYING)
    assert e.media_time() < 1.0
    e.close()
    assert ("transport.volume") in rec.kinds()


def test_ambisonic_sound_follows_the_head(foa: Path) -> None:
    rec = Recorder(foa, audio_layout="ambix-foa")
    info = rec.open()
    assert info.audio_channels == 4
    e = rec.engine
    e.play()
    rec.run_to(0.5)
    half = math.radians(-90) / 2  # turn to face the source (heading 90, on the right)
    e.set_listener_orientation((0.0, math.sin(half), 0.0, math.cos(half)))
    rec.run_to(1.5)
    half = math.radians(-180) / 2  # turn round: the source is now on the left
    e.set_listener_orientation((0.0, math.sin(half), 0.0, math.cos(half)))
    rec.run_to(2.2)
    e.close()
    onsets = rec.beep_onsets(channel=None, threshold=0.02)
    assert len(onsets) == 3
    levels = [rec.beep_level(t, t + 0.04) for t in onsets]
    (l0, r0), (l1, r1), (l2, r2) = levels
    assert r0 > 3 * l0  # on the right
    assert l1 == pytest.approx(r1, rel=0.1)  # in front
    assert l2 > 3 * r2  # on the left


def test_queue_is_bounded_in_bytes(mono: Path) -> None:
    frame_bytes = 512 * 256 * 3 // 2
    budget = 40 * frame_bytes
    rec = Recorder(mono, queue_bytes=budget)
    rec.open()
    rec.run_for(0.4)  # not playing: the decoder fills the queue and waits
    stats = rec.engine.stats()
    # the decoder's own pictures come out of the budget; the queue gets the rest
    assert stats["frame_budget_bytes"] == budget
    assert stats["queue_limit_bytes"] + stats["decoder_reserve_bytes"] <= budget
    assert 0 < stats["queue_peak_bytes"] <= stats["queue_limit_bytes"]
    assert stats["decoded"] < 40
    rec.engine.close()
    assert rec.engine.state == S.CLOSED


def test_a_longer_audio_period_keeps_sync_and_wakes_the_output_less_often(mono: Path) -> None:
    """``--audio-period``: a 40 ms output asks for 40 ms blocks, each stamped when it is heard, so the picture
    keeps to the sound exactly as with the default 10 ms."""
    rec = Recorder(mono, audio_period=0.040)
    rec.open()
    rec.engine.play()
    rec.run_to(2.3)
    rec.engine.close()
    assert_in_sync(rec, [0, 30, 60])
    sizes = sorted(len(b) for _t, b in rec.blocks)
    assert sizes[len(sizes) // 2] == pytest.approx(0.040 * 48_000, rel=0.1)  # a block per period
    if not rec.late_audio:  # (a starved output starts again from now, as a device after an underrun)
        for (t0, b0), (t1, _b1) in pairwise(rec.blocks):  # contiguous: each heard where the last ended
            assert t1 == pytest.approx(t0 + len(b0) / 48_000, abs=1e-6)
    with pytest.raises(ValueError, match="audio_period"):
        MediaEngine(mono, audio="null", audio_period=0.5)


def test_miniaudio_device_path_keeps_sync(mono: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real-device output (miniaudio's generator callback, latency-compensated play times) drives the same
    engine; miniaudio's own null backend stands in for a sound card here."""
    import miniaudio

    import player.media.opening as opening_module
    from player.media.audio_output import DeviceOutput

    def device_output(kind: str, render: Callable, on_fallback: Callable, period: float) -> DeviceOutput:
        return DeviceOutput(render, period_ms=round(period * 1000), backends=[miniaudio.Backend.NULL])

    monkeypatch.setattr(opening_module, "open_output", device_output)
    rec = Recorder(mono)
    info = rec.open()
    assert info.audio_output.startswith("miniaudio:")
    rec.engine.play()
    rec.run_to(2.3)
    rec.engine.close()
    assert_in_sync(rec, [0, 30, 60])


def make_ts_film(
    path: Path, seconds: int = 3, fps: int = 25, audio_rate: int = 44_100, offset: float = 1.4
) -> None:
    """A tiny MPEG-TS film whose timestamps start at ``offset`` seconds: H.264 picture that is white on the
    first frame of each second, mono MP2 sound at 44.1 kHz with a beep at each second."""
    import av

    with av.open(str(path), "w", format="mpegts") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = 64, 64, "yuv420p"
        v.codec_context.options = {"preset": "ultrafast", "g": str(fps)}
        a = out.add_stream("mp2", rate=audio_rate, layout="mono")
        tb = Fraction(1, fps)
        for i in range(seconds * fps):
            y = 235 if i % fps == 0 else 40
            img = np.full((96, 64), 128, np.uint8)
            img[:64] = y
            frame = av.VideoFrame.from_ndarray(img, format="yuv420p")
            frame.pts, frame.time_base = i + round(offset * fps), tb
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
        n = seconds * audio_rate
        samples = np.zeros(n, np.float32)
        beep = int(0.05 * audio_rate)
        tone = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(beep) / audio_rate)
        for s in range(seconds):
            samples[s * audio_rate : s * audio_rate + beep] = tone
        chunk = 1152
        for start in range(0, n, chunk):
            block = samples[start : start + chunk]
            if len(block) < chunk:
                block = np.pad(block, (0, chunk - len(block)))
            af = av.AudioFrame.from_ndarray(block[None, :], format="fltp", layout="mono")
            af.pts = start + round(offset * audio_rate)
            af.sample_rate, af.time_base = audio_rate, Fraction(1, audio_rate)
            for p in a.encode(af):
                out.mux(p)
        for p in a.encode():
            out.mux(p)


def test_av_sync_with_a_stream_offset_and_44k_mono_sound(tmp_path: Path) -> None:
    path = tmp_path / "offset.ts"
    make_ts_film(path)
    rec = Recorder(path, audio_layout="stereo")
    info = rec.open()
    assert info.audio_rate == 44_100 and info.audio_channels == 1 and info.fps == 25.0
    rec.engine.play()
    rec.run_to(2.2)
    rec.close()
    flashes = []
    lit_before = False
    times = [t for t, _ in rec.clock]
    for t, frame in rec.shown:
        lit = float(luma_of(frame).mean()) > 128
        if lit and not lit_before:
            onset = rec._running_from(times, t, frame.pts)
            flashes.append(onset)
            rec.late_flashes.extend([onset] if rec.was_late(onset, frame.pts, 1 / 25) else [])
        lit_before = lit
    lit_pts = [f.pts for _, f in rec.shown if float(luma_of(f).mean()) > 128]
    assert lit_pts[0] < 0.1  # times count from the film's start, not the stream's
    assert len(lit_pts) == len(flashes) == 3 or (flashes and rec.starved())
    sync_offsets(rec, flashes, rec.beep_onsets())


def test_a_late_decoder_skips_non_reference_frames_until_it_catches_up(mono: Path) -> None:
    rec = Recorder(mono)
    late = {"by": 1.0}
    rec.engine._decoder_lateness = lambda pts: late["by"]  # the clock far ahead of the decoder
    rec.engine._queue.max_ahead = float("inf")  # let the paused film be decoded to its end
    rec.open()
    rec.run(lambda: rec.engine._video is not None and rec.engine._video._last_pts is not None)
    rec.run(lambda: rec.engine._video_end is not None)  # decoded to the end (the queue holds the whole film)
    assert rec.engine._video.dropping and rec.engine.stats()["late_drop_episodes"] == 1
    decoded_while_late = rec.engine.stats()["decoded"]
    late["by"] = 0.0  # caught up
    rec.engine.seek(0.0)  # the pictures after a seek are all wanted again
    rec.wait_state(S.PAUSED)
    assert not rec.engine._video.dropping
    stats = rec.close()
    assert decoded_while_late < 180  # B-frames nothing refers to were not decoded while late
    assert stats["late_drop_episodes"] == 1


def test_next_frame_foretells_the_picture_without_taking_it(mono: Path) -> None:
    """The loop uploads the next display frame's picture after submitting the current one: what
    `next_frame(t)` names is what `frame_for(t)` then returns, and asking counts nothing."""
    rec = Recorder(mono)
    rec.open()
    e = rec.engine
    assert e.next_frame(time.monotonic() + 0.05) is None  # nothing shown yet: frame_for decides the first
    e.play()
    rec.wait_state(S.PLAYING)
    rec.run_for(0.3)
    foretold = strict = 0
    while foretold < 12:
        now = time.monotonic()
        shown = e.frame_for(now)
        later = now + 1.0 / FILM_FPS
        before = e.stats()
        upcoming = e.next_frame(later)
        assert e.stats()["presented"] == before["presented"] and e.stats()["skipped"] == before["skipped"]
        assert e.frame_for(now) is shown  # still the current picture: nothing was taken
        if upcoming is None:
            time.sleep(0.002)
            continue
        foretold += 1
        assert upcoming is not shown and upcoming.pts > shown.pts
        decoded = e.stats()["decoded"]
        time.sleep(max(0.0, later - time.monotonic()))
        got = e.frame_for(later)
        if e.stats()["decoded"] == decoded:  # no picture decoded in between: exactly the one foretold
            assert got is upcoming
            strict += 1
    assert strict >= 3
    e.pause()
    rec.wait_state(S.PAUSED)
    assert e.next_frame(time.monotonic() + 1.0) is None  # paused: the picture does not change
    e.close()
