"""Headsets found on the network (mDNS), for the group page's "add" list.

A mixin of :class:`facilitator.console.group.GroupConsole`. With ``discover=True`` the group console browses
for ``_viewpoint._tcp.local.`` (:class:`facilitator.group.discovery.Discovery`, zeroconf) while it runs. An
announced player is matched to a pairing by its key fingerprint (the ``fp`` it announces; the endpoint when
it announces none): a paired one can be added with one click (``add`` by its paired name, the same path as a
typed name), an unpaired one is listed as such and never commanded (pairing decides who may drive a player).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from facilitator.console.link import LinkError

log = logging.getLogger("viewpoint.console.group")


class GroupFound:
    """The discovered players, matched to pairings, and adding a headset (see module doc)."""

    controller: Any
    links: dict[str, Any]
    link_factory: Any
    name: str
    _loop: Any

    def _found_init(self, discover: bool, paired: Callable[[], dict[str, dict]] | None) -> None:
        self.paired = paired  # () -> {paired name: record with "endpoint" and "fingerprint"}
        self.discovery: Any = None
        self._discover = discover
        self.discovery_error: str | None = None

    def start_discovery(self) -> None:
        """Start browsing (once; mDNS unavailable is reported on the page, typed addresses still work)."""
        if not self._discover or self.discovery is not None:
            return
        from facilitator.group.discovery import Discovery

        try:
            self.discovery = Discovery(mdns=True).start()
            self.discovery_error = self.discovery.mdns_error
        except Exception as exc:  # zeroconf missing or broken: the page says so
            self.discovery_error = f"mDNS unavailable: {exc}"
            log.warning("group page: %s", self.discovery_error)

    def stop_discovery(self) -> None:
        d, self.discovery = self.discovery, None
        if d is not None:
            with contextlib.suppress(Exception):
                d.close()

    def found_state(self) -> dict[str, Any]:
        """``{"browsing", "error", "players": [{name, endpoint, paired_as, in_group, why}]}``."""
        if not self._discover:
            return {"browsing": False, "error": None, "players": []}
        records: dict[str, dict] = {}
        if self.paired is not None:
            with contextlib.suppress(Exception):
                records = dict(self.paired())
        by_fp = {r.get("fingerprint"): n for n, r in records.items() if r.get("fingerprint")}
        by_ep = {r.get("endpoint"): n for n, r in records.items()}
        member_eps = {getattr(link, "endpoint", None): n for n, link in self.links.items()}
        players = []
        found = self.discovery.players() if self.discovery is not None else []
        for a in found:
            if a.source != "mdns":
                continue
            fp = a.properties.get("fp")
            paired_as = by_fp.get(fp) if fp else by_ep.get(a.endpoint)
            in_group = (paired_as is not None and paired_as in self.controller.members) or (
                a.endpoint in member_eps
            )
            why = None
            if paired_as is None:
                why = "not paired with this console: run 'viewpoint-facilitator pair' first"
            elif records[paired_as].get("endpoint") != a.endpoint:
                why = f"announced at {a.endpoint}, paired at {records[paired_as].get('endpoint')}: pair again"
                paired_as = None
            players.append({"name": a.name, "endpoint": a.endpoint, "paired_as": paired_as,
                            "in_group": in_group, "why": why})  # fmt: skip
        return {"browsing": self.discovery is not None, "error": self.discovery_error, "players": players}

    def add_headset(self, target: str) -> dict[str, Any]:
        """Add a paired headset to the running group (typed name or address); it is caught up when present."""
        if not target:
            raise ValueError("add: args.target: a paired headset's name or address")
        if target in self.controller.members:
            raise ValueError(f"add: {target[:40]!r} is in group {self.name} already")
        if self.link_factory is None:
            raise LinkError(
                "unavailable", "this console cannot add headsets (it was started without pairings)"
            )
        try:
            link = self.link_factory(target)
        except Exception as exc:  # not paired, damaged record
            raise ValueError(f"add: {target[:40]!r}: {exc}") from None

        def on_event(ev: dict[str, Any]) -> None:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self.on_event, target, ev)

        def on_pose(sample: dict[str, Any]) -> None:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self.on_pose, target, sample)

        link.start(on_event=on_event, on_pose=on_pose)
        self.links[target] = link
        self.controller.add(target, link.client, subscribe=False)
        return {"player": target, "endpoint": link.endpoint}
