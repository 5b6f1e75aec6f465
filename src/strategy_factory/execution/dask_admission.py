"""Which Dask workers may run this client's units: those of its strategy-factory version.

The client registers a :class:`VersionGate` worker plugin. Dask runs its ``setup`` on every
worker of the cluster, those there now and every one that joins later. A worker whose
``strategy_factory.__version__`` is the client's is granted the resource
``strategy-factory==VERSION`` (one per thread), and every unit's task asks for one of it,
so the scheduler places units only on such workers. Any other worker is granted nothing —
it never runs a unit — and publishes why on the event topic :func:`refused_topic`, which
the client shows where the user looks.

This module imports nothing of the package and is shipped to the workers by value, so a
worker without strategy-factory installed is refused with a message too instead of
failing to load the plugin.
"""

from __future__ import annotations

import logging
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

log = logging.getLogger("strategy_factory.execution.dask_admission")


def refused_topic(version: str) -> str:
    """The event topic on which the gate of ``version`` reports the workers it refused."""
    return f"strategy-factory-refused-by-{version}"


def resource_name(version: str) -> str:
    """The Dask resource that workers of strategy-factory ``version`` hold."""
    return f"strategy-factory=={version}"


def worker_version() -> str | None:
    """This process's ``strategy_factory.__version__``, or None when it is not installed."""
    try:
        import strategy_factory
    except ImportError:
        return None
    return str(strategy_factory.__version__)


def refusal(worker: str, found: str | None, expected: str) -> str:
    """What to tell the user about worker ``worker`` running version ``found``."""
    runs = f"runs strategy-factory {found}" if found else "has no strategy-factory installed"
    return (
        f"Dask worker {worker} {runs}, this client {expected}: it runs none of this client's "
        f"units; install strategy-factory {expected} on it"
    )


class VersionGate(WorkerPlugin):
    """Grants the version's resource to workers of ``version``; refuses the others by event."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.name = f"strategy-factory-gate-{version}"

    async def setup(self, worker: Any) -> None:
        found = worker_version()
        if found == self.version:
            await worker.set_resources(**{resource_name(self.version): worker.state.nthreads})
            return
        message = refusal(worker.address, found, self.version)
        log.warning(message)
        event = {"worker": worker.address, "message": message}
        worker.log_event(refused_topic(self.version), event)
