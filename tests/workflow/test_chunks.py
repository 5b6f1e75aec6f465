"""A discovery chunk's result off this process: the in-process cells and signals exactly,
and a malformed result refused by name before anything is written."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from strategy_factory.data import BarCatalog
from strategy_factory.errors import FactoryError
from strategy_factory.workflow import WorkflowConfig
from strategy_factory.workflow.backtester import Capture, Trial, run_trials
from strategy_factory.workflow.bars import load_bars
from strategy_factory.workflow.chunks import (
    chunk_payload,
    chunk_result,
    discovery_data,
    trade_chunk,
)
from tests.workflow.conftest import small_workflow

TRIALS = [Trial(n, {"lookback": 5, "threshold": t, "z_limit": None, "mode": "long_short"})
          for n, t in ((3, 0.0), (7, 0.002), (9, 0.004))]  # fmt: skip


def test_a_chunk_traded_off_process_gives_the_in_process_cells_and_signals(
    planted_home: BarCatalog,
) -> None:
    config = WorkflowConfig.load(small_workflow())
    data = load_bars(config.data, config.classifiers)
    family = config.phases[0].families[0]
    execution = config.costs.execution()
    shipped = discovery_data(data, [family], execution, "selection")
    result = trade_chunk(shipped, chunk_payload(family, TRIALS))
    cells, changes = chunk_result(result, TRIALS, data, "selection")
    captured: list[Capture] = []
    here = run_trials(data, family, TRIALS, "selection", execution, captured.append)
    pd.testing.assert_frame_equal(cells, here, check_exact=True)
    assert np.array_equal(changes.decode(), captured[0].changes().decode())

    def refused(change: Any, match: str) -> None:
        broken = {"cells": dict(result["cells"]), "changes": dict(result["changes"])}
        change(broken)
        with pytest.raises(FactoryError, match=match):
            chunk_result(broken, TRIALS, data, "selection")

    refused(lambda r: r.pop("changes"), "must hold exactly cells and changes")
    refused(lambda r: r["cells"].pop("sharpe"), "cells must be the columns")
    refused(
        lambda r: r["cells"].update(sharpe=r["cells"]["sharpe"].astype(np.float32)),
        "column sharpe must be 9 values of float64",
    )
    refused(
        lambda r: r["cells"].update(trial=r["cells"]["trial"] + 1),
        "not those of the trials it was given",
    )
    refused(lambda r: r["cells"].update(cell=[1] * 9), "cell names must be 9 texts")
    refused(
        lambda r: r["changes"].update(value=np.full_like(r["changes"]["value"], 2)),
        "a signal is -1, 0 or 1",
    )
    refused(lambda r: r["changes"].update(bars=r["changes"]["bars"] + 1), "cover")
    refused(
        lambda r: r["changes"].update(counts=r["changes"]["counts"][:2]),
        "count at least one change for each of its 3 trials",
    )
    refused(
        lambda r: r["changes"].update(counts=r["changes"]["counts"] * [1, 0, 2]),
        "count at least one change",
    )
