"""`check --verify-media`: hash, probe and decode every film; compare it with what the manifest says."""

from __future__ import annotations

import os

from .formats import unsupported
from .layout import metadata_findings, picture_findings, sample_pictures
from .loader import aspect_problem
from .model import Film, Library, Problem
from .probe import Probe, ProbeError, probe, sha256_file
from .progress import Progress
from .safefile import irregular
from .timecode import format_time

AUDIO_CHANNELS = {"mono": 1, "stereo": 2, "ambix-foa": 4}


def duration_tolerance(fps: float | None) -> float:
    """How far a probed or decoded length may differ from the manifest duration (2 frames, >= 0.1 s)."""
    return max(0.1, 2.0 / fps) if fps else 0.25


def verify_library(library: Library, manifest: str | os.PathLike[str] | None = None) -> list[Problem]:
    """Every problem found by opening the library's films (file missing or not hashed as written, etc.)."""
    out: list[Problem] = []
    for i, film in enumerate(library.films.values()):  # a valid library holds every film, in file order
        out.extend(verify_film(film, library.positions.get(film.id, {}), str(manifest or library.path), i))
    return out


def verify_film(film: Film, marks: dict[str, tuple[int, int]], manifest: str, index: int) -> list[Problem]:
    """Problems with one film's file; ``marks`` place them in the manifest; ``index`` is its place in it."""
    problems: list[Problem] = []
    base = f"films[{index}]"

    def add(key: str, message: str, expected: str, warning: bool = False) -> None:
        line, col = marks.get(key, marks.get("", (1, 1)))
        sev = "warning" if warning else "error"
        problems.append(Problem(manifest, line, col, f"{base}.{key}", message, expected, sev))

    try:
        reason = irregular(film.path)
    except FileNotFoundError:
        reason = "does not exist"
    if reason:
        add("file", f"the film file {film.file!r} {reason}", f"a regular video file at {film.path}")
        return problems
    try:
        _verify_file(film, add)
    except OSError as e:
        add("file", f"cannot read {film.file!r}: {e.strerror or e}", "a readable video file")
    return problems


def _verify_file(film: Film, add) -> None:
    digest = sha256_file(film.path, f"sha256 {film.file}")
    if digest != film.sha256:
        add(
            "sha256",
            f"the file's sha256 is {digest[:12]}..., not {film.sha256[:12]}...",
            "the file the manifest was made for; run `viewpoint-manifest scan` if it was replaced on purpose",
        )
    try:
        info = probe(film.path)
    except ProbeError as e:
        add(
            "file",
            f"{film.file!r}: {e}",
            "a video file that PyAV can open (e.g. MP4 or MKV, H.264 or HEVC)",
        )
        return
    _compare(film, info, add)
    _decode_all(film, info, add)
    if info.spherical is None or not info.spherical.unplayable:
        _check_pictures(film, add)


def _check_pictures(film: Film, add) -> None:
    """The layout against the pictures (`content_manifest.layout`): warnings here; `qa` fails on them."""
    import av

    try:
        pictures = sample_pictures(film.path)
    except (av.error.FFmpegError, UnicodeDecodeError):
        return  # already reported by the decode
    for f in picture_findings(film, pictures):
        add(f.field, f"{f.message} (from the pictures)", f.expected, warning=True)


def _compare(film: Film, info: Probe, add) -> None:
    tol = duration_tolerance(info.fps)
    if film.duration is not None and info.duration is not None and abs(info.duration - film.duration) > tol:
        add(
            "duration",
            f"the file is {format_time(info.duration)} long, not {format_time(film.duration)}",
            f"the probed duration within {tol:g} s",
        )
    if film.duration is None and info.duration is not None:
        _check_times_against(film, info.duration, add)
    media = film.media
    if (
        media is not None
        and media.width
        and media.height
        and (media.width, media.height) != (info.width, info.height)
    ):
        add(
            "media",
            f"the picture is {info.width}x{info.height}, not {media.width}x{media.height}",
            "the resolution the manifest records; re-run `viewpoint-manifest scan`",
        )
    sph = info.spherical
    for f in metadata_findings(film, sph):
        add(f.field, f.message, f.expected, warning=f.warning)
    bad_format = unsupported(info.pix_fmt)
    if bad_format:
        add("file", f"{film.file!r}: {bad_format}", "a film the player can show; re-encode it")
    problem = aspect_problem(film.projection, film.stereo, info.width, info.height)
    if problem:
        add("stereo", *problem)
    elif sph is None:
        add(
            "projection",
            "no spherical metadata in the file: projection and stereo checked by aspect ratio only",
            "sv3d/st3d boxes (MP4) or Projection/StereoMode (MKV) to confirm the layout",
            warning=True,
        )
    want = AUDIO_CHANNELS.get(film.audio)
    if film.audio == "none":
        if info.audio_channels is not None:
            add(
                "audio",
                f"the file has an audio stream ({info.audio_channels} channel(s)), but the manifest says "
                "none: it will not be played",
                "audio: stereo, mono or ambix-foa",
                warning=True,
            )
    elif info.audio_channels is None:
        add(
            "audio",
            f"the file has no audio stream, but the manifest says {film.audio}",
            "an audio stream, or audio: none",
        )
    elif want is not None and info.audio_channels != want:
        add(
            "audio",
            f"the file's audio has {info.audio_channels} channel(s) ({info.audio_layout}), "
            f"not the {want} of {film.audio}",
            f"{want} channel(s) for {film.audio}",
        )


def _check_times_against(film: Film, duration: float, add) -> None:
    """With no duration in the manifest: chapters, warnings, safe points and areas against the file's."""
    end = f"within the file's duration {format_time(duration)}"
    for c in film.chapters:
        if c.start >= duration:
            add("chapters", f"chapter {c.id!r} starts at {format_time(c.start)}, after the file ends", end)
    for w in film.content_warnings:
        if w.end > duration + duration_tolerance(None):
            add("content_warnings", f"a warning ends at {format_time(w.end)}, after the file ends", end)
    for t in film.safe_points:
        if t > duration:
            add("safe_points", f"safe point {format_time(t)} is after the file ends", end)
    for a in film.areas:
        if a.end > duration + duration_tolerance(None):
            add("areas", f"area {a.id!r} ends at {format_time(a.end)}, after the file ends", end)


def _decode_all(film: Film, info: Probe, add) -> None:
    """Decode every packet of the video and audio; report decode errors and a picture that stops early."""
    import av

    frames = 0
    last = 0.0
    total = info.duration or film.duration or 0.0
    try:
        with av.open(str(film.path)) as c, Progress(f"decode {film.file}", total or 1.0) as bar:
            streams = [c.streams.video[0]]
            streams[0].thread_type = "AUTO"
            if c.streams.audio:
                streams.append(c.streams.audio[0])
            for packet in c.demux(*streams):
                for frame in packet.decode():
                    if packet.stream.type == "video":
                        frames += 1
                        if frame.time is not None:
                            last = max(last, frame.time)
                            bar.set(last)
    except av.error.FFmpegError as e:
        reason = getattr(e, "strerror", None) or str(e)
        add(
            "file",
            f"{film.file!r} is truncated or damaged: decoding failed at {format_time(last)} ({reason})",
            "a file that decodes from start to end",
        )
        return
    if frames == 0:
        add("file", f"{film.file!r} has no decodable pictures", "a file that decodes from start to end")
        return
    end = last + (1.0 / info.fps if info.fps else 0.0)
    tol = duration_tolerance(info.fps)
    if total and end < total - tol:
        add(
            "file",
            f"{film.file!r} is truncated: pictures stop at {format_time(end)} of {format_time(total)}",
            "a file that decodes from start to end",
        )
