"""What the OpenXR backend counts (tests, the doctor and bench/xr_frame.py read it), and display rates."""

from __future__ import annotations

from dataclasses import dataclass, field

from .capabilities import REFRESH_RATE, choose_refresh_rate


@dataclass
class XrFrame:
    """What end_frame needs from begin_frame (FrameInfo.backend_data)."""

    predicted_display_time: int
    views: list
    wall0: float
    cpu0: float


@dataclass
class XrStats:
    states: list[str] = field(default_factory=list)
    frames: int = 0  # xrEndFrame calls
    frames_with_layers: int = 0
    layer_submissions: int = 0
    equirect_updates: int = 0
    overlay_frames: int = 0  # equirect mode: display frames with the overlay layer on top
    first_views: list | None = None
    last_views: list | None = None
    distinct_orientations: int = 0
    cpu_ms: list[float] = field(default_factory=list)  # per display frame: this thread's CPU time
    backend_cpu_ms: list[float] = field(default_factory=list)  # of which in begin_frame + end_frame
    # per display frame, the whole loop: this thread's CPU time from wait_frame returning to the next
    # wait_frame call (cpu_ms plus the work after the submit: input sync, the next picture's upload, ...)
    loop_cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(
        default_factory=list
    )  # per display frame: wait_frame return -> end_frame return
    display_lead_ms: list[float] = field(default_factory=list)  # predicted display time - now, at begin_frame
    display_period_ms: float = 0.0  # the runtime's predicted display period, last frame
    losses: int = 0
    restores: int = 0
    keep_timings: int = 100_000


def hz(value: object) -> float:
    """A refresh rate from pyopenxr (a float or a ctypes c_float) in Hz, to the millihertz."""
    return round(float(getattr(value, "value", value)), 3)


def match_refresh_rate(session: object, enabled: list[str], film_fps: float | None) -> dict:
    """XR_FB_display_refresh_rate: ask for the offered rate that suits the film best (no judder); what was
    offered, chosen and why (the play report and the doctor show it)."""
    if REFRESH_RATE not in enabled:
        return {"offered": [], "chosen": None, "reason": f"the runtime does not offer {REFRESH_RATE}"}
    import xr

    try:
        offered = [hz(r) for r in xr.enumerate_display_refresh_rates_fb(session)]
        current = hz(xr.get_display_refresh_rate_fb(session))
    except Exception as exc:  # a runtime that lists the extension but fails the call
        return {"offered": [], "chosen": None, "reason": f"the runtime's refresh rates: {exc!r}"}
    rate, reason = choose_refresh_rate(offered, film_fps)
    if rate is not None and abs(rate - current) > 0.01:
        try:
            xr.request_display_refresh_rate_fb(session, rate)
        except Exception as exc:
            reason += f"; the runtime refused it ({type(exc).__name__})"
            rate = None
    return {"offered": offered, "chosen": rate, "reason": reason, "current": current}
