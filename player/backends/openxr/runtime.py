"""Finding the active OpenXR runtime and creating an instance with the extensions we can use."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import RUNTIME_FIX, XrSetupError, explain

APP_NAME = "Viewpoint"

OPENGL = "XR_KHR_opengl_enable"
EGL = "XR_MNDX_egl_enable"
EQUIRECT2 = "XR_KHR_composition_layer_equirect2"
EQUIRECT1 = "XR_KHR_composition_layer_equirect"
REFRESH_RATE = "XR_FB_display_refresh_rate"
TIMESPEC = "XR_KHR_convert_timespec_time"
WIN32_TIME = "XR_KHR_win32_convert_performance_counter_time"
USER_PRESENCE = "XR_EXT_user_presence"
HEADLESS = "XR_MND_headless"
OPTIONAL_EXTENSIONS = (EGL, EQUIRECT2, EQUIRECT1, TIMESPEC, WIN32_TIME, USER_PRESENCE, REFRESH_RATE)
# Extensions the player treats as absent although the runtime offers them: a comma-separated list, to force
# the fall-backs in tests, or to work around a runtime whose extension misbehaves (docs/openxr.md).
WITHHOLD_ENV = "VIEWPOINT_XR_WITHHOLD"


@dataclass
class RuntimeInfo:
    name: str
    version: str
    manifest: str | None
    extensions: list[str] = field(default_factory=list)


def _linux_manifest_candidates() -> list[Path]:
    home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    dirs = [home, *(os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":"), "/etc", "/usr/local/etc"]
    return [Path(d) / "openxr" / "1" / "active_runtime.json" for d in dirs if d]


def _windows_manifest() -> str | None:
    try:
        import winreg

        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Khronos\OpenXR\1") as key:
            return str(winreg.QueryValueEx(key, "ActiveRuntime")[0])
    except OSError:
        return None


def runtime_manifest_path() -> str | None:
    """Where the loader will find the active runtime's manifest (XR_RUNTIME_JSON first), or None."""
    env = os.environ.get("XR_RUNTIME_JSON")
    if env:
        return env
    if sys.platform == "win32":
        return _windows_manifest()
    for candidate in _linux_manifest_candidates():
        if candidate.is_file():
            return str(candidate)
    return None


def runtime_library(manifest: str | None) -> str | None:
    """The runtime library the manifest names, or None when it cannot be read."""
    if not manifest:
        return None
    try:
        data = json.loads(Path(manifest).read_text(encoding="utf-8"))
        return str(data["runtime"]["library_path"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def runtime_available() -> bool:
    """Cheap check (no runtime connection): is an OpenXR runtime installed and active on this machine?"""
    manifest = runtime_manifest_path()
    return bool(manifest) and Path(manifest).is_file()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


def withheld_extensions() -> set[str]:
    """The extensions named in $VIEWPOINT_XR_WITHHOLD."""
    return {e.strip() for e in os.environ.get(WITHHOLD_ENV, "").split(",") if e.strip()}


def available_extensions() -> list[str]:
    """The extensions the active runtime offers, less the withheld ones (XrSetupError when no runtime)."""
    try:
        import xr

        offered = [_text(e.extension_name) for e in xr.enumerate_instance_extension_properties()]
    except Exception as exc:  # the loader raises its own errors, OSError when it cannot load
        raise explain(exc, "asking the runtime for its extensions") from exc
    withheld = withheld_extensions()
    return [e for e in offered if e not in withheld]


def create_instance(required: list[str], optional: list[str]) -> tuple[object, list[str], RuntimeInfo]:
    """An XrInstance with `required` extensions (XrSetupError when missing) + the `optional` ones offered."""
    import xr

    offered = available_extensions()
    missing = [e for e in required if e not in offered]
    if missing:
        raise XrSetupError(
            f"The active OpenXR runtime does not offer {', '.join(missing)}, which Viewpoint needs.",
            "Update the headset software, or use a runtime with OpenGL support (SteamVR, Monado, WiVRn/ALVR, "
            "Virtual Desktop). " + RUNTIME_FIX,
        )
    enabled = list(required) + [e for e in optional if e in offered and e not in required]
    try:
        instance = xr.create_instance(
            xr.InstanceCreateInfo(
                application_info=xr.ApplicationInfo(
                    application_name=APP_NAME,
                    application_version=1,
                    engine_name="viewpoint",
                    engine_version=1,
                ),
                enabled_extension_names=enabled,
            )
        )
        props = xr.get_instance_properties(instance)
    except Exception as exc:
        raise explain(exc, "connecting to the runtime") from exc
    info = RuntimeInfo(
        name=_text(props.runtime_name),
        version=str(xr.Version(props.runtime_version)),
        manifest=runtime_manifest_path(),
        extensions=offered,
    )
    return instance, enabled, info


def get_hmd_system(instance: object) -> int:
    import xr

    try:
        return xr.get_system(instance, xr.SystemGetInfo(form_factor=xr.FormFactor.HEAD_MOUNTED_DISPLAY))
    except Exception as exc:
        raise explain(exc, "looking for the headset") from exc
