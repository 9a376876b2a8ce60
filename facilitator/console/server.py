"""The console's web server: static page, film pictures, reports, and a WebSocket from the page to players.

aiohttp runs on its own thread with its own event loop. Players are reached through `PlayerLink`s (see
`facilitator.console.link`), whose callbacks arrive on their threads and are handed to the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import sys
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from facilitator.console import pages, security, session_flow
from facilitator.console.library import library_json
from facilitator.console.link import LinkError, PlayerLink
from facilitator.console.participant import ParticipantDesk
from facilitator.console.preflight import preflight_checks
from facilitator.report.frames import FrameCache, FrameError
from facilitator.report.pose import film_heading_pitch
from player import protocol as P

log = logging.getLogger("viewpoint.console")

DEFAULT_QUICK_TAGS = ["distress", "engaged", "looked away", "question", "discuss later"]
POSE_HZ = 15.0
STATUS_EVERY_TICKS = 10  # ticks of 0.5 s
STATE_HZ = 4.0
RECENT_EVENTS = 400
SWITCH_INTERVAL_S = 0.001  # see start()
# Page commands answered by the console itself (the rest: the catalogue's page commands, to the player).
LOCAL_COMMANDS = {"load", "report", "purge"}


@dataclass
class PlayerView:
    """What the console knows about one player, kept on the event loop."""

    link: PlayerLink
    state: dict[str, Any] = field(default_factory=dict)
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT_EVENTS))
    last_pose_sent: float = 0.0
    last_state_sent: float = 0.0
    recentre_yaw: float = 0.0


class ConsoleServer:
    """The facilitator's console for one or more players."""

    def __init__(
        self,
        links: dict[str, PlayerLink],
        *,
        library: Any = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        quick_tags: list[str] | None = None,
        report_dir: Path | str | None = None,
        auto_pause: bool = False,
        read_only: bool = False,
        group: Any = None,
    ) -> None:
        if not links:
            raise ValueError("a console needs at least one player")
        self.players = {pid: PlayerView(link) for pid, link in links.items()}
        self.selected = next(iter(self.players))
        self.library = library
        self.films = {f.id: f for f in library.films.values()} if library is not None else {}
        self.host = host
        self.port = port
        self.token = token or security.new_token()
        self.quick_tags = list(quick_tags or DEFAULT_QUICK_TAGS)
        if report_dir is None:
            from facilitator.client import FacilitatorHome

            report_dir = FacilitatorHome().path / "reports"
        self.report_dir = Path(report_dir)
        self.auto_pause = auto_pause
        self.read_only = read_only
        self.frames = FrameCache(capacity=48, bucket_s=1.0)  # 640x320 RGB: ~30 MB
        self._sockets: set[web.WebSocketResponse] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="console-cmd")
        # urgent commands (welfare) never wait for a worker behind slow ones (loads, reports, a lost player)
        self._urgent_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="console-urgent")
        self._error: BaseException | None = None
        self._tasks: set[asyncio.Future] = set()
        self.group = group  # facilitator.console.group.GroupConsole: the group page (/group), or None
        self.participant = ParticipantDesk(self)  # the participant view (/participant) and /programme
        self.tabs = session_flow.Tabs()  # one tab drives; the others are read-only until they take over
        self.participant_rule = session_flow.participant_rule(library)  # ValueError: names the file

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/?token={self.token}"

    def start(self) -> str:
        """Start serving on a background thread; returns the URL (with the token) to open."""
        if sys.getswitchinterval() > SWITCH_INTERVAL_S:
            # The GIL is handed to a waiting thread only every switch interval (5 ms by default): the event
            # loop that reads a page's STOP would wait behind the subscription and command threads.
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._thread = threading.Thread(target=self._run_thread, name="console-http", daemon=True)
        self._thread.start()
        self._ready.wait(15)
        if self._error is not None:
            raise self._error
        if not self._ready.is_set():
            raise RuntimeError("the console's web server did not start within 15 s")
        return self.url

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._urgent_pool.shutdown(wait=False, cancel_futures=True)

    def _run_thread(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application(middlewares=[self._guard], client_max_size=256 * 1024)
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/api/frame/{film}", self._frame)
        app.router.add_get("/api/protocol", self._protocol)
        app.router.add_get("/api/new-code", self._new_code)
        app.router.add_get("/reports/{name}", self._report_file)
        self.participant.attach(app)
        if self.group is not None:
            self.group.attach(app, read_only=self.read_only, report_dir=self.report_dir)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []  # the bound port when port=0
        if sockets:
            self.port = sockets[0].getsockname()[1]
        for pid, view in self.players.items():
            view.link.start(
                on_event=lambda ev, pid=pid: self._from_thread(self._on_event, pid, ev),
                on_pose=lambda sample, pid=pid: self._from_thread(self._on_pose, pid, sample),
            )
            view.state = dict(view.link.state())
            with contextlib.suppress(Exception):
                have = {(e.get("session"), e.get("seq")) for e in view.recent}
                older = [
                    e
                    for e in view.link.recent_events(RECENT_EVENTS)
                    if (e.get("session"), e.get("seq")) not in have
                ]
                view.recent.extendleft(reversed(older))
                for ev in older:
                    self._fold(view, ev)
        if self.group is not None:
            self.group.join()  # the players' streams run: the group's members share their clients
        ticker = asyncio.create_task(self._tick())
        self._ready.set()
        await self._stop.wait()
        ticker.cancel()
        if self.group is not None:
            await asyncio.to_thread(self.group.close)
        for ws in list(self._sockets):
            await ws.close()
        for view in self.players.values():
            with contextlib.suppress(Exception):
                view.link.close()
        await self._runner.cleanup()

    def _spawn(self, coro: Any) -> None:
        """Run a coroutine on the loop, keeping a reference until it is done."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _from_thread(self, fn: Any, *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(fn, *args)

    # ------------------------------------------------------------------ HTTP

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
                    n: {"lead_only": c.lead_only, "urgent": c.urgent}
                    for n, c in P.COMMANDS.items()
                    if c.page
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
        try:
            image = await asyncio.get_running_loop().run_in_executor(
                self._pool, lambda: self.frames.get(film.path, t, stereo=film.stereo, width=640)
            )
        except FrameError as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=80)
        return web.Response(
            body=buf.getvalue(), content_type="image/jpeg", headers={"Cache-Control": "max-age=60"}
        )

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

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = await pages.open_socket(request)
        self._sockets.add(ws)
        self.tabs.join(ws)
        try:
            await ws.send_json(self._hello())
            await ws.send_json(self.tabs.message(ws))
            async for data in pages.json_messages(ws):
                kind = data.get("kind")
                if kind == "take_over":
                    self.tabs.take_over(ws)
                    await self._tabs_changed()
                elif kind == "cmd":
                    self._spawn(self._page_command(ws, data))
                elif kind == "settings":
                    if isinstance(data.get("auto_pause"), bool):
                        self.auto_pause = data["auto_pause"]
                        await self._broadcast(
                            {
                                "kind": "notice",
                                "text": f"auto-pause at chapter ends {'on' if self.auto_pause else 'off'}",
                            }
                        )
                elif kind == "select_player" and data.get("player") in self.players:
                    self.selected = data["player"]
                    await ws.send_json(self._hello())
        finally:
            self._sockets.discard(ws)
            self.tabs.leave(ws)
            await self._tabs_changed()
        return ws

    async def _tabs_changed(self) -> None:
        """Tell every open tab whether it drives (after one took over, or the driving one closed)."""
        for other in list(self.tabs.open):
            with contextlib.suppress(Exception):
                await other.send_json(self.tabs.message(other))

    def _hello(self) -> dict[str, Any]:
        view = self.players[self.selected]
        return {
            "kind": "hello",
            "player": self.selected,
            "config": {
                "quick_tags": self.quick_tags,
                "films": library_json(self.library),
                "players": [
                    {"id": pid, "name": v.link.name, "endpoint": v.link.endpoint}
                    for pid, v in self.players.items()
                ],
                "auto_pause": self.auto_pause,
                "read_only": self.read_only,
                "group": self.group.name if self.group is not None else None,
            },
            "state": self._page_state(view),
            "health": self._health(self.selected),
            "events": sorted(
                (ev for ev in view.recent if ev.get("session") == view.state.get("session")),
                key=lambda ev: ev.get("seq") or 0,
            ),
        }

    async def _send(self, ws: web.WebSocketResponse, msg: dict[str, Any]) -> None:
        await pages.send_text(ws, pages.dumps(msg))

    async def _broadcast(self, msg: dict[str, Any]) -> None:
        await pages.broadcast(self._sockets, msg)

    async def _page_command(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        rid = str(data.get("id", ""))[:64]
        cmd = data.get("cmd")
        args = data.get("args") if isinstance(data.get("args"), dict) else {}
        try:
            if self.read_only and cmd not in ("report", "status"):
                raise LinkError("forbidden", "this console is read-only (observer)")
            if not self.tabs.may(ws, cmd, args):
                raise session_flow.refuse_other_tab(cmd)
            if cmd in LOCAL_COMMANDS:
                result = await self._local_command(str(cmd), args)
            elif cmd in P.PAGE_COMMANDS:
                result = await self.command(str(cmd), args)
            else:
                raise LinkError("unknown_command", f"cmd: {str(cmd)[:40]!r} is not a console command")
            reply = pages.reply_ok(rid, result)
        except LinkError as exc:
            reply = pages.reply_error(rid, exc.code, exc.message)
        except Exception as exc:
            log.exception("console command %s failed", cmd)
            reply = pages.reply_error(rid, "internal", str(exc))
        await self._send(ws, reply)

    async def command(self, cmd: str, args: dict[str, Any], player: str | None = None) -> dict[str, Any]:
        """Send a protocol command to a player (the selected one by default) and wait for its answer."""
        view = self.players[player or self.selected]
        loop = asyncio.get_running_loop()
        pool = self._urgent_pool if cmd in P.URGENT_COMMANDS else self._pool
        result = await loop.run_in_executor(pool, view.link.command, cmd, args)
        return result if isinstance(result, dict) else {"value": result}

    async def _local_command(self, cmd: str, args: dict[str, Any]) -> dict[str, Any]:
        view = self.players[self.selected]
        if cmd == "load":
            film_id = args.get("film")
            film = self.films.get(film_id)
            if film is None:
                raise LinkError("not_found", f"film: {film_id!r} is not in the console's library")
            loaded = await self.command("load", {"film": film_id})
            try:
                status = await self.command("status", {})
            except LinkError:
                status = {}
            return {
                "checks": preflight_checks(film, loaded, status, self._health(self.selected)),
                "load": loaded,
            }
        if cmd == "report":
            return await asyncio.get_running_loop().run_in_executor(self._pool, self._write_report, view)
        if cmd == "purge":
            return await session_flow.purge(self, args)
        raise LinkError("unknown_command", cmd)

    def _write_report(self, view: PlayerView) -> dict[str, Any]:
        from facilitator.report import write_report  # imported late: keeps the console's start quick

        session = view.state.get("last_session") or view.state.get("session")
        if not session:
            raise LinkError("no_session", "no session to report on yet")
        events, poses = view.link.session_log(session)
        film_id = next((e.get("film") for e in events if e.get("film")), None)
        film = self.films.get(film_id) if film_id else None
        self.report_dir.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", f"report-{session}.html")
        path = write_report(events, self.report_dir / name, film=film, poses=poses, frames=self.frames)
        return {"url": f"/reports/{name}", "path": str(path.resolve())}

    # ------------------------------------------------------------------ player callbacks (on the loop)

    def _on_event(self, pid: str, ev: dict[str, Any]) -> None:
        view = self.players[pid]
        view.recent.append(ev)
        self._fold(view, ev)
        if self.group is not None:
            self.group.on_event(pid, ev)
        if pid != self.selected:
            return
        etype = ev.get("type", "")
        self._spawn(self._broadcast({"kind": "event", "event": ev}))
        self._spawn(self._broadcast({"kind": "state", "state": self._page_state(view)}))
        if etype == "session.started":
            self._spawn(self._refresh_status(pid))
        if etype == "chapter.entered" and self.auto_pause and not self.read_only:
            self._spawn(self._auto_pause(ev))

    async def _auto_pause(self, ev: dict[str, Any]) -> None:
        film = self.films.get(ev.get("film") or "")
        chapter = (ev.get("data") or {}).get("id")
        if film is None or not film.chapters or chapter == film.chapters[0].id:
            return
        if self.players[self.selected].state.get("transport") != "playing":
            return
        try:
            await self.command("pause", {})
            await self._broadcast({"kind": "notice", "text": "paused at the chapter end for discussion"})
        except LinkError as exc:
            await self._broadcast(
                {"kind": "notice", "text": f"auto-pause failed: {exc.message}", "level": "welfare"}
            )

    def _fold(self, view: PlayerView, ev: dict[str, Any]) -> None:
        """The protocol's one state fold, plus when the media time was heard, the last facilitated
        session (what a report is of), an interrupted session (to resume) and the recentre yaw."""
        before = view.state.get("participant")
        P.apply_event(view.state, ev)
        session_flow.note_interrupted(view.state, ev, before)
        if view.state.get("participant") is not None:
            view.state["last_session"] = view.state.get("session")
        if isinstance(ev.get("media_t"), (int, float)):
            view.state["media_mono"] = time.monotonic()
        data = ev.get("data") or {}
        if ev.get("type") == "viewer.recentre" and isinstance(data.get("heading"), (int, float)):
            view.recentre_yaw = -float(data["heading"])  # the head heading that becomes the film's front

    def _on_pose(self, pid: str, sample: dict[str, Any]) -> None:
        view = self.players[pid]
        if isinstance(sample.get("media_t"), (int, float)):
            view.state["media_t"] = sample["media_t"]
        if pid != self.selected or not self._sockets:
            return
        now = time.monotonic()
        if now - view.last_pose_sent < 1.0 / POSE_HZ:
            return
        view.last_pose_sent = now
        data = sample.get("data") if isinstance(sample.get("data"), dict) else sample
        q = data.get("q") or data.get("orientation")
        if q is None:
            return
        film = self.films.get(view.state.get("film") or "")
        front = film.front_heading if film is not None else 0.0
        heading, pitch = film_heading_pitch(q, front, view.recentre_yaw)
        ev = {"type": "pose", "media_t": sample.get("media_t"), "data": {"heading": heading, "pitch": pitch}}
        self._spawn(self._broadcast({"kind": "event", "event": ev}))
        if now - view.last_state_sent > 1.0 / STATE_HZ:
            view.last_state_sent = now
            self._spawn(self._broadcast({"kind": "state", "state": self._page_state(view)}))

    async def _tick(self) -> None:
        """Health to every page twice a second, so a page can tell live from stale; the controller's own
        status every few seconds (welfare, volume and film outlive sessions, so events alone may not say)."""
        for pid in self.players:
            self._spawn(self._refresh_status(pid))
        n = 0
        while True:
            await asyncio.sleep(0.5)
            n += 1
            if self._sockets:
                await self._broadcast({"kind": "health", "health": self._health(self.selected)})
            if n % STATUS_EVERY_TICKS == 0 and self.players[self.selected].link.health().get("connected"):
                self._spawn(self._refresh_status(self.selected))

    async def _refresh_status(self, pid: str) -> None:
        """Fold the controller's status (state, welfare, volume, film, media time) into what pages see."""
        try:
            res = await self.command("status", {}, player=pid)
        except LinkError:
            return
        ctl = res.get("controller") if isinstance(res.get("controller"), dict) else res
        st = self.players[pid].state
        if ctl.get("state") in P.TRANSPORT_STATES:
            st["transport"] = ctl["state"]
        for key in ("welfare", "volume", "film", "rate"):
            if ctl.get(key) is not None:
                st[key] = ctl[key]
        if isinstance(ctl.get("media_t"), (int, float)):
            st["media_t"] = ctl["media_t"]
        session = res.get("session") if isinstance(res.get("session"), dict) else {}
        if session.get("id"):
            st["session"] = session["id"]
            st["participant"] = session.get("participant") if session.get("kind") == "facilitated" else None
            if st["participant"] is not None:
                st["last_session"] = session["id"]
        if pid == self.selected:
            await self._broadcast({"kind": "state", "state": self._page_state(self.players[pid])})

    def _health(self, pid: str) -> dict[str, Any]:
        view = self.players[pid]
        h = dict(view.link.health())
        h.setdefault("player_name", view.link.name)
        return h

    def _page_state(self, view: PlayerView) -> dict[str, Any]:
        st = view.state
        return {
            "transport": st.get("transport") or "idle",
            "media_t": st.get("media_t") or 0.0,
            "film": st.get("film"),
            "welfare": st.get("welfare") or "none",
            "volume": st.get("volume"),
            "rate": st.get("rate") or 1.0,
            "session": {
                "id": st.get("session"),
                "active": st.get("participant") is not None,
                "participant": st.get("participant"),
            },
            "interrupted": st.get("interrupted"),
        }
