"""docs/protocol.md is checked against the wire contract's tables, and its example client runs (twice)
against a real player: what an outside implementer reads is what the player does."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from player import protocol as P
from player.protocol.keys import load_or_create_identity, write_public_cert
from tests.session_support import Player

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")


def _table_names(heading: str) -> list[str]:
    """First-column names of the markdown tables in the section under ``heading``."""
    start = DOC.index(heading)
    nxt = re.search(r"^##+ ", DOC[start + len(heading) :], flags=re.M)
    section = DOC[start : start + len(heading) + (nxt.start() if nxt else len(DOC))]
    names = []
    for line in section.splitlines():
        m = re.match(r"^\| `([^`]+)`(?: / `([^`]+)`)?(?:, `([^`]+)`)? \|", line)
        if m:
            names.extend(n for n in m.groups() if n)
    return names


def test_the_command_table_is_the_catalogue():
    rows = {}
    section = DOC[DOC.index("## Commands and replies") : DOC.index("### The command catalogue")]
    for line in section.splitlines():
        m = re.match(r"^\| `([^`]+)`(?: / `([^`]+)`)? \| (any|lead) \|", line)
        if m:
            for name in filter(None, m.groups()[:2]):
                rows[name] = m.group(3)
    assert set(rows) == set(P.COMMANDS), set(rows) ^ set(P.COMMANDS)
    for name, who in rows.items():
        assert (who == "lead") == P.COMMANDS[name].lead_only, f"{name}: docs say {who}"


def test_every_error_code_is_documented_and_no_other():
    assert set(_table_names("### Error codes")) == set(P.ERROR_CODES)


def test_the_event_tables_are_the_catalogue():
    documented = set(_table_names("## Events")) - {"session", "seq", "mono", "utc", "film", "media_t"}
    documented -= {"type", "data"}
    assert documented == set(P.EVENTS), documented ^ set(P.EVENTS)


def test_the_state_table_is_the_fold():
    fields = set(_table_names("### The state (snapshot and fold)"))
    assert fields == set(P.initial_state()), fields ^ set(P.initial_state())


def test_the_example_client_runs_twice_against_a_real_player(sample_manifest, tmp_path):
    player = Player(sample_manifest, tmp_path / "p1", "p1")
    tool = load_or_create_identity(tmp_path / "tool", "tool")
    write_public_cert(player.keys / "authorized" / "tool.key", tool.public, {"role": "lead", "name": "tool"})
    player.start()
    try:
        for _ in range(2):  # fixed ids made the second run hang
            run = subprocess.run(
                [sys.executable, str(ROOT / "docs/examples/protocol_client.py"), player.endpoint,
                 str(player.keys / "player.key"), str(tmp_path / "tool" / "tool.key_secret")],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert run.returncode == 0, run.stdout + run.stderr
            assert "annotation.added" in run.stdout
    finally:
        player.stop()
