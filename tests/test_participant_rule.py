"""Issue 14: one participant code rule (player/protocol/participant.py) for the player, the console's page and
the CLI; a programme's own pattern in participant-codes.yaml beside the manifest, used by all three."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from content_manifest import load_library
from facilitator.client import CommandFailed
from facilitator.console.localplayer import start_local_player
from facilitator.console.server import ConsoleServer
from player.protocol.participant import (
    ParticipantCodeError,
    check_participant,
    load_rule,
    new_participant_code,
    rule_json,
)

BIN = Path(sys.executable).parent
NAMES = ["JaneSmith", "JohnDoe", "Jane_Smith", "JohnSmith1984", "Jane.Smith", "jane@example.org", "P 017",
         "07700900123", "P-1984", "12-03-1990"]  # fmt: skip


@pytest.mark.parametrize("code", NAMES)
def test_what_looks_like_a_name_contact_or_birth_date_is_refused_with_a_reason(code):
    with pytest.raises(ParticipantCodeError) as e:
        check_participant(code)
    assert str(e.value)  # the reason, e.g. "looks like a name"


def test_generated_and_typical_codes_pass():
    for code in ["P-017", "KQM-482", "P-7K3Q"] + [new_participant_code() for _ in range(200)]:
        assert check_participant(code) == code


def _programme(tmp_path: Path, sample_manifest: Path, rule: str) -> Path:
    lib = tmp_path / "library"
    shutil.copytree(sample_manifest.parent, lib)
    (lib / "participant-codes.yaml").write_text(rule, encoding="utf-8")
    return lib / "manifest.yaml"


def test_a_programme_rule_file_is_checked_with_one_line_errors(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("pattern: 'VP-[0-9]{3}'\nexample: VP-017\n")
    assert load_rule(good) == ("VP-[0-9]{3}", "VP-017")
    assert rule_json(*load_rule(good))["programme"] is True
    for text, why in [
        ("pattern: '[unclosed'\nexample: VP-017\n", "not a regular expression"),
        ("pattern: 'VP-[0-9]{3}'\nexample: Jane-Smith\n", "does not pass"),
        ("pattern: 'VP-[0-9]{3}'\nexample: VP-017\ncolour: red\n", "nothing else"),
        ("pattern: [1, 2\n", "cannot read"),
    ]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(ValueError) as e:
            load_rule(bad)
        assert str(bad) in str(e.value) and why in str(e.value) and "\n" not in str(e.value)


def test_the_programme_rule_applies_in_the_player_the_console_and_the_cli(tmp_path, sample_manifest):
    manifest = _programme(tmp_path, sample_manifest, "pattern: 'VP-[0-9]{3}'\nexample: VP-017\n")
    player = start_local_player(manifest, tmp_path / "p", extra_args=["--eye-size", "32x32"])
    console = ConsoleServer({"p": player.link("p")}, library=load_library(manifest), port=0)
    lead = player.client()
    try:
        consent = {"given": True}
        with pytest.raises(CommandFailed) as e:
            lead.request("session.start", {"participant": "P-017", "consent": consent})
        assert e.value.code == "bad_args" and "programme's pattern" in e.value.message
        with pytest.raises(CommandFailed) as e:  # the shared refusals still apply
            lead.request("session.start", {"participant": "JaneSmith", "consent": consent})
        assert "looks like a name" in e.value.message
        assert lead.request("session.start", {"participant": "VP-017", "consent": consent})["participant"]
        url = console.start()
        base, token = url.split("?")
        rule = json.load(urllib.request.urlopen(f"{base}api/protocol?{token}", timeout=10))["participant"]
        assert rule["pattern"] == "VP-[0-9]{3}" and rule["example"] == "VP-017" and rule["programme"] is True
        assert json.load(urllib.request.urlopen(f"{base}api/new-code?{token}", timeout=10))["code"] == ""
    finally:
        lead.close()
        console.stop()
        player.stop()

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "viewpoint-facilitator"), "code", *args], capture_output=True,
                              text=True, timeout=60)  # fmt: skip

    assert cli("--library", str(manifest), "VP-017").returncode == 0
    refused = cli("--library", str(manifest), "P-017")
    assert refused.returncode == 2 and "programme's pattern" in refused.stderr
    refused = cli("JohnSmith1984")
    assert (
        refused.returncode == 2
        and "JohnSmith1984" in refused.stderr
        and len(refused.stderr.splitlines()) == 1
    )
    fresh = cli()
    assert fresh.returncode == 0 and check_participant(fresh.stdout.strip())
