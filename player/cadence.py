"""Judder: how evenly video frames fall on display frames while the film plays.

A 30 fps film on a 90 Hz display shows every picture for 3 display frames; on a 72 Hz display it alternates 2
and 3 (2.4 on average), which viewers see as judder when the picture pans. ``Cadence`` counts, per picture,
the display frames it stayed on screen (runs broken by a pause, a seek or a change of film are not counted),
and calls a run irregular when its length is not the most common one. The play report carries the counts.
"""

from __future__ import annotations

from collections import Counter


class Cadence:
    """Fed once per display frame by the playback loop; ``report()`` for the play report."""

    def __init__(self) -> None:
        self.runs: Counter[int] = Counter()  # run length (display frames) -> how many pictures had it
        self._run = 0  # display frames the current picture has been shown while playing
        self._counting = False  # the current run began while playing (a whole run)

    def frame(self, new_picture: bool, playing: bool) -> None:
        """One display frame: whether it shows a picture the previous one did not, and whether the film plays
        at normal speed (pauses, seeks, buffering and fast modes break the count)."""
        if not playing:
            self._run, self._counting = 0, False
            return
        if new_picture:
            if self._counting and self._run:
                self.runs[self._run] += 1
            self._run, self._counting = 1, True
        elif self._counting:
            self._run += 1

    def report(self) -> dict:
        """``pictures``: whole runs counted; ``pattern``: the most common run length; ``irregular``: runs of
        another length (0 is judder-free); ``runs``: length -> count."""
        total = sum(self.runs.values())
        if not total:
            return {"pictures": 0, "pattern": None, "irregular": 0, "runs": {}}
        pattern = max(self.runs.items(), key=lambda kv: (kv[1], -kv[0]))[0]
        return {
            "pictures": total,
            "pattern": pattern,
            "irregular": total - self.runs[pattern],
            "runs": {str(k): v for k, v in sorted(self.runs.items())},
        }
