"""Where the pixels go: the registry of backends (one line each; every class derives from ``Backend`` in
``player.backends.base``), ``backend_class(name)`` and ``create_backend(name, **options)``."""

from __future__ import annotations

from importlib import import_module

from player.backends.base import Backend, BackendEvent, BackendOptions, EyeView, FrameInfo, RenderTarget

BACKENDS = {
    "headless": ("player.backends.headless", "HeadlessBackend"),
    "desktop": ("player.backends.desktop", "DesktopBackend"),
    "openxr": ("player.backends.openxr", "OpenXRBackend"),
}


class BackendError(RuntimeError):
    """A backend that cannot be created or opened; the message says why and what to do."""


def backend_class(name: str) -> type[Backend]:
    """The registered backend class (its module is imported now); BackendError says why not."""
    if name not in BACKENDS:
        raise BackendError(f"backend {name!r}: expected one of {', '.join(BACKENDS)}")
    module_name, class_name = BACKENDS[name]
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise BackendError(f"backend {name!r} is not available: {exc}") from None
    return getattr(module, class_name)


def create_backend(name: str, **options: object) -> Backend:
    """Make the named backend (nothing is opened yet: call ``open()`` on the render thread)."""
    return backend_class(name)(**options)


def openxr_available() -> bool:
    """Whether an OpenXR runtime is present (the openxr backend is then the default)."""
    try:
        module = import_module("player.backends.openxr")
        return bool(module.runtime_available())
    except Exception:
        return False


__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "BackendEvent",
    "BackendOptions",
    "EyeView",
    "FrameInfo",
    "RenderTarget",
    "backend_class",
    "create_backend",
    "openxr_available",
]
