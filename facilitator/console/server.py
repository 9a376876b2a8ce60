"""The console's web server: static page, film pictures, reports, and a WebSocket from the page to players.

aiohttp runs on its own thread with its own event loop. Players are reached through `PlayerLink`s (see
`facilitator.console.link`), whose callbacks arrive on their threads and are handed to the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from facilitator.console import pages, security, session_flow
from facilitator.console.http_routes import HttpRoutes
from facilitator.console.library import library_json
from facilitator.console.link import LinkError, PlayerLink
from facilitator.console.participant import ParticipantDesk
from facilitator.console.player_state import RECENT_EVENTS, PlayerState, PlayerView
from facilitator.console.preflight import preflight_checks
from facilitator.report.frames import FrameCache
from player import protocol as P

log = logging.getLogger("viewpoint.console")

DEFAULT_QUICK_TAGS = ["distress", "engaged", "looked away", "question", "discuss later"]
SWITCH_INTERVAL_S = 0.001  # see start()
# Page commands answered by the console itself (the rest: the catalogue's page commands, to the player).
LOCAL_COMMANDS = {"load", "report", "purge"}


class ConsoleServer(HttpRoutes, PlayerState):
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
        # urgent commands (welfare) never wait for a worker here: each link's urgent sender thread sends them
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="console-cmd")
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
                elif kind == "cmd" and data.get("cmd") in P.URGENT_COMMANDS:
                    self._urgent_command(ws, data)  # on its way to the player before this returns
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

    def _urgent_command(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        """A page's urgent command (STOP NOW): checked and handed to the player's urgent sender thread right
        here, in the turn that read it (no task, no executor in front of it); the reply follows."""
        cmd = str(data["cmd"])
        args = data.get("args") if isinstance(data.get("args"), dict) else {}
        sent = None
        if not self.read_only and self.tabs.may(ws, cmd, args):
            submit = getattr(self.players[self.selected].link, "submit", None)
            sent = submit(cmd, args) if submit is not None else None
        if sent is None:  # refused, or a link without an urgent sender: the usual path says why
            self._spawn(self._page_command(ws, data))
            return
        self._spawn(self._page_command(ws, data, asyncio.wrap_future(sent)))

    async def _page_command(
        self, ws: web.WebSocketResponse, data: dict[str, Any], sent: asyncio.Future | None = None
    ) -> None:
        """Carry out a page's command and send its reply (``sent``: an urgent one already on its way)."""
        rid = str(data.get("id", ""))[:64]
        cmd = data.get("cmd")
        args = data.get("args") if isinstance(data.get("args"), dict) else {}
        try:
            if sent is not None:
                result = _as_dict(await sent)
            elif self.read_only and cmd not in ("report", "status"):
                raise LinkError("forbidden", "this console is read-only (observer)")
            elif not self.tabs.may(ws, cmd, args):
                raise session_flow.refuse_other_tab(cmd)
            elif cmd in LOCAL_COMMANDS:
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
        submit = getattr(view.link, "submit", None)
        sent = submit(cmd, args) if submit is not None else None  # urgent: the link's own sender thread
        if sent is not None:
            return _as_dict(await asyncio.wrap_future(sent))
        result = await asyncio.get_running_loop().run_in_executor(self._pool, view.link.command, cmd, args)
        return _as_dict(result)

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


def _as_dict(result: Any) -> dict[str, Any]:
    return result if isinstance(result, dict) else {"value": result}
