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


@pytest.fixture(scope="session")
def sample_film_without_metadata(sample_manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """calibration-tb remuxed without its spherical metadata (sv3d/st3d), as many editors export it."""
    import av

    src_path = sample_manifest.parent / "calibration-tb.mp4"
    dst_path = tmp_path_factory.mktemp("no-metadata") / "calibration-tb.mp4"
    with av.open(str(src_path)) as src, av.open(str(dst_path), "w") as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
    return dst_path


@pytest.fixture
def controller(sample_library):
    """A controller with calibration-mono loaded (null audio, software decoding); ``c.events`` holds what it
    emitted, as (kind, data)."""
    from player.control import Controller

    c = Controller(sample_library, engine_options={"audio": "null", "hwdec": "none"})
    events: list[tuple[str, dict]] = []
    c.set_sink(lambda kind, data: events.append((kind, data)))
    c.events = events
    c.load("calibration-mono")
    yield c
    c.close()
