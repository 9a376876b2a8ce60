"""``viewpoint-facilitator group``: discovery listing and a scripted rehearsal with two local players."""

from __future__ import annotations

import json

import pytest

from facilitator.cli import main


def test_group_discover_lists_manual_addresses(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert (
        main(
            ["group", "discover", "--wait", "0", "--manual", "front=127.0.0.1:5999", "--home", str(tmp_path)]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "front" in out and "tcp://127.0.0.1:5999" in out and "not paired" in out


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_group_rehearse_script(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    record = tmp_path / "group.jsonl"
    script = "start; play; wait 0.5; pause; seek 12; chapter middle; rejoin headset-2; status; quit"
    assert main(["group", "rehearse", "2", "--script", script, "--record", str(record)]) == 0
    out = capsys.readouterr().out
    assert "chapter middle (15.000 s)" in out and "sessions started: headset-1 " in out
    status = json.loads(out[out.index("{\n") : out.rindex("}") + 1])
    assert [p["name"] for p in status["players"]] == ["headset-1", "headset-2"]
    kinds = [json.loads(line)["type"] for line in record.read_text().splitlines()]
    assert kinds.count("group.command") == 4 and "group.rejoin" in kinds and "group.clock" in kinds


def test_group_run_names_unknown_players(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert main(["group", "run", "--players", "nobody", "--home", str(tmp_path)]) == 2
    assert "not a paired player" in capsys.readouterr().err
