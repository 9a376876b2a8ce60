"""Bad input on the command lines gets one line naming what was wrong and where, and the right exit status
(2: bad input, 1: could not run), before any work is done or anything recorded is touched."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from content_manifest.cli import main as manifest_main
from facilitator.cli import main as facilitator_main
from player.cli import main as player_main
from player.headscript import HeadScript, HeadScriptError
from player.session.log import SessionLog


def _play(manifest: Path, *extra: str) -> list[str]:
    return [
        "play",
        "--manifest",
        str(manifest),
        "--film",
        "calibration-mono",
        "--backend",
        "headless",
        *extra,
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--retention-days", "-1"), "--retention-days: '-1': expected days, at least 1 and at most 36500"),
        (("--retention-days", "nan"), "--retention-days: 'nan': expected days, a finite number"),
        (("--display-rate", "nan"), "--display-rate: 'nan': expected a rate in Hz, a finite number"),
        (("--duration", "-1"), "--duration: '-1': expected seconds, more than 0"),
        (("--audio-period", "2"), "--audio-period: '2': expected milliseconds, at least 5 and at most 100"),
        (("--listen", "foo"), "--listen: 'foo': expected tcp://HOST:PORT or ipc://PATH"),
        (("--listen", "tcp://0.0.0.0:99999"), "the port must be 1..65533"),
    ],
)
def test_player_arguments_are_checked_before_it_starts(sample_manifest, capsys, extra, message):
    with pytest.raises(SystemExit) as exit_:
        player_main(_play(sample_manifest, *extra))
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_negative_retention_cannot_purge_the_log(sample_manifest, tmp_path, capsys):
    log = tmp_path / "log.sqlite"
    SessionLog(log).close()
    db = sqlite3.connect(log)
    db.execute(
        "INSERT INTO sessions(id, kind, participant, started_utc) VALUES('s1', 'facilitated', 'P1', 'x')"
    )
    db.commit()
    db.close()
    with pytest.raises(SystemExit):
        player_main(
            _play(
                sample_manifest, "--listen", "tcp://127.0.0.1:0", "--log", str(log), "--retention-days", "-1"
            )
        )
    db = sqlite3.connect(log)
    assert db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1
    db.close()


def test_output_paths_are_checked_before_the_work(sample_manifest, tmp_path, capsys):
    assert player_main(_play(sample_manifest, "--report", str(tmp_path))) == 2
    assert f"--report: {tmp_path} is a folder" in capsys.readouterr().err
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    assert player_main(_play(sample_manifest, "--snapshot-at", "1", "--out", str(not_a_folder))) == 2
    assert f"--out: {not_a_folder} is not a folder" in capsys.readouterr().err
    args = ["qa", "--manifest", str(sample_manifest), "--junit", str(not_a_folder / "j.xml")]
    assert player_main(args) == 2
    assert f"--junit: {not_a_folder} is not a folder" in capsys.readouterr().err


def test_an_unknown_film_is_named_as_the_option(sample_manifest, capsys):
    args = _play(sample_manifest)
    args[args.index("calibration-mono")] = "nope"
    assert player_main(args) == 2
    assert "--film: no film 'nope' in the library" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"- {t: 0, 1: 2, x: 3}\n", "keyframes[0]: unknown key 1"),
        (b"\xb1\xb2", "not a head script (not UTF-8 text)"),
        (b"[" * 3000 + b"]" * 3000, "nested too deeply"),
        (b"- {t: 0, heading: [}\n", "hs.yaml:1:20: not valid YAML"),
        (b"- {t: 0, heading: 1e999}\n", "keyframes[0].heading: expected a finite number, got inf"),
    ],
)
def test_bad_head_scripts(tmp_path, text, message):
    path = tmp_path / "hs.yaml"
    path.write_bytes(text)
    with pytest.raises(HeadScriptError) as err:
        HeadScript.load(path)
    assert message in str(err.value) and str(path.name) in str(err.value)


def test_a_deeply_nested_manifest_is_refused_with_a_message(tmp_path, capsys):
    path = tmp_path / "m.yaml"
    path.write_text("manifest_version: 1\nfilms: " + "[" * 600 + "]" * 600 + "\n")
    assert manifest_main(["check", str(path)]) == 2
    assert f"{path}:1:1: (document): lists or mappings nested too deeply" in capsys.readouterr().out


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")
def test_scan_skips_broken_links_and_refuses_a_manifest_it_cannot_read(sample_manifest, tmp_path, capsys):
    films = tmp_path / "films"
    films.mkdir()
    shutil.copy(sample_manifest.parent / "calibration-mono.mp4", films)
    os.symlink("nowhere.mp4", films / "broken.mp4")
    os.symlink("loop.mp4", films / "loop.mp4")
    out = films / "manifest.yaml"
    assert manifest_main(["scan", str(films), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"skipped {films / 'broken.mp4'}" in printed and f"skipped {films / 'loop.mp4'}" in printed
    out.write_bytes(b"\xff\xfe not text")
    assert manifest_main(["scan", str(films), "-o", str(out)]) == 2
    assert "cannot update it: it is not UTF-8 text" in capsys.readouterr().err
    out.write_text("films:\n  - id: a\n    id: b\n")
    assert manifest_main(["scan", str(films), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert 'line 3, column 5: while constructing a mapping: found duplicate key "id"' in err
    assert "\n" not in err.strip()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["purge", "--older-than", "-1"], "--older-than: '-1': expected days, at least 0"),
        (["--timeout", "0", "status"], "--timeout: '0': expected seconds, at least 0.05"),
        (["send", "seek", "t=1e999"], "1e999: not a finite number"),
        (["send", "seek", "--args", '{"t": NaN}'], "NaN: not a finite number"),
        (["pair", "foo", "AAAA-BBBB"], "foo: expected tcp://HOST:PORT or ipc://PATH"),
        (["sessions", "--limit", "-1"], "--limit: '-1': expected a count, at least 1"),
    ],
)
def test_facilitator_arguments(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.setenv("VIEWPOINT_FACILITATOR_HOME", str(tmp_path / "fh"))
    try:
        rc = facilitator_main(argv)
    except SystemExit as exit_:
        rc = exit_.code
    assert rc == 2
    assert message in capsys.readouterr().err


def test_a_store_that_is_not_there_is_not_made_by_reading_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIEWPOINT_FACILITATOR_HOME", str(tmp_path / "fh"))
    assert facilitator_main(["sessions", "--store", str(tmp_path / "typo.sqlite")]) == 2
    assert "no such file" in capsys.readouterr().err and not (tmp_path / "typo.sqlite").exists()


def test_damaged_player_records_are_named(tmp_path, monkeypatch, capsys):
    from player.protocol.keys import load_or_create_identity
    from tests.session_support import make_home

    home = make_home(tmp_path / "fh", "alice")
    home.remember(
        "room-1", "tcp://127.0.0.1:5999", load_or_create_identity(tmp_path / "p", "player").public, "lead"
    )
    monkeypatch.setenv("VIEWPOINT_FACILITATOR_HOME", str(tmp_path / "fh"))
    (tmp_path / "fh" / "players" / "room-1.key").write_text("garbage")
    assert facilitator_main(["status"]) == 2
    assert "room-1.key: cannot read the certificate" in capsys.readouterr().err
    (tmp_path / "fh" / "players" / "room-1.json").write_text("[1, 2]")
    assert facilitator_main(["status"]) == 2
    assert "room-1.json is damaged (not a player record" in capsys.readouterr().err
