"""Write docs/cli.md, the command-line reference, from the three commands' own parsers.

Every command and subcommand, its usage, and each argument with its choices, default and help, taken from
the argparse parsers the commands run with: the reference cannot say something the code does not.
``tests/test_cli_docs.py`` checks that the committed file is what this script writes now.

    .venv/bin/python scripts/cli_reference.py            # rewrite docs/cli.md
    .venv/bin/python scripts/cli_reference.py --check    # exit 1 when docs/cli.md is out of date
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "cli.md"
WIDTH = 110  # usage lines are wrapped here, whatever the terminal


def parsers() -> list[tuple[str, Callable[[], argparse.ArgumentParser]]]:
    from content_manifest.cli import _parser as manifest_parser
    from facilitator.cli import build_parser as facilitator_parser
    from player.cli import build_parser as player_parser

    return [
        ("viewpoint-player", player_parser),
        ("viewpoint-facilitator", facilitator_parser),
        ("viewpoint-manifest", manifest_parser),
    ]


@contextlib.contextmanager
def linux_defaults() -> Iterator[None]:
    """Help texts that name this machine's folders name Linux's defaults instead (one file everywhere)."""
    import player.cli

    real = player.cli.player_home
    player.cli.player_home = lambda env=None, platform=None: Path("~/.local/share/viewpoint/player")
    try:
        yield
    finally:
        player.cli.player_home = real


def _walk(parser: argparse.ArgumentParser, path: list[str], help_text: str) -> Iterator[tuple]:
    yield path, parser, help_text
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield from _walk(sub, [*path, name], helps.get(name) or "")


def _usage(parser: argparse.ArgumentParser, prog: str) -> str:
    fmt = argparse.HelpFormatter(prog, width=WIDTH)
    fmt.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups, prefix="")
    return fmt.format_help().strip()


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _argument(action: argparse.Action, prog: str) -> tuple[str, str, str] | None:
    if (
        isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
        or action.help == argparse.SUPPRESS
    ):
        return None
    name = ", ".join(f"`{o}`" for o in action.option_strings) or f"`{action.metavar or action.dest}`"
    if action.choices is not None:
        name += " " + "\\|".join(str(c) for c in action.choices)
    elif action.option_strings and action.nargs != 0:
        name += " " + _cell(str(action.metavar or action.dest.upper()))
    help_text = action.help or ""
    if "%" in help_text:
        help_text = help_text % {**vars(action), "prog": prog}
    default = action.default
    shown = "" if default in (None, False, argparse.SUPPRESS) or isinstance(default, list) else f"`{default}`"
    return name, shown, _cell(help_text)


def reference() -> str:
    lines = [
        "# Command-line reference",
        "",
        "Written by `scripts/cli_reference.py` from the commands' own parsers; `tests/test_cli_docs.py`",
        "fails when this file and the code disagree. What the commands do, and why, is in the other",
        "documents (`renderer.md` for the player; `console.md`, `group.md` and `evaluation.md` for the",
        "facilitator's; `manifest.md` for manifests).",
        "",
    ]
    for top, make in parsers():
        with linux_defaults():
            root = make()
        for path, parser, help_text in _walk(root, [top], ""):
            prog = " ".join(path)
            lines += [f"{'#' * min(len(path) + 1, 4)} `{prog}`", ""]
            about = help_text or parser.description or ""
            if about:
                lines += [_cell(about.split("\n\n")[0]), ""]
            lines += ["```", _usage(parser, prog), "```", ""]
            rows = [r for r in (_argument(a, prog) for a in parser._actions) if r is not None]
            if rows:
                lines += ["| argument | default | what |", "|---|---|---|"]
                lines += [f"| {n} | {d} | {h} |" for n, d, h in rows]
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only say whether docs/cli.md is up to date")
    args = ap.parse_args(argv)
    text = reference()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(
                "docs/cli.md is out of date: run .venv/bin/python scripts/cli_reference.py", file=sys.stderr
            )
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
