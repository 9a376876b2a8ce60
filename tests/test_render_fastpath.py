"""The renderer's per-frame fast path: GL error-check setting and the numpy-free eye-to-film matrix."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from player.render import glplatform, projection

pytestmark = pytest.mark.timeout(60)

unit = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.tuples(unit, unit, unit, unit), st.floats(min_value=-720.0, max_value=720.0, allow_nan=False))
def test_eye_to_film_matches_numpy_reference(q, yaw_deg):
    from player.render.renderer import _eye_to_film

    if math.sqrt(sum(c * c for c in q)) < 1e-3:
        q = (0.0, 0.0, 0.0, 1.0)
    yaw = tuple(float(v) for v in projection.yaw_matrix(yaw_deg).ravel())
    got = np.array(_eye_to_film(yaw, q)).reshape(3, 3)
    assert np.allclose(got, projection.eye_to_film(q, yaw_deg), atol=1e-12)


@pytest.mark.parametrize(
    ("value", "under_pytest", "expected"),
    [("1", False, True), ("on", False, True), ("0", True, False), ("off", True, False), ("", True, True)],
)
def test_gl_checks_setting(monkeypatch, value, under_pytest, expected):
    monkeypatch.setenv("VIEWPOINT_GL_CHECKS", value)
    if not under_pytest:
        monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    assert glplatform.gl_checks_wanted() is expected


def test_gl_checks_switch_on_and_off():
    from player.render.gl import GL  # noqa: F401  (imports PyOpenGL)

    was = glplatform.gl_checks_enabled()
    try:
        assert glplatform.configure_gl_checks(True) is True
        assert glplatform.gl_checks_enabled()
        assert glplatform.configure_gl_checks(False) is False
        assert not glplatform.gl_checks_enabled()
    finally:
        glplatform.configure_gl_checks(was)
