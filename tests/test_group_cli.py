"""``viewpoint-facilitator group``: discovery listing and a scripted rehearsal with two local players."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from facilitator.cli import main
from tests.support import wait_for


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


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.skipif(sys.platform == "win32", reason="--exit-with-parent watches the parent on POSIX only")
def test_a_rehearsals_players_end_when_the_program_that_started_them_is_killed(tmp_path) -> None:
    """A console or bench killed outright (SIGKILL: no ``finally``) once left its rehearsal's players running
    for good, each taking CPU from whatever ran next; started with ``--exit-with-parent``, they end."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        pids = [int(x) for x in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
    finally:
        parent.kill()
        parent.wait(10)
    assert wait_for(lambda: not any(_alive(p) for p in pids), 20), pids
    log = (tmp_path / "players" / "headset-1" / "stderr.txt").read_text()
    assert "Traceback" not in log, log


PARENT = """
import sys, time
from pathlib import Path
from facilitator.group.rehearsal import Rehearsal, write_rehearsal_library
root = Path(sys.argv[1])
r = Rehearsal(root / "players", 2, write_rehearsal_library(root / "library", seconds=5)).start(timeout=90)
print(*(p.process.pid for p in r.players), flush=True)
time.sleep(600)
"""
ROOT = Path(__file__).resolve().parents[1]


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped by its new parent, counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
