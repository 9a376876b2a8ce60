"""The console's group view: every headset of a group at a glance, and the group's controls.

A `GroupConsole` wraps a `facilitator.group.GroupController` whose members are the console's own players
(the same `ClientLink`s the single-headset page uses). It adds a page (``/group``) and its WebSocket
(``/group/ws``) to the console's web server (`ConsoleServer(group=...)`): once a second every page gets the
controller's `state()` (no I/O); page commands run the controller's blocking calls on worker threads. Every
`figures_every` seconds the members' clock estimates and sync figures are written to the group's record
(the facilitator store), for the group report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from facilitator.console import pages
from facilitator.console.group_found import GroupFound
from facilitator.console.group_gaze import GroupGaze
from facilitator.console.group_notes import GroupNotes
from facilitator.console.group_safety import GroupSafety
from facilitator.console.group_text import brief, notice, viewer_alert
from facilitator.console.library import library_json
from facilitator.console.link import LinkError
from facilitator.group.controller import GroupController, GroupError
from player.protocol import WELFARE_ACTIONS
from player.protocol.participant import ParticipantCodeError, check_participant

log = logging.getLogger("viewpoint.console.group")

READ_ONLY_OK = {"report"}


class GroupConsole(GroupSafety, GroupGaze, GroupNotes, GroupFound):
    """The group page's server side (see module doc). ``links``: member name -> the console's `ClientLink`;
    ``discover``: browse mDNS for headsets to add, matched to pairings by ``paired()`` (group_found.py)."""

    def __init__(
        self,
        controller: GroupController,
        links: dict[str, Any],
        *,
        library: Any = None,
        store: Any = None,
        report_dir: Path | str | None = None,
        figures_every: float = 10.0,
        state_every: float = 1.0,
        link_factory: Any = None,
        discover: bool = False,
        paired: Any = None,
        gaze_every: float = 0.25,
    ) -> None:
        self.controller = controller
        self.gaze_every = gaze_every
        self._gaze_init()
        self._notes_init()
        self._found_init(discover, paired)
        self.link_factory = link_factory  # target (paired name or address) -> a ClientLink, for "add"
        self.acknowledged: str | None = None  # the film whose content warnings the facilitator acknowledged
        self._resume_play = False  # the group was playing when STOP ALL came
        self._loop: asyncio.AbstractEventLoop | None = None
        self.links = links
        self.library = library
        self.store = store
        self.report_dir = Path(report_dir) if report_dir is not None else None
        self.figures_every = figures_every
        self.state_every = state_every
        self.read_only = False
        self._sockets: set[web.WebSocketResponse] = set()
        self._tasks: set[asyncio.Future] = set()
        self._ticker: asyncio.Task | None = None
        self._gaze_ticker: asyncio.Task | None = None
        self._joined = False
        self._players_announced = len(links)
        self._join_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.controller.name

    # ------------------------------------------------------------------ wiring

    def attach(self, app: web.Application, read_only: bool = False, report_dir: Path | None = None) -> None:
        """Add the page, its WebSocket and the state ticker to the console's application."""
        self.read_only = read_only
        if self.report_dir is None:
            self.report_dir = report_dir
        app.router.add_get("/group", self._page)
        app.router.add_get("/group/ws", self._ws)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)

    def join(self) -> None:
        """Add every link's player to the group (once; after the links have started their streams)."""
        with self._join_lock:
            if self._joined:
                return
            for name, link in self.links.items():
                if name not in self.controller.members:
                    self.controller.add(name, link.client, subscribe=False)
            self._joined = True

    async def _on_startup(self, app: web.Application) -> None:
        self._loop = asyncio.get_running_loop()
        self._ticker = asyncio.ensure_future(self._tick())
        self._gaze_ticker = asyncio.ensure_future(self._gaze_tick())
        self._spawn(asyncio.to_thread(self.start_discovery))

    async def _on_shutdown(self, app: web.Application) -> None:
        for task in (self._ticker, self._gaze_ticker):
            if task is not None:
                task.cancel()
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close()

    def close(self) -> None:
        """Record the last figures and stop the members' workers (before the players' links close)."""
        with contextlib.suppress(Exception):
            self.record_figures()
        self.stop_discovery()
        self.controller.close()

    # ------------------------------------------------------------------ HTTP and WebSocket

    async def _page(self, request: web.Request) -> web.Response:
        return pages.page_response("group.html")

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = await pages.open_socket(request)
        self._sockets.add(ws)
        try:
            await self._send(ws, self._hello())
            async for data in pages.json_messages(ws):
                if data.get("kind") == "cmd":
                    self._spawn(self._page_command(ws, data))
        finally:
            self._sockets.discard(ws)
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "kind": "hello",
            "config": {
                "group": self.name,
                "films": library_json(self.library),
                "players": [
                    {"id": pid, "name": link.name, "endpoint": link.endpoint}
                    for pid, link in self.links.items()
                ],
                "read_only": self.read_only,
            },
            "state": self.state(),
        }

    def state(self) -> dict[str, Any]:
        """The controller's view plus the page's own facts (warnings acknowledged, a STOP ALL to resume)."""
        st = self.controller.state()
        return {
            **st,
            "acknowledged": self.acknowledged,
            "resume_play": self._resume_play,
            "gaze": self.gaze_state(st["players"]),
            "notes": list(self.notes),
            "found": self.found_state(),
        }

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, ws: web.WebSocketResponse, msg: dict[str, Any]) -> None:
        await pages.send_text(ws, pages.dumps(msg, default=str))

    async def broadcast(self, msg: dict[str, Any]) -> None:
        await pages.broadcast(self._sockets, msg, default=str)

    async def _tick(self) -> None:
        """The group's state to every page once a second; figures to the record every `figures_every`."""
        next_figures = time.monotonic() + self.figures_every
        while True:
            await asyncio.sleep(self.state_every)
            if not self._joined:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.join)
            if self._sockets and len(self.links) != self._players_announced:
                self._players_announced = len(self.links)
                await self.broadcast(self._hello())  # a headset added: the pages learn its name
            if self._sockets:
                await self.broadcast({"kind": "group", "state": self.state()})
            if time.monotonic() >= next_figures:
                next_figures = time.monotonic() + self.figures_every
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.record_figures)

    async def _gaze_tick(self) -> None:
        """Each headset's gaze to every page a few times a second (the thumbnails' dots)."""
        while True:
            await asyncio.sleep(self.gaze_every)
            if self._sockets and self._gaze:
                players = [  # only what the gaze needs (the full state estimates every clock)
                    {"name": m.name, "present": m.present, "state": getattr(m.client, "state", None) or {}}
                    for m in list(self.controller.members.values())
                ]
                await self.broadcast({"kind": "gaze", "gaze": self.gaze_state(players)})

    def record_figures(self) -> None:
        """Each member's clock estimate, and the sync figures the console shows, to the group's record."""
        if not self.controller.members:
            return
        self.controller.record_clock_figures()
        st = self.controller.state()
        players = {
            p["name"]: {
                **{k: p["sync"].get(k) for k in ("error_ms", "abs_p50_ms", "abs_p99_ms", "resyncs", "trim")},
                "connected": p["connected"],
                "loss_pct": p["health"].get("loss_pct"),
                "transport": p["state"].get("transport"),
                "welfare": p["welfare"],
            }
            for p in st["players"]
        }
        self.controller.record(
            "group.figures",
            {
                "group": self.name,
                "media_t": st["timeline"]["media_t"],
                "playing": st["timeline"]["playing"],
                "spread_ms": st["sync"]["spread_ms"],
                "worst_p99_ms": st["sync"]["worst_p99_ms"],
                "players": players,
            },
        )

    def on_event(self, player: str, ev: dict[str, Any]) -> None:
        """A player's event (on the console's loop): viewer signals and playback errors alert group pages."""
        self.gaze_event(player, ev)
        if not self._sockets:
            return
        text = viewer_alert(str(ev.get("type", "")), ev.get("data") or {})
        if text:
            level = "soft" if text.startswith("headset back on") else "welfare"
            self._spawn(self.broadcast({"kind": "alert", "player": player, "text": f"{player}: {text}",
                                        "level": level}))  # fmt: skip

    # ------------------------------------------------------------------ commands

    async def _page_command(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        rid = str(data.get("id", ""))[:64]
        cmd = str(data.get("cmd") or "")
        args = data.get("args") if isinstance(data.get("args"), dict) else {}
        try:
            if self.read_only and cmd not in READ_ONLY_OK:
                raise LinkError("forbidden", "this console is read-only (observer)")
            result = await asyncio.to_thread(self.command, cmd, args)
            reply = pages.reply_ok(rid, result)
        except (LinkError, GroupError, ValueError) as exc:
            code = exc.code if isinstance(exc, LinkError) else "group"
            message = exc.message if isinstance(exc, LinkError) else str(exc)
            reply = pages.reply_error(rid, code, message)
        except Exception as exc:
            log.exception("group command %s failed", cmd)
            reply = pages.reply_error(rid, "internal", f"{type(exc).__name__}: {exc}")
        await self._send(ws, reply)
        if reply["ok"]:
            await self.broadcast({"kind": "group", "state": self.state()})
            note = notice(cmd, args, reply["result"])
            if note:
                await self.broadcast({"kind": "notice", "text": note})

    def _player(self, args: dict[str, Any]) -> str:
        name = args.get("player")
        if name not in self.controller.members:
            raise ValueError(f"player: {str(name)[:40]!r} is not in group {self.name}")
        return str(name)

    def command(self, cmd: str, args: dict[str, Any]) -> dict[str, Any]:
        """Run one page command (blocking: the controller waits for every player's answer)."""
        self.join()
        g = self.controller
        if cmd == "play":
            self._check_warnings_acknowledged()
        if cmd in ("play", "pause"):
            return brief(getattr(g, cmd)())
        if cmd == "seek":
            t = args.get("t")
            if not isinstance(t, (int, float)) or isinstance(t, bool):
                raise ValueError("seek: args.t: expected media seconds")
            return brief(g.seek(max(0.0, float(t))))
        if cmd == "chapter":
            return brief(g.chapter(str(args.get("id") or "")))
        if cmd == "load":
            film = str(args.get("film") or "")
            if self.library is not None and film not in self.library.films:
                raise ValueError(f"film: {film[:40]!r} is not in the console's library")
            self.acknowledged = None  # a new film: its warnings are read to the group before it starts
            acks = g.load(film)["acks"]
            absent = sorted(k for k, v in acks.items() if isinstance(v, dict) and "absent" in v)
            return {"film": film, "failed": self._preflight(film, acks), "absent": absent}
        if cmd == "welfare":
            name, action = self._player(args), args.get("action")
            if action not in WELFARE_ACTIONS:
                raise ValueError(f"welfare: action must be one of {', '.join(WELFARE_ACTIONS)}")
            link = self.links.get(name)
            result = g.welfare(name, str(action), via=getattr(link, "urgent", None))
            if action == "stop" and args.get("pause_group") and g.timeline.playing:
                g.pause()
            return {"player": name, "action": action, "result": result}
        if cmd == "stop_all":
            return self._stop_all()
        if cmd == "resume_all":
            return self._resume_all()
        if cmd == "ack_warnings":
            return self._ack_warnings(args)
        if cmd == "safe_point":
            return self._safe_point()
        if cmd == "add":
            return self.add_headset(str(args.get("target") or "").strip())
        if cmd == "note":
            return self._note(args)
        if cmd == "rejoin":
            return {"player": self._player(args), "result": g.rejoin(self._player(args))}
        if cmd == "start_sessions":
            return self._start_sessions(args)
        if cmd == "end_sessions":
            acks = g.end_sessions(str(args.get("reason") or "ended_by_facilitator"))
            return {"acks": acks}
        if cmd == "report":
            return self.write_report()
        raise LinkError("unknown_command", f"cmd: {cmd[:40]!r} is not a group command")

    def _preflight(self, film_id: str, acks: dict[str, Any]) -> dict[str, list[str]]:
        """The single-headset pre-flight on every headset after a group load: {headset: failed checks}."""
        film = self.library.films.get(film_id) if self.library is not None else None
        if film is None:
            return {}
        from facilitator.console.preflight import preflight_checks

        failed: dict[str, list[str]] = {}
        for name, link in self.links.items():
            if isinstance(acks.get(name), dict) and "absent" in acks[name]:
                continue  # loaded and checked when it answers (member catch-up)
            try:
                status = link.command("status", {})
            except LinkError:
                status = {}
            health = {"player_name": name, **link.health()}
            ack = acks.get(name) if isinstance(acks.get(name), dict) else {}
            rows = preflight_checks(film, ack, status, health)
            bad = [f"{r['label']}: {r['value']}" for r in rows if r.get("ok") is False]
            if bad:
                failed[name] = bad
        return failed

    def _start_sessions(self, args: dict[str, Any]) -> dict[str, Any]:
        codes = args.get("participants")
        consent = args.get("consent")
        if not isinstance(codes, dict) or not codes:
            raise ValueError("start_sessions: args.participants: {headset: participant code} expected")
        for k, v in codes.items():
            try:
                check_participant(v)
            except ParticipantCodeError as exc:
                raise ValueError(f"start_sessions: participant code for {str(k)[:40]}: {exc}") from None
        if len(set(codes.values())) != len(codes):
            raise ValueError("start_sessions: each headset needs its own participant code")
        if not isinstance(consent, dict) or consent.get("given") is not True:
            raise ValueError("start_sessions: args.consent.given must be true")
        facilitator = args.get("facilitator") if isinstance(args.get("facilitator"), str) else None
        acks = self.controller.start_sessions(codes, consent, facilitator=facilitator or None)
        return {"acks": acks}

    def write_report(self) -> dict[str, Any]:
        """The group report from the facilitator store; ``url`` is served by the console (/reports/...)."""
        if self.store is None:
            raise LinkError("no_store", "the group report needs the facilitator store, which is not open")
        from facilitator.report.group import load_group, write_group_report

        if hasattr(self.store, "flush"):
            self.store.flush()
        self.record_figures()
        data = load_group(self.store, self.name)
        out_dir = self.report_dir or Path.cwd()
        name = re.sub(r"[^A-Za-z0-9._-]", "_", f"group-report-{self.name}.html")
        path = write_group_report(data, Path(out_dir) / name, library=self.library)
        return {"url": f"/reports/{name}", "path": str(path.resolve()), "participants": len(data.sessions)}


def default_group_name() -> str:
    """A group name unique to this run (the players log it; the report finds the group by it)."""
    return time.strftime("group-%Y%m%d-%H%M%S")


def group_recorder(store: Any = None, jsonl: Path | str | None = None) -> Any:
    """The controller's ``record`` callback: into the facilitator store and/or a JSON-lines file."""
    from facilitator.group.controller import JsonlRecorder

    sinks = []
    if store is not None:
        sinks.append(store.add_group_record)
    if jsonl is not None:
        sinks.append(JsonlRecorder(jsonl))

    def record(kind: str, data: dict) -> None:
        for sink in sinks:
            try:
                sink(kind, data)
            except Exception as exc:  # a record lost must not stop a command
                log.warning("group record %s not written: %s", kind, exc)

    return record


def make_group_console(
    links: dict[str, Any],
    *,
    name: str | None = None,
    library: Any = None,
    store: Any = None,
    record_jsonl: Path | str | None = None,
    **kwargs: Any,
) -> GroupConsole:
    """A `GroupConsole` over the console's links, its record going to the store (and ``record_jsonl``)."""
    controller = GroupController(name or default_group_name(), record=group_recorder(store, record_jsonl))
    return GroupConsole(controller, links, library=library, store=store, **kwargs)
