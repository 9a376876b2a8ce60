"""Deterministic calibration films and a sample manifest (`viewpoint-manifest sample DIR`).

Conventions (documented in docs/manifest.md, "Sample films"):

- Each eye is an equirect360 picture of ``EYE_WIDTH`` x ``EYE_WIDTH // 2`` pixels. Column ``x`` looks at
  heading ``(x + 0.5) / W * 360 - 180`` degrees, clockwise from the front (the centre column); row ``y`` at
  pitch ``90 - (y + 0.5) / H * 180`` degrees, up-positive. Heading 90 (the viewer's right) is at u = 0.75.
- Mid-grey background, a darker 15-degree grid, discs of 20 degrees angular radius at pitch 0 (``DISCS``),
  white above pitch +70, black below -70. In ``calibration-tb`` (left eye on top) the heading-0 disc of the
  right (bottom) eye is cyan.
- The frame number is written in every eye as a strip of ``CODE_CELLS`` square cells (see ``code_cells``):
  a white guard cell, 12 data bits (most significant first), 4 checksum bits, a black guard cell.
- The flash patch (``flash_rect``) is white on the first frame of each whole second and black otherwise; the
  audio carries a ``BEEP_HZ`` tone of ``BEEP_SECONDS`` starting at each whole second.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .spherical import inject_mp4

SAMPLE_VERSION = 2
"""Bumped whenever the generated pictures or sound change (it invalidates reused files)."""

FILM_FPS = 30
FILM_FRAMES = 180
FILM_SECONDS = FILM_FRAMES / FILM_FPS  # 6.0
EYE_WIDTH = 512
EYE_HEIGHT = EYE_WIDTH // 2
GOP_FRAMES = FILM_FPS  # a keyframe at every whole second
AUDIO_RATE = 48_000
BEEP_HZ = 1000.0
BEEP_SECONDS = 0.050
BEEP_AMPLITUDE = 0.5
BEEP_RAMP_SECONDS = 0.002
FOA_SOURCE_HEADING = 90.0  # calibration-foa: the beep comes from the viewer's right (the green disc)

BACKGROUND = (128, 128, 128)
GRID = (96, 96, 96)
GRID_STEP_DEG = 15.0
DISC_RADIUS_DEG = 20.0
POLE_PITCH_DEG = 70.0
RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
YELLOW = (255, 255, 0)
CYAN = (0, 255, 255)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
DISCS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, RED),
    (90.0, GREEN),
    (180.0, BLUE),
    (270.0, YELLOW),
)
"""(heading, colour) of the discs centred at pitch 0; calibration-tb's right eye has CYAN at heading 0."""

CODE_DATA_BITS = 12
CODE_CHECK_BITS = 4
CODE_CELLS = 1 + CODE_DATA_BITS + CODE_CHECK_BITS + 1  # guard (white), data, checksum, guard (black)
CODE_CHECK_KEY = 0b1010
MAX_FRAME_NUMBER = (1 << CODE_DATA_BITS) - 1

MONO_ID = "calibration-mono"
TB_ID = "calibration-tb"
FOA_ID = "calibration-foa"
MANIFEST_NAME = "manifest.yaml"
SUBTITLES_NAME = "calibration.en.vtt"
STAMP_NAME = ".sample-stamp.json"

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), in eye pixels


def cell_size(width: int = EYE_WIDTH) -> int:
    """Side of one frame-number cell in pixels: 1/32 of the picture width (16 px at 512)."""
    return max(8, width // 32)


def code_cells(width: int = EYE_WIDTH) -> list[Rect]:
    """The frame-number cells of an eye (top eye for stereo), left to right.

    The strip is centred on heading 0 and spans rows ``[7W/64, 7W/64 + W/32)`` (pitch about +39 to
    +51 degrees), clear of the discs (|pitch| <= 20) and the poles (|pitch| >= 70).
    """
    c = cell_size(width)
    y0 = width * 7 // 64
    x0 = width // 2 - CODE_CELLS * c // 2
    return [(x0 + i * c, y0, x0 + (i + 1) * c, y0 + c) for i in range(CODE_CELLS)]


def flash_rect(width: int = EYE_WIDTH) -> Rect:
    """The flash patch: W/8 x W/32 pixels centred on heading 0, rows from 23W/64 (pitch about -39 to -51)."""
    c = cell_size(width)
    y0 = width * 23 // 64
    return (width // 2 - 2 * c, y0, width // 2 + 2 * c, y0 + c)


def code_checksum(number: int) -> int:
    """The 4-bit check of a 12-bit frame number: sum of its nibbles mod 16, xor 0b1010 (all-black fails)."""
    s = (number & 0xF) + ((number >> 4) & 0xF) + ((number >> 8) & 0xF)
    return (s & 0xF) ^ CODE_CHECK_KEY


def code_bits(number: int) -> list[int]:
    """The cell values (1 = white) for a frame number, guards included."""
    if not 0 <= number <= MAX_FRAME_NUMBER:
        raise ValueError(f"frame number {number} outside 0..{MAX_FRAME_NUMBER}")
    word = (number << CODE_CHECK_BITS) | code_checksum(number)
    data = [(word >> (CODE_DATA_BITS + CODE_CHECK_BITS - 1 - i)) & 1 for i in range(CODE_DATA_BITS + 4)]
    return [1, *data, 0]


def read_frame_number(image: np.ndarray, width: int | None = None) -> int | None:
    """The frame number written in a decoded sample-film picture, or None when it cannot be read reliably.

    ``image`` is the whole decoded picture (or its top eye, or a whole yuv420p array: the strip is in the
    first rows), either RGB (H x W x 3, uint8) or an 8-bit luma plane (H x W). For a plane with row padding
    (``line_size`` > width) give the picture ``width``; otherwise the width is the array's.
    """
    a = np.asarray(image)
    if a.ndim == 3:
        if a.shape[2] < 3:
            raise ValueError(f"expected an H x W x 3 RGB picture or an H x W luma plane, got shape {a.shape}")
        a = a[..., :3].astype(np.float32).mean(axis=2)
    elif a.ndim != 2:
        raise ValueError(f"expected an H x W x 3 RGB picture or an H x W luma plane, got shape {a.shape}")
    if width is not None:
        a = a[:, :width]
    width = a.shape[1]
    cells = code_cells(width)
    if cells[-1][3] > a.shape[0]:
        return None
    bits = []
    for x0, y0, x1, y1 in cells:
        c = x1 - x0
        m = c // 4  # read the inner half of the cell: edges blur under compression
        v = float(a[y0 + m : y1 - m, x0 + m : x1 - m].mean())
        if 100 <= v <= 156:  # neither black nor white: not a code cell
            return None
        bits.append(1 if v > 128 else 0)
    if bits[0] != 1 or bits[-1] != 0:
        return None
    word = 0
    for b in bits[1:-1]:
        word = (word << 1) | b
    number, check = word >> CODE_CHECK_BITS, word & 0xF
    return number if code_checksum(number) == check else None


def is_flash_frame(index: int) -> bool:
    """Whether frame ``index`` shows the flash (the first frame of each whole second)."""
    return index % FILM_FPS == 0


def read_flash(image: np.ndarray, width: int | None = None) -> bool:
    """Whether the flash patch is lit in a decoded picture (RGB or luma; as read_frame_number)."""
    a = np.asarray(image)
    if a.ndim == 3:
        a = a[..., :3].astype(np.float32).mean(axis=2)
    if width is not None:
        a = a[:, :width]
    x0, y0, x1, y1 = flash_rect(a.shape[1])
    m = (y1 - y0) // 4
    return float(a[y0 + m : y1 - m, x0 + m : x1 - m].mean()) > 128


# --- pictures -------------------------------------------------------------------------------------------


def eye_picture(width: int = EYE_WIDTH, right_eye_cyan: bool = False) -> np.ndarray:
    """The static RGB picture of one eye (no frame number, flash patch dark)."""
    h = width // 2
    heading = (np.arange(width, dtype=np.float64) + 0.5) / width * 360.0 - 180.0
    pitch = 90.0 - (np.arange(h, dtype=np.float64) + 0.5) / h * 180.0
    hh, pp = np.meshgrid(np.radians(heading), np.radians(pitch))
    img = np.empty((h, width, 3), dtype=np.uint8)
    img[:] = BACKGROUND
    px = 360.0 / width
    on_h = np.abs((heading + GRID_STEP_DEG / 2) % GRID_STEP_DEG - GRID_STEP_DEG / 2) < px / 2
    on_p = np.abs((pitch + GRID_STEP_DEG / 2) % GRID_STEP_DEG - GRID_STEP_DEG / 2) < px / 2
    img[:, on_h] = GRID
    img[on_p, :] = GRID
    cos_r = np.cos(np.radians(DISC_RADIUS_DEG))
    for disc_heading, colour in DISCS:
        if disc_heading == 0.0 and right_eye_cyan:
            colour = CYAN
        # angular distance to (disc_heading, pitch 0): cos d = cos(pitch) cos(heading - disc_heading)
        cos_d = np.cos(pp) * np.cos(hh - np.radians(disc_heading))
        img[cos_d >= cos_r] = colour
    img[pitch > POLE_PITCH_DEG, :] = WHITE
    img[pitch < -POLE_PITCH_DEG, :] = BLACK
    x0, y0, x1, y1 = flash_rect(width)
    img[y0:y1, x0:x1] = BLACK
    return img


def stamp_frame(eye: np.ndarray, index: int) -> np.ndarray:
    """A copy of an eye picture with frame ``index``'s number and flash state drawn in."""
    img = eye.copy()
    width = img.shape[1]
    for (x0, y0, x1, y1), bit in zip(code_cells(width), code_bits(index)):
        img[y0:y1, x0:x1] = WHITE if bit else BLACK
    x0, y0, x1, y1 = flash_rect(width)
    img[y0:y1, x0:x1] = WHITE if is_flash_frame(index) else BLACK
    return img


def rgb_to_yuv420p(rgb: np.ndarray) -> np.ndarray:
    """BT.601 limited-range yuv420p (Y plane, then U, then V, as PyAV's from_ndarray expects)."""
    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    h, w = y.shape

    def sub(p: np.ndarray) -> np.ndarray:
        return p.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    out = np.concatenate([y.ravel(), sub(u).ravel(), sub(v).ravel()])
    return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(h * 3 // 2, w)


# --- sound ----------------------------------------------------------------------------------------------


def beep_track(seconds: float = FILM_SECONDS, rate: int = AUDIO_RATE) -> np.ndarray:
    """Mono float32 samples: a BEEP_HZ tone of BEEP_SECONDS at each whole second, silence elsewhere."""
    n = round(seconds * rate)
    out = np.zeros(n, dtype=np.float32)
    length = round(BEEP_SECONDS * rate)
    t = np.arange(length) / rate
    tone = np.sin(2 * np.pi * BEEP_HZ * t)
    ramp = round(BEEP_RAMP_SECONDS * rate)
    env = np.ones(length)
    env[:ramp] = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    env[-ramp:] = env[:ramp][::-1]
    beep = (BEEP_AMPLITUDE * tone * env).astype(np.float32)
    for s in range(int(seconds) + 1):
        start = s * rate
        if start >= n:
            break
        end = min(n, start + length)
        out[start:end] = beep[: end - start]
    return out


def foa_channels(mono: np.ndarray, heading_deg: float) -> np.ndarray:
    """AmbiX (ACN order W, Y, Z, X; SN3D) first-order encoding of a source at ``heading_deg``, pitch 0.

    AmbiX azimuth is anticlockwise, so azimuth = -heading: a source on the right (heading 90) has Y = -1.
    """
    az = np.radians(-heading_deg)
    return np.stack([mono, mono * np.sin(az), mono * 0.0, mono * np.cos(az)]).astype(np.float32)


# --- encoding -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilmSpec:
    film_id: str
    file: str
    stereo: str  # "mono" | "top-bottom"
    audio: str  # "stereo" | "ambix-foa"


FILMS = (
    FilmSpec(MONO_ID, "calibration-mono.mp4", "mono", "stereo"),
    FilmSpec(TB_ID, "calibration-tb.mp4", "top-bottom", "stereo"),
    FilmSpec(FOA_ID, "calibration-foa.mp4", "mono", "ambix-foa"),
)


def _film_pictures(spec: FilmSpec) -> Callable[[int], np.ndarray]:
    """Frame index -> yuv420p picture: rgb_to_yuv420p(stamped RGB), without converting every frame."""
    eyes = [eye_picture(EYE_WIDTH)]
    if spec.stereo == "top-bottom":
        eyes.append(eye_picture(EYE_WIDTH, right_eye_cyan=True))
    base = rgb_to_yuv420p(np.concatenate(eyes, axis=0))
    h, w = EYE_HEIGHT * len(eyes), EYE_WIDTH
    # white and black are Y 235 / 16 with neutral chroma; every cell is 2x2-aligned, so chroma stays 128
    luma_of = {1: 235, 0: 16}

    def picture(index: int) -> np.ndarray:
        out = base.copy()
        y_plane = out[:h]
        cells = list(zip(code_cells(w), code_bits(index)))
        cells.append((flash_rect(w), 1 if is_flash_frame(index) else 0))
        for eye in range(len(eyes)):
            for (x0, y0, x1, y1), bit in cells:
                y_plane[eye * EYE_HEIGHT + y0 : eye * EYE_HEIGHT + y1, x0:x1] = luma_of[bit]
        return out

    return picture


def encode_film(spec: FilmSpec, path: Path) -> None:
    """Encode one calibration film (H.264 yuv420p + AAC) to ``path``."""
    import av

    picture = _film_pictures(spec)
    width, height = EYE_WIDTH, EYE_HEIGHT * (2 if spec.stereo == "top-bottom" else 1)
    with av.open(str(path), "w", format="mp4", options={"fflags": "+bitexact"}) as out:
        v = out.add_stream("libx264", rate=FILM_FPS)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        cc = v.codec_context
        cc.gop_size = GOP_FRAMES
        cc.colorspace = 6  # AVCOL_SPC_SMPTE170M (BT.601), matching rgb_to_yuv420p
        cc.color_range = 1  # AVCOL_RANGE_MPEG (limited)
        cc.options = {
            "preset": "veryfast",
            "crf": "18",
            "threads": "1",
            "x264-params": f"keyint={GOP_FRAMES}:min-keyint={GOP_FRAMES}:scenecut=0",
        }
        layout = "4.0" if spec.audio == "ambix-foa" else "stereo"
        a = out.add_stream("aac", rate=AUDIO_RATE, layout=layout)
        a.codec_context.options = {"b": "128k" if layout == "stereo" else "256k"}
        tb = Fraction(1, FILM_FPS)
        for i in range(FILM_FRAMES):
            frame = av.VideoFrame.from_ndarray(picture(i), format="yuv420p")
            frame.pts, frame.time_base = i, tb
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)

        mono = beep_track()
        if spec.audio == "ambix-foa":
            samples = foa_channels(mono, FOA_SOURCE_HEADING)
        else:
            samples = np.stack([mono, mono])
        chunk = 1024
        for start in range(0, samples.shape[1], chunk):
            block = np.ascontiguousarray(samples[:, start : start + chunk])
            af = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
            af.sample_rate, af.pts, af.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
            for packet in a.encode(af):
                out.mux(packet)
        for packet in a.encode():
            out.mux(packet)


SUBTITLES = """WEBVTT

00:00.500 --> 00:02.500
Calibration film: look for the red disc in front of you.

00:03.000 --> 00:05.500
Turn right to find the green disc.
"""


def manifest_text(shas: dict[str, str], sizes: dict[str, int]) -> str:
    """The sample manifest, with each film's sha256 and size in bytes."""
    films = []
    for spec in FILMS:
        stereo_note = (
            "Top-bottom stereo, left eye on top; the front disc is cyan in the right eye."
            if spec.stereo == "top-bottom"
            else "Mono."
        )
        audio_note = (
            f" First-order ambisonics (AmbiX): the beep comes from heading {FOA_SOURCE_HEADING:g}."
            if spec.audio == "ambix-foa"
            else ""
        )
        films.append(
            f"""  - id: {spec.film_id}
    title: "Calibration ({spec.stereo}{", ambisonic" if spec.audio == "ambix-foa" else ""})"
    description: "{stereo_note}{audio_note}"
    file: {spec.file}
    sha256: "{shas[spec.file]}"
    projection: equirect360
    stereo: {spec.stereo}
    front_heading: 0
    audio: {spec.audio}
    duration: {FILM_SECONDS:g}
    subtitles:
      en: {SUBTITLES_NAME}
    audience:
      min_age: 12
      guidance: "Technical test picture with beeps; no story content."
    chapters:
      - id: intro
        start: "00:00.000"
        title: Orientation
        prompts:
          - "What do you see in front of you?"
      - id: look-around
        start: "00:02.000"
        title: Look around
        prompts:
          - "Where is the green disc?"
          - "What changed when you turned?"
      - id: close
        start: "00:04.500"
        title: Close
        prompts: []
    content_warnings:
      - start: "00:01.000"
        end: "00:01.500"
        tags: [flashing-lights, loud-noise]
        note: "A white patch flashes and a beep sounds at every whole second."
    safe_points: [0, 2, "00:04.500"]
    areas:
      - id: green-disc
        label: the green disc on the right
        start: "00:02.000"
        end: "00:04.500"
        heading: [70, 110]
        pitch: [-20, 20]
      - id: blue-disc
        label: the blue disc behind the viewer
        start: 0
        end: {FILM_SECONDS:g}
        heading: [160, -160]
        pitch: [-20, 20]
    media:
      codec: h264
      width: {EYE_WIDTH}
      height: {EYE_HEIGHT * (2 if spec.stereo == "top-bottom" else 1)}
      fps: {FILM_FPS}
      pix_fmt: yuv420p
      audio_codec: aac
      audio_channels: {4 if spec.audio == "ambix-foa" else 2}
      size: {sizes[spec.file]}
"""
        )
    return """# Viewpoint sample library: calibration films written by `viewpoint-manifest sample`.
# Conventions are documented in docs/manifest.md ("Sample films").
manifest_version: 1
title: Viewpoint calibration films
films:
""" + "".join(films)


def _sha256(path: Path) -> str:
    from .safefile import sha256_regular

    return sha256_regular(path)


def _recipe() -> str:
    import av

    return f"sample-v{SAMPLE_VERSION}/av-{av.__version__}/{av.library_versions.get('libavcodec')}"


def _write_text_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    _atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"))


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    fd, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; on Windows this only clears read-only
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def make_film(spec: FilmSpec, path: Path) -> None:
    """Encode one calibration film and tag it with spherical metadata (sv3d/st3d)."""
    encode_film(spec, path)
    inject_mp4(path, "equirect360", spec.stereo)  # spherical metadata, as 360 cameras write it


def write_sample_library(directory: str | os.PathLike[str]) -> Path:
    """Write the calibration films, subtitles and ``manifest.yaml`` into ``directory``; return the manifest.

    Deterministic and idempotent: a film already there whose sha256 matches the one recorded when it was made
    (by the same generator and FFmpeg version) is kept, so a second call takes milliseconds.
    """
    d = Path(directory).resolve()
    d.mkdir(parents=True, exist_ok=True)
    stamp_path = d / STAMP_NAME
    recipe = _recipe()
    try:
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stamp = {}
    known: dict[str, str] = stamp.get("files", {}) if stamp.get("recipe") == recipe else {}
    shas: dict[str, str] = {}
    for spec in FILMS:
        path = d / spec.file
        if spec.file in known and path.is_file() and _sha256(path) == known[spec.file]:
            shas[spec.file] = known[spec.file]
            continue
        _atomic_write(path, lambda tmp, spec=spec: make_film(spec, tmp))
        shas[spec.file] = _sha256(path)
    _write_text_if_changed(d / SUBTITLES_NAME, SUBTITLES)
    stamp_text = json.dumps({"recipe": recipe, "files": shas}, indent=2, sort_keys=True)
    _write_text_if_changed(stamp_path, stamp_text)
    manifest = d / MANIFEST_NAME
    _write_text_if_changed(
        manifest, manifest_text(shas, {f.file: (d / f.file).stat().st_size for f in FILMS})
    )
    return manifest
