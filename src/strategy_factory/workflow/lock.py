"""One process runs a workflow at a time: an operating-system lock on its workspace.

``run_workflow`` holds an exclusive ``flock`` on ``metadata/run.lock`` while it runs. The
operating system lets go of it when the process ends in any way, ``kill -9`` included,
so a workflow whose manifest says ``running`` while nobody holds its lock was
interrupted and may be resumed; one whose lock is held is being run right now, and a
second runner is refused (:class:`WorkflowBusyError`) before it touches anything.

:func:`is_running` asks with a shared lock held for an instant, so readers (the API, the
dashboard polling it) never block a runner for long: a runner waits up to
:data:`WAIT_SECONDS` for such readers to let go. POSIX only (``fcntl``); where it is
missing no lock is taken and :func:`is_running` cannot tell (``None``).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from strategy_factory.errors import FactoryError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "metadata/run.lock"
WAIT_SECONDS = 2.0
_PAUSE = 0.01


class WorkflowBusyError(FactoryError):
    """Another process is running this workflow now."""


def lock_path(root: Path) -> Path:
    """The lock file of the workspace at ``root``."""
    return root / LOCK_FILE


@contextmanager
def holding(root: Path, wait_seconds: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the workspace's run lock for the block, or raise :class:`WorkflowBusyError`."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    path = lock_path(root)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(descriptor, root, wait_seconds)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # closing lets go of the lock


def _acquire(descriptor: int, root: Path, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise WorkflowBusyError(
                    f"workflow {root.name} is being run by another process ({holder(root)}); "
                    "wait for it to finish, or stop that process first"
                ) from None
            time.sleep(_PAUSE)


def is_running(root: Path) -> bool | None:
    """Whether some process holds the workflow's run lock now (``None``: cannot tell)."""
    path = lock_path(root)
    if fcntl is None or not root.is_dir():
        return None
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False  # never run since locks exist
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def holder(root: Path) -> str:
    """Who holds (or last held) the lock, as its runner wrote it: ``pid N on HOST``."""
    try:
        text = lock_path(root).read_text().strip()
    except OSError:
        text = ""
    return text or "unknown process"
