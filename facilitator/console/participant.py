"""The participant view (``/participant?phase=pre|post|follow_up``): the programme's questionnaire on a tablet
the facilitator hands over, one question at a time. Each answer is checked against programme.yaml (beside
the library's manifest; the built-in SSQ without one) and sent to the selected player as the ``answer``
command, which logs it as a ``questionnaire.answered`` session event. Also ``/programme``: the programme
report of this laptop's facilitator store (headline figures first). docs/evaluation.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from facilitator.console import pages, security
from facilitator.console.link import LinkError
from facilitator.programme.definition import Programme, ProgrammeError, builtin_programme, load_programme
from facilitator.programme.instruments import PHASES
from facilitator.store import StoreError
from player import protocol as P

log = logging.getLogger("viewpoint.console")
MAX_BODY = 8 * 1024


def programme_for(library: Any) -> Programme:
    """The programme beside the library's manifest, else the built-in instruments (an invalid one: logged)."""
    folder = getattr(library, "folder", None)
    path = Path(folder) / "programme.yaml" if folder is not None else None
    if path is None or not path.is_file():
        return builtin_programme()
    try:
        return load_programme(path)
    except (ProgrammeError, OSError) as exc:
        log.error("programme.yaml not used (only the built-in SSQ is asked):\n%s", exc)
        return builtin_programme()


class ParticipantDesk:
    """The participant view's routes on the console's web app; answers go through ``server.command``."""

    def __init__(
        self, server: Any, programme: Programme | None = None, store_path: Path | None = None
    ) -> None:
        self.server = server
        self.programme = programme or programme_for(getattr(server, "library", None))
        self.store_path = store_path  # the facilitator store the programme page reads (None: no page)
        self.site: str | None = None  # the console's site and cohort labels (--site, --cohort), sent with
        self.cohort: str | None = None  # session.start by the page unless its fields say otherwise

    def attach(self, app: web.Application) -> None:
        app.router.add_get("/participant", self._page)
        app.router.add_get("/api/questionnaire", self._questionnaire)
        app.router.add_post("/api/answer", self._answer)
        app.router.add_get("/programme", self._programme_page)
        app.router.add_get("/api/session-flow", self._session_flow)

    def questions(self, phase: str, film: str | None) -> list[dict[str, Any]]:
        """The items asked in ``phase`` for ``film``, in the programme's order."""
        out = []
        for inst in self.programme.instruments.values():
            if phase not in inst.when or (inst.films and film not in inst.films):
                continue
            for item in inst.items:
                out.append(
                    {
                        "instrument": inst.id,
                        "item": item.id,
                        "text": item.text,
                        "kind": item.kind,
                        "labels": list(item.labels),
                        "title": inst.title,
                    }
                )
        return out

    def flow(self, film: str | None) -> dict[str, Any]:
        """What the console page's session flow needs: whether a programme.yaml is present, the questions of
        each phase for ``film`` (``instrument.item``: the page counts the answers logged), site and cohort."""
        present = bool(self.programme.path)  # the built-in SSQ alone does not add steps to every session
        phases = {
            phase: [f"{q['instrument']}.{q['item']}" for q in self.questions(phase, film)] if present else []
            for phase in ("pre", "post")
        }
        return {
            "programme": present,
            "title": self.programme.title,
            "phases": phases,
            "site": self.site,
            "cohort": self.cohort,
        }

    async def _session_flow(self, request: web.Request) -> web.Response:
        film = request.query.get("film") or self._film()
        return web.json_response(self.flow(film))

    async def _page(self, request: web.Request) -> web.Response:
        return pages.page_response("participant.html")

    def _film(self) -> str | None:
        view = self.server.players[self.server.selected]
        return view.state.get("film")

    async def _questionnaire(self, request: web.Request) -> web.Response:
        phase = request.query.get("phase", "pre")
        if phase not in PHASES:
            return web.json_response({"error": "phase: expected pre, post or follow_up"}, status=400)
        return web.json_response({"phase": phase, "items": self.questions(phase, self._film())})

    async def _answer(self, request: web.Request) -> web.Response:
        if self.server.read_only:
            return web.json_response({"error": "this console is read-only (observer)"}, status=403)
        try:
            raw = await request.content.read(MAX_BODY + 1)
            body = json.loads(raw) if len(raw) <= MAX_BODY else None
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object of at most 8 KiB")
            inst = self.programme.instruments.get(str(body.get("instrument")))
            item = inst.by_id.get(str(body.get("item"))) if inst else None
            if inst is None or item is None:
                raise ValueError(
                    f"{body.get('instrument')}.{body.get('item')}: not a question of this programme"
                )
            phase = body.get("phase")
            if phase not in inst.when:
                raise ValueError(f"phase: {inst.id} is asked {', '.join(inst.when)}")
            item.read(body.get("value"))  # ValueError says what the item takes
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        args = {"instrument": inst.id, "item": item.id, "phase": phase, "value": body["value"]}
        try:
            result = await self.server.command("answer", args)
        except LinkError as exc:
            return web.json_response({"error": exc.message, "code": exc.code}, status=409)
        return web.json_response({"ok": True, **result})

    def programme_html(self, sites: tuple[str, ...] = (), cohorts: tuple[str, ...] = ()) -> str:
        """The programme report of the facilitator store's sessions (built afresh: a store holds few), of the
        given sites and cohorts if any. A session whose session.started has no labels counts under the
        console's own (--site, --cohort)."""
        from facilitator.programme.collect import collect_store, facts_of
        from facilitator.programme.figures import Filters, figures
        from facilitator.programme.report import build_html
        from facilitator.programme.store import ProgrammeStore

        filters = Filters(sites=sites, cohorts=cohorts)
        store = ProgrammeStore(None)
        try:
            site = self.site or "this laptop"
            library = getattr(self.server, "library", None)  # the console's own library: its films' areas
            films = facts_of(library.films) if library is not None else None
            collect_store(
                store, Path(self.store_path or ""), self.programme, site=site, cohort=self.cohort, films=films
            )
            figs = figures(store.con, filters)
        finally:
            store.close()
        title = self.programme.title or "Programme"
        return build_html(figs, title=title, filters=filters, source="this laptop's sessions")

    async def _programme_page(self, request: web.Request) -> web.Response:
        if self.store_path is None:
            return web.Response(status=404, text="No facilitator store: the programme page needs one.")
        try:  # ?site=&cohort=: the sessions of those labels (by the label rule), each may repeat
            sites = tuple(P.label(v, "site") for v in request.query.getall("site", []))
            cohorts = tuple(P.label(v, "cohort") for v in request.query.getall("cohort", []))
        except P.ProtocolError as exc:
            return web.Response(status=400, text=exc.message)
        loop = asyncio.get_running_loop()
        try:
            text = await loop.run_in_executor(None, self.programme_html, sites, cohorts)
        except StoreError as exc:
            return web.Response(status=404, text=str(exc))
        headers = {"Content-Security-Policy": security.REPORT_CSP}
        return web.Response(text=text, content_type="text/html", headers=headers)
