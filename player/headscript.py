"""Head scripts: where a scripted viewer looks over media time (YAML keyframes, linear, last one held).

A script is a YAML list (or a mapping with a ``keyframes`` list) of ``{t, heading, pitch, roll}``: ``t`` in
media seconds, angles in degrees with the sample-film conventions (heading clockwise from the film's front,
pitch up-positive, roll right ear down). Missing angles are 0. Headings are interpolated as written, so a turn
from 350 to 370 passes through 0 while 350 to 10 turns the long way round.
"""

from __future__ import annotations

import bisect
import contextlib
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from player.render.projection import Quat, head_orientation


class HeadScriptError(ValueError):
    """A head script that cannot be used; the message names the file and the keyframe."""


@dataclass(frozen=True, slots=True)
class Keyframe:
    t: float
    heading: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0


class HeadScript:
    def __init__(self, keyframes: list[Keyframe]) -> None:
        if not keyframes:
            raise HeadScriptError("a head script needs at least one keyframe")
        self.keyframes = sorted(keyframes, key=lambda k: k.t)
        self._times = [k.t for k in self.keyframes]

    @classmethod
    def fixed(cls, heading: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> HeadScript:
        return cls([Keyframe(0.0, heading, pitch, roll)])

    @classmethod
    def load(cls, path: str | Path) -> HeadScript:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise HeadScriptError(f"{path}: cannot read head script ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise HeadScriptError(f"{path}: not a head script (not UTF-8 text)") from None
        except RecursionError:
            raise HeadScriptError(f"{path}: lists or mappings nested too deeply") from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            what = " ".join(x for x in (exc.context, exc.problem) if x)
            raise HeadScriptError(f"{where}: not valid YAML ({what})") from None
        except yaml.YAMLError as exc:
            raise HeadScriptError(f"{path}: not valid YAML ({exc})") from None
        return cls.from_data(data, source=str(path))

    @classmethod
    def from_data(cls, data: object, source: str = "head script") -> HeadScript:
        if isinstance(data, dict) and "keyframes" in data:
            data = data["keyframes"]
        if not isinstance(data, list) or not data:
            raise HeadScriptError(f"{source}: expected a non-empty list of keyframes {{t, heading, pitch}}")
        frames = []
        for i, item in enumerate(data):
            where = f"{source}: keyframes[{i}]"
            if not isinstance(item, dict):
                raise HeadScriptError(f"{where}: expected a mapping with t, heading, pitch, roll")
            unknown = set(item) - {"t", "heading", "pitch", "roll"}
            if unknown:
                key = sorted(unknown, key=str)[0]
                raise HeadScriptError(f"{where}: unknown key {key!r} (expected t, heading, pitch, roll)")
            if "t" not in item:
                raise HeadScriptError(f"{where}.t: missing (media time in seconds)")
            values = {}
            for key in ("t", "heading", "pitch", "roll"):
                value = item.get(key, 0.0)
                if isinstance(value, str):  # YAML 1.1 reads "1e308" (no dot) as text: take it as a number
                    with contextlib.suppress(ValueError):
                        value = float(value)
                if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                    raise HeadScriptError(f"{where}.{key}: expected a finite number, got {value!r}")
                values[key] = float(value)
            if values["t"] < 0:
                raise HeadScriptError(f"{where}.t: {values['t']:g} is before the film starts (expected >= 0)")
            if not -90.0 <= values["pitch"] <= 90.0:
                raise HeadScriptError(f"{where}.pitch: {values['pitch']:g} outside -90..90 degrees")
            frames.append(Keyframe(**values))
        return cls(frames)

    def angles_at(self, t: float) -> tuple[float, float, float]:
        """(heading, pitch, roll) at media time ``t``: linear between keyframes, the ends held."""
        i = bisect.bisect_right(self._times, t)
        if i == 0:
            k = self.keyframes[0]
            return k.heading, k.pitch, k.roll
        if i == len(self.keyframes):
            k = self.keyframes[-1]
            return k.heading, k.pitch, k.roll
        a, b = self.keyframes[i - 1], self.keyframes[i]
        span = b.t - a.t
        f = 0.0 if span <= 0 else (t - a.t) / span
        return (
            a.heading + (b.heading - a.heading) * f,
            a.pitch + (b.pitch - a.pitch) * f,
            a.roll + (b.roll - a.roll) * f,
        )

    def orientation_at(self, t: float) -> Quat:
        return head_orientation(*self.angles_at(t))
