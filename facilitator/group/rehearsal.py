"""A rehearsal group on one computer: N headless players on loopback, already paired with this facilitator.

For trying a group session without headsets (``viewpoint-facilitator group --rehearse N``), and for the group
tests and ``bench/group_sync.py``. Each player is a real ``viewpoint-player play --backend headless --wait``
process with its own keys, session log and ports; pairing is done by provisioning (the facilitator's public
key
is placed in each player's ``authorized`` folder, as pairing would), so no codes are needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

REHEARSAL_FILM = "rehearsal"


def write_rehearsal_library(
    directory: Path | str, seconds: int = 30, size: tuple[int, int] = (64, 32)
) -> Path:
    """A tiny film (a moving ramp, a beep each second, 30 fps) and its manifest; returns the manifest path."""
    import av

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    film = d / "rehearsal.mp4"
    fps, rate = 30, 48_000
    width, height = size
    if not film.exists():
        tmp = film.with_suffix(".part.mp4")
        with av.open(str(tmp), "w", format="mp4") as out:
            v = out.add_stream("libx264", rate=fps)
            v.width, v.height, v.pix_fmt = width, height, "yuv420p"
            v.codec_context.gop_size = fps
            v.codec_context.options = {"preset": "veryfast", "threads": "1"}
            a = out.add_stream("aac", rate=rate, layout="mono")
            x = np.arange(width, dtype=np.int32)
            for i in range(seconds * fps):
                y = ((x[None, :] + i * 2) % 256).astype(np.uint8).repeat(height, axis=0)
                rgb = np.stack([y, y, y], axis=-1)
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
                frame.pts, frame.time_base = i, Fraction(1, fps)
                for p in v.encode(frame):
                    out.mux(p)
            for p in v.encode():
                out.mux(p)
            t = np.arange(seconds * rate, dtype=np.float64) / rate
            tone = (0.3 * np.sin(2 * np.pi * 440 * t) * ((t % 1.0) < 0.05)).astype(np.float32)
            for start in range(0, len(tone), 1024):
                block = np.ascontiguousarray(tone[None, start : start + 1024])
                af = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
                af.sample_rate, af.pts, af.time_base = rate, start, Fraction(1, rate)
                for p in a.encode(af):
                    out.mux(p)
            for p in a.encode():
                out.mux(p)
        os.replace(tmp, film)
    sha = hashlib.sha256(film.read_bytes()).hexdigest()
    manifest = d / "manifest.yaml"
    manifest.write_text(
        f"""manifest_version: 1
title: Group rehearsal
films:
  - id: {REHEARSAL_FILM}
    title: "Rehearsal"
    file: {film.name}
    sha256: {sha}
    projection: equirect360
    stereo: mono
    front_heading: 0
    audio: mono
    duration: {seconds}
    chapters:
      - id: opening
        start: 0
        title: Opening
      - id: middle
        start: {seconds / 2:g}
        title: Middle
    content_warnings:
      - start: {seconds * 0.6:g}
        end: {seconds * 0.7:g}
        tags: [raised-voices]
        note: "Rehearsal: a pretend warning to practise the warning step with."
    safe_points: [0, {seconds / 2:g}, {seconds * 0.75:g}]
""",
        encoding="utf-8",
    )
    return manifest


def free_port_block(count: int = 3, start: int = 20000, end: int = 60000) -> int:
    """A base port with ``count`` consecutive free ports on 127.0.0.1 (the player uses port, +1, +2)."""
    rng = np.random.default_rng()
    for _ in range(200):
        base = int(rng.integers(start, end - count))
        socks = []
        try:
            for p in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no block of free ports found on 127.0.0.1")


@dataclass
class LocalPlayer:
    name: str
    port: int
    keys: Path
    log: Path
    process: subprocess.Popen | None
    stderr_path: Path
    public_key: bytes = b""

    @property
    def endpoint(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"


@dataclass
class Rehearsal:
    """Starts and stops N local headless players paired with one facilitator identity (under ``root``)."""

    root: Path
    count: int
    manifest: Path
    film: str = REHEARSAL_FILM
    eye_size: str = "64x64"
    display_rate: float = 10.0
    extra_args: tuple[str, ...] = ()  # more player options for every player (e.g. the clock test facility)
    players: list[LocalPlayer] = field(default_factory=list)

    def start(self, timeout: float = 60.0, absent: tuple[str, ...] = ()) -> Rehearsal:
        """Start every player but those named in ``absent`` (paired all the same: switched off, as in a room
        where one headset is late); :meth:`launch` starts one later."""
        from player.protocol.keys import Authorizations, load_or_create_identity

        self.root.mkdir(parents=True, exist_ok=True)
        self.identity = load_or_create_identity(self.root / "facilitator", "facilitator")
        for i in range(self.count):
            name = f"headset-{i + 1}"
            d = self.root / name
            keys = d / "keys"
            player_id = load_or_create_identity(keys, "player", {"name": name})
            Authorizations(keys).authorize(self.identity.public, "rehearsal", "lead")
            port = free_port_block()
            p = LocalPlayer(name, port, keys, d / "log.sqlite", None, d / "stderr.txt", player_id.public)
            self.players.append(p)
            if name not in absent:
                self._spawn(p)
        for p in self.players:
            if p.process is not None:
                self._wait_listening(p, timeout)
        return self

    def player(self, name: str) -> LocalPlayer:
        for p in self.players:
            if p.name == name:
                return p
        raise KeyError(f"{name}: no such rehearsal player")

    def launch(
        self, name: str, timeout: float = 60.0, extra: tuple[str, ...] = (), env: dict[str, str] | None = None
    ) -> LocalPlayer:
        """Start (or start again, after :meth:`kill`) one player on its own port, keys and log."""
        p = self.player(name)
        if p.process is not None and p.process.poll() is None:
            raise RuntimeError(f"{name} is running already")
        self._spawn(p, extra, env)
        self._wait_listening(p, timeout)
        return p

    def kill(self, name: str) -> None:
        """End one player at once (SIGKILL: a crash or a flat battery, nothing said to anyone)."""
        p = self.player(name)
        if p.process is not None and p.process.poll() is None:
            p.process.kill()
            p.process.wait(10)

    def _spawn(self, p: LocalPlayer, extra: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        cmd = [
            sys.executable, "-m", "player.cli", "play", "--manifest", str(self.manifest),
            "--film", self.film, "--backend", "headless", "--eye-size", self.eye_size,
            "--display-rate", f"{self.display_rate:g}", "--wait", "--listen", f"tcp://127.0.0.1:{p.port}",
            "--keys", str(p.keys), "--log", str(p.log), "--name", p.name, *self.extra_args, *extra,
        ]  # fmt: skip
        if sys.platform != "win32":
            cmd.append("--exit-with-parent")  # a crashed console (or bench) leaves no player running
        flags = subprocess.CREATE_NEW_PROCESS_GROUP if sys.platform == "win32" else 0
        env = {**os.environ, "PYOPENGL_PLATFORM": os.environ.get("PYOPENGL_PLATFORM", "egl"), **(env or {})}
        with p.stderr_path.open("ab") as ef:
            p.process = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=ef, creationflags=flags, env=env
            )

    @staticmethod
    def _wait_listening(p: LocalPlayer, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not _listening(p.port):
            if p.process.poll() is not None:
                raise RuntimeError(f"{p.name} exited ({p.process.returncode}): {_tail(p.stderr_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{p.name} did not listen on {p.endpoint} in {timeout:g} s")
            time.sleep(0.05)

    def clients(self, **kwargs) -> dict[str, object]:
        from facilitator.client import PlayerClient

        return {
            p.name: PlayerClient(p.endpoint, p.public_key, self.identity, name="rehearsal", **kwargs)
            for p in self.players
        }

    def stop(self, timeout: float = 10.0) -> None:
        for p in self.players:
            if p.process is not None and p.process.poll() is None:
                with contextlib.suppress(OSError):
                    if sys.platform == "win32":
                        p.process.send_signal(signal.CTRL_BREAK_EVENT)
                    else:
                        p.process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout
        for p in self.players:
            if p.process is None:
                continue
            try:
                p.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.process.kill()
                p.process.wait(5)

    def __enter__(self) -> Rehearsal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, chars: int = 1500) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return "(no output)"
