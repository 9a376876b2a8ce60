"""Finding players: DNS-SD browsing for ``_viewpoint._tcp.local.`` plus addresses typed in by hand.

Discovery only says where a player might be. Whether the console may drive it is decided by pairing (CURVE
keys,
see docs/protocol.md): a discovered player that is not paired is listed, never commanded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from player.protocol.endpoints import SERVICE_TYPE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlayerAddress:
    """Where a player listens. ``source`` is ``"mdns"`` or ``"manual"``."""

    name: str
    host: str
    port: int
    source: str = "manual"
    properties: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def endpoint(self) -> str:
        return f"tcp://{self.host}:{self.port}"


def parse_address(text: str, default_port: int = 5555) -> PlayerAddress:
    """``host``, ``host:port``, ``tcp://host:port`` or ``name=host:port`` (IPv6 in brackets)."""
    raw = text.strip()
    name = None
    if "=" in raw:
        name, raw = (p.strip() for p in raw.split("=", 1))
    if raw.startswith("tcp://"):
        raw = raw[len("tcp://") :]
    if not raw:
        raise ValueError(f"player address {text!r}: empty")
    port = default_port
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep:
            raise ValueError(f"player address {text!r}: unclosed '[' in IPv6 address")
        if rest.startswith(":"):
            port = _port(rest[1:], text)
        elif rest:
            raise ValueError(f"player address {text!r}: unexpected {rest!r} after the address")
    elif raw.count(":") == 1:
        host, p = raw.split(":")
        port = _port(p, text)
    else:
        host = raw
    if not host:
        raise ValueError(f"player address {text!r}: no host")
    return PlayerAddress(name or f"{host}:{port}", host, port, "manual")


def _port(p: str, text: str) -> int:
    if not p.isdigit() or not 0 < int(p) < 65536:
        raise ValueError(f"player address {text!r}: port {p!r} is not a number in 1..65535")
    return int(p)


class Discovery:
    """Keeps the set of known players: manual ones always, mDNS ones while announced.

    ``on_change(players)`` is called (from zeroconf's thread) whenever the set changes.
    """

    def __init__(
        self,
        manual: Sequence[str | PlayerAddress] = (),
        mdns: bool = True,
        on_change: Callable[[list[PlayerAddress]], None] | None = None,
        interfaces: Sequence[str] | None = None,
    ) -> None:
        self._manual = [a if isinstance(a, PlayerAddress) else parse_address(a) for a in manual]
        self._found: dict[str, PlayerAddress] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._on_change = on_change
        self.mdns = mdns
        self.mdns_error: str | None = None
        self.interfaces = list(interfaces) if interfaces else None
        self._zc = None
        self._browser = None

    def start(self) -> Discovery:
        if not self.mdns:
            return self
        try:
            from zeroconf import InterfaceChoice, IPVersion, ServiceBrowser, Zeroconf

            self._zc = Zeroconf(
                interfaces=self.interfaces or InterfaceChoice.All, ip_version=IPVersion.V4Only
            )
            self._browser = ServiceBrowser(self._zc, SERVICE_TYPE, handlers=[self._on_service])
        except OSError as e:  # no multicast on this machine: manual addresses still work
            self.mdns_error = f"mDNS unavailable: {e}"
            log.warning("%s; using manual addresses only", self.mdns_error)
            self.close()
        return self

    def add_manual(self, address: str | PlayerAddress) -> PlayerAddress:
        a = address if isinstance(address, PlayerAddress) else parse_address(address)
        with self._lock:
            if a not in self._manual:
                self._manual.append(a)
            self._changed.notify_all()
        self._notify()
        return a

    def players(self) -> list[PlayerAddress]:
        """Manual addresses first, then announced players not already listed by endpoint, by name."""
        with self._lock:
            out = list(self._manual)
            seen = {(a.host, a.port) for a in out}
            for a in sorted(self._found.values(), key=lambda a: a.name):
                if (a.host, a.port) not in seen:
                    out.append(a)
                    seen.add((a.host, a.port))
            return out

    def wait_for(self, count: int, timeout: float) -> list[PlayerAddress]:
        """Block until at least ``count`` players are known or ``timeout`` passes; returns what is known."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                n = len({(a.host, a.port) for a in [*self._manual, *self._found.values()]})
                left = deadline - time.monotonic()
                if n >= count or left <= 0:
                    break
                self._changed.wait(left)
        return self.players()

    def close(self) -> None:
        browser, zc = self._browser, self._zc
        self._browser = self._zc = None
        if browser is not None:
            browser.cancel()
        if zc is not None:
            zc.close()

    def __enter__(self) -> Discovery:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # zeroconf calls this from its own thread
    def _on_service(self, zeroconf, service_type: str, name: str, state_change) -> None:
        from zeroconf import ServiceStateChange

        if state_change is ServiceStateChange.Removed:
            with self._lock:
                gone = self._found.pop(name, None)
                self._changed.notify_all()
            if gone is not None:
                self._notify()
            return
        info = zeroconf.get_service_info(service_type, name, timeout=3000)
        if info is None or not info.parsed_addresses():
            return
        props = {
            (k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k)): (
                v.decode("utf-8", "replace") if isinstance(v, bytes) else ""
            )
            for k, v in (info.properties or {}).items()
        }
        display = props.get("name") or name[: -len(SERVICE_TYPE) - 1]
        addr = PlayerAddress(display, info.parsed_addresses()[0], int(info.port or 0), "mdns", props)
        with self._lock:
            self._found[name] = addr
            self._changed.notify_all()
        self._notify()

    def _notify(self) -> None:
        if self._on_change is not None:
            try:
                self._on_change(self.players())
            except Exception:
                log.exception("discovery on_change handler failed")
