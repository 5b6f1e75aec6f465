"""Where a run's units run: the one validated model of the executor settings.

``factory evolve`` and ``factory workflow run/resume`` options (``--executor``,
``--workers``, ``--scheduler``), the same keys in an evolution or workflow YAML file,
``factory serve`` (``--executor``, ``--scheduler``, ``FACTORY_DASK_SCHEDULER``) and the
service's ``GET /health`` all go through :class:`ExecutorSettings`.

Example::

    ExecutorSettings.load({"executor": "dask", "scheduler": "tcp://10.0.0.5:8786"}).build()
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from strategy_factory.errors import FactoryError, describe_problems

if TYPE_CHECKING:
    from strategy_factory.execution.local import Executor

FIELDS = ("executor", "workers", "scheduler")
# A Dask address: tcp://host:port (or another of Dask's transports).
SCHEDULER_PATTERN = r"^(tcp|tls|ws|wss|ucx|inproc)://[^\s/]+$"


class ExecutorSettings(BaseModel):
    """``executor``: ``local`` (a process pool of ``workers``, default every core; 1 =
    in process), ``queue`` (the durable job queue, for ``factory serve``) or ``dask`` (the
    cluster at ``scheduler``, default ``FACTORY_DASK_SCHEDULER``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    executor: Literal["local", "queue", "dask"] = "local"
    workers: int | None = Field(None, ge=1, le=1024)
    scheduler: str | None = Field(None, max_length=256)

    @field_validator("scheduler")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and not re.match(SCHEDULER_PATTERN, value):
            raise ValueError(
                f"must be a Dask scheduler address like tcp://host:8786, not {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ExecutorSettings:
        if self.scheduler is not None and self.executor != "dask":
            raise ValueError(
                f"scheduler is the Dask cluster's address: set executor to dask, or drop "
                f"scheduler (executor is {self.executor})"
            )
        if self.workers is not None and self.executor != "local":
            raise ValueError(
                f"workers sizes the local process pool: drop it with executor "
                f"{self.executor} (its workers are the cluster's or the queue's)"
            )
        return self

    @classmethod
    def load(cls, data: dict[str, Any], where: str = "executor settings") -> ExecutorSettings:
        """Validate ``data`` (options, YAML or environment), with the environment's
        scheduler for ``dask`` when none is given; :class:`FactoryError` on mistakes."""
        given = {k: v for k, v in data.items() if v is not None}
        try:
            settings = cls.model_validate(given)
        except ValidationError as exc:
            raise FactoryError(f"invalid {where}: {describe_problems(exc.errors())}") from exc
        if settings.executor == "dask" and settings.scheduler is None:
            return settings._with_environment_scheduler(where)
        return settings

    def _with_environment_scheduler(self, where: str) -> ExecutorSettings:
        from strategy_factory.settings import get_settings

        address = get_settings().dask_scheduler
        if not address:
            raise FactoryError(
                f"invalid {where}: executor dask needs the scheduler's address: --scheduler "
                "tcp://host:8786 (scheduler: in YAML) or FACTORY_DASK_SCHEDULER (start a "
                "local cluster with `factory cluster local`)"
            )
        return ExecutorSettings.load({"executor": "dask", "scheduler": address}, where)

    def check(self, allowed: tuple[str, ...], where: str) -> ExecutorSettings:
        """Itself, if ``where`` (a command) supports its executor; else a clear error."""
        if self.executor not in allowed:
            raise FactoryError(
                f"{where} runs on {', '.join(allowed)}, not executor {self.executor!r}"
            )
        return self

    def build(self, on_refused: Callable[[str], None] | None = None, pool: bool = True) -> Executor:
        """The executor (``local`` or ``dask``; the queue needs a store: see the service).

        ``on_refused``: told of each Dask worker of another version that joins later.
        ``pool``: without ``workers``, whether a local run is worth a pool of one process
        per core (else it runs in this process, on every core).
        """
        from strategy_factory.execution.local import InlineExecutor, LocalExecutor

        if self.executor == "dask":
            from strategy_factory.execution.dask_cluster import DaskExecutor

            return DaskExecutor(str(self.scheduler), on_refused=on_refused)
        if self.executor == "queue":
            raise FactoryError("the queue executor needs a store and a run: use QueueExecutor")
        if self.workers is None:
            cores = _cores()
            return LocalExecutor(cores) if cores > 1 and pool else InlineExecutor(cores)
        return InlineExecutor() if self.workers <= 1 else LocalExecutor(self.workers)


def _cores() -> int:
    import os

    return os.cpu_count() or 1
