"""The session report: one self-contained HTML file (images inline) that reads on screen and prints to PDF."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image

from facilitator.report.aoi import areas_html, session_dwell
from facilitator.report.frames import FrameCache, FrameError
from facilitator.report.heatmap import heatmap_image
from facilitator.report.model import Session, summarise
from player import protocol as P
from player.protocol.private import write_private_text


def fmt_t(t: float | None) -> str:
    """Media time as m:ss.s (or h:mm:ss)."""
    if t is None:
        return "–"
    t = max(0.0, float(t))
    h, rem = divmod(t, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{s:04.1f}" if h else f"{int(m)}:{s:04.1f}"


def fmt_dur(t: float | None) -> str:
    if t is None:
        return "–"
    t = round(t)
    h, rem = divmod(t, 3600)
    m, s = divmod(rem, 60)
    return f"{h} h {m:02d} min" if h else (f"{m} min {s:02d} s" if m else f"{s} s")


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _tags(tags: list[str]) -> str:
    return "".join(f"<span class=tag>{_e(t)}</span>" for t in tags if t != "prompt")


def _data_uri(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@dataclass
class FilmInfo:
    """What the report needs of a film (a `content_manifest.Film` works too)."""

    id: str
    title: str = ""
    path: Path | None = None
    projection: str = "equirect360"
    stereo: str = "mono"
    duration: float | None = None
    chapters: list = None  # type: ignore[assignment]
    content_warnings: list = None  # type: ignore[assignment]
    safe_points: list = None  # type: ignore[assignment]
    areas: list = None  # type: ignore[assignment]  # content_manifest.Area


def _chapters(film: Any, duration: float | None) -> list[tuple[str, str, float, float | None, list[str]]]:
    chs = list(getattr(film, "chapters", None) or [])
    out = []
    for i, ch in enumerate(chs):
        end = chs[i + 1].start if i + 1 < len(chs) else duration
        out.append(
            (ch.id, getattr(ch, "title", ch.id) or ch.id, float(ch.start), end, list(ch.prompts or []))
        )
    return out


def _event_label(ev: dict) -> str:
    return P.event_label(str(ev.get("type", "")), ev.get("data") or {})


def _event_detail(ev: dict) -> str:
    data = ev.get("data") or {}
    parts = []
    for key in ("reason", "level", "title", "chapter", "tags", "note", "to", "t", "source", "by"):
        if key in data and data[key] not in (None, "", []):
            val = data[key]
            if isinstance(val, list):
                val = ", ".join(map(str, val))
            if isinstance(val, float):
                val = fmt_t(val)
            parts.append(f"{key}: {val}")
    return "; ".join(parts)


def _answers_html(events: list[dict]) -> str:
    """The participant's questionnaire answers (``questionnaire.answered``; docs/evaluation.md), in order."""
    rows = [
        f"<tr><td>{_e(d.get('phase'))}</td><td>{_e(d.get('instrument'))}</td><td>{_e(d.get('item'))}</td>"
        f"<td>{_e(d.get('value'))}</td></tr>"
        for d in ((ev.get("data") or {}) for ev in events if ev.get("type") == "questionnaire.answered")
    ]
    if not rows:
        return '<p class="empty">No questionnaire answers in this session.</p>'
    head = "<thead><tr><th>When</th><th>Questionnaire</th><th>Item</th><th>Answer</th></tr></thead>"
    return f"<table>{head}<tbody>{''.join(rows)}</tbody></table>"


def _timeline_svg(session: Session, film: Any, duration: float) -> str:
    """Media-time strip: chapters, content warnings, safe points, annotations and welfare events."""
    W, L, R = 1000, 10, 10
    span = max(duration, 1e-6)

    def x(t: float) -> float:
        return L + (W - L - R) * min(max(t, 0.0), span) / span

    rows: list[str] = []
    palette = ["#dbe7f6", "#c7dbf2"]
    for i, (_cid, title, start, end, _p) in enumerate(_chapters(film, duration)):
        x0, x1 = x(start), x(end if end is not None else duration)
        rows.append(
            f'<rect x="{x0:.1f}" y="18" width="{max(1, x1 - x0):.1f}" height="26" fill="{palette[i % 2]}" '
            f'stroke="#5b7fa8" stroke-width="0.6"/>'
            f'<text x="{x0 + 4:.1f}" y="35" class="lbl">{_e(title)}</text>'
        )
    for w in getattr(film, "content_warnings", None) or []:
        x0, x1 = x(w.start), x(w.end)
        rows.append(
            f'<rect x="{x0:.1f}" y="50" width="{max(2, x1 - x0):.1f}" height="14" fill="#f6c08a" '
            'stroke="#b25b00" '
            f'stroke-width="0.6"><title>{_e(", ".join(w.tags))}: {_e(w.note)}</title></rect>'
            f'<text x="{x0 + 3:.1f}" y="61" class="sm">{_e(", ".join(w.tags))}</text>'
        )
    for sp in getattr(film, "safe_points", None) or []:
        rows.append(
            f'<path d="M{x(sp):.1f} 68 l5 8 h-10 z" fill="#2e7d32">'
            f"<title>safe point {fmt_t(sp)}</title></path>"
        )
    for a in session.notes + session.prompts_used:
        if a.media_t is None:
            continue
        colour = "#6a1b9a" if a in session.prompts_used else "#1565c0"
        rows.append(
            f'<line x1="{x(a.media_t):.1f}" y1="82" x2="{x(a.media_t):.1f}" y2="100" stroke="{colour}" '
            f'stroke-width="2"/><circle cx="{x(a.media_t):.1f}" cy="82" r="3.5" fill="{colour}">'
            f"<title>{_e(fmt_t(a.media_t))} {_e(a.text)}</title></circle>"
        )
    for ev in session.welfare:
        mt = ev.get("media_t")
        if not isinstance(mt, (int, float)):
            continue
        level = (ev.get("data") or {}).get("level") or str(ev.get("type")).split(".", 1)[-1]
        colour = {"stop": "#c62828", "none": "#2e7d32", "resume": "#2e7d32"}.get(level, "#ef6c00")
        rows.append(
            f'<rect x="{x(mt) - 4:.1f}" y="104" width="8" height="8" fill="{colour}" transform="rotate(45 '
            f'{x(mt):.1f} 108)"><title>{_e(_event_label(ev))} at {fmt_t(mt)}</title></rect>'
        )
    ticks = []
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800) if span / s <= 10), 3600)
    t = 0.0
    while t <= span + 1e-6:
        ticks.append(
            f'<line x1="{x(t):.1f}" y1="120" x2="{x(t):.1f}" y2="125" stroke="#444"/>'
            f'<text x="{x(t):.1f}" y="137" class="sm" text-anchor="middle">{fmt_t(t)}</text>'
        )
        t += step
    legend = (
        '<text x="10" y="12" class="sm">chapters · content warnings (orange) · safe points (green) · '
        "notes (blue) · prompts used (purple) · welfare (red: stop, orange: soften)</text>"
    )
    return (
        f'<svg viewBox="0 0 {W} 142" role="img" aria-label="Timeline of the film" class="timeline">'
        "<style>.lbl{font:12px sans-serif;fill:#102a43}.sm{font:10px sans-serif;fill:#333}</style>"
        f"{legend}"
        f'<line x1="{L}" y1="120" x2="{W - R}" y2="120" stroke="#444"/>{"".join(rows)}{"".join(ticks)}</svg>'
    )


_CSS = """
:root{--ink:#102a43;--muted:#52606d;--line:#cbd2d9;--accent:#1f4e79}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);
 margin:0 auto;max-width:1000px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid var(--accent);
 padding-bottom:4px}h3{font-size:15px;margin:14px 0 6px}
.sub{color:var(--muted);margin:0 0 16px}
dl.facts{display:grid;grid-template-columns:repeat(3,1fr);gap:8px 18px;margin:0}
dl.facts div{border-left:3px solid var(--accent);padding:2px 8px}dl.facts div.wide{grid-column:1/-1}
dl.facts div.wide dd{font-weight:normal}
dt{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}dd{margin:0;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f0f4f8}td.t{white-space:nowrap;font-variant-numeric:tabular-nums}
tr.welfare td{background:#fdecea}tr.soft td{background:#fff4e5}tr.resume td{background:#edf7ed}
.tag{display:inline-block;border:1px solid var(--accent);color:var(--accent);border-radius:10px;padding:0 7px;
 font-size:12px;margin-right:3px}
svg.timeline{width:100%;height:auto;border:1px solid var(--line);background:#fff}
figure{margin:8px 0 16px;break-inside:avoid;page-break-inside:avoid}
figure img{width:100%;height:auto;border:1px solid var(--line);display:block}
figcaption{font-size:13px;color:var(--muted)}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:14px}
.empty{color:var(--muted);font-style:italic}
.foot{margin-top:30px;font-size:12px;color:var(--muted)}
@page{size:A4;margin:14mm}
@media print{body{padding:0;max-width:none;font-size:12px}h2,h3{break-after:avoid}ul{break-inside:avoid}
 tr{break-inside:avoid}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def build_report(
    events: list[dict],
    *,
    film: Any = None,
    poses: list[tuple[float, ...]] = (),
    frames: FrameCache | None = None,
    title: str = "Session report",
    fragment: bool = False,
) -> str:
    """The report's HTML for a session's events and pose samples (mono, media_t, x, y, z, w).

    `film` (a manifest `Film` or `FilmInfo`) adds chapters, warnings, prompts and the film's picture under
    the heatmaps; without it the heatmaps use a plain grid. `fragment`: only the session's sections (no
    page around them), for a report that holds several sessions (a group's, `report.group`).
    """
    s = summarise(events, poses, float(getattr(film, "front_heading", 0.0) or 0.0))
    frames = frames or FrameCache(capacity=32, bucket_s=0.5)
    duration = float(getattr(film, "duration", None) or 0.0) or max(s.max_media_t, 1.0)
    projection = getattr(film, "projection", "equirect360") or "equirect360"
    film_title = getattr(film, "title", None) or s.film or "–"

    def picture(t: float) -> Image.Image | None:
        path = getattr(film, "path", None)
        if not path:
            return None
        try:
            return frames.get(path, t, stereo=getattr(film, "stereo", "mono"), width=720)
        except FrameError:
            return None

    facts = [
        ("Film", f"{film_title}" + (f" ({s.film})" if s.film and s.film != film_title else "")),
        ("Participant code", s.participant or "–"),
        ("Facilitated by", s.facilitator or "–"),
        ("Session", s.session_id or "–"),
        ("Started (UTC)", s.started_utc.strftime("%Y-%m-%d %H:%M:%S") if s.started_utc else "–"),
        ("Session length", fmt_dur(s.duration_s)),
        ("Time watched", fmt_dur(s.watched_s)),
        ("Furthest point", f"{fmt_t(s.max_media_t)} of {fmt_t(duration)}"),
        ("Pauses / seeks", f"{s.pauses} / {s.seeks}"),
        ("Welfare events", str(len(s.welfare))),
        ("Notes", str(len(s.notes))),
        ("Headset", s.player or "–"),
    ]
    if s.consent:
        consent = ", ".join(
            f"{k.replace('_', ' ')}: {'yes' if v is True else 'no' if v is False else v}"
            for k, v in s.consent.items()
        )
        facts.append(("Consent", consent))
    facts_html = "".join(
        f"<div{' class=wide' if k == 'Consent' else ''}><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>"
        for k, v in facts
    )

    t0 = s.started_utc or s.first_utc
    rows = []
    for ev in s.timeline:
        utc = ev.get("utc")
        when = "–"
        try:
            dt = datetime.fromisoformat(str(utc).replace("Z", "+00:00"))
            when = dt.strftime("%H:%M:%S")
            rel = fmt_t((dt - t0).total_seconds()) if t0 else ""
        except (ValueError, TypeError):
            rel = ""
        etype = str(ev.get("type"))
        level = (ev.get("data") or {}).get("level") or etype.split(".", 1)[-1]
        cls = ""
        if etype.startswith("viewer.") or (etype.startswith("welfare.") and level == "stop"):
            cls = ' class="welfare"'
        elif etype.startswith("welfare.") and level in ("none", "resume"):
            cls = ' class="resume"'
        elif etype.startswith("welfare."):
            cls = ' class="soft"'
        rows.append(
            f"<tr{cls}><td class=t>{_e(when)}</td><td class=t>{_e(rel)}</td>"
            f"<td class=t>{_e(fmt_t(ev.get('media_t')))}"
            f"</td><td>{_e(_event_label(ev))}</td><td>{_e(_event_detail(ev))}</td></tr>"
        )
    events_html = (
        "<table><thead><tr><th>UTC</th><th>Session</th><th>Film</th><th>Event</th><th>Detail</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else '<p class="empty">No transport or welfare events were logged.</p>'
    )

    def ann_table(items: list) -> str:
        if not items:
            return '<p class="empty">None.</p>'
        body = "".join(
            f"<tr><td class=t>{_e(fmt_t(a.media_t))}</td><td>{_tags(a.tags)}"
            f"</td><td>{_e(a.text)}{' <small>(edited)</small>' if a.edits else ''}</td></tr>"
            for a in sorted(items, key=lambda a: a.media_t or 0.0)
        )
        head = "<thead><tr><th>Film time</th><th>Tags</th><th>Text</th></tr></thead>"
        return f"<table>{head}<tbody>{body}</tbody></table>"

    deleted = sum(1 for a in s.annotations if a.deleted)
    notes_html = ann_table(s.notes) + (
        f'<p class="empty">{deleted} note(s) deleted during the session (kept in the log).</p>'
        if deleted
        else ""
    )

    chapters = _chapters(film, duration)
    prompts_listed = ""
    if chapters:
        items = []
        used = {a.text for a in s.prompts_used}
        for _cid, ctitle, _st, _en, prompts in chapters:
            if prompts:
                lis = "".join(f"<li>{'✔ ' if p in used else ''}{_e(p)}</li>" for p in prompts)
                items.append(f"<h3>{_e(ctitle)}</h3><ul>{lis}</ul>")
        prompts_listed = "".join(items)
    prompts_html = ann_table(s.prompts_used) + (
        f"<h3>Prompts offered by the film</h3>{prompts_listed}" if prompts_listed else ""
    )

    figs = []
    if s.pose_refused:  # nothing drawn, whatever was sent
        s.gaze = []
        figs.append('<p class="empty">Not recorded: the viewer did not agree to pose capture.</p>')
    else:
        whole, secs = heatmap_image(s.gaze, picture(duration / 2), projection=projection)
        figs.append(
            f'<figure><img src="{_data_uri(whole)}" alt="Attention heatmap, whole film">'
            f"<figcaption>Whole film: {fmt_dur(secs)} of head tracking. "
            "Left edge = behind (−180°), centre = the film's front."
            "</figcaption></figure>"
        )
        per = []
        for _cid, ctitle, st, en, _p in chapters:
            end = en if en is not None else duration
            gaze = [g for g in s.gaze if st <= g[0] < end]
            img, secs = heatmap_image(gaze, picture((st + end) / 2), size=(480, 240), projection=projection)
            tracked = f"{fmt_dur(secs)} tracked" if secs > 0 else "not watched with head tracking"
            per.append(
                f'<figure><img src="{_data_uri(img)}" alt="Attention heatmap, {_e(ctitle)}"><figcaption>'
                f"{_e(ctitle)} ({fmt_t(st)}–{fmt_t(end)}): "
                f"{tracked}.</figcaption></figure>"
            )
        if per:
            figs.append(f'<h3>Per chapter</h3><div class="grid2">{"".join(per)}</div>')
        if not s.gaze:
            figs.insert(0, '<p class="empty">No head-tracking samples were logged for this session.</p>')

    areas = list(getattr(film, "areas", None) or [])
    aoi_html = ""
    if areas:  # the film names areas of interest (docs/manifest.md)
        aoi_html = f"<section><h2>Areas of interest</h2>{areas_html(session_dwell(s, areas))}</section>\n"
    sections = f"""<section><h2>Session</h2><dl class="facts">{facts_html}</dl></section>
<section><h2>Timeline</h2>{_timeline_svg(s, film, duration)}</section>
<section><h2>Notes</h2>{notes_html}</section>
<section><h2>Discussion prompts used</h2>{prompts_html}</section>
<section><h2>Questionnaire answers</h2>{_answers_html(events)}</section>
<section><h2>Where the viewer looked</h2>{"".join(figs)}</section>
{aoi_html}<section><h2>Transport and welfare events</h2>{events_html}</section>"""
    if fragment:
        return sections
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{_e(title)} – {_e(film_title)} – {_e(s.participant or s.session_id)}</title>
<style>{_CSS}</style></head>
<body>
<h1>{_e(title)}</h1>
<p class="sub">{_e(film_title)} · participant {_e(s.participant or "–")} ·
session {_e(s.session_id or "–")}</p>
{sections}
<p class="foot">Generated {generated} by Viewpoint from {s.event_count} logged events. Participant codes are
pseudonymous; keep this report with the session records and apply the same retention.</p>
</body></html>
"""


def write_report(events: list[dict], out: Path | str, **kwargs: Any) -> Path:
    """Write `build_report(events, **kwargs)` to `out` (UTF-8); returns the path."""
    out = Path(out)
    write_private_text(out, build_report(events, **kwargs))  # participant codes and notes: owner only
    return out
