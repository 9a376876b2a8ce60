"""A listening player under Monado for the scripted OpenXR sessions (facilitated.py, questionnaire.py):
start it with ``--listen`` on a free block of ports, keep its output, wait for the pairing code it prints,
and end it. Run inside the xr root (scripts/xr-root.sh)."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from facilitator.console.localplayer import free_port_block


class ListeningPlayer:
    """``viewpoint-player play --backend openxr --listen`` as a child process, its output kept by line."""

    def __init__(self, args: argparse.Namespace, work: Path, extra: list[str] | None = None) -> None:
        self.endpoint = f"tcp://127.0.0.1:{free_port_block()}"
        self.log_path = work / "session.sqlite"
        cmd = [sys.executable, "-m", "player.cli", "play", "--backend", "openxr", "--manifest", args.library,
               "--film", args.film, "--listen", self.endpoint, "--keys", str(work / "keys"),
               "--log", str(self.log_path), "--audio", "null", "--hwdec", "none", "--name", "headset-1",
               *(extra or [])]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out_lines: list[str] = []
        self.err_lines: list[str] = []
        self._codes: list[str] = []
        for stream, sink, find in (
            (self.proc.stdout, self.out_lines, True),
            (self.proc.stderr, self.err_lines, False),
        ):
            threading.Thread(target=self._read, args=(stream, sink, find), daemon=True).start()

    def _read(self, stream, sink: list[str], find_code: bool) -> None:
        for line in stream:
            sink.append(line)
            m = re.search(r"pairing code (\S+)", line) if find_code else None
            if m:
                self._codes.append(m.group(1))

    def pairing_code(self, timeout: float = 30.0) -> str:
        """The first pairing code the player printed (waits for it); RuntimeError if none came."""
        deadline = time.monotonic() + timeout
        while not self._codes and time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
        if not self._codes:
            raise RuntimeError("the player printed no pairing code")
        return self._codes[0]

    def end(self, report: dict) -> None:
        """Terminate the player if it still runs, and keep the tail of its output in ``report``."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        time.sleep(0.2)
        report["stdout"] = "".join(self.out_lines)[-4000:]
        report["stderr"] = "".join(self.err_lines)[-4000:]


def script_main(run: Callable[[argparse.Namespace], dict], description: str, argv: list[str] | None) -> int:
    """The scripts' command line: --library, --film, --workdir, --report; the report is ``run``'s JSON."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--library", required=True)
    ap.add_argument("--film", default="calibration-mono")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--report", required=True)
    args = ap.parse_args(argv)
    report = run(args)
    Path(args.report).write_text(json.dumps(report, indent=1, default=str))
    return 0 if report.get("ok") else 1
