"""Recording a workflow in the store while it runs: a listener mirroring each manifest save.

The manifest in the workspace is the source of truth and the store row its mirror
(``store.workflows``). A store that stays unreachable past its retries must not fail a
workflow of hours: the miss is logged and the next save, which records the whole
manifest again, heals it. Any other store error is raised (it is a bug, not an outage).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from strategy_factory.store import Store, is_transient
from strategy_factory.workflow.coordinator import ExecutorSource, Listener
from strategy_factory.workflow.lock import WorkflowBusyError
from strategy_factory.workflow.workspace import Workspace

log = logging.getLogger(__name__)
DB_VARIABLE = "FACTORY_DB"


def run_recorded(
    store: Store,
    workspace: Workspace,
    from_phase: str | None = None,
    listener: Listener | None = None,
    executor: ExecutorSource | None = None,
) -> dict[str, Any]:
    """``run_workflow`` with every manifest save recorded in ``store`` (then ``listener``),
    discovery's chunks on ``executor`` (default in this process).

    Once the run ends, however it ends, the manifest is recorded once more, so the row
    ends as the manifest does even if a save missed an unreachable store. A workflow
    another process runs (:class:`WorkflowBusyError`) is left to that process to record.
    While it runs, FACTORY_DB names ``store``: the phases read the store themselves (a
    family of a stored model), and must read the one the workflow is recorded in.
    """
    from strategy_factory.workflow import run_workflow

    try:
        with _store_named(store):
            listeners = both(recorder(store), listener)
            manifest = run_workflow(workspace, from_phase, listeners, executor)
    except WorkflowBusyError:
        raise  # another process runs it, and records it
    except BaseException:
        record_workspace(store, workspace)
        raise
    record_workspace(store, workspace)
    return manifest


@contextmanager
def _store_named(store: Store) -> Iterator[None]:
    """FACTORY_DB names ``store`` for the block (as it was before, afterwards)."""
    before = os.environ.get(DB_VARIABLE)
    os.environ[DB_VARIABLE] = store.database.engine.url.render_as_string(hide_password=False)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(DB_VARIABLE, None)
        else:
            os.environ[DB_VARIABLE] = before


def recorder(store: Store) -> Listener:
    """A listener that records every saved manifest in ``store``."""

    def record(manifest: dict[str, Any]) -> None:
        mirror(store, manifest)

    return record


def mirror(store: Store, manifest: dict[str, Any]) -> bool:
    """Record ``manifest`` in ``store``; False (and a warning) if the store is unreachable."""
    try:
        store.workflows.record(manifest)
    except Exception as exc:
        if not is_transient(exc):
            raise
        log.warning(
            "workflow %s: the store is unreachable (%s); its row catches up at the next save",
            manifest.get("id"),
            " ".join(str(getattr(exc, "orig", exc)).split())[:200],
        )
        return False
    return True


def record_workspace(store: Store, workspace: Workspace) -> bool:
    """Record the workspace's manifest as it is now (after a run ended, however it ended)."""
    return mirror(store, workspace.manifest())


def both(*listeners: Listener | None) -> Listener:
    """One listener calling each of ``listeners`` (``None`` ones skipped) in order."""
    chosen: list[Callable[[dict[str, Any]], None]] = [f for f in listeners if f is not None]

    def listen(manifest: dict[str, Any]) -> None:
        for listener in chosen:
            listener(manifest)

    return listen
