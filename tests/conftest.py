"""Shared fixtures: the sample library (calibration films + manifest), made once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from content_manifest import Library, load_library
from content_manifest.sample import write_sample_library


@pytest.fixture(scope="session")
def sample_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to the sample library's manifest.yaml (made in a session tmp dir; read-only)."""
    return write_sample_library(tmp_path_factory.mktemp("sample-library"))


@pytest.fixture(scope="session")
def sample_library(sample_manifest: Path) -> Library:
    """The loaded sample Library (calibration-mono, calibration-tb, calibration-foa)."""
    return load_library(sample_manifest)
