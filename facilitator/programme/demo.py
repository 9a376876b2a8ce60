"""The programme part of `make demo`: the scripted session answers the example programme before and after the
film (as ``answer`` commands), and a programme report is built from it and several generated sessions."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from facilitator.store import FacilitatorStore

from .collect import collect_store, film_facts, library_beside
from .definition import EXAMPLE, Programme, load_programme
from .figures import Filters, figures
from .report import write_report
from .store import ProgrammeStore
from .synthetic import fill_store

# the scripted participant's answers: a little more understanding after the film, a little queasier
_SCRIPTED = {
    ("likert", "pre"): 3,
    ("likert", "post"): 4,
    ("scale_0_10", "pre"): 5,
    ("scale_0_10", "post"): 7,
    ("yes_no", "post"): "yes",
    ("ssq", "pre"): 0,
    ("ssq", "post"): 1,
}


def demo_programme(library_manifest: Path, film: str) -> Path:
    """Write the example programme beside the demo library (whose manifest names ``film``'s areas of
    interest)."""
    path = Path(library_manifest).parent / "programme.yaml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), "utf-8")
    return path


def answer_all(client: Any, programme: Programme, phase: str, film: str) -> int:
    """Send the scripted answers to every question of ``phase`` (``client.request("answer", ...)``)."""
    sent = 0
    for inst in programme.instruments.values():
        if phase not in inst.when or (inst.films and film not in inst.films):
            continue
        for item in inst.items:
            value = _SCRIPTED.get((item.kind, phase))
            if item.kind == "choice":
                value = item.labels[0]
            if value is None:
                continue  # free text: the scripted participant leaves it
            client.request("answer", {"instrument": inst.id, "item": item.id, "phase": phase, "value": value})
            sent += 1
    return sent


def write_demo_programme_report(
    out_dir: Path,
    programme_path: Path,
    session: tuple[list[dict], list[tuple[float, ...]]],
    *,
    film: str,
    generated: int = 11,
    say: Callable[[str], None] = print,
) -> Path:
    """A programme report from the scripted session (events, poses) and ``generated`` generated sessions."""
    programme = load_programme(programme_path)
    folder = Path(out_dir) / "programme"
    for name in ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm", "programme.duckdb"):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
    store = FacilitatorStore(folder / "store.sqlite")
    try:
        fill_store(store, programme, generated, film=film)
        events, poses = session
        for ev in events:
            store.add("demo-headset", ev)
        sid = next((e["session"] for e in events if e.get("session")), "")
        for i, (mono, media_t, *q) in enumerate(poses):
            store.add_pose(
                "demo-headset",
                {"session": sid, "pseq": i + 1, "mono": mono, "media_t": media_t, "data": {"q": list(q)}},
            )
    finally:
        store.close()
    target = ProgrammeStore(folder / "programme.duckdb")
    try:
        films = film_facts(library_beside(programme_path))  # the areas of interest of the library's films
        done = collect_store(target, folder / "store.sqlite", programme, site="demo", films=films)
        figs = figures(target.con, Filters())
    finally:
        target.close()
    html, _ = write_report(
        figs,
        Path(out_dir) / "programme.html",
        title=programme.title or "Programme report",
        filters=Filters(),
        source=str(folder / "programme.duckdb"),
    )
    say(f"demo: programme report ({done.sessions} sessions: the scripted one, {generated} generated): {html}")
    return html
