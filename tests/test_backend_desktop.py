"""The desktop backend opens a real window under Xvfb; an X screenshot shows the film."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")


def _free_display() -> int:
    for n in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number")


@pytest.fixture
def xvfb():
    n = _free_display()
    proc = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", "800x600x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{n}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"Xvfb :{n} did not start")
        time.sleep(0.05)
    yield f":{n}"
    proc.terminate()
    proc.wait(timeout=10)


def screenshot(display: str, path: Path) -> np.ndarray:
    env = dict(os.environ, DISPLAY=display)
    if shutil.which("xwd"):
        xwd = subprocess.run(["xwd", "-root", "-silent"], env=env, capture_output=True, check=True).stdout
        png = subprocess.run(["convert", "xwd:-", "png:-"], input=xwd, capture_output=True, check=True).stdout
        path.write_bytes(png)
    else:
        subprocess.run(["import", "-window", "root", str(path)], env=env, check=True, capture_output=True)
    return np.asarray(Image.open(path).convert("RGB"))


def test_desktop_window_shows_the_film(xvfb, sample_manifest, tmp_path):
    env = dict(os.environ, DISPLAY=xvfb)
    report = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "player.cli", "play", "--manifest", str(sample_manifest),
           "--film", "calibration-tb", "--backend", "desktop", "--eye-size", "200x200", "--fov", "60",
           "--audio", "null", "--duration", "4", "--report", str(report)]  # fmt: skip
    player = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        image = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and player.poll() is None:
            time.sleep(0.5)
            shot = screenshot(xvfb, tmp_path / "screen.png")
            left, right = shot[100, 100].astype(int), shot[100, 300].astype(int)
            if np.abs(left - (255, 0, 0)).max() < 40 and np.abs(right - (0, 255, 255)).max() < 40:
                image = shot
                break
        _, err = player.communicate(timeout=30)
    finally:
        if player.poll() is None:
            player.kill()
    assert image is not None, f"no screenshot showed the film (player said: {err.decode()[-2000:]})"
    assert player.returncode == 0, err.decode()[-2000:]
