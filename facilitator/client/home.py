"""The facilitator's home folder: its CURVE identity and the players it has paired with."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from player import protocol as P
from player.protocol.keys import (
    Identity,
    KeyFileError,
    fingerprint,
    load_or_create_identity,
    load_public_key,
    write_public_cert,
)
from player.protocol.private import private_folder, write_private_text

from .errors import ClientError
from .player_client import PlayerClient


def default_home() -> Path:
    """``$VIEWPOINT_FACILITATOR_HOME``, else ``%APPDATA%/Viewpoint/facilitator`` (Windows) or
    ``~/.viewpoint/facilitator``."""
    env = os.environ.get("VIEWPOINT_FACILITATOR_HOME")
    if env:
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
        return base / "Viewpoint" / "facilitator"
    return Path.home() / ".viewpoint" / "facilitator"


class FacilitatorHome:
    """The facilitator's own folder: ``keys/`` (its certificate), ``players/`` (paired players), the store."""

    def __init__(self, path: Path | str | None = None, name: str | None = None):
        self.path = Path(path) if path is not None else default_home()
        self.name = name or os.environ.get("VIEWPOINT_FACILITATOR_NAME") or "facilitator"
        self.keys_dir = self.path / "keys"
        self.players_dir = self.path / "players"
        self.store_path = self.path / "store.sqlite"

    def identity(self) -> Identity:
        """This facilitator's CURVE keypair (created on first use, secret 0600)."""
        private_folder(self.path)
        return load_or_create_identity(self.keys_dir, "facilitator", {"name": self.name})

    def players(self) -> dict[str, dict[str, Any]]:
        """Paired players by name: endpoint, events endpoint, public key file, role (damaged records are left
        out: see `damaged`)."""
        return {p.stem: rec for p, rec in self._records().items() if isinstance(rec, dict)}

    def damaged(self) -> dict[Path, str]:
        """Player records that cannot be read, with why."""
        return {p: rec for p, rec in self._records().items() if isinstance(rec, str)}

    def _records(self) -> dict[Path, dict[str, Any] | str]:
        out: dict[Path, dict[str, Any] | str] = {}
        if self.players_dir.is_dir():
            for p in sorted(self.players_dir.glob("*.json")):
                try:
                    rec = json.loads(p.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    out[p] = f"cannot read it: {exc.__class__.__name__}"
                    continue
                ok = isinstance(rec, dict) and all(isinstance(rec.get(k), str) for k in ("endpoint", "cert"))
                out[p] = rec if ok else "not a player record (endpoint and cert missing)"
        return out

    def remember(
        self,
        player: str,
        endpoint: str,
        public_key: bytes,
        role: str,
        events: str | None = None,
        replace: bool = False,
    ) -> Path:
        """Record a paired player (its certificate in zmq.auth format plus a small JSON record), under its
        name. A different player (another key) already known by that name is kept unless ``replace``: this
        one is recorded as ``NAME-2`` (``-3``...), so one headset never silently takes another's place."""
        private_folder(self.path)
        private_folder(self.players_dir)
        base = "".join(c if c.isalnum() or c in "-_" else "-" for c in player)[:60] or "player"
        safe, n = base, 2
        while not replace and self._held_by_another(safe, public_key):
            safe, n = f"{base}-{n}", n + 1
        cert = write_public_cert(self.players_dir / f"{safe}.key", public_key, {"name": safe})
        rec = {
            "player": player,
            "endpoint": endpoint,
            "events": events,
            "cert": cert.name,
            "role": role,
            "fingerprint": fingerprint(public_key),
            "paired_utc": P.utc_now(),
        }
        path = self.players_dir / f"{safe}.json"
        write_private_text(path, json.dumps(rec, indent=2))
        return path

    def _held_by_another(self, name: str, public_key: bytes) -> bool:
        """Whether ``name`` is the record of a player with another key."""
        cert = self.players_dir / f"{name}.key"
        if not cert.is_file():
            return False
        try:
            return load_public_key(cert) != public_key
        except KeyFileError:
            return False  # an unreadable leftover: replaced

    def find(self, target: str) -> dict[str, Any]:
        """A paired player by name or endpoint; raises ClientError naming what is known."""
        players = self.players()
        if target in players:
            return players[target]
        for rec in players.values():
            if rec.get("endpoint") == target:
                return rec
        known = ", ".join(f"{k} ({v.get('endpoint')})" for k, v in players.items()) or "none"
        damaged = "".join(f"; {p} is damaged ({why})" for p, why in self.damaged().items())
        raise ClientError(
            f"{target}: not a paired player (paired: {known}{damaged}); run 'viewpoint-facilitator pair'"
        )

    def client(self, target: str, **kwargs: Any) -> PlayerClient:
        """A client for a paired player (by name or endpoint)."""
        rec = self.find(target)
        try:
            server_key = load_public_key(self.players_dir / rec["cert"])
        except KeyFileError as exc:
            raise ClientError(f"{exc}; pair with the player again") from None
        return PlayerClient(
            rec["endpoint"],
            server_key,
            self.identity(),
            name=self.name,
            events_endpoint=rec.get("events"),
            **kwargs,
        )
