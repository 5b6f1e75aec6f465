"""A discovery chunk's result off this process: the in-process cells and signals exactly,
and a malformed result refused by name before anything is written; a task of several
chunks gives each chunk's result, checked in turn."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from strategy_factory.data import BarCatalog
from strategy_factory.errors import FactoryError
from strategy_factory.workflow import WorkflowConfig
from strategy_factory.workflow.backtester import Capture, Trial, run_trials
from strategy_factory.workflow.bars import load_bars
from strategy_factory.workflow.chunks import (
    chunk_payload,
    chunk_result,
    chunks_payload,
    chunks_results,
    discovery_data,
    packed_steps,
    trade_chunk,
    trade_chunks,
    unpacked_steps,
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
    refused(lambda r: r["cells"].pop("measures"), "cells must be whole, measures and cell")
    refused(
        lambda r: r["cells"].update(measures=r["cells"]["measures"].astype(np.float32)),
        "measures must be 44 columns × 9 rows of float64",
    )
    refused(
        lambda r: r["cells"].update(whole=r["cells"]["whole"][:, :6]),
        "whole must be 2 columns × 9 rows of int64",
    )
    refused(
        lambda r: r["cells"].update(whole=r["cells"]["whole"] + [[1], [0]]),
        "not those of the trials it was given",
    )
    refused(lambda r: r["cells"].update(cell=[1] * 9), "cell names must be 9 texts")
    steps = unpacked_steps(result["changes"]["steps"], int(result["changes"]["counts"].sum()))
    signal_two = steps.copy()
    signal_two[-1] += 3 - (int(steps.sum()) & 3)  # the last code's low bits 3: signal 2
    refused(
        lambda r: r["changes"].update(steps=packed_steps(signal_two)),
        "a signal is -1, 0 or 1",
    )
    refused(lambda r: r["changes"].update(bars=r["changes"]["bars"] + 1), "cover")
    refused(lambda r: r["changes"].update(bars="many"), "bars must be a whole number")
    refused(
        lambda r: r["changes"].update(counts=r["changes"]["counts"][:2]),
        "count between 1 and .* changes for each of its 3 trials",
    )
    refused(
        lambda r: r["changes"].update(counts=r["changes"]["counts"] * [1, 0, 2]),
        "count between 1 and",
    )
    refused(
        lambda r: r["changes"].update(counts=r["changes"]["counts"] + [1, 0, 0]),
        "steps are not .* zstd-compressed int32 values",
    )
    refused(lambda r: r["changes"].update(steps=b"not zstd"), "steps are not")
    refused(lambda r: r["changes"].update(steps=[1, 2]), "steps must be bytes")


def test_a_task_of_chunks_gives_each_chunk_its_result_checked_in_turn(
    planted_home: BarCatalog,
) -> None:
    config = WorkflowConfig.load(small_workflow())
    data = load_bars(config.data, config.classifiers)
    momentum, reversion = config.phases[0].families
    shipped = discovery_data(data, [momentum, reversion], config.costs.execution(), "selection")
    other = [Trial(0, {**TRIALS[0].params, "lookback": 2})]
    chunks = [(momentum, TRIALS), (reversion, other)]  # one task may hold several families
    result = trade_chunks(shipped, chunks_payload(chunks))
    checked = list(chunks_results(result, [TRIALS, other], data, "selection"))
    for (family, trials), (cells, changes) in zip(chunks, checked, strict=True):
        alone = chunk_result(
            trade_chunk(shipped, chunk_payload(family, trials)), trials, data, "selection"
        )
        pd.testing.assert_frame_equal(cells, alone[0], check_exact=True)
        assert np.array_equal(changes.decode(), alone[1].decode())

    def refused(broken: Any, match: str) -> None:
        with pytest.raises(FactoryError, match=match):
            list(chunks_results(broken, [TRIALS, other], data, "selection"))

    refused({"chunks": result["chunks"][:1]}, "the results of its 2 chunks")
    refused({**result, "more": 1}, "the results of its 2 chunks")
    refused(result["chunks"], "the results of its 2 chunks")
    # A malformed chunk is named when its turn comes: the chunks before it are given first.
    spoiled = {"chunks": [result["chunks"][0], {"cells": {}}]}
    given = chunks_results(spoiled, [TRIALS, other], data, "selection")
    assert len(next(given)[0]) == len(TRIALS) * 3
    with pytest.raises(FactoryError, match="must hold exactly cells and changes"):
        next(given)


@given(steps=arrays(np.int32, st.integers(0, 2000)))
def test_packed_steps_come_back_exactly(steps: np.ndarray) -> None:
    assert np.array_equal(unpacked_steps(packed_steps(steps), steps.size), steps)
