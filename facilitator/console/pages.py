"""What the console's pages share on the server side: serving a page, a page's WebSocket, sending JSON to it,
and the shape of a command's reply."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterable
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web

from facilitator.console import security

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
)
WS_HEARTBEAT_S = 5.0
WS_MAX_MSG_BYTES = 64 * 1024


def page_response(name: str) -> web.Response:
    """A static HTML page of the console's package (``static/<name>``), under the console's CSP."""
    html = resources.files("facilitator.console").joinpath("static").joinpath(name).read_text("utf-8")
    return web.Response(text=html, content_type="text/html", headers={"Content-Security-Policy": PAGE_CSP})


async def open_socket(request: web.Request) -> web.WebSocketResponse:
    """Accept a page's WebSocket (only from the console's own origin: cross-site sockets are refused)."""
    if not security.origin_allowed(request.headers.get("Origin"), request.headers.get("Host")):
        raise web.HTTPForbidden(text="cross-site WebSocket refused")
    # no per-message compression: on the console's own machine it only costs both ends time (a STOP too)
    ws = web.WebSocketResponse(heartbeat=WS_HEARTBEAT_S, max_msg_size=WS_MAX_MSG_BYTES, compress=False)
    await ws.prepare(request)
    return ws


async def json_messages(ws: web.WebSocketResponse) -> AsyncIterator[dict[str, Any]]:
    """The page's messages that are JSON objects; other frames and text are passed over."""
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            continue
        try:
            data = json.loads(msg.data)
        except ValueError:
            continue
        if isinstance(data, dict):
            yield data


def dumps(msg: dict[str, Any], default: Callable[[Any], Any] | None = None) -> str:
    return json.dumps(msg, separators=(",", ":"), default=default)


async def send_text(ws: web.WebSocketResponse, text: str) -> None:
    """Send to one page; a page that has gone is passed over."""
    with contextlib.suppress(ConnectionError, RuntimeError):
        if not ws.closed:
            await ws.send_str(text)


async def broadcast(
    sockets: Iterable[web.WebSocketResponse], msg: dict[str, Any], default: Callable[[Any], Any] | None = None
) -> None:
    """Send one message to every page (serialised once)."""
    text = dumps(msg, default)
    for ws in list(sockets):
        await send_text(ws, text)


def reply_ok(rid: str, result: Any) -> dict[str, Any]:
    return {"kind": "reply", "id": rid, "ok": True, "result": result}


def reply_error(rid: str, code: str, message: str) -> dict[str, Any]:
    return {"kind": "reply", "id": rid, "ok": False, "error": {"code": code, "message": message}}
