"""Every command the README shows runs as written: those that can run here run (in order, in one folder, the
Windows lines with .venv\\Scripts\\ read as .venv/bin/); servers and commands that need a paired player or a
facilitator have their arguments parsed by the real parsers; `make` targets must exist."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SETUP = ("py", "python", "python3")  # making the venv and installing: what this test runs under already
LONG_RUNNING = ("--listen", " console")  # a facilitated player and the console serve until stopped


def readme_commands() -> list[str]:
    """The README's command lines from its sh and powershell blocks, comments dropped."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```(?:sh|powershell)\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                lines.append(line)
    return lines


def local(line: str) -> list[str]:
    """A README line as this machine runs it: Windows paths with forward slashes, the venv's bin folder."""
    line = line.replace(".venv\\Scripts\\", "").replace("\\", "/")
    return shlex.split(line)


def test_the_readme_shows_the_commands_this_test_reads():
    commands = readme_commands()
    assert any("viewpoint-player doctor --library" in c for c in commands)
    assert not any("doctor --manifest" in c for c in commands)  # the doctor's option is --library


def test_every_readme_command_runs_as_written(tmp_path):
    from facilitator.cli import build_parser as facilitator_parser
    from player.cli import build_parser as player_parser
    from player.doctor import build_parser as doctor_parser

    make_targets = set(re.findall(r"^([a-z][\w-]*):", (REPO / "Makefile").read_text(), flags=re.M))
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(XR_RUNTIME_JSON=str(tmp_path / "no-runtime.json"), PYOPENGL_PLATFORM="egl",
               EGL_PLATFORM="surfaceless", VIEWPOINT_PLAYER_HOME=str(tmp_path / "home"))  # fmt: skip
    ran = []
    for line in readme_commands():
        argv = local(line)
        if argv[0] == "make":
            assert set(argv[1:]) <= make_targets, line
            continue
        if argv[0] in SETUP or argv[0] == "pip" or argv[:2] == ["pip", "install"]:
            continue
        if any(flag in f" {line}" for flag in LONG_RUNNING) or argv[:2] == ["viewpoint-facilitator", "pair"]:
            parser = player_parser() if argv[0] == "viewpoint-player" else facilitator_parser()
            parser.parse_args(argv[1:])  # SystemExit(2) on an option that does not exist
            continue
        assert argv[0].startswith("viewpoint-"), line
        if argv[:2] == ["viewpoint-player", "doctor"]:
            doctor_parser().parse_args(argv[2:])
        proc = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=180)  # fmt: skip
        output = proc.stdout + proc.stderr
        assert "Traceback" not in output and "usage:" not in output, f"{line}\n{output[-2000:]}"
        ran.append((line, proc.returncode, output))
    results = {line: (rc, out) for line, rc, out in ran}
    sample = next(line for line in results if "viewpoint-manifest sample" in line)
    assert results[sample][0] == 0
    check = next(line for line in results if "viewpoint-manifest check" in line)
    assert results[check][0] == 0, results[check][1]
    doctor = next(line for line in results if "viewpoint-player doctor --library samples" in line)
    rc, out = results[doctor]  # no headset here: it says so, and the sample films check out
    assert rc == 1 and "XX [runtime]" in out and "ok [films] calibration-mono" in out, out
    for line, (rc, out) in results.items():
        if line.startswith(".venv\\Scripts\\viewpoint-player play") and "--backend" not in line:
            assert rc == 1 and "fix: Install your headset's software" in out, out  # never silently headless
        elif "--backend desktop" in line:
            assert rc == 1 and "display" in out.lower(), out  # no display on this machine
    assert len(ran) >= 5


@pytest.mark.parametrize("line", [c for c in readme_commands() if c.startswith("viewpoint-player play")])
def test_readme_play_lines_parse(line):
    from player.cli import build_parser

    build_parser().parse_args(local(line)[1:])
