"""Private files: session data (participant codes, notes, poses, reports, exports, keys) is created
readable by its owner only (0600 in 0700 folders; an owner-only ACL on Windows) and written whole by
temp-and-rename."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def restrict_to_owner(path: Path) -> None:
    """Make a file readable by its owner only: 0600 on POSIX, an owner-only ACL on Windows."""
    if sys.platform == "win32":
        user = os.environ.get("USERNAME")
        if user:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    ["icacls", str(path), "/inheritance:r", "/grant:r", f"{user}:F"],
                    check=False,
                    capture_output=True,
                    timeout=10,
                )
    else:
        os.chmod(path, 0o600)


def write_private_text(path: Path, content: str, newline: str | None = None) -> None:
    """Write a file whole, readable by its owner only (see :func:`private_replace`)."""
    with private_replace(path, "w", encoding="utf-8", newline=newline) as f:
        f.write(content)


@contextlib.contextmanager
def private_replace(path: Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """A new private file in ``path``'s folder (created exclusively: never a file someone else made),
    renamed over ``path`` only when the block ends without an error; otherwise removed. A reader sees
    the old file or the whole new one, never a part."""
    private_folder(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            with contextlib.suppress(OSError):
                restrict_to_owner(Path(tmp))
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def open_private(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """Open a file for writing, created readable by its owner only (what session data is written to)."""
    private_folder(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    f = os.fdopen(os.open(path, flags, 0o600), mode, **kwargs)
    with contextlib.suppress(OSError):
        restrict_to_owner(path)
    return f


def private_file(path: Path) -> Path:
    """Make sure a data file (a session log or store: participant codes, notes, poses) exists and only its
    owner can read it; SQLite gives its -wal and -shm files the same permissions."""
    private_folder(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600))
    with contextlib.suppress(OSError):  # someone else's file: left as it is
        restrict_to_owner(path)
    return path


def private_folder(path: Path) -> None:
    """Create a folder (with its parents) that only its owner can enter; an existing one is left as it is."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
