"""Where a workflow's parameter discovery runs its chunks: here, a local pool, or Dask.

One model decides it, :class:`~strategy_factory.execution.settings.ExecutorSettings`,
whichever door the workflow came through: ``factory workflow run/resume`` (``--executor``,
``--workers``, ``--scheduler``), the ``executor``/``workers``/``scheduler`` keys of a
workflow YAML file, and ``factory serve``'s settings for ``POST /workflows``. Where the
chunks run changes no output file: it is not part of the workflow's config.

Example::

    chunks = WorkflowExecutor(ExecutorSettings.load({"executor": "dask"}))
    try:
        run_workflow(workspace, executor=chunks)
    finally:
        chunks.close()
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import cast

from strategy_factory.execution.local import SharingExecutor
from strategy_factory.execution.settings import ExecutorSettings

EXECUTORS = ("local", "dask")


class WorkflowExecutor:
    """The executor of ``settings``, built when a phase first asks for it.

    In process (None) for no settings, or ``local`` without more than one worker; else a
    local pool of ``workers`` or the Dask cluster at ``scheduler``. Built late, a workflow
    resumed past its discovery connects to no cluster, and a cluster that cannot be
    reached fails the phase that needed it, with the reason in the manifest.
    ``on_refused``: told of each Dask worker of another version that joins later.
    """

    def __init__(
        self,
        settings: ExecutorSettings | None = None,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = None if settings is None else settings.check(EXECUTORS, "a workflow")
        self.on_refused = on_refused
        self._built: SharingExecutor | None = None
        self._lock = threading.Lock()

    @property
    def in_process(self) -> bool:
        """Whether the chunks run in this process (the default)."""
        chosen = self.settings
        return chosen is None or (chosen.executor == "local" and (chosen.workers or 1) <= 1)

    def __call__(self) -> SharingExecutor | None:
        """The executor (connected now if it is a cluster), or None to run here."""
        if self.in_process:
            return None
        with self._lock:
            if self._built is None:
                built = cast(ExecutorSettings, self.settings).build(on_refused=self.on_refused)
                self._built = cast(SharingExecutor, built)
            return self._built

    def close(self) -> None:
        """Close the executor, if it was built."""
        with self._lock:
            built, self._built = self._built, None
        if built is not None:
            built.close()
