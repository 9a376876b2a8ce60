"""A player on this machine, started for the console: `console --with-player`, the demo, tests and benches.

The player runs as its own process (`viewpoint-player play ...`), listening on loopback. The console's
certificate is dropped into the player's `keys/authorized/` folder first (non-interactive pairing), and the
player's public certificate is read back once it has started.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facilitator.client import FacilitatorHome, PlayerClient
from facilitator.console.link import ClientLink
from player.protocol.keys import Authorizations, load_public_key
from player.protocol.private import open_private


class LocalPlayerError(Exception):
    """The local player did not start (the message says why, with the end of its output)."""


def free_port_block(n: int = 3) -> int:
    """A loopback TCP port p such that p .. p+n-1 look free (the player binds port, port+1, port+2)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n >= 65534:
            continue
        ok = True
        for k in range(1, n):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", base + k))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise LocalPlayerError("no free block of loopback ports")


@dataclass
class LocalPlayer:
    """A running player process and how to reach it."""

    process: subprocess.Popen
    endpoint: str
    keys_dir: Path
    log_path: Path
    output_path: Path
    home: FacilitatorHome
    clients: list[PlayerClient] = field(default_factory=list)

    def link(self, name: str = "this computer", store: Any | None = None) -> ClientLink:
        """A console link to this player (a main connection and an urgent one for welfare)."""
        server_key = load_public_key(self.keys_dir / "player.key")
        ident = self.home.identity()
        main = PlayerClient(self.endpoint, server_key, ident, name=self.home.name)
        urgent = PlayerClient(self.endpoint, server_key, ident, name=self.home.name)
        self.clients += [main, urgent]
        return ClientLink(main, urgent, name=name, store=store)

    def client(self, **kwargs: Any) -> PlayerClient:
        server_key = load_public_key(self.keys_dir / "player.key")
        c = PlayerClient(self.endpoint, server_key, self.home.identity(), name=self.home.name, **kwargs)
        self.clients.append(c)
        return c

    def output(self) -> str:
        with contextlib.suppress(OSError):
            return self.output_path.read_text(encoding="utf-8", errors="replace")
        return ""

    def stop(self, timeout: float = 10.0) -> int | None:
        """Ask the player to quit (it ends its session in the log), then make sure it has."""
        for c in self.clients:
            with contextlib.suppress(Exception):
                c.close(bye=True)
        self.clients.clear()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def __enter__(self) -> LocalPlayer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def player_command(
    library: Path,
    film: str,
    endpoint: str,
    keys_dir: Path,
    log_path: Path,
    backend: str = "headless",
    extra: list[str] = (),
) -> list[str]:
    return [
        sys.executable, "-m", "player.cli", "play",
        "--backend", backend,
        "--manifest", str(library),
        "--film", film,
        "--listen", endpoint,
        "--keys", str(keys_dir),
        "--log", str(log_path),
        "--wait",
        *extra,
    ]  # fmt: skip


def start_local_player(
    library: Path | str,
    workdir: Path | str,
    *,
    backend: str = "headless",
    film: str | None = None,
    home: FacilitatorHome | None = None,
    port: int | None = None,
    extra_args: list[str] = (),
    timeout: float = 60.0,
) -> LocalPlayer:
    """Start `viewpoint-player play` on loopback, paired with `home`'s certificate; waits until it answers."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    home = home or FacilitatorHome(workdir / "facilitator", name="facilitator")
    keys_dir = workdir / "player-keys"
    log_path = workdir / "player-log.sqlite"
    Authorizations(keys_dir).authorize(home.identity().public, home.name, "lead")
    port = port or free_port_block(3)
    endpoint = f"tcp://127.0.0.1:{port}"
    out_path = workdir / "player-output.txt"
    if film is None:
        from content_manifest import load_library

        film = next(iter(load_library(library).films))
    cmd = player_command(Path(library), film, endpoint, keys_dir, log_path, backend, list(extra_args))
    env = dict(os.environ)
    if backend == "headless":
        env.setdefault("PYOPENGL_PLATFORM", "egl")
        env.setdefault("EGL_PLATFORM", "surfaceless")
    with open_private(out_path, "wb") as out:  # it holds the pairing code: owner only
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    player = LocalPlayer(proc, endpoint, keys_dir, log_path, out_path, home)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LocalPlayerError(
                f"the player exited with status {proc.returncode}: {' '.join(cmd)}\n{player.output()[-2000:]}"
            )
        if (keys_dir / "player.key").is_file():
            probe = player.client(timeout=0.5, retries=0)
            try:
                probe.request("status", {})
                return player
            except Exception:
                time.sleep(0.2)
            finally:
                probe.close(bye=False)
                player.clients.remove(probe)
        else:
            time.sleep(0.1)
    player.stop()
    raise LocalPlayerError(f"the player did not answer within {timeout:g} s\n{player.output()[-2000:]}")
