"""Announce a player on the local network with mDNS/DNS-SD (``_viewpoint._tcp.local.``), via ``zeroconf``.

What is announced is only what a console needs to find and pair with the player: its name, the command port,
the protocol version and the public-key fingerprint it will present (so the facilitator can check it against
the
pairing). Nothing about sessions, films or participants goes on the air.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Mapping, Sequence

from player.protocol.endpoints import SERVICE_TYPE

_LABEL_BAD = re.compile(r"[^A-Za-z0-9 _-]")

log = logging.getLogger(__name__)


def service_name(player_name: str) -> str:
    """The DNS-SD instance name for a player (``<name>._viewpoint._tcp.local.``), sanitised to 63 bytes."""
    label = _LABEL_BAD.sub("-", player_name).strip() or "viewpoint-player"
    return f"{label[:63]}.{SERVICE_TYPE}"


def _addresses(host: str | None) -> list[bytes]:
    """Packed IPv4 addresses to announce: the bound host if concrete, else the non-loopback ones."""
    if host and host not in ("0.0.0.0", "*", ""):
        try:
            return [socket.inet_aton(socket.gethostbyname(host))]
        except OSError:
            pass
    found: list[bytes] = []
    try:
        import ifaddr  # a dependency of zeroconf

        for adapter in ifaddr.get_adapters():
            for ip in adapter.ips:
                if isinstance(ip.ip, str) and not ip.ip.startswith(("127.", "169.254.")):
                    packed = socket.inet_aton(ip.ip)
                    if packed not in found:
                        found.append(packed)
    except (ImportError, OSError):
        pass
    return found or [socket.inet_aton("127.0.0.1")]


class Advertiser:
    """Registers the player's service while running; ``close()`` withdraws it (goodbye packets)."""

    def __init__(
        self,
        player_name: str,
        port: int,
        host: str | None = None,
        properties: Mapping[str, str] | None = None,
        interfaces: Sequence[str] | None = None,
    ) -> None:
        if not 0 < port < 65536:
            raise ValueError(f"Advertiser: port {port} is not a TCP port")
        self.player_name = player_name
        self.port = port
        self.host = host
        self.properties = {"name": player_name, "proto": "1", **(properties or {})}
        self.interfaces = list(interfaces) if interfaces else None
        self._zc = None
        self._info = None

    def start(self) -> Advertiser:
        from zeroconf import InterfaceChoice, IPVersion, ServiceInfo, Zeroconf

        info = ServiceInfo(
            SERVICE_TYPE,
            service_name(self.player_name),
            port=self.port,
            properties={k: str(v) for k, v in self.properties.items()},
            addresses=_addresses(self.host),
            server=f"{re.sub(r'[^A-Za-z0-9-]', '-', self.player_name)[:63] or 'viewpoint'}.local.",
        )
        zc = Zeroconf(interfaces=self.interfaces or InterfaceChoice.All, ip_version=IPVersion.V4Only)
        try:
            zc.register_service(info, allow_name_change=True)
        except Exception:
            zc.close()
            raise
        self._zc, self._info = zc, info
        log.info("advertising %s on port %d", info.name, self.port)
        return self

    @property
    def name(self) -> str | None:
        return self._info.name if self._info is not None else None

    def close(self) -> None:
        zc, info = self._zc, self._info
        self._zc = self._info = None
        if zc is None:
            return
        try:
            if info is not None:
                zc.unregister_service(info)
        finally:
            zc.close()

    def __enter__(self) -> Advertiser:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def advertise_server(server: object, player_name: str) -> Advertiser | None:
    """Announce a started SessionServer's command endpoint (tcp only), with its key fingerprint; None if it
    listens on something that cannot be announced (ipc, or mDNS unavailable: logged)."""
    endpoint = str(getattr(server, "endpoint", ""))
    if not endpoint.startswith("tcp://"):
        return None
    host, _, port = endpoint[len("tcp://") :].rpartition(":")
    props = {}
    public = getattr(server, "public_key", None)
    if public:
        from player.protocol.keys import fingerprint

        props["fp"] = fingerprint(public)
    try:
        return Advertiser(player_name, int(port), host=host.strip("[]"), properties=props).start()
    except (OSError, ValueError) as e:
        log.warning("cannot announce %s on the network: %s", endpoint, e)
        return None
