"""docs/cli.md, the command-line reference, is what the commands' own parsers say (scripts/cli_reference.py
writes it): every command, subcommand and option of viewpoint-player, viewpoint-facilitator and
viewpoint-manifest is documented, with its choices, default and help."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import cli_reference  # noqa: E402


def test_the_reference_is_what_the_parsers_say_now():
    committed = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == cli_reference.reference(), (
        "docs/cli.md is out of date: .venv/bin/python scripts/cli_reference.py"
    )


def test_every_option_of_every_command_is_in_the_reference():
    """Walks the parsers itself (not the script's walk): an option the script would leave out fails here."""
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")

    def options(parser: argparse.ArgumentParser, path: tuple[str, ...]):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from options(sub, (*path, name))
            elif action.help != argparse.SUPPRESS:
                for o in action.option_strings:
                    if o not in ("-h", "--help"):
                        yield path, o

    def section(path: tuple[str, ...]) -> str:
        heading = f"# `{' '.join(path)}`\n"
        assert heading in text, f"no section for {' '.join(path)}"
        return text[text.index(heading) + len(heading) :].split("\n#")[0]

    for top, make in cli_reference.parsers():
        for path, option in options(make(), (top,)):
            assert f"`{option}`" in section(path), f"{' '.join(path)} {option}: not in docs/cli.md"
