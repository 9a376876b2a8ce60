"""Helpers for the session tests: a real headless player process with --listen, paired consoles, a TCP relay.

(No tests here; other test modules import it.)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from facilitator.client import FacilitatorHome, PlayerClient
from player.protocol.keys import load_or_create_identity, load_public_key, write_public_cert
from tests.support import wait_for

__all__ = ["KeepPlaying", "Player", "Relay", "copy_tree", "free_port_triple", "make_home", "wait_for"]

BIN = Path(sys.executable).parent


def free_port_triple() -> int:
    """A port P with P, P+1, P+2 free on loopback."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p > 65000:
            continue
        ok = True
        for q in (p + 1, p + 2):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", q))
                except OSError:
                    ok = False
        if ok:
            return p
    raise RuntimeError("no free port triple")


class Player:
    """A real ``viewpoint-player play --backend headless --listen ...`` process."""

    def __init__(
        self,
        manifest: Path,
        workdir: Path,
        name: str = "p1",
        port: int | None = None,
        film: str = "calibration-mono",
        extra: list[str] | None = None,
    ):
        self.manifest = manifest
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.keys = self.dir / "keys"
        self.log = self.dir / "log.sqlite"
        self.name = name
        self._auto_port = port is None  # a port picked here may be taken meanwhile: start() picks another
        self._homes: list[tuple[FacilitatorHome, str]] = []
        self.port = port or free_port_triple()
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.film = film
        self.extra = extra or []
        self.proc: subprocess.Popen | None = None
        self.lines: list[str] = []
        self._reader: threading.Thread | None = None

    def start(self, timeout: float = 60.0) -> Player:
        """Start the process and wait until its film is loaded (a free port is picked again, up to three
        times, when the one picked before was taken by another process in the meantime)."""
        for attempt in range(3):
            try:
                return self._start(timeout)
            except RuntimeError as exc:
                if not (self._auto_port and "cannot listen" in str(exc)) or attempt == 2:
                    raise
                self.port = free_port_triple()
                self.endpoint = f"tcp://127.0.0.1:{self.port}"
                for home, role in self._homes:
                    home.remember(self.name, self.endpoint, self.public_key(), role)
        self._homes.append((home, role))
        raise AssertionError("unreachable")

    def _start(self, timeout: float) -> Player:
        env = dict(os.environ, PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless", PYTHONUNBUFFERED="1")
        cmd = [
            str(BIN / "viewpoint-player"),
            "play",
            "--manifest",
            str(self.manifest),
            "--film",
            self.film,
            "--backend",
            "headless",
            "--listen",
            self.endpoint,
            "--keys",
            str(self.keys),
            "--log",
            str(self.log),
            "--name",
            self.name,
            "--eye-size",
            "32x32",
            "--display-rate",
            "30",
            *self.extra,
        ]
        self.lines = []
        since = self._last_pos()  # before the start: the film may load before the pairing line is read
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        ready = threading.Event()

        def read() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                if "pairing code" in line:
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not ready.wait(timeout) or self.proc.poll() is not None:
            self.kill()
            raise RuntimeError("player did not start:\n" + "\n".join(self.lines[-30:]))
        # the server comes up before the film loads: wait until the log says the film is there
        if not wait_for(lambda: self._loaded_since(since), timeout):
            self.kill()
            raise RuntimeError("player did not load its film:\n" + "\n".join(self.lines[-30:]))
        return self

    def _last_pos(self) -> int:
        if not self.log.exists():
            return 0
        db = sqlite3.connect(self.log, timeout=5)
        try:
            return db.execute("SELECT coalesce(max(pos), 0) FROM events").fetchone()[0]
        except sqlite3.Error:
            return 0
        finally:
            db.close()

    def _loaded_since(self, pos: int) -> bool:
        db = sqlite3.connect(self.log, timeout=5)
        try:
            row = db.execute(
                "SELECT 1 FROM events WHERE pos > ? AND type IN ('transport.loaded', 'transport.playing')",
                (pos,),
            ).fetchone()
            return row is not None
        except sqlite3.Error:
            return False
        finally:
            db.close()

    @property
    def pairing_code(self) -> str | None:
        codes = [m.group(1) for line in self.lines if (m := re.search(r"pairing code (\S+)", line))]
        return codes[-1] if codes else None

    def public_key(self) -> bytes:
        return load_public_key(self.keys / "player.key")

    def authorize(self, home: FacilitatorHome, role: str = "lead") -> None:
        """Non-interactive pairing: our certificate into KEYS/authorized; remember the player."""
        ident = home.identity()
        write_public_cert(
            self.keys / "authorized" / f"{home.name}.key", ident.public, {"role": role, "name": home.name}
        )
        if not (self.keys / "player.key").exists():
            load_or_create_identity(self.keys, "player", {"name": self.name})
        home.remember(self.name, self.endpoint, self.public_key(), role)
        self._homes.append((home, role))

    def client(self, home: FacilitatorHome, **kw) -> PlayerClient:
        return (
            home.client(self.name, **kw) if self.name in home.players() else home.client(self.endpoint, **kw)
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)

    def stop(self) -> None:
        self.kill(signal.SIGINT)


def make_home(path: Path, name: str) -> FacilitatorHome:
    home = FacilitatorHome(path, name=name)
    home.identity()
    return home


class KeepPlaying:
    """Keeps a short film playing: on ``transport.ended`` it seeks to 0 and plays (a lead console's job)."""

    def __init__(self, client: PlayerClient):
        self.client = client
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.wait(0.3):
            with contextlib.suppress(Exception):
                st = self.client.request("status", timeout=1.0, retries=0)
                state = (st.get("controller") or {}).get("state")
                if state == "ended":
                    self.client.request("seek", {"t": 0.0})
                    self.client.request("play")
                elif state == "paused":
                    self.client.request("play")

    def stop(self) -> None:
        self._stop.set()
        self._t.join(3)


class Relay:
    """A TCP relay for one port that can be cut (all connections dropped, new ones refused) and restored."""

    def __init__(self, target_port: int, listen_port: int):
        self.target = ("127.0.0.1", target_port)
        self.listen_port = listen_port
        self.up = True
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", listen_port))
        self._srv.listen(16)
        self._srv.settimeout(0.1)
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                c, _ = self._srv.accept()
            except (TimeoutError, OSError):
                continue
            if not self.up:
                c.close()
                continue
            try:
                u = socket.create_connection(self.target, timeout=2)
            except OSError:
                c.close()
                continue
            with self._lock:
                self._conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        a.settimeout(None)
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._srv.close()


def copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True)
