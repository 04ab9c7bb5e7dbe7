"""One training process per run directory: an exclusive ``flock`` on ``<run>/.lock``.

The operating system drops the lock when its process ends, however it ends, so a run killed
with ``kill -9`` never blocks its own ``--resume``; the file keeps the PID of the holder for the
message a second process gets.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ganzoo.errors import GanzooError

LOCK_FILE = ".lock"


class RunLock:
    """Held from ``acquire`` until ``release`` or the end of the process."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise GanzooError(f"{self.path.parent} is being trained by process {holder}; wait for it to "
                              "finish or stop it (a run directory takes one training at a time)") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.release()


def holder(run_dir: Path) -> str | None:
    """The PID that trains ``run_dir`` now, or None when no process holds its lock (this one
    takes and drops the lock to find out, without writing anything)."""
    path = Path(run_dir) / LOCK_FILE
    if not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.read(fd, 32).decode(errors="replace").strip() or "?"
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def is_main_process() -> bool:
    """Rank 0 under torchrun (the rank that writes the run directory), or a plain process."""
    return int(os.environ.get("RANK", "0")) == 0
