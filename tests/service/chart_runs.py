"""A small finished run to validate the charts of (the chart validation tests of the API
and of the dashboard): the service tests' ``BASE`` run on the planted ``SYN`` bars, two
generations, driven inline; about a second."""

from __future__ import annotations

from pathlib import Path

import pytest

from strategy_factory.evolution import Evolution, EvolveConfig, create_run
from strategy_factory.execution import InlineExecutor
from strategy_factory.store import create_store
from tests.service.test_evolve import BASE


def record_small_run(home: Path, db: str) -> str:
    """Run ``BASE`` to its end in the store at ``db`` with the bars of ``home``; its id."""
    with pytest.MonkeyPatch.context() as patch, create_store(db) as store:
        patch.setenv("FACTORY_HOME", str(home))
        run = create_run(store, EvolveConfig.load(BASE))
        return Evolution(store, InlineExecutor()).run(run.id).id
