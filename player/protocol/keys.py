"""CURVE keys, certificates in ZeroMQ's own format, authorisations and pairing codes (both sides).

Layout of a player's keys directory::

    KEYS/player.key            public certificate (zmq.auth format; give it to facilitators)
    KEYS/player.key_secret     secret certificate, 0600 (user-only ACL on Windows)
    KEYS/authorized/NAME.key   facilitators allowed in; metadata ``role = "lead"`` or ``"observer"``

Dropping a facilitator's public ``.key`` file into ``authorized/`` is the non-interactive way to pair;
``pair`` over the network (see :func:`pairing_keypair`) is the interactive one.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import logging
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
from zmq.utils import z85

from .codec import ROLE_LEAD, ROLES
from .private import write_private_text

log = logging.getLogger("viewpoint.keys")

PAIRING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
PAIRING_CODE_CHARS = 8  # 40 bits
_PAIRING_SALT = b"viewpoint-pairing-v1"
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
DOMAIN_SESSION = "viewpoint"
DOMAIN_PAIRING = "viewpoint-pairing"


class KeyFileError(Exception):
    """A key or certificate file is missing or unreadable (the message says which and why)."""


def _cert_text(public: bytes, secret: bytes | None, metadata: dict[str, str] | None) -> str:
    kind = "**Secret**" if secret is not None else "Public"
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [
        f"#   ****  Generated on {now} by Viewpoint  ****",
        f"#   ZeroMQ CURVE {kind} Certificate",
        "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions."
        if secret is not None
        else "#   Exchange securely, or use a secure mechanism to verify the contents",
        "",
        "metadata",
    ]
    for k, v in (metadata or {}).items():
        if not re.match(r"^[A-Za-z0-9_-]+$", k) or '"' in v or "\n" in v:
            raise ValueError(f"certificate metadata {k!r}: unsafe key or value")
        lines.append(f'    {k} = "{v}"')
    lines += ["curve", f'    public-key = "{public.decode("ascii")}"']
    if secret is not None:
        lines.append(f'    secret-key = "{secret.decode("ascii")}"')
    return "\n".join(lines) + "\n"


def write_public_cert(path: Path, public: bytes, metadata: dict[str, str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(_cert_text(public, None, metadata), encoding="utf-8")
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class Identity:
    """A CURVE keypair (z85 bytes) loaded from, or written to, ``DIR/NAME.key`` + ``NAME.key_secret``."""

    public: bytes
    secret: bytes
    public_file: Path

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public)


def fingerprint(public: bytes) -> str:
    """A short, human-comparable digest of a public key (e.g. ``3F9A-C21B``)."""
    h = hashlib.sha256(public).hexdigest().upper()
    return f"{h[:4]}-{h[4:8]}"


def load_or_create_identity(keys_dir: Path, name: str, metadata: dict[str, str] | None = None) -> Identity:
    """The keypair ``keys_dir/name.key(_secret)``, created (secret 0600) on first use."""
    keys_dir = Path(keys_dir)
    pub_file = keys_dir / f"{name}.key"
    sec_file = keys_dir / f"{name}.key_secret"
    if sec_file.exists():
        try:
            public, secret = zmq.auth.load_certificate(sec_file)
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"{sec_file}: cannot read the secret certificate ({exc})") from None
        if not secret:
            raise KeyFileError(f"{sec_file}: no secret-key in the certificate")
        if not pub_file.exists():
            write_public_cert(pub_file, public, metadata)
        return Identity(public, secret, pub_file)
    keys_dir.mkdir(parents=True, exist_ok=True)
    if sys.platform != "win32":
        with contextlib.suppress(OSError):
            os.chmod(keys_dir, 0o700)
    public, secret = zmq.curve_keypair()
    write_private_text(sec_file, _cert_text(public, secret, metadata))
    write_public_cert(pub_file, public, metadata)
    return Identity(public, secret, pub_file)


def read_cert_metadata(path: Path) -> dict[str, str]:
    """The ``metadata`` section of a zmq.auth certificate file."""
    meta: dict[str, str] = {}
    section = None
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith((" ", "\t")):
            section = line.strip()
            continue
        if section == "metadata":
            m = re.match(r'^\s+([A-Za-z0-9_-]+)\s*=\s*"?([^"]*)"?\s*$', line)
            if m:
                meta[m.group(1)] = m.group(2)
    return meta


def load_public_key(path: Path) -> bytes:
    try:
        public, _ = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{path}: cannot read the certificate ({exc})") from None
    return public


# ------------------------------------------------------------------------------------------- authorisation


class Authorizations:
    """The facilitators allowed in: ``keys_dir/authorized/*.key``, re-read when the folder changes."""

    def __init__(self, keys_dir: Path):
        self.dir = Path(keys_dir) / "authorized"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._roles: dict[bytes, tuple[str, str]] = {}
        self._removed: dict[bytes, tuple[str, str]] = {}
        self._stamp: tuple | None = None
        self.refresh()

    def _dir_stamp(self) -> tuple:
        try:
            return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in self.dir.glob("*.key")))
        except OSError:
            return ()

    def refresh(self) -> None:
        stamp = self._dir_stamp()
        if stamp == self._stamp:
            return
        roles: dict[bytes, tuple[str, str]] = {}
        for p in sorted(self.dir.glob("*.key")):
            try:
                public = load_public_key(p)
                written = read_cert_metadata(p).get("role")
            except (KeyFileError, OSError) as exc:  # said once each time the folder changes
                log.warning("%s: not a facilitator certificate, not authorised (%s)", p, exc)
                continue
            role = ROLE_LEAD if written is None else written.strip().lower()  # no role: lead, as documented
            if role not in ROLES:  # a typo must not grant more than was meant: the key is not let in
                log.warning(
                    "%s: unknown role %r (expected %s): not authorised", p, written, " or ".join(ROLES)
                )
                continue
            roles[public] = (role, p.stem)
        self._removed.update((k, v) for k, v in self._roles.items() if k not in roles)
        self._roles = roles
        self._stamp = stamp

    def take_removed(self) -> dict[bytes, tuple[str, str]]:
        """The keys (with role and name) whose certificates went away since the last call."""
        removed, self._removed = self._removed, {}
        return removed

    def __len__(self) -> int:
        """How many facilitators are authorised (as last read)."""
        return len(self._roles)

    def lookup(self, public_z85: bytes) -> tuple[str, str] | None:
        """(role, name) of an authorised key, else None."""
        return self._roles.get(public_z85)

    def authorize(self, public_z85: bytes, name: str, role: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "facilitator"
        path = self.dir / f"{safe}-{fingerprint(public_z85).replace('-', '').lower()}.key"
        write_public_cert(path, public_z85, {"role": role, "name": safe})
        self._stamp = None
        self.refresh()
        return path


# ------------------------------------------------------------------------------------------- pairing


def new_pairing_code() -> str:
    """A fresh random pairing code, shown as ``XXXX-XXXX`` (40 bits, Crockford base32)."""
    raw = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_CODE_CHARS))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_pairing_code(code: str) -> str:
    """Canonical form of a code as typed: case, spaces, dashes and look-alikes (O/0, I/L/1) forgiven."""
    s = re.sub(r"[\s-]+", "", str(code)).upper().replace("O", "0").replace("I", "1").replace("L", "1")
    if len(s) != PAIRING_CODE_CHARS or any(c not in PAIRING_ALPHABET for c in s):
        raise ValueError(f"pairing code {code!r}: expected {PAIRING_CODE_CHARS} characters like 7KQ4-MZ2X")
    return f"{s[:4]}-{s[4:]}"


def pairing_keypair(code: str) -> tuple[bytes, bytes]:
    """The pairing socket's CURVE keypair (public, secret; z85), derived from the code with scrypt.

    Knowing the code is what lets a facilitator complete the CURVE handshake with the pairing socket, and
    what proves to the facilitator that it reached the player showing the code. scrypt makes each guess
    of a captured handshake expensive (40 bits of code x ~50 ms per guess).
    """
    norm = normalize_pairing_code(code).replace("-", "")
    seed = hashlib.scrypt(norm.encode("ascii"), salt=_PAIRING_SALT, n=1 << 14, r=8, p=1, dklen=32)
    secret = z85.encode(seed)
    return zmq.curve_public(secret), secret


def b64_key(public_z85: bytes) -> str:
    return base64.b64encode(z85.decode(public_z85)).decode("ascii")
