"""Reading film and subtitle files safely: only regular files are opened and read.

A FIFO blocks the reader forever, ``/dev/zero`` never ends and a terminal can be a prompt; any of them (or a
link to one) named as a film is refused by name, before a byte is read. The file is opened without blocking
(``O_NONBLOCK``) and its kind checked on the open descriptor, so a file swapped for a FIFO between the check
and the read is caught too.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFile(OSError):
    """The path names something other than a regular file (its message says what)."""


def kind_of(mode: int) -> str:
    """What a stat mode describes, in words ('a regular file', 'a FIFO (named pipe)', ...)."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def irregular(path: str | os.PathLike[str]) -> str | None:
    """None for a regular file (or a link to one); else why it cannot be read as a film, in words.

    Raises FileNotFoundError when nothing is there (a dangling link included)."""
    st = os.stat(path)
    if stat.S_ISREG(st.st_mode):
        return None
    what = kind_of(st.st_mode)
    if os.path.islink(path):
        return f"is a link to {what} ({os.path.realpath(path)})"
    return f"is {what}"


def open_regular(path: str | os.PathLike[str]):
    """Open ``path`` for reading in binary mode if it is a regular file; raise NotRegularFile otherwise."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            link = f"a link to {os.path.realpath(path)}, " if os.path.islink(path) else ""
            raise NotRegularFile(f"{os.fspath(path)}: {link}{kind_of(st.st_mode)}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def sha256_regular(
    path: str | os.PathLike[str],
    on_block: Callable[[int], None] | None = None,
    block: int = 4 << 20,
    stop: Callable[[], bool] | None = None,
) -> str:
    """SHA-256 of a regular file's content (NotRegularFile for anything else); ``on_block(n)`` after each
    block read, ``stop()`` checked between blocks (True raises InterruptedError)."""
    h = hashlib.sha256()
    with open_regular(path) as f:
        while chunk := f.read(block):
            if stop is not None and stop():
                raise InterruptedError(f"{Path(path).name}: hashing stopped")
            h.update(chunk)
            if on_block is not None:
                on_block(len(chunk))
    return h.hexdigest()
