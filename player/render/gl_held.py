"""The GL state calls made every display frame, bound so that calling them keeps the interpreter lock.

ctypes releases the GIL around every foreign call and takes it back afterwards. A GL state call (bind a
texture, set a uniform) takes about a microsecond and never waits; but when another thread of the player (the
decoder's Python glue, the audio output, the session thread) is waiting for the lock, releasing it hands the
lock over, and the render thread then waits to get it back. With one busy Python thread beside it, each
PyOpenGL call cost about 8 µs of the render thread's CPU and 600 µs of wall time here, against 0.7 µs and
1.2 µs held (``python bench/gl_calls.py``); the renderer makes about 20 such calls per eye.

These are the same entry points PyOpenGL resolved (same address, argument and result types), called through a
``ctypes.PYFUNCTYPE`` prototype, which holds the lock. Only calls that never block are held: no draw, clear,
framebuffer bind, upload or readback (a driver may wait in those, and the session thread must not wait for
the render thread). Array arguments are plain pointers: pass a ctypes array.

GL errors: PyOpenGL's per-call check (on under tests and with VIEWPOINT_GL_CHECKS=1, see glplatform.py) does
not run after a held call, but a GL error stays set until read, so the next checked call (the draw that
follows them) raises it.

On 32-bit Windows, where GL uses the stdcall convention, PyOpenGL's own functions are used (they release the
lock). Call :func:`held_gl` with a GL context current (EGL resolves entry points through the context).
"""

from __future__ import annotations

import ctypes
import importlib
import sys
from types import SimpleNamespace

from player.render.gl import GL

# name -> PyOpenGL's module (OpenGL.raw.GL.VERSION.*) declaring it
HELD_CALLS = {
    "glViewport": "GL_1_0",
    "glEnable": "GL_1_0",
    "glDisable": "GL_1_0",
    "glBlendFunc": "GL_1_0",
    "glBindTexture": "GL_1_1",
    "glActiveTexture": "GL_1_3",
    "glUseProgram": "GL_2_0",
    "glUniform1i": "GL_2_0",
    "glUniform1f": "GL_2_0",
    "glUniform4f": "GL_2_0",
    "glUniformMatrix3fv": "GL_2_0",
    "glBindVertexArray": "GL_3_0",
}

_held: SimpleNamespace | None = None


def held_gl() -> SimpleNamespace:
    """The calls of HELD_CALLS as attributes (``held_gl().glViewport(...)``), bound once per process."""
    global _held
    if _held is None:
        _held = SimpleNamespace(**{name: _bind(name, module) for name, module in HELD_CALLS.items()})
    return _held


def holds_the_lock(fn: object) -> bool:
    """Whether calling ``fn`` keeps the GIL (a PYFUNCTYPE function)."""
    return bool(getattr(fn, "_flags_", 0) & ctypes._FUNCFLAG_PYTHONAPI)


def _bind(name: str, module: str):
    declared = getattr(importlib.import_module(f"OpenGL.raw.GL.VERSION.{module}"), name)
    if sys.platform == "win32" and ctypes.sizeof(ctypes.c_void_p) == 4:
        return getattr(GL, name)  # stdcall: keep PyOpenGL's WINFUNCTYPE function
    resolved = declared.load() if hasattr(declared, "load") else declared
    if resolved is None:
        raise RuntimeError(f"GL entry point {name} is not available in this context")
    address = ctypes.cast(resolved, ctypes.c_void_p).value
    argtypes = [t if issubclass(t, ctypes._SimpleCData) else ctypes.c_void_p for t in declared.argtypes]
    return ctypes.PYFUNCTYPE(declared.restype, *argtypes)(address)
