"""A minimal XDF recorder for tests: pylsl inlets into an XDF 1.0 file, as LabRecorder writes one.

LabRecorder (a Qt application) is not installed here, and pyxdf only reads; this writes the documented format
(https://github.com/sccn/xdf/wiki/Specifications) with what LabRecorder puts in it: the magic ``XDF:``, a
FileHeader chunk, per stream a StreamHeader (the inlet's full stream info as XML), Samples chunks (each sample
with its own timestamp on the sender's clock), ClockOffset chunks (LSL's ``time_correction``, collected at
``local_clock() - offset`` as LabRecorder does) and a StreamFooter (first and last timestamps, sample count,
the offsets). Chunks: ``[NumLengthBytes=8][Length: uint64][Tag: uint16][Content]``, little-endian.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

_NUMERIC = {"float32": "<f", "double64": "<d", "int8": "<b", "int16": "<h", "int32": "<i", "int64": "<q"}


def _varlen(n: int) -> bytes:
    if n < 256:
        return b"\x01" + struct.pack("<B", n)
    if n < 2**32:
        return b"\x04" + struct.pack("<I", n)
    return b"\x08" + struct.pack("<Q", n)


class XdfRecorder:
    """Records the given pylsl inlets (stream ids 1, 2, ...) into ``path``; :meth:`pull` as often as wanted,
    :meth:`close` at the end. ``samples[stream id]`` keeps what was written, for the test to compare."""

    def __init__(self, path: Path | str, inlets: list[Any]) -> None:
        import pylsl

        self._lsl = pylsl
        self.path = Path(path)
        self.inlets = {i + 1: inlet for i, inlet in enumerate(inlets)}
        self.formats = {}
        self.samples: dict[int, list[tuple[float, list]]] = {sid: [] for sid in self.inlets}
        self.offsets: dict[int, list[tuple[float, float]]] = {sid: [] for sid in self.inlets}
        self._f: BinaryIO = self.path.open("wb")
        self._f.write(b"XDF:")
        self._chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')
        for sid, inlet in self.inlets.items():
            info = inlet.info(timeout=10)
            self.formats[sid] = info.channel_format()
            self._chunk(2, struct.pack("<I", sid) + info.as_xml().encode("utf-8"))
        self.clock_offset()

    def _chunk(self, tag: int, content: bytes) -> None:
        self._f.write(b"\x08" + struct.pack("<Q", len(content) + 2) + struct.pack("<H", tag) + content)

    def clock_offset(self) -> None:
        """One ClockOffset chunk per stream (LSL's estimate of the sender's clock against ours)."""
        for sid, inlet in self.inlets.items():
            offset = inlet.time_correction(timeout=5)
            collected = self._lsl.local_clock() - offset
            self.offsets[sid].append((collected, offset))
            self._chunk(4, struct.pack("<I", sid) + struct.pack("<dd", collected, offset))

    def pull(self) -> int:
        """What every inlet holds now, as one Samples chunk per stream; returns how many samples."""
        n = 0
        for sid, inlet in self.inlets.items():
            values, stamps = inlet.pull_chunk(timeout=0.0)
            if not values:
                continue
            fmt = self.formats[sid]
            body = [struct.pack("<I", sid), _varlen(len(values))]
            for v, ts in zip(values, stamps, strict=True):
                body.append(b"\x08" + struct.pack("<d", ts))
                if fmt == self._lsl.cf_string:
                    for s in v:
                        raw = str(s).encode("utf-8")
                        body += [_varlen(len(raw)), raw]
                else:
                    code = _NUMERIC[_format_name(self._lsl, fmt)]
                    body.append(struct.pack("<" + code[1] * len(v), *v))
                self.samples[sid].append((ts, list(v)))
            self._chunk(3, b"".join(body))
            n += len(values)
        return n

    def close(self) -> None:
        """The last samples and offsets, then a StreamFooter per stream."""
        self.pull()
        self.clock_offset()
        for sid in self.inlets:
            stamps = [ts for ts, _ in self.samples[sid]]
            offs = "".join(
                f"<offset><time>{t!r}</time><value>{v!r}</value></offset>" for t, v in self.offsets[sid]
            )
            xml = (
                '<?xml version="1.0"?><info>'
                f"<first_timestamp>{stamps[0] if stamps else 0.0!r}</first_timestamp>"
                f"<last_timestamp>{stamps[-1] if stamps else 0.0!r}</last_timestamp>"
                f"<sample_count>{len(stamps)}</sample_count><clock_offsets>{offs}</clock_offsets>"
                f"<writer>{escape('tests/xdf_recorder.py')}</writer></info>"
            )
            self._chunk(6, struct.pack("<I", sid) + xml.encode("utf-8"))
        self._f.close()


def _format_name(pylsl: Any, fmt: int) -> str:
    names = {pylsl.cf_float32: "float32", pylsl.cf_double64: "double64", pylsl.cf_int8: "int8",
             pylsl.cf_int16: "int16", pylsl.cf_int32: "int32", pylsl.cf_int64: "int64"}  # fmt: skip
    return names[fmt]
