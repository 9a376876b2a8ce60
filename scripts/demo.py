"""The demo session behind `make demo`: generate the sample library and check it end to end."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from content_manifest.cli import main as manifest_main
from content_manifest.sample import write_sample_library


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("build/demo"))
    args = ap.parse_args(argv)
    manifest = write_sample_library(args.out / "library")
    print(f"sample library: {manifest}")
    return manifest_main(["check", str(manifest), "--verify-media"])


if __name__ == "__main__":
    sys.exit(main())
