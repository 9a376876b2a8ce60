"""OpenXR backend: puts the film in a headset through the active OpenXR runtime (pyopenxr, OpenGL).

Split like hello_xr: `runtime` (instance, extensions), `graphics` (EGL/GLX/WGL bindings), `swapchain`,
`spaces` (LOCAL + recentre), `layers` (projection, equirect2), `actions` (viewer input), `clock`
(XrTime <-> time.monotonic), `backend` (the session lifecycle and frame loop). See docs/openxr.md.
"""

from __future__ import annotations

from .errors import XrSetupError
from .runtime import runtime_available, runtime_manifest_path


def __getattr__(name: str):
    if name == "OpenXRBackend":
        from .backend import OpenXRBackend

        return OpenXRBackend
    raise AttributeError(name)


__all__ = ["OpenXRBackend", "XrSetupError", "runtime_available", "runtime_manifest_path"]
