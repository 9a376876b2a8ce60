"""`viewpoint-facilitator programme collect|push|report` (docs/evaluation.md).

Exit status: 0 done, 1 could not run (a store or the central database unreachable), 2 refused (bad input).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from facilitator.store import StoreError

HELP = "programme evaluation: collect session summaries, push them to PostgreSQL, write the programme report"
PROG = "viewpoint-facilitator programme"
DEFAULT_DB = "programme.duckdb"


class Refused(Exception):
    """Bad input (exit 2)."""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a date YYYY-MM-DD") from None


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        days = float("nan")
    if not 0 <= days <= 36500:
        raise argparse.ArgumentTypeError(f"{text!r}: expected days, 0..36500")
    return days


def _dsn(text: str) -> str:
    if not text.startswith(("postgresql://", "postgres://")):
        raise argparse.ArgumentTypeError(f"{text!r}: expected postgresql://[user@]host[:port]/database")
    return text


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="programme_command", metavar="collect|push|report|purge")
    sub.required = True

    s = sub.add_parser(
        "collect", help="summarise facilitator stores (and Parquet exchange folders) into --db"
    )
    s.add_argument(
        "--store",
        type=Path,
        action="append",
        default=None,
        help="facilitator store to read (repeat for several; default: the one in --home)",
    )
    s.add_argument(
        "--parquet-in",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="an exchange folder written by --parquet-out on another laptop (repeatable)",
    )
    s.add_argument("--site", default="local", help="site the sessions come from (unless a session names one)")
    s.add_argument(
        "--cohort", default=None, help="cohort the sessions belong to (unless a session names one)"
    )
    s.add_argument("--include-text", action="store_true", help="also collect free-text answers")
    s.add_argument(
        "--parquet-out",
        type=Path,
        default=None,
        metavar="DIR",
        help="then write the whole store as Parquet files to DIR (the exchange format)",
    )
    _common(s)
    s.set_defaults(programme_func=run_collect)

    s = sub.add_parser("push", help="send the store's sessions to a central PostgreSQL (idempotent)")
    s.add_argument("--to", type=_dsn, required=True, metavar="postgresql://...", help="the central database")
    s.add_argument(
        "--db", type=Path, default=Path(DEFAULT_DB), help=f"programme store (default {DEFAULT_DB})"
    )
    s.set_defaults(programme_func=run_push)

    s = sub.add_parser(
        "purge", help="delete the store's sessions older than the retention period (bytes too)"
    )
    s.add_argument("--older-than", type=_days, required=True, metavar="DAYS", help="age in days")
    s.add_argument(
        "--db", type=Path, default=Path(DEFAULT_DB), help=f"programme store (default {DEFAULT_DB})"
    )
    s.set_defaults(programme_func=run_purge)

    s = sub.add_parser("report", help="write the programme report: one HTML file and a CSV per table")
    s.add_argument("-o", "--output", type=Path, default=Path("programme.html"), help="HTML file to write")
    s.add_argument(
        "--from",
        dest="source",
        default=None,
        metavar="SOURCE",
        help="postgresql://... or a Parquet exchange folder (default: --db)",
    )
    s.add_argument(
        "--db", type=Path, default=Path(DEFAULT_DB), help=f"programme store (default {DEFAULT_DB})"
    )
    s.add_argument(
        "--csv", type=Path, default=None, metavar="DIR", help="CSV folder (default OUTPUT-tables/)"
    )
    s.add_argument("--title", default=None, help="report title (default: Programme report)")
    for name in ("site", "cohort", "film"):
        s.add_argument(f"--{name}", action="append", default=[], help=f"only this {name} (repeatable)")
    s.add_argument("--since", type=_day, default=None, metavar="YYYY-MM-DD", help="sessions from this day")
    s.add_argument("--until", type=_day, default=None, metavar="YYYY-MM-DD", help="sessions up to this day")
    s.set_defaults(programme_func=run_report)


def _common(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--db", type=Path, default=Path(DEFAULT_DB), help=f"programme store (default {DEFAULT_DB})"
    )
    s.add_argument(
        "--programme",
        type=Path,
        default=None,
        metavar="YAML",
        help="programme.yaml (default: the one beside --library, else the built-in SSQ only)",
    )
    s.add_argument(
        "--library",
        type=Path,
        default=None,
        help="film library manifest: front headings and areas of interest (default: manifest.yaml beside "
        "programme.yaml)",
    )


def _programme(args: argparse.Namespace):
    from .definition import builtin_programme, load_programme

    path = args.programme
    if path is None and args.library is not None and (args.library.parent / "programme.yaml").is_file():
        path = args.library.parent / "programme.yaml"
    if path is None:
        print(f"{PROG}: no programme.yaml: only the built-in SSQ is collected", file=sys.stderr)
        return builtin_programme()
    return load_programme(path)


def _library(args: argparse.Namespace, programme_path: str) -> Path | None:
    """--library, else the library manifest beside programme.yaml (its films' areas of interest)."""
    if args.library is not None:
        return args.library
    from .collect import library_beside

    beside = library_beside(programme_path)
    if beside is not None:
        return beside
    print(f"{PROG}: no library manifest (--library): areas of interest are not measured", file=sys.stderr)
    return None


def run_collect(args: argparse.Namespace) -> int:
    from .collect import collect_store, film_facts
    from .store import ProgrammeStore

    programme = _programme(args)
    films = film_facts(_library(args, programme.path))
    stores = args.store
    if stores is None and not args.parquet_in:
        from facilitator.client import FacilitatorHome

        stores = [FacilitatorHome(getattr(args, "home", None)).store_path]
    target = ProgrammeStore(args.db)
    try:
        for folder in args.parquet_in:
            print(f"{folder}: {target.import_parquet(folder)} sessions")
        for path in stores or []:
            done = collect_store(
                target,
                path,
                programme,
                site=args.site,
                cohort=args.cohort,
                films=films,
                include_text=args.include_text,
            )
            print(f"{path}: {done.sessions} sessions, {done.answers} answers")
            for line in done.skipped[:20]:
                print(f"{PROG}: skipped answer: {line}", file=sys.stderr)
            if len(done.skipped) > 20:
                print(f"{PROG}: ... and {len(done.skipped) - 20} more answers skipped", file=sys.stderr)
        if args.parquet_out is not None:
            target.export_parquet(args.parquet_out)
            print(f"{args.parquet_out}: Parquet exchange folder")
        print(f"{args.db}: {target.count()} sessions in the programme store")
    finally:
        target.close()
    return 0


def run_push(args: argparse.Namespace) -> int:
    from .central import push, where
    from .store import ProgrammeStore

    store = ProgrammeStore(args.db, read_only=True)
    try:
        sent = push(store, args.to)
    finally:
        store.close()
    print(
        f"{where(args.to)}: {sent['sessions']} sessions pushed (rows: "
        + ", ".join(f"{k} {v}" for k, v in sent.items() if k != "sessions")
        + ")"
    )
    return 0


def run_purge(args: argparse.Namespace) -> int:
    from .store import ProgrammeStore, ProgrammeStoreError

    if not args.db.is_file():
        raise ProgrammeStoreError(f"{args.db}: no programme store here")
    store = ProgrammeStore(args.db)
    try:
        ids = store.purge(args.older_than)
    finally:
        store.close()
    print(
        f"{args.db}: {len(ids)} sessions purged"
        + (f" ({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})" if ids else "")
    )
    return 0


def run_report(args: argparse.Namespace) -> int:
    from .figures import Filters, figures
    from .report import write_report
    from .store import ProgrammeStore

    if args.source and args.source.startswith(("postgresql://", "postgres://")):
        from .central import pull, where

        store, source = pull(args.source), where(args.source)
    elif args.source:
        store, source = ProgrammeStore.over_parquet(Path(args.source)), args.source
    else:
        store, source = ProgrammeStore(args.db, read_only=True), str(args.db)
    filters = Filters(tuple(args.site), tuple(args.cohort), tuple(args.film), args.since, args.until)
    try:
        figs = figures(store.con, filters)
    finally:
        store.close()
    title = args.title or "Programme report"
    html, tables = write_report(
        figs, args.output, title=title, filters=filters, source=source, csv_folder=args.csv
    )
    print(html)
    print(f"{tables[0].parent}: {len(tables)} CSV tables")
    return 0


def run(args: argparse.Namespace) -> int:
    from content_manifest import ManifestError

    from .central import CentralError
    from .definition import ProgrammeError
    from .store import ProgrammeStoreError

    try:
        return args.programme_func(args)
    except ProgrammeError as exc:
        print(f"{PROG}: invalid programme:\n{exc}", file=sys.stderr)
        return 2
    except ManifestError as exc:
        print(f"{PROG}: invalid library manifest:\n{exc}", file=sys.stderr)
        return 2
    except Refused as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except (ProgrammeStoreError, CentralError, StoreError, OSError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=HELP)
    add_arguments(p)
    return run(p.parse_args(argv))
