"""`viewpoint-manifest`: check, scan, sample and schema for film library manifests.

Exit status: 0 valid / done, 2 invalid manifest, 1 could not run (unreadable file, bad arguments, no PyAV).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="viewpoint-manifest", description="Viewpoint film library manifests.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="validate a manifest and report every problem")
    p.add_argument("manifest", type=Path)
    p.add_argument(
        "--verify-media",
        action="store_true",
        help="also open every film with PyAV: sha256, decode start to end, compare with the manifest",
    )
    p.add_argument(
        "--no-files", action="store_true", help="do not look at the film and subtitle files at all"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    p.add_argument("--json", action="store_true", help="print one JSON object: valid, films, problems")

    p = sub.add_parser("scan", help="build or update a manifest from a folder of films")
    p.add_argument("folder", type=Path)
    p.add_argument("-o", "--output", type=Path, help="manifest to write (default: FOLDER/manifest.yaml)")
    p.add_argument("--no-hash", action="store_true", help="keep existing sha256 values instead of hashing")

    p = sub.add_parser("sample", help="write the calibration sample library into a folder")
    p.add_argument("folder", type=Path)

    p = sub.add_parser("schema", help="print the manifest's JSON Schema (draft 2020-12)")
    p.add_argument("-o", "--output", type=Path, help="write to a file instead of stdout")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"check": _check, "scan": _scan, "sample": _sample, "schema": _schema}[args.command](args)
    except KeyboardInterrupt:
        print("viewpoint-manifest: interrupted", file=sys.stderr)
        return EXIT_FAILED


def _check(args: argparse.Namespace) -> int:
    from .loader import check_manifest

    try:
        library, problems = check_manifest(args.manifest, check_files=not args.no_files)
    except OSError as e:
        print(f"viewpoint-manifest: cannot read {args.manifest}: {e.strerror or e}", file=sys.stderr)
        return EXIT_FAILED
    if library is not None and args.verify_media:
        from .verify import verify_library

        try:
            problems = problems + verify_library(library, args.manifest)
        except ImportError as e:
            print(f"viewpoint-manifest: --verify-media needs PyAV: {e}", file=sys.stderr)
            return EXIT_FAILED
        problems.sort(key=lambda p: (p.line, p.col))
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if args.json:
        report = {
            "manifest": str(args.manifest),
            "valid": not errors,
            "films": list(library.films) if library is not None else [],
            "media_verified": bool(args.verify_media and library is not None),
            "problems": [dataclasses.asdict(p) for p in problems],
        }
        print(json.dumps(report, indent=2))
        return EXIT_INVALID if errors else EXIT_OK
    for p in problems:
        print(p)
    if errors:
        print(f"{args.manifest}: invalid: {errors} error(s), {warnings} warning(s)", file=sys.stderr)
        return EXIT_INVALID
    if not args.quiet:
        assert library is not None
        media = ", media verified" if args.verify_media else ""
        print(f"{args.manifest}: valid: {len(library.films)} film(s){media}, {warnings} warning(s)")
    return EXIT_OK


def _scan(args: argparse.Namespace) -> int:
    from .scan import ScanError, scan_folder

    output = args.output or args.folder / "manifest.yaml"
    try:
        report = scan_folder(args.folder, output, rehash=not args.no_hash)
    except ScanError as e:
        print(f"viewpoint-manifest: {e}", file=sys.stderr)
        return EXIT_INVALID if e.invalid else EXIT_FAILED
    except OSError as e:
        print(f"viewpoint-manifest: {e.filename or args.folder}: {e.strerror or e}", file=sys.stderr)
        return EXIT_FAILED
    for line in report.messages:
        print(line)
    print(
        f"{output}: {len(report.films)} film(s) ({report.added} new, {report.updated} updated, "
        f"{report.missing} kept though missing)"
    )
    if any(p.severity == "error" for p in report.problems):
        print(f"{output}: written, but invalid: fix the problems above", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def _sample(args: argparse.Namespace) -> int:
    from .sample import write_sample_library

    try:
        manifest = write_sample_library(args.folder)
    except OSError as e:
        print(
            f"viewpoint-manifest: cannot write {e.filename or args.folder}: {e.strerror or e}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(manifest)
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from .schema import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if args.output:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as e:
            print(f"viewpoint-manifest: cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
            return EXIT_FAILED
    else:
        sys.stdout.write(text)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
