"""--hwdec and the GPU path (issue 16): which decoder and which frame path, the fall-back said once with its
reason, the NV12/P010 plane mapping the CUDA-GL copy uses (checked on PyAV's own DLPack export of real
frames, which takes the same code path on the CPU as for CUDA frames), and the renderer's fall-back to host
memory with real GL. The device copy itself needs an NVIDIA GPU: scripts/gpu_check.py checks it there."""

from __future__ import annotations

import ctypes
import importlib.util
import json
import logging
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from player.media import hwframes
from player.media.engine import MediaEngine
from player.media.frames import VideoFrame
from player.media.hwframes import (
    DecodePlan,
    GpuSupport,
    device_frame,
    gpu_support,
    host_frame,
    plan_decode,
    plane_copy,
    plane_copy_of,
)
from player.render.planes import plane_specs
from tests.render_helpers import synthetic_frame
from tests.test_media_engine import film_path
from tests.test_media_errors import Events

REPO = Path(__file__).resolve().parent.parent
HAS_CUDA_PYTHON = all(importlib.util.find_spec(m) is not None for m in ("cuda", "cuda.core", "cuda.bindings"))
LINUX_WHEEL = ["cuda", "qsv", "drm", "amf"]  # PyAV 18.1's manylinux wheel
WINDOWS_WHEEL = ["cuda", "dxva2", "qsv", "d3d11va", "d3d12va", "amf"]
NO_DEVICE = GpuSupport(False, "no CUDA device (cudaErrorNoDevice)")


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a new process would: nothing said yet, no device found missing, no refusal."""
    import player.media.opening as opening

    monkeypatch.setattr(opening, "_cuda_unavailable", None)
    monkeypatch.setattr(opening, "_other_unavailable", {})
    monkeypatch.setattr(hwframes, "_said", set())
    monkeypatch.setattr(hwframes.GPU_PATH, "refused", None)


# -- the decision ----------------------------------------------------------------------------------------
def test_the_host_path_is_the_default_and_only_cuda_keeps_frames_on_the_gpu() -> None:
    ok = GpuSupport(True, "CUDA device 0: test")
    assert plan_decode("none", LINUX_WHEEL, ok) == DecodePlan((), False)
    assert plan_decode("auto", LINUX_WHEEL, ok) == DecodePlan(("cuda",), False)  # copy-back, host upload
    assert plan_decode("auto", WINDOWS_WHEEL, ok) == DecodePlan(("cuda", "d3d11va"), False)
    assert plan_decode("cuda", LINUX_WHEEL, ok) == DecodePlan(("cuda",), True)
    assert plan_decode("cuda", LINUX_WHEEL, ok).path == "gpu"
    # D3D11 frames cannot leave through DLPack (PyAV exports CUDA frames only): GPU decode, copied back
    assert plan_decode("d3d11va", WINDOWS_WHEEL, None) == DecodePlan(("d3d11va",), False)


def test_each_fall_back_names_its_reason() -> None:
    plan = plan_decode("cuda", LINUX_WHEEL, NO_DEVICE)
    assert plan.devices == ("cuda",) and not plan.keep_on_gpu
    assert plan.notes == ("frames copied to host memory: no CUDA device (cudaErrorNoDevice)",)
    plan = plan_decode("d3d11va", LINUX_WHEEL, None)
    assert plan.devices == () and not plan.keep_on_gpu
    (note,) = plan.notes
    assert "offers no d3d11va" in note and "cuda, qsv, drm, amf" in note
    if sys.platform != "win32":
        assert "Windows only" in note
    plan = plan_decode("cuda", ["qsv"], None)
    assert plan.devices == () and "offers no cuda decoding (it offers: qsv)" in plan.notes[0]
    with pytest.raises(ValueError, match="hwdec: expected one of auto, cuda, d3d11va, none, got 'vaapi'"):
        plan_decode("vaapi", LINUX_WHEEL, None)


def test_gpu_support_on_this_machine_says_what_is_missing() -> None:
    support = gpu_support()
    if support.ok:
        pytest.skip(f"this machine has a CUDA device ({support.why}): scripts/gpu_check.py checks it")
    # found out through PyAV's own device creation: cuda-python is not imported where there is no device
    assert support.why == f"no CUDA device ({hwframes.device_problem('cuda')})"
    probe = "import sys; import player.media.hwframes as h; h.gpu_support(); print('cuda' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_hwdec_cuda_without_a_device_plays_from_host_memory_and_says_why_once(
    sample_manifest: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if gpu_support().ok:
        pytest.skip("a CUDA device is present: the GPU path is taken (scripts/gpu_check.py)")
    caplog.set_level(logging.WARNING)
    warned, infos = [], []
    for _ in range(2):
        events = Events()
        engine = MediaEngine(film_path(sample_manifest, "calibration-mono"), hwdec="cuda", audio="none",
                             on_event=events)  # fmt: skip
        infos.append(engine.open())
        engine.close()
        warned.append([w for w in events.of("transport.warning") if w["reason"] == "hwdec_unavailable"])
    first = infos[0]
    assert first.hwdec == "none" and first.frames == "host"
    assert len(warned[0]) == 1 and warned[1] == []  # the software fall-back: by the first film only
    assert "software" in warned[0][0]["message"] and warned[0][0]["requested"] == "cuda"
    said = [r.getMessage() for r in caplog.records if "frames copied to host memory" in r.getMessage()]
    assert first.frames_why and first.frames_why in warned[0][0]["message"]  # in the report's output
    assert said == []  # no device: the software fall-back's one message says it all


def test_hwdec_d3d11va_where_the_build_lacks_it(sample_manifest: Path) -> None:
    if "d3d11va" in av.codec.hwaccel.hwdevices_available():
        pytest.skip("this PyAV build offers d3d11va")
    events = Events()
    engine = MediaEngine(film_path(sample_manifest, "calibration-mono"), hwdec="d3d11va", audio="none",
                         on_event=events)  # fmt: skip
    info = engine.open()
    engine.close()
    assert info.hwdec == "none"
    (warning,) = [w for w in events.of("transport.warning") if w["reason"] == "hwdec_unavailable"]
    assert "offers no d3d11va" in warning["message"]


# -- the plane mapping -----------------------------------------------------------------------------------
def _copy_rows(c, dst: np.ndarray) -> None:
    """A 2-D copy as cudaMemcpy2D does it (rows of row_bytes, pitch apart), here from host memory."""
    for y in range(c.height):
        ctypes.memmove(dst.ctypes.data + y * c.row_bytes, c.ptr + y * c.pitch, c.row_bytes)


@pytest.mark.parametrize("pix_fmt", ["nv12", "p010le"])
def test_dlpack_planes_map_onto_the_textures_the_shader_samples(pix_fmt: str) -> None:
    host, frame = synthetic_frame(pix_fmt, "bt709", "limited", width=96, height=64)
    specs = plane_specs(pix_fmt, frame.width, frame.height)
    views = [np.from_dlpack(plane) for plane in frame.planes]  # PyAV's DLPack export (nv12/p010 branch)
    dev = device_frame(frame, pts=0.5, index=3, views=views)
    assert (dev.pix_fmt, dev.width, dev.height, dev.device) == (pix_fmt, 96, 64, 0)
    assert dev.plane_sizes == host.plane_sizes and dev.line_sizes == host.line_sizes
    facts = ("colorspace", "color_range", "bit_depth")
    assert [getattr(dev, f) for f in facts] == [getattr(host, f) for f in facts]
    assert dev.nbytes == host.nbytes
    for c, spec, plane in zip(dev.planes, specs, host.planes):
        assert (c.width, c.height, c.channels, c.sample_bytes) == (
            spec.width, spec.height, spec.channels, spec.sample_bytes
        )  # fmt: skip
        packed = np.empty(c.height * c.row_bytes, dtype=np.uint8)
        _copy_rows(c, packed)
        row_samples = c.row_bytes // c.sample_bytes
        assert np.array_equal(packed.view(plane.dtype).reshape(c.height, row_samples), plane[:, :row_samples])


@pytest.mark.skipif(not HAS_CUDA_PYTHON, reason="cuda-python/cuda-core (the gpu extra) not installed")
@pytest.mark.parametrize("pix_fmt", ["nv12", "p010le"])
def test_cuda_core_reads_pyav_planes_as_numpy_does(pix_fmt: str) -> None:
    _host, frame = synthetic_frame(pix_fmt, "bt709", "limited", width=64, height=32)
    through_cuda_core = [plane_copy_of(v) for v in hwframes.dlpack_views(frame)]
    through_numpy = [plane_copy_of(np.from_dlpack(p)) for p in frame.planes]
    assert through_cuda_core == through_numpy


def test_planes_that_cannot_be_copied_as_rows_are_refused() -> None:
    assert plane_copy(4096, (8, 16, 2), None, 1).pitch == 32
    with pytest.raises(ValueError, match="rows are not packed"):
        plane_copy(4096, (8, 16), (32, 2), 1)  # every other sample
    with pytest.raises(ValueError, match="overlap"):
        plane_copy(4096, (8, 16), (8, 1), 1)
    with pytest.raises(ValueError, match="expected \\(height, width\\)"):
        plane_copy(4096, (8,), None, 1)
    _host, frame = synthetic_frame("yuv420p", "bt709", "limited", width=32, height=32)
    with pytest.raises(ValueError, match="CUDA frame in 'yuv420p'"):
        device_frame(frame, pts=0.0, index=0, views=[np.from_dlpack(p) for p in frame.planes])


def test_the_interop_copy_checks_planes_against_the_textures() -> None:
    from player.render.cuda_planes import copy_plan

    _host, frame = synthetic_frame("nv12", "bt709", "limited", width=64, height=32)
    dev = device_frame(frame, pts=0.0, index=7, views=[np.from_dlpack(p) for p in frame.planes])
    assert copy_plan(plane_specs("nv12", 64, 32), dev) == list(dev.planes)
    with pytest.raises(ValueError, match="frame 7 plane 0: 64x32 texels of 1x1 bytes, the texture holds"):
        copy_plan(plane_specs("p010le", 64, 32), dev)
    with pytest.raises(ValueError, match="2 planes for 3 textures"):
        copy_plan(plane_specs("yuv420p", 64, 32), dev)


def test_the_host_copy_of_a_frame_is_the_host_paths_frame() -> None:
    host, frame = synthetic_frame("p010le", "bt2020", "limited", width=64, height=32)
    again = host_frame(frame, pts=0.0, index=0)
    dev = device_frame(frame, pts=0.0, index=0, views=[np.from_dlpack(p) for p in frame.planes])
    for got in (again, dev.to_host()):
        assert isinstance(got, VideoFrame)
        assert all(np.array_equal(a, b) for a, b in zip(got.planes, host.planes))


# -- the renderer's fall-back, with real GL (Mesa) -------------------------------------------------------
@pytest.fixture(scope="module")
def gl():
    from player.render.egl import EGLContext

    ctx = EGLContext()
    yield ctx
    ctx.close()


def test_without_interop_the_renderer_takes_the_host_path_and_says_so_once(
    gl, caplog: pytest.LogCaptureFixture
) -> None:
    from player.render.planes import PlaneTextures

    caplog.set_level(logging.WARNING)
    host, frame = synthetic_frame("nv12", "bt709", "limited", width=64, height=32)
    dev = device_frame(frame, pts=0.0, index=0, views=[np.from_dlpack(p) for p in frame.planes])
    planes = PlaneTextures("direct")
    try:
        planes.upload(dev)
        planes.upload(dev)
        why = hwframes.GPU_PATH.refused
        assert why is not None and planes.cuda is None
        if HAS_CUDA_PYTHON:
            assert "the OpenGL context is not on a CUDA device" in why
        else:
            assert "cuda-python is not installed" in why
        said = [r for r in caplog.records if "CUDA-GL interop unavailable" in r.getMessage()]
        assert len(said) == 1 and why in said[0].getMessage()
        assert_textures_hold(planes, host)
    finally:
        planes.release()


def assert_textures_hold(planes, host: VideoFrame) -> None:
    """scripts/gpu_check.py's read-back gives each texture's texels: the host frame's visible samples."""
    from scripts.gpu_check import read_back

    for got, spec, plane in zip(read_back(planes), planes.specs, host.planes):
        want = plane[:, : spec.width * spec.channels]
        assert np.array_equal(got.view(want.dtype).reshape(want.shape), want)


@pytest.mark.parametrize("pix_fmt", ["nv12", "p010le"])
def test_the_device_checks_read_back_compares_what_was_uploaded(gl, pix_fmt: str) -> None:
    from player.render.planes import PlaneTextures
    from scripts.gpu_check import timed_upload

    host, _frame = synthetic_frame(pix_fmt, "bt709", "limited", width=64, height=32)
    planes = PlaneTextures("direct")
    try:
        assert timed_upload(planes, host) >= 0.0
        assert_textures_hold(planes, host)
    finally:
        planes.release()


# -- the scripts -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        ["bench/decode.py", "--hwdec", "cuda", "--seconds", "1"],
        ["bench/render.py", "--hwdec", "cuda"],
        ["scripts/gpu_check.py", "--frames", "2"],
    ],
)
def test_gpu_scripts_say_why_they_skip_here(command: list[str]) -> None:
    if gpu_support().ok:
        pytest.skip("a CUDA device is present: the scripts run for real")
    out = subprocess.run([sys.executable, *command], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert hwframes.skip_line(gpu_support()) in out.stdout.splitlines()


# -- what the user is told -------------------------------------------------------------------------------
def test_play_says_where_the_frames_go_and_the_report_keeps_it(
    sample_manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from player.cli import main

    if gpu_support().ok:
        pytest.skip("a CUDA device is present: the GPU path is taken (scripts/gpu_check.py)")
    report = tmp_path / "report.json"
    code = main(["play", "--manifest", str(sample_manifest), "--film", "calibration-mono", "--audio", "null",
                 "--backend", "headless", "--eye-size", "32x32", "--duration", "0.2", "--hwdec", "cuda",
                 "--report", str(report)])  # fmt: skip
    assert code == 0
    written = json.loads(report.read_text())
    assert written["notes"]["decode"].endswith("hwdec none, yuv420p, frames in host memory")
    video = written["output"]["video"]
    assert video["hwdec"] == "none" and video["frames"] == "host" and "cuda: " in video["why"]
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("viewpoint-player: video:")]
    assert lines == [f"viewpoint-player: video: decoder none, frames in host memory ({video['why']})"]


def test_a_refusal_by_the_renderer_shows_in_the_report() -> None:
    class Info:
        hwdec, frames, frames_why = "cuda", "gpu", ""

    assert hwframes.frames_report(Info()) == {"hwdec": "cuda", "frames": "gpu"}
    assert "GPU (CUDA-GL interop" in hwframes.frames_line(hwframes.frames_report(Info()))
    hwframes.GPU_PATH.refuse("the OpenGL context is not on a CUDA device (cudaErrorNoDevice)")
    assert hwframes.frames_report(Info()) == {
        "hwdec": "cuda", "frames": "host",
        "why": "CUDA-GL interop unavailable: the OpenGL context is not on a CUDA device (cudaErrorNoDevice)",
    }  # fmt: skip


def test_doctor_names_the_decoding_path_and_what_amd_intel_users_get(capsys: pytest.CaptureFixture) -> None:
    from player import doctor

    assert doctor.main(["--no-audio", "--json"]) in (0, 1)
    (check,) = [c for c in json.loads(capsys.readouterr().out)["checks"] if c["area"] == "decoding"]
    assert check["details"]["offered"] == av.codec.hwaccel.hwdevices_available()
    problem = hwframes.device_problem("cuda")
    if problem is not None:
        assert check["summary"].startswith(f"films decode on the CPU (no CUDA device: {problem})")
    assert check["details"]["amd_intel"] == hwframes.amd_intel_line(check["details"]["offered"])
    assert doctor.main(["--no-audio"]) in (0, 1)
    text = capsys.readouterr().out
    assert f"[decoding] {check['summary']}" in text and check["details"]["amd_intel"] in text
    assert "d3d11va (or auto) decodes on the GPU" in hwframes.amd_intel_line(WINDOWS_WHEEL, "win32")
    assert "films decode on the CPU" in hwframes.amd_intel_line(["cuda"], "win32")
    assert "films decode on the CPU" in hwframes.amd_intel_line(LINUX_WHEEL, "linux")


def test_the_device_checks_film_is_hevc_at_the_asked_depth(tmp_path: Path, monkeypatch) -> None:
    from bench.decode import make_clip

    monkeypatch.setenv("VIEWPOINT_BENCH_CACHE", str(tmp_path))
    path = make_clip("hevc", 128, 64, 0.2, 30, "yuv420p10le")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        first = next(container.decode(stream))
        assert (stream.codec_context.name, first.format.name, first.width) == ("hevc", "yuv420p10le", 128)
