"""The learning cycle in the server: started over the API, or on the schedule set in the
learning settings (``schedule.enabled``, ``schedule.every_hours``). Runs the genome search
launches are driven by the server's coordinator, like runs started over the API.

A cycle runs in a thread of its own; the request that starts it gets the cycle's record
at once (its steps fill in as they end). Every server sharing the store may run the
schedule: the store lets one cycle run at a time, and a server starts a scheduled one
only when the newest cycle began at least ``every_hours`` ago.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from strategy_factory.data import BarCatalog
from strategy_factory.errors import BusyError
from strategy_factory.learning.cycle import execute_cycle, start_cycle
from strategy_factory.learning.settings import load_settings
from strategy_factory.store import LearningCycle, Store
from strategy_factory.understanding.loop import understanding_steps

log = logging.getLogger(__name__)


class LearningRunner:
    """Runs learning cycles in the background, on request and on the schedule."""

    def __init__(
        self,
        store: Store,
        catalog: BarCatalog,
        poll_seconds: float = 60.0,
        on_launch: Callable[[str], object] | None = None,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._on_launch = on_launch
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._cycle: threading.Thread | None = None
        self._scheduler = threading.Thread(target=self._schedule, name="learning-schedule")
        self._scheduler.daemon = True

    def start(self) -> None:
        """Start watching the schedule."""
        self._scheduler.start()

    def run(self, trigger: str) -> LearningCycle:
        """Start a cycle now; its record as started (raises :class:`BusyError` while one
        runs here or anywhere else on the store)."""
        with self._lock:
            if self._cycle is not None and self._cycle.is_alive():
                raise BusyError("a learning cycle is running on this server: wait for it")
            cycle = start_cycle(self._store, trigger)
            self._cycle = threading.Thread(
                target=self._execute, args=(cycle,), name=f"learning-cycle-{cycle.id}"
            )
            self._cycle.daemon = True
            self._cycle.start()
        return cycle

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the cycle running here, if any, to end."""
        thread = self._cycle
        if thread is not None:
            thread.join(timeout)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop the schedule and give a running cycle ``timeout`` seconds to end (one that
        does not is closed as abandoned by the next cycle to start)."""
        self._stop.set()
        if self._scheduler.is_alive():
            self._scheduler.join(timeout)
        self.wait(timeout)

    def _execute(self, cycle: LearningCycle) -> None:
        try:
            execute_cycle(
                self._store,
                self._catalog,
                cycle,
                on_launch=self._on_launch,
                extra_steps=understanding_steps(self._store),
            )
        except Exception:
            log.exception("learning cycle %s failed", cycle.id)

    def _schedule(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                self._maybe_run()
            except BusyError:
                continue
            except Exception:
                log.exception("the learning schedule could not start a cycle")

    def _maybe_run(self) -> None:
        schedule = load_settings(self._store).schedule
        if not schedule.enabled:
            return
        recent = self._store.cycles.recent(limit=1)
        if recent:
            elapsed = (datetime.now(UTC) - recent[0].started_at).total_seconds()
            if elapsed < schedule.every_hours * 3600:
                return
        self.run("schedule")
