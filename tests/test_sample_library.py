"""The calibration films: pictures, frame numbers, flashes and beeps as documented in docs/manifest.md."""

from __future__ import annotations

import itertools
import shutil

import av
import numpy as np
import pytest

from content_manifest import sample
from content_manifest.sample import read_frame_number, write_sample_library


def _decode(path, every=1):
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            idx = round(f.time * sample.FILM_FPS)
            if idx % every == 0:
                yield idx, f


def test_manifest_lists_three_films(sample_library):
    assert list(sample_library.films) == [sample.MONO_ID, sample.TB_ID, sample.FOA_ID]
    mono = sample_library.films[sample.MONO_ID]
    assert mono.path.is_absolute() and mono.path.is_file()
    assert mono.duration == pytest.approx(sample.FILM_SECONDS)
    assert mono.chapters and mono.content_warnings and mono.safe_points and "en" in mono.subtitles
    assert sample_library.films[sample.TB_ID].stereo == "top-bottom"
    assert sample_library.films[sample.FOA_ID].audio == "ambix-foa"


@pytest.mark.parametrize("film_id", [sample.MONO_ID, sample.TB_ID])
def test_frame_numbers_and_flashes_read_back_from_rgb_and_luma(sample_library, film_id):
    film = sample_library.films[film_id]
    seen, flashes = 0, []
    for idx, f in _decode(film.path):
        plane = f.planes[0]
        padded = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        luma = padded[:, : f.width]
        assert read_frame_number(luma) == idx
        assert read_frame_number(padded, width=f.width) == idx
        if idx % 7 == 0:
            assert read_frame_number(f.to_ndarray(format="rgb24")) == idx
        if sample.read_flash(luma):
            flashes.append(idx)
        seen += 1
    assert seen == sample.FILM_FRAMES
    assert flashes == [i for i in range(sample.FILM_FRAMES) if i % sample.FILM_FPS == 0]


def _heading_px(width, heading, pitch=0.0):
    x = int((heading + 180) % 360 / 360 * width)
    y = int((90 - pitch) / 180 * (width // 2))
    return y, x


def test_disc_colours_poles_and_grid_match_the_spec(sample_library):
    f = next(_decode(sample_library.films[sample.TB_ID].path))[1]
    rgb = f.to_ndarray(format="rgb24").astype(int)
    w = rgb.shape[1]
    eye_h = w // 2
    expect = {0: sample.RED, 90: sample.GREEN, 180: sample.BLUE, 270: sample.YELLOW}
    for heading, colour in expect.items():
        y, x = _heading_px(w, heading)
        assert np.abs(rgb[y, x] - colour).max() < 24, (heading, rgb[y, x])
        assert np.abs(rgb[y + eye_h, x] - (sample.CYAN if heading == 0 else colour)).max() < 24
    # heading 90 (viewer's right) is at u = 0.75, heading 270 at u = 0.25
    assert np.abs(rgb[eye_h // 2, 3 * w // 4] - sample.GREEN).max() < 24
    assert np.abs(rgb[eye_h // 2, w // 4] - sample.YELLOW).max() < 24
    assert (rgb[: eye_h // 10] > 230).all() and (rgb[eye_h - eye_h // 10 : eye_h] < 25).all()
    y, x = _heading_px(w, 45, 30 + 2)  # between discs: grey background
    assert np.abs(rgb[y, x] - sample.BACKGROUND).max() < 24


def test_code_round_trips_every_number_and_rejects_damage():
    eye = sample.eye_picture(256)
    for n in (0, 1, 179, 1234, sample.MAX_FRAME_NUMBER):
        rgb = sample.stamp_frame(eye, n)
        assert read_frame_number(rgb) == n
        luma = rgb.mean(axis=2).astype(np.uint8)
        padded = np.pad(luma, ((0, 0), (0, 64)), constant_values=77)  # row padding, as decoders leave it
        assert read_frame_number(padded, width=256) == n
    damaged = sample.stamp_frame(eye, 77)
    x0, y0, x1, y1 = sample.code_cells(256)[5]
    damaged[y0:y1, x0:x1] = 255 - damaged[y0:y1, x0:x1]
    assert read_frame_number(damaged) is None
    assert read_frame_number(eye) is None  # no code drawn: grey, not black or white
    with pytest.raises(ValueError):
        read_frame_number(np.zeros((4, 4, 4, 4), np.uint8))


def test_beeps_start_at_each_whole_second(sample_library):
    with av.open(str(sample_library.films[sample.MONO_ID].path)) as c:
        pcm = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    loud = np.flatnonzero(np.abs(pcm[0]) > 0.05)
    onsets = [loud[0]] + [b for a, b in itertools.pairwise(loud) if b - a > sample.AUDIO_RATE // 10]
    assert len(onsets) == int(sample.FILM_SECONDS)
    for s, onset in enumerate(onsets):
        assert abs(onset / sample.AUDIO_RATE - s) < 0.003


def test_foa_source_is_on_the_right(sample_library):
    with av.open(str(sample_library.films[sample.FOA_ID].path)) as c:
        pcm = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    w, y, z, x = pcm
    assert pcm.shape[0] == 4
    # AmbiX: +Y is left, so a source on the right gives Y = -W; X (front) and Z stay silent
    assert np.corrcoef(w, y)[0, 1] < -0.99
    assert np.abs(x).max() < 0.02 and np.abs(z).max() < 0.02


def test_write_is_deterministic_and_idempotent(sample_manifest, tmp_path):
    before = {spec.file: (sample_manifest.parent / spec.file).stat().st_mtime_ns for spec in sample.FILMS}
    assert write_sample_library(sample_manifest.parent) == sample_manifest  # reuses every file
    after = {spec.file: (sample_manifest.parent / spec.file).stat().st_mtime_ns for spec in sample.FILMS}
    assert after == before
    spec = sample.FILMS[0]
    sample.make_film(spec, tmp_path / spec.file)
    assert (tmp_path / spec.file).read_bytes() == (sample_manifest.parent / spec.file).read_bytes()


def test_a_damaged_film_is_made_again(sample_manifest, tmp_path):
    shutil.copytree(sample_manifest.parent, tmp_path, dirs_exist_ok=True)
    manifest = tmp_path / sample.MANIFEST_NAME
    film = tmp_path / sample.FILMS[0].file
    good = film.read_bytes()
    film.write_bytes(good[:1000])
    assert write_sample_library(tmp_path) == manifest
    assert film.read_bytes() == good
