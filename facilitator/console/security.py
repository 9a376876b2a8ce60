"""Who may use the console: a per-run token, and checks against DNS rebinding and cross-site WebSockets.

On loopback the token travels in the URL the console opens (then in a cookie); on a LAN address the token is
required too, so only someone given the printed URL can drive a headset.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

COOKIE = "viewpoint_console"
# a report is one self-contained page: inline styles and pictures, nothing that runs, nothing fetched
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def cookie_name(port: int | None) -> str:
    """The token's cookie for the console on ``port``: cookies ignore ports, so each console names its own."""
    return f"{COOKIE}_{port}" if port else COOKIE


def new_token() -> str:
    return secrets.token_urlsafe(18)


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


def host_allowed(host_header: str | None, bind_host: str) -> bool:
    """Refuse a Host that is a foreign name (DNS rebinding): only loopback names or the bound address."""
    if not host_header:
        return False
    host = urlsplit("//" + host_header).hostname or ""
    if is_loopback(host):
        return True
    if bind_host in ("0.0.0.0", "::"):
        try:
            ipaddress.ip_address(host)
            return True  # any literal address of this machine; names would allow rebinding
        except ValueError:
            return False
    return host == bind_host.strip("[]")


def origin_allowed(origin: str | None, host_header: str | None) -> bool:
    """A WebSocket must come from the console's own page (same host and port)."""
    if origin is None:
        return True  # non-browser clients (scripts) send no Origin; they still need the token
    parts = urlsplit(origin)
    return bool(host_header) and parts.netloc == host_header
