"""The programme report: one self-contained HTML file (inline CSS and SVG, nothing fetched, nothing run) that
prints, and a CSV file of every table."""

from __future__ import annotations

import csv
import html
import io
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from facilitator.report.heatmap import colourise
from player.protocol.private import private_folder, write_private_text

from .figures import Figure, Filters
from .summary import GRID, WHOLE_FILM

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#1b1b1f;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:2px solid #ccd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{border:1px solid #ccd;padding:.25em .5em}
th{background:#eef;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.big{display:flex;flex-wrap:wrap;gap:1em}.big div{border:1px solid #ccd;border-radius:6px;padding:.6em 1em}
.big b{display:block;font-size:1.8em}.muted{color:#666}.heat{display:inline-block;margin:0 1em 1em 0}
ul.statements li{margin:.3em 0}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table,svg,.heat{break-inside:avoid}}
"""


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "–" if math.isnan(v) else f"{v:.2f}"
    return str(v)


def table_html(fig: Figure, columns: tuple[str, ...] | None = None) -> str:
    cols = columns or fig.columns
    idx = [fig.columns.index(c) for c in cols]
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in cols)
    body = []
    for r in fig.rows:
        cells = "".join(
            f'<td class="n">{_fmt(r[i])}</td>'
            if isinstance(r[i], (int, float)) and not isinstance(r[i], bool)
            else f"<td>{html.escape(_fmt(r[i]))}</td>"
            for i in idx
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return '<p class="muted">No data.</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def statements(agreement: Figure) -> list[str]:
    """ "79% of 48 agreed: …" for each item and phase (yes/no items: "said yes")."""
    out = []
    for r in agreement.dicts():
        verb = "said yes to" if r["kind"] == "yes_no" else "agreed with"
        when = {"pre": "before the film", "post": "after the film", "follow_up": "at follow-up"}[r["phase"]]
        out.append(
            f"{r['agreed_pct']:.0f}% of {r['n']} {verb} “{r['text']}” {when} ({r['agreed']} of {r['n']})."
        )
    return out


def area_statements(aoi: Figure) -> list[str]:
    """ "50% of 2 viewers looked at “the child behind the door” (1 of 2), for a median 6.0 s." per area."""
    out = []
    for r in aoi.dicts():
        if not r["viewers"]:
            continue
        name = r["label"] or r["area"]
        tail = f", for a median {r['median_s']:.1f} s" if r["looked"] else ""
        out.append(
            f"{r['looked_pct']:.0f}% of {r['viewers']} viewers looked at “{name}” ({r['looked']} of "
            f"{r['viewers']}){tail}."
        )
    return out


def forest_svg(paired: Figure) -> str:
    """Mean paired change with its 95% confidence interval, one row per item."""
    rows = [r for r in paired.dicts() if r["ci_low"] is not None]
    if not rows:
        return ""
    lo = min(min(r["ci_low"] for r in rows), 0.0)
    hi = max(max(r["ci_high"] for r in rows), 0.0)
    span = (hi - lo) or 1.0
    w, left, rh = 760, 330, 26
    h = rh * len(rows) + 30
    x = lambda v: left + (v - lo) / span * (w - left - 20)  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
        'aria-label="paired change with 95% confidence intervals">',
        f'<line x1="{x(0):.1f}" y1="0" x2="{x(0):.1f}" y2="{h - 20}" stroke="#888" stroke-dasharray="3"/>',
    ]
    for i, r in enumerate(rows):
        y = 15 + i * rh
        label = html.escape(f"{r['instrument']}.{r['item']} ({r['compare']}, n={r['n']})")
        parts.append(f'<text x="4" y="{y + 4}" font-size="11">{label}</text>')
        parts.append(
            f'<line x1="{x(r["ci_low"]):.1f}" y1="{y}" x2="{x(r["ci_high"]):.1f}" y2="{y}" '
            'stroke="#335" stroke-width="2"/>'
        )
        parts.append(f'<circle cx="{x(r["mean_change"]):.1f}" cy="{y}" r="4" fill="#c33"/>')
    parts.append(f'<text x="{left}" y="{h - 4}" font-size="10">{lo:.2f}</text>')
    parts.append(f'<text x="{w - 20}" y="{h - 4}" font-size="10" text-anchor="end">{hi:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def heatmaps_html(attention: Figure) -> str:
    """One cohort heatmap per film chapter: summed seconds per 15-degree cell, drawn as an SVG grid."""
    cols, rows = GRID
    groups: dict[tuple[str, str], tuple[np.ndarray, int]] = {}
    for r in attention.dicts():
        key = (r["film"] or "", r["chapter"] or WHOLE_FILM)
        grid, viewers = groups.get(key, (np.zeros((rows, cols)), 0))
        grid[divmod(int(r["cell"]), cols)] += r["seconds"]
        groups[key] = (grid, max(viewers, int(r["viewers"])))
    out = []
    size = 16
    for (film, chapter), (grid, viewers) in groups.items():  # in the rows' order: films, chapters by start
        peak = float(grid.max()) or 1.0
        ramp = colourise(grid / peak).astype(np.float64)
        alpha = np.maximum(ramp[..., 3:4] / 255.0, 0.35)  # faint cells stay visible
        rgba = ramp[..., :3] * alpha + np.array([244.0, 244.0, 248.0]) * (1.0 - alpha)
        cells = []
        for (r, c), v in np.ndenumerate(grid):
            red, green, blue = (int(x) for x in rgba[r, c, :3])  # the ramp laid over the page's grey
            fill = f"rgb({red},{green},{blue})" if v > 0 else "#f4f4f8"
            cells.append(
                f'<rect x="{c * size}" y="{r * size}" width="{size}" height="{size}" fill="{fill}">'
                f"<title>{v:.1f} s</title></rect>"
            )
        mid = cols * size / 2
        svg = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{cols * size}" '
            f'height="{rows * size}" role="img">'
            + "".join(cells)
            + f'<line x1="{mid}" y1="0" x2="{mid}" y2="{rows * size}" stroke="#888"/></svg>'
        )
        title = html.escape(f"{film} · {chapter or 'whole film'}")
        out.append(
            f'<div class="heat"><div><b>{title}</b> <span class="muted">{viewers} viewers of the film, '
            f"{grid.sum():.0f} s</span></div>{svg}</div>"
        )
    return "".join(out) or '<p class="muted">No attention recorded.</p>'


def build_html(figs: dict[str, Figure], *, title: str, filters: Filters, source: str) -> str:
    h = figs["headline"].dicts()[0] if figs["headline"].rows else {}
    big = "".join(
        f"<div><b>{_fmt(h.get(k))}</b>{label}</div>"
        for k, label in (
            ("sessions", "sessions"),
            ("participants", "participants"),
            ("sites", "sites"),
            ("films", "films"),
            ("completed_pct", "% completed"),
        )
    )
    items = "".join(f"<li>{html.escape(s)}</li>" for s in statements(figs["agreement"]))
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    e = html.escape
    parts = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{e(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1><p class=muted>Programme report · {e(filters.describe())} · from {e(source)} · "
        f"{now} · sessions {e(_fmt(h.get('first_day')))} to {e(_fmt(h.get('last_day')))}</p>",
        f'<div class="big">{big}</div>',
        "<h2>Sites</h2>",
        table_html(figs["sites"]),
        "<h2>Films</h2>",
        table_html(figs["films"]),
        "<h2>What participants said</h2>",
        f'<ul class="statements">{items}</ul>' if items else "<p>No answers.</p>",
        table_html(figs["agreement"], ("instrument", "item", "phase", "n", "agreed", "agreed_pct")),
        "<h2>Change from before to after (paired)</h2>",
        "<p class=muted>Each participant's answer before and after; mean change with its 95% "
        "confidence interval (Student's t) and effect size d<sub>z</sub> (mean change / SD of changes).</p>",
        forest_svg(figs["paired"]),
        table_html(
            figs["paired"],
            (
                "instrument",
                "item",
                "compare",
                "n",
                "mean_before",
                "mean_after",
                "mean_change",
                "ci_low",
                "ci_high",
                "effect_size",
            ),
        ),
        "<h2>Choices</h2>",
        table_html(figs["choices"]),
        "<h2>Simulator sickness (SSQ)</h2>",
        "<p class=muted>Kennedy et al. 1993 weighted scores: nausea ×9.54, oculomotor ×7.58, disorientation "
        "×13.92, total = sum of the raw subscale sums ×3.74; only complete questionnaires.</p>",
        table_html(figs["ssq"]),
        table_html(figs["ssq_change"]),
        "<h2>Welfare</h2>",
        table_html(figs["welfare"]),
        "<h3>By film chapter</h3>",
        table_html(figs["welfare_chapters"]),
        "<h2>Where viewers looked</h2>",
        "<p class=muted>The cohort's gaze per chapter: 15° cells of the picture, "
        "heading −180° (left) to 180°, up at the top; the line marks the film's front.</p>",
        heatmaps_html(figs["attention"]),
        "<h3>Areas of interest</h3>",
        "<p class=muted>Per area the film's manifest names: viewers = sessions that watched some of its time "
        "range with head tracking; looked = of those, how many turned to it; median seconds looking and "
        "median seconds from its appearing to the first look, of those who looked; not reached = tracked, "
        "but never while it was shown; not recorded = no pose consent or no head tracking.</p>",
        "".join(f"<p>{html.escape(line)}</p>" for line in area_statements(figs["aoi"])),
        table_html(figs["aoi"]),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_csv(figs: dict[str, Figure], folder: Path) -> list[Path]:
    private_folder(folder)
    out = []
    for name, fig in figs.items():
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(fig.columns)
        w.writerows(["" if v is None else v for v in r] for r in fig.rows)
        path = folder / f"{name}.csv"
        write_private_text(path, buf.getvalue(), newline="")
        out.append(path)
    return out


def write_report(
    figs: dict[str, Figure],
    out: Path,
    *,
    title: str,
    filters: Filters,
    source: str,
    csv_folder: Path | None = None,
) -> tuple[Path, list[Path]]:
    """The HTML file and, beside it (``NAME-tables/`` unless given), a CSV per table."""
    private_folder(out.parent)
    write_private_text(out, build_html(figs, title=title, filters=filters, source=source))
    folder = csv_folder or out.with_name(out.stem + "-tables")
    return out, write_csv(figs, folder)
