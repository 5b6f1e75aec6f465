"""A recorded run mirrors every manifest save in the store, and an unreachable store does
not fail the workflow: the row catches up once the store answers."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from strategy_factory.data import BarCatalog
from strategy_factory.store import create_store, normalize_url
from strategy_factory.workflow import WorkflowConfig, create_workflow
from strategy_factory.workflow.recording import mirror, run_recorded
from tests.workflow.conftest import small_workflow


def test_every_save_is_recorded_and_the_run_reads_the_store_it_records_in(
    planted_home: BarCatalog, tmp_path: Path
) -> None:
    workspace = create_workflow(WorkflowConfig.load(small_workflow()), tmp_path / "results")
    url = f"sqlite:///{tmp_path / 'recorded.db'}"
    seen: list[tuple[str, str | None]] = []
    before = os.environ.get("FACTORY_DB")
    with create_store(url) as store:

        def listener(manifest: dict[str, Any]) -> None:
            # The row is written before the next listener hears of the save.
            seen.append((store.workflows.get(manifest["id"]).state, os.environ.get("FACTORY_DB")))

        manifest = run_recorded(store, workspace, listener=listener)
        recorded = store.workflows.get(workspace.id)
    assert manifest["state"] == recorded.state == "done"
    assert seen[0][0] == "running" and seen[-1][0] == "done"
    # A stored-model family reads FACTORY_DB: during the run it names this store.
    assert {normalize_url(str(db)) for _, db in seen} == {normalize_url(url)}
    assert os.environ.get("FACTORY_DB") == before


def test_an_unreachable_store_misses_saves_without_failing_the_workflow(
    planted_home: BarCatalog, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    workspace = create_workflow(WorkflowConfig.load(small_workflow()), tmp_path / "results")
    with create_store(f"sqlite:///{tmp_path / 'f.db'}") as store:
        real = store.workflows.record
        down = OperationalError("insert", {}, ConnectionError("server closed the connection"))

        def unreachable(manifest: dict[str, Any]) -> Any:
            raise down

        store.workflows.record = unreachable  # type: ignore[method-assign]
        with caplog.at_level(logging.WARNING, "strategy_factory.workflow.recording"):
            manifest = run_recorded(store, workspace)
        assert manifest["state"] == "done"
        assert "the store is unreachable" in caplog.text
        assert "catches up at the next save" in caplog.text
        store.workflows.record = real  # type: ignore[method-assign]
        assert mirror(store, workspace.manifest())
        assert store.workflows.get(workspace.id).state == "done"

        # Anything but an outage is a bug, and is raised.
        def broken(manifest: dict[str, Any]) -> Any:
            raise IntegrityError("insert", {}, ValueError("constraint"))

        store.workflows.record = broken  # type: ignore[method-assign]
        with pytest.raises(IntegrityError):
            mirror(store, workspace.manifest())
