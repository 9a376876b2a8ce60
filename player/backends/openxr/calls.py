"""OpenXR entry points for the per-frame calls, answering the plain XrResult integer.

pyopenxr's functions (``xr.raw_functions`` included) turn every result into its ``Result`` enum, and its
wrappers then build an exception object to test, success or not: a few microseconds per call, a dozen calls a
display frame. These are separate function objects for the same loader symbols (pyopenxr's own keep their
behaviour); :func:`failure` is pyopenxr's exception for a negative result, to raise.
"""

from __future__ import annotations

import ctypes
from typing import Any


def int_call(name: str) -> Any:
    """The loader's ``name`` (e.g. "xrEndFrame") with pyopenxr's argument types, returning an int."""
    import xr
    from xr.library import openxr_loader_library

    fn = openxr_loader_library[name]  # a new function object: pyopenxr's stays as it is
    fn.argtypes = getattr(xr.raw_functions, name).argtypes
    fn.restype = ctypes.c_int
    return fn


def failure(code: int) -> Exception:
    """pyopenxr's exception for a call's result ``code`` (raise it when ``code`` < 0)."""
    import xr
    from xr.exception import check_result

    try:
        result = xr.Result(code)
    except ValueError:  # a code this pyopenxr does not know
        return xr.exception.ErrorResult(f"XrResult {code}")
    return check_result(result)
