"""Spherical video metadata: read what FFmpeg exposes, and write MP4 `st3d`/`sv3d` boxes.

Cameras and Google's spatial-media tool describe 360° films with the MP4 `sv3d` (projection) and `st3d`
(stereo mode) boxes, or the Matroska `Projection` and `StereoMode` elements. FFmpeg turns them into the
stream's coded side data (``AV_PKT_DATA_SPHERICAL``, ``AV_PKT_DATA_STEREO3D``) and its decoders attach them
to every decoded frame. PyAV 18 does not expose stream side data, but it does expose frame side data, so
`content_manifest.probe` decodes the first picture and passes it to `from_frame_side_data`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# enum AVSphericalProjection (FFmpeg 8)
_EQUIRECT, _CUBEMAP, _EQUIRECT_TILE, _HALF_EQUIRECT, _RECTILINEAR, _FISHEYE = 0, 1, 2, 3, 4, 5
_LAYOUT_NAMES = {
    _CUBEMAP: "cubemap",
    _RECTILINEAR: "rectilinear (flat)",
    _FISHEYE: "fisheye",
    6: "parametric immersive",
}
# enum AVStereo3DType
_STEREO_TYPES = {0: "mono", 1: "left-right", 2: "top-bottom"}
_STEREO_INVERT = 1  # AV_STEREO3D_FLAG_INVERT: the right eye comes first
# MP4 sv3d/proj children FFmpeg does not turn into side data
_MP4_PROJECTIONS = {
    b"mshp": "mesh projection (YouTube's equi-angular cubemap, EAC, is stored as one)",
    b"cbmp": "cubemap",
}
CONVERT_HINT = "convert it to equirectangular first, e.g. ffmpeg -i IN -vf v360=eac:e OUT (or v360=c3x2:e)"


@dataclass(frozen=True)
class SphericalInfo:
    """What the file's own metadata says; None where it says nothing (or something Viewpoint cannot play)."""

    projection: str | None  # "equirect360" | "equirect180" | None
    stereo: str | None  # "mono" | "top-bottom" | "left-right" | None
    detail: str = ""  # e.g. "equirectangular projection over 270 degrees": why a value is unusable
    eye_order: str | None = None  # "left-first" | "right-first" | None (not said, or mono)
    unplayable: str = ""  # a layout Viewpoint does not play, named: "cubemap", "mesh projection (...)"


def from_frame_side_data(frame: Any) -> SphericalInfo | None:
    """The spherical/stereo side data of a decoded PyAV frame, or None when it carries neither."""
    import av.sidedata.sidedata as sd

    projection = stereo = eye_order = None
    detail = []
    unplayable = ""
    found = False
    side = frame.side_data
    for entry in side:  # PyAV 18 iterates its items, PyAV 19 its types (a mapping from type to item)
        item = entry if hasattr(entry, "type") else side[entry]
        if item.type == sd.Type.SPHERICAL:
            found = True
            projection, why, unplayable = _projection(bytes(item))
            if why:
                detail.append(why)
        elif item.type == sd.Type.STEREO3D:
            found = True
            stereo, eye_order, why = _stereo(bytes(item))
            if why:
                detail.append(why)
    if not found:
        return None
    return SphericalInfo(projection, stereo, "; ".join(detail), eye_order, unplayable)


def _projection(raw: bytes) -> tuple[str | None, str, str]:
    """(projection, why it is unusable, the unplayable layout's name)."""
    if len(raw) < 32:
        return None, "short spherical side data", ""
    kind, _yaw, _pitch, _roll, left, _top, right, _bottom = struct.unpack_from("=iiiiIIII", raw)
    if kind == _HALF_EQUIRECT:
        return "equirect180", "", ""
    if kind not in (_EQUIRECT, _EQUIRECT_TILE):
        name = _LAYOUT_NAMES.get(kind, f"projection type {kind}")
        return None, f"{name} projection", name
    # FFmpeg calls an equirect picture with bounds "tiled"; bounds are 0.32 fixed-point fractions cut off
    span = 360.0 * (1.0 - (left + right) / 2**32)
    if abs(span - 360.0) < 1.0:
        return "equirect360", "", ""
    if abs(span - 180.0) < 1.0:
        return "equirect180", "", ""
    return None, f"equirectangular projection over {span:.0f} degrees", ""


def _stereo(raw: bytes) -> tuple[str | None, str | None, str]:
    """(stereo, eye order, why it is unusable)."""
    if len(raw) < 8:
        return None, None, "short stereo side data"
    kind, flags = struct.unpack_from("=ii", raw)
    name = _STEREO_TYPES.get(kind)
    if name is None:
        return None, None, f"stereo type {kind}"
    if name == "mono":
        return name, None, ""
    return name, "right-first" if flags & _STEREO_INVERT else "left-first", ""


_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_MKV_PROJECTION, _MKV_PROJECTION_TYPE = b"\x76\x70", b"\x76\x71"
_MKV_TYPES = {2: "cubemap", 3: _MP4_PROJECTIONS[b"mshp"]}


def container_projection(path: str | Path) -> str:
    """The name of a projection the file's container declares that FFmpeg does not report (an MP4 mesh, a
    Matroska mesh or cubemap), or ""."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return ""
    return mkv_projection(path) if head == _EBML_MAGIC else mp4_projection(path)


def mkv_projection(path: str | Path, limit: int = 4 << 20) -> str:
    """A Matroska video track's ProjectionType (RFC 9559, 0x7671) when it is 2 (cubemap) or 3 (mesh); ""
    otherwise. Reads the first ``limit`` bytes, where the Tracks element is."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit)
    except OSError:
        return ""
    at = data.find(_MKV_PROJECTION)
    while at >= 0:
        size, width = _vint(data, at + 2)
        body = data[at + 2 + width : at + 2 + width + (size or 0)]
        t = body.find(_MKV_PROJECTION_TYPE)
        if size is not None and t >= 0 and body[t + 2 : t + 3] == b"\x81" and len(body) > t + 3:
            return _MKV_TYPES.get(body[t + 3], "")
        at = data.find(_MKV_PROJECTION, at + 2)
    return ""


def _vint(data: bytes, pos: int) -> tuple[int | None, int]:
    """An EBML variable-size integer at ``pos``: (value, bytes it takes); (None, 1) when unreadable."""
    if pos >= len(data) or data[pos] == 0:
        return None, 1
    width = 9 - data[pos].bit_length()
    if pos + width > len(data):
        return None, 1
    value = data[pos] & (0xFF >> width)
    for b in data[pos + 1 : pos + width]:
        value = (value << 8) | b
    return value, width


def mp4_projection(path: str | Path, limit: int = 64 << 20) -> str:
    """The name of an MP4's sv3d projection that FFmpeg skips (a mesh: YouTube's EAC), or ""; reads only the
    box headers and the moov box (at most ``limit`` bytes)."""
    try:
        with open(path, "rb") as f:
            if f.read(8)[4:8] not in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
                return ""
            f.seek(0)
            while head := f.read(8):
                if len(head) < 8:
                    return ""
                size, kind = struct.unpack(">I4s", head)
                header = 8
                if size == 1:
                    size, header = struct.unpack(">Q", f.read(8))[0], 16
                if kind == b"moov":
                    if size == 0 or size > limit:
                        return ""
                    moov = f.read(size - header)
                    break
                if size < header:
                    return ""
                f.seek(size - header, 1)
            else:
                return ""
    except (OSError, struct.error):
        return ""
    return _find_projection(moov, 0, len(moov))


def _find_projection(data: bytes, start: int, end: int) -> str:
    try:
        for pos, size, kind, header in _children(data, start, end):
            if kind in _CONTAINERS or kind in (b"sv3d", b"proj"):
                found = _find_projection(data, pos + header, pos + size)
                if found:
                    return found
            elif kind in _MP4_PROJECTIONS and end - start > 0:
                return _MP4_PROJECTIONS[kind]
            elif kind == b"stsd":
                for entry in _children(data, pos + header + 8, pos + size):
                    if entry[2] in _VIDEO_ENTRIES:
                        first = entry[0] + entry[3] + _VISUAL_SAMPLE_ENTRY_HEADER
                        found = _find_projection(data, first, entry[0] + entry[1])
                        if found:
                            return found
    except (ValueError, struct.error):
        return ""
    return ""


# --- writing (MP4) ---------------------------------------------------------------------------------------

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
_VIDEO_ENTRIES = {b"avc1", b"avc3", b"hvc1", b"hev1", b"av01", b"vp09", b"mp4v"}
_VISUAL_SAMPLE_ENTRY_HEADER = 78  # bytes between a visual sample entry's box header and its child boxes


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, payload: bytes) -> bytes:
    return _box(kind, b"\0\0\0\0" + payload)


def spherical_boxes(projection: str, stereo: str) -> bytes:
    """The `st3d` and `sv3d` boxes (Spherical Video V2) for a projection ("equirect360", "equirect180",
    or, to make test films of layouts Viewpoint refuses, "cubemap" and "mesh") and a stereo layout."""
    mode = {"mono": 0, "top-bottom": 1, "left-right": 2}[stereo]
    st3d = _full_box(b"st3d", bytes([mode]))
    svhd = _full_box(b"svhd", b"Viewpoint\0")
    prhd = _full_box(b"prhd", struct.pack(">iii", 0, 0, 0))
    if projection == "cubemap":
        body = _full_box(b"cbmp", struct.pack(">II", 0, 0))  # layout 0 (3x2), no padding
    elif projection == "mesh":
        body = _full_box(b"mshp", struct.pack(">I", 0) + b"raw " + b"\0" * 8)
    else:
        side = 0 if projection == "equirect360" else 0x40000000  # 180 degrees: a quarter cut from each side
        body = _full_box(b"equi", struct.pack(">IIII", 0, 0, side, side))
    return st3d + _box(b"sv3d", svhd + _box(b"proj", prhd + body))


def _children(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"damaged MP4 box {kind!r} at byte {pos}")
        yield pos, size, kind, header
        pos += size


def inject_mp4(path: str | Path, projection: str, stereo: str) -> None:
    """Add spherical metadata to an MP4 with one video track, as Google's spatial-media tool does.

    Rewrites the file in place (it is read whole: meant for test films and small clips).
    """
    p = Path(path)
    data = bytearray(p.read_bytes())
    chain = _video_entry_chain(data)
    if chain is None:
        raise ValueError(f"{p}: no MP4 video sample entry found")
    extra = spherical_boxes(projection, stereo)
    entry_pos, entry_size, _, _ = chain[-1]
    insert_at = entry_pos + entry_size
    moov_pos = chain[0][0]
    mdat_pos = next((pos for pos, _, kind, _ in _children(data, 0, len(data)) if kind == b"mdat"), None)
    if mdat_pos is not None and moov_pos < mdat_pos:
        _shift_chunk_offsets(data, chain[0], len(extra))
    for pos, size, _, header in chain:
        if header != 8:
            raise ValueError(f"{p}: 64-bit box sizes are not supported here")
        struct.pack_into(">I", data, pos, size + len(extra))
    data[insert_at:insert_at] = extra
    p.write_bytes(bytes(data))


def _video_entry_chain(data: bytes) -> list[tuple[int, int, bytes, int]] | None:
    def walk(start: int, end: int, chain: list) -> list | None:
        for box in _children(data, start, end):
            pos, size, kind, header = box
            if kind in _CONTAINERS:
                found = walk(pos + header, pos + size, [*chain, box])
                if found:
                    return found
            elif kind == b"stsd":
                for entry in _children(data, pos + header + 8, pos + size):
                    if entry[2] in _VIDEO_ENTRIES:
                        return [*chain, box, entry]
        return None

    return walk(0, len(data), [])


def _shift_chunk_offsets(data: bytearray, moov: tuple[int, int, bytes, int], delta: int) -> None:
    def walk(start: int, end: int) -> None:
        for pos, size, kind, header in _children(data, start, end):
            if kind in _CONTAINERS:
                walk(pos + header, pos + size)
            elif kind in (b"stco", b"co64"):
                count = struct.unpack_from(">I", data, pos + header + 4)[0]
                fmt, width = (">I", 4) if kind == b"stco" else (">Q", 8)
                base = pos + header + 8
                for i in range(count):
                    (off,) = struct.unpack_from(fmt, data, base + i * width)
                    struct.pack_into(fmt, data, base + i * width, off + delta)

    walk(moov[0] + moov[3], moov[0] + moov[1])
