"""What a runtime can do and what the player picks from it: the layer path and the display refresh rate.

Layer paths, best first (``--layer auto``):

- ``equirect2`` (``XR_KHR_composition_layer_equirect2``: Monado, standalone Quest and Pico, WiVRn): the
  compositor samples the film as a sphere; we convert the picture once per video frame.
- ``equirect`` (``XR_KHR_composition_layer_equirect``, version 1: the Meta PC runtime behind Quest Link): the
  same, described by scale and bias; full-sphere (360) films only.
- ``projection`` (every runtime: SteamVR, Virtual Desktop, ...): our renderer draws each eye every frame.

Pure functions: no runtime calls, so the choices are tested without a headset (tests/test_xr_units.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import XrSetupError
from .runtime import EQUIRECT1, EQUIRECT2, REFRESH_RATE

LAYER_CHOICES = ("auto", "projection", "equirect2", "equirect")
LAYER_EXTENSION = {"equirect2": EQUIRECT2, "equirect": EQUIRECT1}


@dataclass(frozen=True)
class LayerChoice:
    layer: str  # projection, equirect2, equirect
    reason: str


def layer_paths(extensions: list[str] | set[str], projection: str = "equirect360") -> dict[str, str | None]:
    """Each layer path -> None when this runtime and film can take it, else why not."""
    offered = set(extensions)
    paths: dict[str, str | None] = {}
    for layer, ext in LAYER_EXTENSION.items():
        if ext not in offered:
            paths[layer] = f"the runtime does not offer {ext}"
        elif layer == "equirect" and projection != "equirect360":
            paths[layer] = "version 1 equirect layers cannot narrow the sphere for a 180-degree film"
        else:
            paths[layer] = None
    paths["projection"] = None
    return paths


def check_layer_request(requested: str, snapshots: bool = False) -> None:
    """XrSetupError for a ``--layer`` that no runtime could meet: an unknown name, or an equirect layer
    with ``snapshots`` (eye images read back, which only the projection layer has: the compositor draws the
    eyes of an equirect layer)."""
    if requested not in LAYER_CHOICES:
        raise XrSetupError(f"--layer {requested!r} is not known.", f"Use one of: {', '.join(LAYER_CHOICES)}.")
    if snapshots and requested not in ("auto", "projection"):
        raise XrSetupError(
            f"--snapshot-at cannot read back an {requested} layer's eyes (the compositor draws them).",
            "Use --layer projection (or auto) with --snapshot-at.",
        )


def choose_layer(
    requested: str, extensions: list[str] | set[str], projection: str = "equirect360", snapshots: bool = False
) -> LayerChoice:
    """The layer path for ``--layer requested`` on a runtime offering ``extensions``; XrSetupError when an
    explicit request cannot be met (see check_layer_request)."""
    check_layer_request(requested, snapshots)
    paths = layer_paths(extensions, projection)
    if requested == "projection":
        return LayerChoice("projection", "asked for with --layer projection")
    if requested != "auto":
        if paths[requested] is not None:
            raise XrSetupError(
                f"--layer {requested}: {paths[requested]}.",
                "Use --layer auto, which picks what the runtime has.",
            )
        return LayerChoice(requested, f"asked for with --layer {requested}")
    if snapshots:
        return LayerChoice("projection", "auto: --snapshot-at reads the eyes back from the projection layer")
    for layer in ("equirect2", "equirect"):
        if paths[layer] is None:
            return LayerChoice(layer, f"auto: the runtime offers {LAYER_EXTENSION[layer]}")
    missing = "; ".join(f"{layer}: {why}" for layer, why in paths.items() if why)
    return LayerChoice("projection", f"auto: no equirect layer ({missing})")


def judder_free(rate: float, fps: float) -> bool:
    """Whether every video frame shows for the same whole number of display frames."""
    ratio = rate / fps
    return round(ratio) >= 1 and abs(ratio - round(ratio)) < 0.001  # 90 Hz for 29.97 fps drifts: not whole


def choose_refresh_rate(rates: list[float], fps: float | None) -> tuple[float | None, str]:
    """The display rate for a film of ``fps`` frames per second from the rates a runtime offers
    (XR_FB_display_refresh_rate): the highest that is a whole multiple of ``fps``, else the one whose ratio is
    closest to a whole number (the highest of equals). (None, reason) when there is nothing to choose."""
    usable = sorted({round(float(r), 3) for r in rates if r and math.isfinite(r) and r > 0}, reverse=True)
    if not usable:
        return None, "the runtime lists no refresh rates"
    if not fps or not math.isfinite(fps) or fps <= 0:
        return None, "the film's frame rate is not known"
    whole = [r for r in usable if judder_free(r, fps)]
    if whole:
        rate = whole[0]
        return rate, f"{rate:g} Hz is {round(rate / fps)}x the film's {fps:g} fps"

    def misfit(r: float) -> float:
        ratio = r / fps
        return abs(ratio - round(ratio)) / max(1.0, round(ratio))

    rate = min(usable, key=lambda r: (round(misfit(r), 4), -r))
    offered = ", ".join(f"{r:g}" for r in usable)
    return rate, f"no offered rate ({offered} Hz) is a multiple of {fps:g} fps; {rate:g} Hz is closest"


__all__ = [
    "LAYER_CHOICES",
    "REFRESH_RATE",
    "LayerChoice",
    "check_layer_request",
    "choose_layer",
    "choose_refresh_rate",
    "layer_paths",
]
