"""The architecture's rules: the import contracts cover every part of player/, and the one-table rules hold
(every event the player's code emits is in the catalogue; the controller handles exactly the catalogue's
controller commands)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from player import protocol as P
from player.control import COMMANDS as CONTROLLER_COMMANDS

ROOT = Path(__file__).resolve().parent.parent


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def _player_parts() -> set[str]:
    parts = set()
    for p in (ROOT / "player").iterdir():
        if p.name.startswith(("_", ".")) or p.name == "protocol":
            continue
        if p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()):
            parts.add(f"player.{p.stem}")
    return parts


def test_the_import_contracts_name_every_part_of_player_but_the_protocol():
    forbidden = [set(c["forbidden_modules"]) for c in _contracts() if c["type"] == "forbidden"]
    assert len(forbidden) == 2
    for names in forbidden:
        missing = _player_parts() - names
        assert not missing, f"add {sorted(missing)} to the forbidden_modules of pyproject's import contracts"


def test_every_event_type_the_player_emits_is_in_the_catalogue():
    emitted: set[str] = set()
    pattern = re.compile(r"""(?:emit|append|_emit|record_event)\(\s*["']([a-z_]+(?:\.[a-z_]+)*)["']""")
    for path in (ROOT / "player").rglob("*.py"):
        if "protocol" in path.parts:
            continue
        emitted.update(pattern.findall(path.read_text(encoding="utf-8")))
    assert {"welfare.changed", "session.started", "command"} <= emitted  # the scan finds emissions
    unknown = {e for e in emitted if "." in e or e == "command"} - set(P.EVENTS)
    assert not unknown, f"emitted but not in player.protocol.events.EVENTS: {sorted(unknown)}"


def test_the_controller_handles_exactly_the_catalogues_controller_commands():
    controller = {n for n, s in P.COMMANDS.items() if s.target == P.CONTROLLER}
    assert set(CONTROLLER_COMMANDS) == controller


def test_urgency_and_page_pass_through_come_from_the_catalogue():
    assert {"welfare"} == P.URGENT_COMMANDS
    assert P.COMMANDS["welfare"].args["action"].check("stop", "args.action") == "stop"
    assert "purge" not in P.PAGE_COMMANDS and "welfare" in P.PAGE_COMMANDS
