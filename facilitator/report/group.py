"""The group report: one self-contained HTML file for a group session (docs/group.md).

Built from the facilitator's store: the group's own record (members, commands with their shared instants and
every player's answer, welfare actions, rejoins, clock and sync figures) and each participant's session (the
players' events, with the group tag on ``session.started``). The group's facts and sync figures come first,
then one section per participant made by the per-session report (`facilitator.report.html`).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from facilitator.report.frames import FrameCache
from facilitator.report.html import _CSS, _e, build_report, fmt_dur, fmt_t
from facilitator.report.model import parse_utc
from facilitator.report.sources import SourceError
from player.protocol.private import write_private_text


@dataclass
class ParticipantSession:
    """One participant's session in a group: who, on which headset, and what was logged."""

    id: str
    player: str
    participant: str
    events: list[dict[str, Any]] = field(default_factory=list)
    poses: list[tuple[float, ...]] = field(default_factory=list)


@dataclass
class GroupData:
    """Everything the group report is made from."""

    name: str
    records: list[dict[str, Any]]  # {"type", "utc", "mono", "data"} from FacilitatorStore.group_records
    sessions: list[ParticipantSession]


def load_group(store: Any, group: str = "latest") -> GroupData:
    """A group's records and its participants' sessions from a `FacilitatorStore` (``latest``: the newest)."""
    if group == "latest":
        groups = store.groups()
        if not groups:
            raise SourceError(f"{store.path}: no group session is stored yet")
        group = groups[0]["group"]
    records = store.group_records(group)
    if not records:
        known = ", ".join(g["group"] for g in store.groups()[:8]) or "none"
        raise SourceError(f"{group}: no such group in {store.path} (groups: {known})")
    sessions = [
        ParticipantSession(
            s["id"], s["player"], s["participant"], store.events(s["id"]), store.poses(s["id"])
        )
        for s in store.group_sessions(group)
    ]
    return GroupData(group, records, sessions)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _ms(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{v:.{digits}f} ms"


def _of(records: list[dict], kind: str) -> list[dict]:
    return [r for r in records if r["type"] == kind]


def sync_summary(data: GroupData) -> dict[str, Any]:
    """The group's sync figures: commands and how they landed, spread, and per headset clock and sync."""
    recs = data.records
    commands = [{**r["data"], "_utc": r["utc"]} for r in _of(recs, "group.command")]
    executed: dict[tuple[str, int], list[float]] = {}  # (cmd, epoch) -> players' late_ms
    per_player: dict[str, dict[str, Any]] = {}
    for ps in data.sessions:
        p = per_player.setdefault(ps.player, {"participants": [], "late_ms": [], "status": None})
        p["participants"].append(ps.participant)
        p["welfare"] = p.get("welfare", 0) + sum(
            1 for e in ps.events if str(e.get("type", "")).startswith("welfare.")
        )
        for e in ps.events:
            d = e.get("data") or {}
            if e.get("type") == "sync.executed" and d.get("group") == data.name:
                late = d.get("late_ms")
                if isinstance(late, (int, float)):
                    p["late_ms"].append(float(late))
                    executed.setdefault((str(d.get("cmd")), int(d.get("epoch") or 0)), []).append(late)
            elif e.get("type") == "sync.status" and d.get("group") == data.name:
                p["status"] = d
            elif e.get("type") == "sync.resync":
                p["resyncs_logged"] = p.get("resyncs_logged", 0) + 1
    for r in _of(recs, "group.clock"):
        d = r["data"]
        p = per_player.setdefault(d.get("player", "?"), {"participants": [], "late_ms": [], "status": None})
        p.setdefault("clock", []).append(d)
    for r in _of(recs, "group.figures"):
        for name, f in (r["data"].get("players") or {}).items():
            p = per_player.setdefault(name, {"participants": [], "late_ms": [], "status": None})
            p.setdefault("figures", []).append(f)
    spreads = [
        r["data"]["spread_ms"]
        for r in _of(recs, "group.figures")
        if isinstance(r["data"].get("spread_ms"), (int, float))
    ]
    for c in commands:
        lates = executed.get((str(c.get("cmd")), int(c.get("epoch") or 0)), [])
        c["_landed"] = len(lates)
        c["_worst_late_ms"] = max((abs(x) for x in lates), default=None)
    return {"commands": commands, "players": per_player, "spread_ms": spreads}


def _facts(data: GroupData, summary: dict[str, Any]) -> list[tuple[str, str]]:
    recs = data.records
    films = [r["data"].get("film") for r in _of(recs, "group.load")]
    members = sorted({r["data"].get("player") for r in _of(recs, "group.member_added")} - {None})
    first, last = parse_utc(recs[0]["utc"]), parse_utc(recs[-1]["utc"])
    cmds = summary["commands"]
    counts: dict[str, int] = {}
    for c in cmds:
        counts[str(c.get("cmd"))] = counts.get(str(c.get("cmd")), 0) + 1
    welfare = _of(recs, "group.welfare")
    spreads = summary["spread_ms"]
    spread = f"median {_ms(_median(spreads), 2)}, max {_ms(max(spreads), 2)}" if spreads else "–"
    return [
        ("Group", data.name),
        ("Film", ", ".join(dict.fromkeys(f for f in films if f)) or "–"),
        ("Headsets", f"{len(members)}: {', '.join(members)}" if members else "–"),
        ("Participants", ", ".join(ps.participant for ps in data.sessions) or "–"),
        ("Started (UTC)", first.strftime("%Y-%m-%d %H:%M:%S") if first else "–"),
        ("Length", fmt_dur((last - first).total_seconds()) if first and last else "–"),
        ("Group commands", ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"),
        ("Welfare actions", str(len(welfare))),
        ("Rejoins", str(len(_of(recs, "group.rejoin")))),
        ("Spread between headsets", spread),
    ]


def _commands_table(summary: dict[str, Any], t0: datetime | None) -> str:
    rows = []
    for c in summary["commands"]:
        acks = c.get("acks") or {}
        ok = sum(1 for a in acks.values() if isinstance(a, dict) and a.get("accepted"))
        args = ", ".join(f"{k} {v}" for k, v in (c.get("args") or {}).items())
        when = parse_utc(c.get("_utc"))
        rel = fmt_t((when - t0).total_seconds()) if when and t0 else "–"
        lead = c.get("lead_s")
        rows.append(
            f"<tr><td class=t>{_e(rel)}</td><td>{_e(c.get('cmd'))} {_e(args)}</td>"
            f"<td class=t>{_e(fmt_t(c.get('media_t')))}</td>"
            f"<td class=t>{'–' if lead is None else f'{lead * 1000:.0f} ms'}</td>"
            f"<td class=t>{ok} of {len(acks)}</td><td class=t>{c['_landed']}</td>"
            f"<td class=t>{_ms(c['_worst_late_ms'], 2)}</td></tr>"
        )
    if not rows:
        return '<p class="empty">No group command was sent.</p>'
    head = (
        "<thead><tr><th>Group time</th><th>Command</th><th>Film time</th><th>Lead</th><th>Accepted</th>"
        "<th>Executed (logged)</th><th>Worst late</th></tr></thead>"
    )
    return f"<table>{head}<tbody>{''.join(rows)}</tbody></table>"


def _players_table(summary: dict[str, Any]) -> str:
    rows = []
    for name, p in sorted(summary["players"].items()):
        clock = p.get("clock") or []
        offsets = [c["offset"] * 1000 for c in clock if isinstance(c.get("offset"), (int, float))]
        unc = [c["uncertainty"] * 1000 for c in clock if isinstance(c.get("uncertainty"), (int, float))]
        rtts = [c["rtt_median"] * 1000 for c in clock if isinstance(c.get("rtt_median"), (int, float))]
        figs = p.get("figures") or []
        st = p.get("status") or {}
        p50 = st.get("abs_p50_ms")
        p99 = st.get("abs_p99_ms")
        if p99 is None:
            p99s = [f["abs_p99_ms"] for f in figs if isinstance(f.get("abs_p99_ms"), (int, float))]
            p99 = max(p99s) if p99s else None
        loss = [f["loss_pct"] for f in figs if isinstance(f.get("loss_pct"), (int, float))]
        resyncs = st.get("resyncs", p.get("resyncs_logged"))
        late = p["late_ms"]
        offset = _median(offsets)
        rows.append(
            f"<tr><td>{_e(name)}</td><td>{_e(', '.join(p['participants']) or '–')}</td>"
            f"<td class=t>{'–' if offset is None else f'{offset:+.2f} ms'} ± {_ms(_median(unc), 2)}</td>"
            f"<td class=t>{_ms(_median(rtts), 2)}</td>"
            f"<td class=t>{_ms(p50, 2)} / {_ms(p99, 2)}</td>"
            f"<td class=t>{_ms(max((abs(x) for x in late), default=None), 2)} ({len(late)})</td>"
            f"<td class=t>{'–' if resyncs is None else resyncs}</td>"
            f"<td class=t>{'–' if not loss else f'{max(loss):.1f} %'}</td>"
            f"<td class=t>{p.get('welfare', 0)}</td></tr>"
        )
    if not rows:
        return '<p class="empty">No sync figures were recorded.</p>'
    head = (
        "<thead><tr><th>Headset</th><th>Participant</th><th>Clock offset ± uncertainty</th>"
        "<th>Round trip (median)</th><th>Sync error |p50| / |p99|</th><th>Worst late start (commands)</th>"
        "<th>Resyncs</th><th>Probe loss (max)</th><th>Welfare events</th></tr></thead>"
    )
    return f"<table>{head}<tbody>{''.join(rows)}</tbody></table>"


def _group_events_table(data: GroupData) -> str:
    rows = []
    t0 = parse_utc(data.records[0]["utc"]) if data.records else None
    for r in data.records:
        kind, d = r["type"], r["data"]
        if kind in ("group.clock", "group.figures", "group.command"):
            continue
        detail = _record_detail(kind, d)
        when = parse_utc(r["utc"])
        rel = fmt_t((when - t0).total_seconds()) if when and t0 else "–"
        cls = ' class="welfare"' if kind == "group.welfare" and d.get("action") == "stop" else ""
        rows.append(
            f"<tr{cls}><td class=t>{_e(when.strftime('%H:%M:%S') if when else '–')}</td>"
            f"<td class=t>{_e(rel)}</td><td>{_e(kind.split('.', 1)[1].replace('_', ' '))}</td>"
            f"<td>{_e(detail)}</td></tr>"
        )
    head = "<thead><tr><th>UTC</th><th>Group time</th><th>Record</th><th>Detail</th></tr></thead>"
    return f"<table>{head}<tbody>{''.join(rows)}</tbody></table>"


def _record_detail(kind: str, d: dict[str, Any]) -> str:
    if kind == "group.member_added":
        return f"{d.get('player')} ({d.get('endpoint')})"
    if kind == "group.welfare":
        return f"{d.get('player')}: {d.get('action')}"
    if kind == "group.sessions_started":
        return ", ".join(f"{k}: {v}" for k, v in (d.get("participants") or {}).items())
    key = {"group.load": "film", "group.sessions_ended": "reason"}.get(kind, "player")
    return str(d.get(key) or "")


def _demote(fragment: str) -> str:
    """Per-session sections one heading level down, to sit under a participant's heading."""
    for a, b in (("h3", "h4"), ("h2", "h3")):
        fragment = fragment.replace(f"<{a}>", f"<{b}>").replace(f"</{a}>", f"</{b}>")
    return fragment


def build_group_report(data: GroupData, *, library: Any = None, frames: FrameCache | None = None) -> str:
    """The group report's HTML. ``library`` (a `content_manifest.Library`) adds chapters and pictures."""
    frames = frames or FrameCache(capacity=32, bucket_s=0.5)
    summary = sync_summary(data)
    facts = _facts(data, summary)
    facts_html = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    t0 = parse_utc(data.records[0]["utc"]) if data.records else None
    parts = []
    for ps in data.sessions:
        film_id = next((e.get("film") for e in ps.events if e.get("film")), None)
        film = library.films.get(film_id) if library is not None and film_id else None
        body = build_report(ps.events, film=film, poses=ps.poses, frames=frames, fragment=True)
        parts.append(
            f'<article class="participant"><h2>Participant {_e(ps.participant)} · {_e(ps.player)}</h2>'
            f"{_demote(body)}</article>"
        )
    participants = "".join(parts) or '<p class="empty">No participant session was started in this group.</p>'
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Group report – {_e(data.name)}</title>
<style>{_CSS}
article.participant{{break-before:page;margin-top:36px}}
article.participant>h2{{font-size:20px;border-bottom-width:4px}}
h4{{font-size:14px;margin:12px 0 6px}}
</style></head>
<body>
<h1>Group report</h1>
<p class="sub">group {_e(data.name)} · {len(data.sessions)} participant(s)</p>
<section><h2>Group</h2><dl class="facts">{facts_html}</dl></section>
<section><h2>Group commands and how they landed</h2>{_commands_table(summary, t0)}
<p class="empty">Each command was scheduled for one shared instant a lead ahead; "executed" counts the
players' own sync.executed events, "late" is how far after that instant a player acted.</p></section>
<section><h2>Sync figures per headset</h2>{_players_table(summary)}</section>
<section><h2>Group record</h2>{_group_events_table(data)}</section>
{participants}
<p class="foot">Generated {generated} by Viewpoint from {len(data.records)} group records and
{sum(len(p.events) for p in data.sessions)} logged events. Participant codes are pseudonymous; keep this
report with the session records and apply the same retention.</p>
</body></html>
"""


def write_group_report(data: GroupData, out: Path | str, **kwargs: Any) -> Path:
    """Write `build_group_report(data, **kwargs)` to ``out`` (UTF-8); returns the path."""
    out = Path(out)
    write_private_text(out, build_group_report(data, **kwargs))  # participant codes and notes: owner only
    return out
