"""Is a film's projection what its manifest says? Its own spherical metadata where it has some, and its
pictures always: a 360 picture's left and right edges meet, stereo halves show the same scene, mono halves
do not. Used by `viewpoint-player qa` (every film, whatever its id) and `check --verify-media` (metadata).

Each finding is (field, message, expected, warning) with the evidence in words.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from .model import Film
from .spherical import CONVERT_HINT, SphericalInfo

ALIKE = 0.85  # correlation of two halves at or above which they show the same scene (stereo)
UNLIKE = 0.6  # at or below which they do not (mono)
SEAM_FACTOR = 3.0  # a 360 seam differing this many times more than neighbouring columns: edges do not meet
SEAM_LEVELS = 4.0  # ... and by at least this many levels (of 255)
MAX_SHIFT = 3  # columns two eyes' pictures may be shifted by (disparity), at the analysis size
ANALYSIS_WIDTH = 256
SAMPLES = 5


class Finding(NamedTuple):
    field: str
    message: str
    expected: str
    warning: bool = False


def metadata_findings(film: Film, sph: SphericalInfo | None) -> list[Finding]:
    """The manifest against the file's own spherical metadata (none when it has none)."""
    out: list[Finding] = []
    if sph is None:
        return out
    if sph.unplayable:
        out.append(
            Finding(
                "projection",
                f"the file's spherical metadata says {sph.unplayable}: Viewpoint plays equirectangular "
                f"360 and 180 films only, so this film would show wrongly",
                CONVERT_HINT,
            )
        )
    elif sph.projection and sph.projection != film.projection:
        out.append(
            Finding(
                "projection",
                f"the file's spherical metadata says {sph.projection}, not {film.projection}",
                f"projection: {sph.projection}",
            )
        )
    if sph.stereo and sph.stereo != film.stereo:
        out.append(
            Finding(
                "stereo",
                f"the file's stereo metadata says {sph.stereo}, not {film.stereo}",
                f"stereo: {sph.stereo}",
            )
        )
    elif sph.eye_order and film.stereo != "mono" and sph.eye_order != film.eye_order:
        out.append(
            Finding(
                "eye_order",
                f"the file's stereo metadata says {sph.eye_order} (eyes in that order), the manifest "
                f"{film.eye_order}: the eyes would be swapped",
                f"eye_order: {sph.eye_order}",
            )
        )
    if sph.detail and not sph.unplayable:
        out.append(
            Finding(
                "projection",
                f"the file's spherical metadata describes {sph.detail}",
                "equirectangular 360 or 180, mono, top-bottom or left-right",
                warning=True,
            )
        )
    return out


def sample_pictures(path: str | Path, count: int = SAMPLES, width: int = ANALYSIS_WIDTH) -> list[np.ndarray]:
    """Up to ``count`` grey pictures (float32, 0..255) spread over the film, scaled to ``width`` columns."""
    import av

    pictures: list[np.ndarray] = []
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        if duration is None and c.duration:
            duration = c.duration / 1_000_000
        targets = [(i + 0.5) / count * duration for i in range(count)] if duration else [0.0]
        if duration is not None and duration > 20.0 and stream.time_base is not None:  # a long film: seek
            for t in targets:
                c.seek(int(t / stream.time_base), stream=stream, backward=True)
                for frame in c.decode(stream):
                    if frame.time is None or frame.time + 1e-3 >= t:
                        pictures.append(_grey(frame, width))
                        break
            return pictures
        for frame in c.decode(stream):  # a short one: decode straight through
            ft = frame.time if frame.time is not None else 0.0
            if ft + 1e-3 >= targets[0]:
                pictures.append(_grey(frame, width))
                while targets and ft + 1e-3 >= targets[0]:
                    targets.pop(0)
                if not targets:
                    break
    return pictures


def _grey(frame, width: int) -> np.ndarray:
    height = max(16, min(4 * width, round(width * frame.height / frame.width)))
    height += height % 2
    small = frame.reformat(width=width, height=height, format="gray", interpolation="AREA")
    return small.to_ndarray().astype(np.float32)


def _halves(pic: np.ndarray, stereo: str) -> tuple[np.ndarray, np.ndarray]:
    h, w = pic.shape
    if stereo == "top-bottom":
        return pic[: h // 2], pic[h // 2 : 2 * (h // 2)]
    return pic[:, : w // 2], pic[:, w // 2 : 2 * (w // 2)]


def _corr(a: np.ndarray, b: np.ndarray) -> float | None:
    a = a - a.mean()
    b = b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if denom < 1e-6 * a.size or a.std() < 2.0 or b.std() < 2.0:
        return None  # a flat picture says nothing
    return float((a * b).sum() / denom)


def halves_correlation(pic: np.ndarray, stereo: str, wrap: bool) -> float | None:
    """How alike the two halves are (top/bottom or left/right), allowing the small horizontal shift that
    separates two eyes' views; None for a flat picture."""
    a, b = _halves(pic, stereo)
    best = None
    for dx in range(-MAX_SHIFT, MAX_SHIFT + 1):
        if wrap:
            r = _corr(a, np.roll(b, dx, axis=1))
        else:
            lo, hi = max(0, dx), a.shape[1] + min(0, dx)
            r = _corr(a[:, lo:hi], b[:, lo - dx : hi - dx])
        if r is not None and (best is None or r > best):
            best = r
    return best


def seam(eye: np.ndarray) -> tuple[float, float] | None:
    """(mean difference across the left/right edge, median difference between neighbouring columns) of one
    eye's picture, in levels of 255; None for a flat picture."""
    if eye.shape[1] < 8 or eye.std() < 2.0:
        return None
    steps = np.abs(np.diff(eye, axis=1)).mean(axis=0)
    return float(np.abs(eye[:, 0] - eye[:, -1]).mean()), float(np.median(steps))


def _eyes(pic: np.ndarray, stereo: str) -> list[np.ndarray]:
    return [pic] if stereo == "mono" else list(_halves(pic, stereo))


def picture_findings(film: Film, pictures: list[np.ndarray]) -> list[Finding]:
    """The manifest's projection and stereo layout against the pictures (see the module's doc)."""
    if not pictures:
        return [Finding("projection", "no picture could be sampled to check the layout", "", True)]
    n = len(pictures)
    out: list[Finding] = []
    wrap = film.projection == "equirect360"

    def median(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return float(np.median(known)) if known else None

    tb = median([halves_correlation(p, "top-bottom", False) for p in pictures])
    lr = median([halves_correlation(p, "left-right", wrap and film.stereo == "left-right") for p in pictures])
    said = {"top-bottom": tb, "left-right": lr}
    if film.stereo == "mono":
        for layout, r in said.items():
            where = "top and bottom" if layout == "top-bottom" else "left and right"
            if r is not None and r >= ALIKE:
                out.append(
                    Finding(
                        "stereo",
                        f"the {where} halves of the picture show the same scene (correlation {r:.2f} over "
                        f"{n} pictures): it looks {layout} stereo, but the manifest says mono",
                        f"stereo: {layout}",
                    )
                )
    else:
        r = said[film.stereo]
        where = "top and bottom" if film.stereo == "top-bottom" else "left and right"
        if r is None:
            out.append(Finding("stereo", "the pictures are flat: stereo halves not compared", "", True))
        elif r <= UNLIKE:
            out.append(
                Finding(
                    "stereo",
                    f"the {where} halves of the picture do not show the same scene (correlation {r:.2f} over "
                    f"{n} pictures): it looks mono, but the manifest says {film.stereo}",
                    "stereo: mono, or a file whose eyes are its halves",
                )
            )
        elif r < ALIKE:
            out.append(
                Finding(
                    "stereo",
                    f"the {where} halves are only partly alike (correlation {r:.2f} over {n} pictures): "
                    f"check that the film is {film.stereo} stereo",
                    f"halves correlating at {ALIKE:g} or more",
                    True,
                )
            )
    out.extend(_seam_findings(film, pictures))
    return out


def _seam_findings(film: Film, pictures: list[np.ndarray]) -> list[Finding]:
    found = [s for p in pictures for s in (seam(e) for e in _eyes(p, film.stereo)) if s is not None]
    if not found:
        return []
    edge = float(np.median([s[0] for s in found]))
    inner = float(np.median([s[1] for s in found]))
    evidence = (
        f"the left and right edges differ by {edge:.1f} levels on average, neighbouring columns by "
        f"{inner:.1f} (over {len(found)} eye pictures)"
    )
    meets = edge <= SEAM_FACTOR * inner + SEAM_LEVELS
    if film.projection == "equirect360" and not meets:
        return [
            Finding(
                "projection",
                f"{evidence}: the edges do not meet as a 360 picture's do, so it would show a seam behind "
                "the viewer (a 180 film, or a flat one?)",
                "projection: equirect180, or a 360 picture whose edges meet",
            )
        ]
    if film.projection == "equirect180" and edge <= 1.5 * inner and inner >= 1.0:
        return [
            Finding(
                "projection",
                f"{evidence}: the edges meet as a 360 picture's do: check that it is a 180 film",
                "a 180 picture, whose edges (90 degrees left and right) differ",
                True,
            )
        ]
    return []
