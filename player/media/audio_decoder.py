"""The audio decode thread: packets -> float samples at the output rate -> the audio buffer."""

from __future__ import annotations

import av
import numpy as np

from player.media.audio_buffer import AudioBuffer
from player.media.decode_thread import DecodeThread

PUSH_TIMEOUT = 0.1
RESYNC_SECONDS = 0.1
"""A frame whose timestamp is further than this from where the samples so far end starts a new run there."""


def output_layout(channels: int, layout: str) -> tuple[str, int]:
    """The resampler layout (name, channels) for a stream with ``channels`` played as ``layout``."""
    if layout == "ambix-foa" and channels == 4:
        return "4.0", 4  # channel order kept as stored (AmbiX W, Y, Z, X); no remixing
    if layout == "mono":
        return "mono", 1
    return "stereo", 2


class AudioDecoder(DecodeThread):
    kind = "audio"

    def __init__(self, *args, buffer: AudioBuffer, layout_name: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.buffer = buffer
        self.rate = buffer.rate
        self.layout_name = layout_name
        self._resampler: av.AudioResampler | None = None
        self._next_sample: int | None = None

    def wake_producer(self) -> None:
        self.buffer.wake()

    def _on_seek(self, target: float) -> None:
        self._resampler = None
        self._next_sample = None

    def _deliver(self, frame: av.AudioFrame) -> bool:
        if frame.pts is not None and self.time_base:
            start = round((frame.pts * self.time_base - self.origin) * self.rate)
            if self._next_sample is None or abs(start - self._next_sample) > RESYNC_SECONDS * self.rate:
                self._next_sample = start
                self._resampler = None
        elif self._next_sample is None:
            self._next_sample = 0
        if self._resampler is None:
            if frame.layout.nb_channels == 4 and self.layout_name == "4.0":
                # keep the four channels in their stored order whatever the file calls them
                self._resampler = av.AudioResampler(format="flt", layout=frame.layout, rate=self.rate)
            else:
                self._resampler = av.AudioResampler(format="flt", layout=self.layout_name, rate=self.rate)
        frame.pts = None  # the resampler must not shift samples to follow timestamps; we place them
        return self._push_all(self._resampler.resample(frame))

    def _push_all(self, frames: list[av.AudioFrame]) -> bool:
        for out in frames:
            data = out.to_ndarray().reshape(-1, self.buffer.channels)
            start = self._next_sample or 0
            self._next_sample = start + len(data)
            generation = self.generation
            while True:
                stored = self.buffer.push(
                    generation, start, np.ascontiguousarray(data, np.float32), PUSH_TIMEOUT
                )
                if stored is not False:
                    break
                if self.interrupted:
                    return False
                self._check_file(force=False)
            if self.interrupted:
                return False
        return True

    def _finish_stream(self, truncated: str | None) -> None:
        if self._resampler is not None:
            try:
                self._push_all(self._resampler.resample(None))
            except av.error.FFmpegError:
                pass
        self.buffer.set_eof(self.generation)
        end = (self._next_sample or 0) / self.rate
        self.hooks.reached_end("audio", self.generation, end, truncated)
