"""Problems setting up OpenXR, each with the fix in plain words (shown by the player and by `doctor`)."""

from __future__ import annotations

import sys

RUNTIME_FIX = (
    "Install your headset's software and make it the active OpenXR runtime: SteamVR, Meta Quest Link, "
    "Virtual Desktop, WiVRn or ALVR (standalone headsets streamed from this PC), Windows Mixed Reality, "
    "or Monado on Linux. Then start it and try again."
)


def other_bindings(platform: str | None = None) -> str:
    """What to try about the graphics binding, in words true on this platform: Windows has only WGL, so no
    --graphics choice helps there."""
    if (platform or sys.platform) == "win32":
        return "update the graphics driver (Windows has one binding, WGL: --graphics does not help)"
    return "update the graphics driver, or try another binding: --graphics egl or --graphics glx"


class XrSetupError(RuntimeError):
    """OpenXR cannot be used: `problem` says what is wrong, `fix` what to do about it."""

    def __init__(self, problem: str, fix: str, *, blocking: bool = True) -> None:
        super().__init__(f"{problem} — {fix}")
        self.problem = problem
        self.fix = fix
        self.blocking = blocking


def explain(exc: BaseException, during: str) -> XrSetupError:
    """Turn an OpenXR error raised while `during` (e.g. "connecting to the runtime") into plain words."""
    if isinstance(exc, XrSetupError):
        return exc
    name = type(exc).__name__
    detail = str(exc) or name
    if name == "RuntimeUnavailableError" or "libopenxr_loader" in detail:
        return XrSetupError("No OpenXR runtime is installed or active on this computer.", RUNTIME_FIX)
    if name in ("RuntimeFailureError", "InitializationFailedError", "InstanceLostError"):
        return XrSetupError(
            f"The OpenXR runtime is installed but did not respond while {during} ({name}).",
            "Start the runtime (SteamVR, Quest Link, Virtual Desktop, WiVRn/ALVR, or `monado-service`), "
            "wait until it shows the headset as ready, then try again.",
        )
    if name in ("FormFactorUnavailableError", "FormFactorUnsupportedError"):
        return XrSetupError(
            "The OpenXR runtime is running but sees no headset.",
            "Connect the headset, switch it on (put it on or cover its proximity sensor to wake it) and "
            "check that the runtime shows it as ready.",
        )
    if name == "ExtensionNotPresentError":
        return XrSetupError(
            f"The OpenXR runtime lacks an extension Viewpoint needs while {during}.",
            "Update the headset's software; `viewpoint-player doctor` lists what the runtime offers.",
        )
    if name == "GraphicsDeviceInvalidError":
        return XrSetupError(
            "The OpenXR runtime rejected this computer's OpenGL context (the headset may be driven by a "
            "different graphics card).",
            f"Run Viewpoint on the graphics card the headset is connected to; {other_bindings()}.",
        )
    if isinstance(exc, OSError):
        return XrSetupError(
            f"The OpenXR loader could not be loaded while {during}: {detail}",
            "Reinstall Viewpoint (the loader comes with the pyopenxr package) and check that this is "
            "a 64-bit Python.",
        )
    return XrSetupError(f"OpenXR failed while {during}: {name}: {detail}", RUNTIME_FIX)
