"""The console's HTTP side: the access guard, the page and its static files, the wire contract's tables,
film pictures and reports (a mixin of :class:`facilitator.console.server.ConsoleServer`)."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from facilitator.console import pages, security, session_flow
from facilitator.report.frames import FrameError
from player import protocol as P

log = logging.getLogger("viewpoint.console")


class HttpRoutes:
    """Routes served by the console (see ``ConsoleServer._serve`` for the table)."""

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not security.host_allowed(request.headers.get("Host"), self.host):
            return web.Response(status=403, text="This console only answers on its own address.")
        cookie = security.cookie_name(self.port)
        in_url = request.query.get("token")
        if not security.token_ok(self.token, in_url or request.cookies.get(cookie)):
            return web.Response(
                status=403,
                text="This console needs its access token: open the URL printed when it started.",
            )
        if in_url and request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
            # a browser opening the printed URL: the token goes into a cookie and out of the address bar
            # (and so out of the history, screen shares and Referer headers)
            query = "&".join(f"{k}={v}" for k, v in request.rel_url.query.items() if k != "token")
            target = request.path + (f"?{query}" if query else "")
            response: web.StreamResponse = web.Response(status=303, headers={"Location": target})
        else:
            response = await handler(request)
        if in_url and isinstance(response, web.Response):
            response.set_cookie(cookie, self.token, httponly=True, samesite="Strict", path="/")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    async def _index(self, request: web.Request) -> web.Response:
        return pages.page_response("index.html")

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        types = {
            ".js": "application/javascript",
            ".css": "text/css",
            ".svg": "image/svg+xml",
            ".png": "image/png",
        }
        suffix = Path(name).suffix
        if not re.fullmatch(r"[a-z0-9_-]+\.[a-z]+", name) or suffix not in types:
            raise web.HTTPNotFound()
        res = resources.files("facilitator.console").joinpath("static").joinpath(name)
        if not res.is_file():
            raise web.HTTPNotFound()
        return web.Response(body=res.read_bytes(), content_type=types[suffix])

    async def _protocol(self, request: web.Request) -> web.Response:
        """The wire contract's tables the page uses: page commands, welfare actions, event labels, the
        state fold's rules and the participant code rule (the page checks as you type; the player decides)."""
        return web.json_response(
            {
                "commands": {
                    n: {"lead_only": c.lead_only, "urgent": c.urgent} for n, c in P.COMMANDS.items() if c.page
                },
                "welfare_actions": list(P.WELFARE_ACTIONS),
                **P.catalogue_json(),
                "state": P.state_rules_json(),
                "participant": P.participant_rule_json(*(self.participant_rule or ())),
            }
        )

    async def _new_code(self, request: web.Request) -> web.Response:
        """A fresh participant code by the one rule."""
        return web.json_response({"code": session_flow.new_code(self.participant_rule)})

    async def _frame(self, request: web.Request) -> web.Response:
        film = self.films.get(request.match_info["film"])
        if film is None:
            raise web.HTTPNotFound(text="no such film in the console's library")
        try:
            t = float(request.query.get("t", "0"))
        except ValueError:
            raise web.HTTPBadRequest(text="t: expected seconds") from None

        def jpeg() -> bytes:  # decoded and encoded off the event loop, which reads the pages' STOP NOW
            buf = io.BytesIO()
            self.frames.get(film.path, t, stereo=film.stereo, width=640).save(buf, "JPEG", quality=80)
            return buf.getvalue()

        try:
            body = await asyncio.get_running_loop().run_in_executor(self._pool, jpeg)
        except FrameError as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        return web.Response(body=body, content_type="image/jpeg", headers={"Cache-Control": "max-age=60"})

    async def _report_file(self, request: web.Request) -> web.FileResponse:
        name = request.match_info["name"]
        if not re.fullmatch(r"[A-Za-z0-9._-]+\.html", name):
            raise web.HTTPNotFound()
        path = self.report_dir / name
        if not path.is_file():
            raise web.HTTPNotFound()
        headers = {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": security.REPORT_CSP}
        return web.FileResponse(path, headers=headers)

    # ------------------------------------------------------------------ WebSocket
