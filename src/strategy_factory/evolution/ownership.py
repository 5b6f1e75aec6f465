"""The leases of the runs a process drives, renewed by a heartbeat thread.

A server's coordinator and ``factory evolve`` each hold the lease of every run they drive
(see :meth:`RunRepository.acquire`). A :class:`LeaseKeeper` renews them every third of the
lease; when the store says a lease is no longer held (it expired while the store was
away and another process took the run over), ``on_lost`` is told, so the driver lets go.
While the store is unreachable the renewals fail quietly: the leases then run out, and
whoever reaches the store first afterwards (this process included) resumes the runs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from strategy_factory.store import Run, Store

log = logging.getLogger(__name__)
DEFAULT_LEASE_SECONDS = 30.0


def new_owner_id(kind: str) -> str:
    """A unique id for a run driver: kind, host, process and a random suffix."""
    return f"{kind}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def dead_here(owner_id: str | None) -> bool:
    """Whether ``owner_id`` names a process of this machine that no longer exists.

    A run whose driver was killed on this machine can then be resumed at once instead of
    after its lease runs out. Owners of other machines are never judged dead here.
    """
    parts = (owner_id or "").rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    kind_and_host, pid = parts[0], int(parts[1])
    if not kind_and_host.endswith(f"-{socket.gethostname()}"):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        return False
    try:  # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return False


class LeaseKeeper:
    """Acquires, renews and releases run leases for one owner.

    Example::

        keeper = LeaseKeeper(store, new_owner_id("cli"))
        if keeper.acquire(run_id):
            keeper.start()
            ...                           # drive the run with owner_id=keeper.owner_id
            keeper.release(run_id)
            keeper.stop()
    """

    def __init__(
        self,
        store: Store,
        owner_id: str,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        on_lost: Callable[[str], None] | None = None,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self.store, self.owner_id, self.lease_seconds = store, owner_id, lease_seconds
        self.on_lost, self.on_tick = on_lost, on_tick
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def interval(self) -> float:
        """Seconds between renewals: a third of the lease."""
        return self.lease_seconds / 3

    def acquire(self, run_id: str, resume_failed: bool = False) -> Run | None:
        """Take the run's lease (None when another live owner holds it).

        A holder that was a process of this machine and no longer exists is not waited for.
        """
        holder = self.store.runs.get(run_id).owner_id
        dead = holder if holder != self.owner_id and dead_here(holder) else None
        run = self.store.runs.acquire(
            run_id, self.owner_id, self.lease_seconds, resume_failed, dead_owner=dead
        )
        if run is not None:
            with self._lock:
                self._held.add(run_id)
        return run

    def release(self, run_id: str) -> None:
        """Let go of a run's lease (a finished run has none left: nothing happens)."""
        with self._lock:
            self._held.discard(run_id)
        self.store.runs.release(run_id, self.owner_id)

    def forget(self, run_id: str) -> None:
        """Stop renewing a run's lease without writing (the store may be away)."""
        with self._lock:
            self._held.discard(run_id)

    def held(self) -> set[str]:
        """Ids of the runs whose leases this keeper renews."""
        with self._lock:
            return set(self._held)

    def start(self) -> None:
        """Renew in a background thread until :meth:`stop`."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._beat, name=f"leases-{self.owner_id}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """End the heartbeat thread (leases are kept until released or expired)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def renew(self) -> set[str]:
        """Renew every held lease now; returns the ids that were lost (and tells on_lost)."""
        held = self.held()
        renewed = self.store.runs.renew(sorted(held), self.owner_id, self.lease_seconds)
        lost = held - renewed
        for run_id in sorted(lost):
            log.warning("lost the lease of run %s: another process drives it now", run_id)
            self.forget(run_id)
            if self.on_lost is not None:
                self.on_lost(run_id)
        return lost

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.renew()
                if self.on_tick is not None:
                    self.on_tick()
            except Exception as exc:  # a dead keeper would let every lease run out
                log.warning(
                    "renewing run leases failed (%s); retrying in %.1f s", exc, self.interval
                )
