"""A run reads the bars stored when it was created: bars appended later leave it unchanged,
while bars that were rewritten are still refused."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from strategy_factory.data import BarCatalog, synthetic_bars
from strategy_factory.errors import FactoryError
from strategy_factory.evolution import EvolveConfig, create_run
from strategy_factory.evolution.prepare import recorded_spec, run_context
from strategy_factory.execution.dataset import (
    DatasetSpec,
    data_digest,
    load_dataset,
    split_points,
    stored_last_bars,
)
from strategy_factory.store import create_store

BARS = synthetic_bars(2_000, freq="1h", seed=11, planted_strength=0.1)
REFERENCE = synthetic_bars(2_000, freq="1h", seed=12)


def created(catalog: BarCatalog) -> DatasetSpec:
    """The spec a run creates: bound to the bars stored now, cut by fractions, digested."""
    catalog.save("SYN", BARS.iloc[:1_500])
    catalog.save("REF", REFERENCE.iloc[:1_400])
    spec = stored_last_bars(DatasetSpec(symbol="SYN", references=["REF"]))
    spec = split_points(spec, 0.2, 0.2)
    return spec.model_copy(update={"data_digest": data_digest(spec)})


def test_appended_bars_leave_a_recorded_run_as_it_was(catalog: BarCatalog) -> None:
    spec = created(catalog)
    assert spec.last_bars == {"SYN": BARS.index[1_499], "REF": REFERENCE.index[1_399]}
    before = load_dataset(spec)
    catalog.append("SYN", BARS.iloc[1_500:])
    catalog.append("REF", REFERENCE.iloc[1_400:])
    after = load_dataset(spec)  # the digest of the bars up to the bounds still matches
    assert after is not before  # rebuilt: the stored files changed
    pd.testing.assert_frame_equal(after.primary.features, before.primary.features)
    pd.testing.assert_frame_equal(after.primary.regimes, before.primary.regimes)
    assert after.primary.bars.index[-1] == BARS.index[1_499]
    # The same spec without bounds reads everything: a run created now sees the new bars.
    unbounded = spec.model_copy(update={"last_bars": None, "data_digest": None})
    assert load_dataset(unbounded).primary.bars.index[-1] == BARS.index[-1]


def test_rewritten_bars_are_still_refused(catalog: BarCatalog) -> None:
    spec = created(catalog)
    rewritten = BARS.iloc[:1_500].copy()
    rewritten.iloc[100, rewritten.columns.get_loc("close")] *= 1.001
    rewritten["high"] = rewritten[["high", "close"]].max(axis=1)
    catalog.save("SYN", rewritten, replace=True)
    with pytest.raises(FactoryError, match="have changed since this run was created"):
        load_dataset(spec)


def test_a_run_recorded_before_runs_were_bound_is_bound_to_the_bars_it_saw(
    catalog: BarCatalog,
) -> None:
    catalog.save("SYN", BARS.iloc[:1_500])
    catalog.save("REF", REFERENCE.iloc[:1_500])
    config = EvolveConfig.load(
        {"symbol": "SYN", "reference_symbols": ["REF"], "criteria": "evidence"}
    )
    run = create_run(create_store(), config)
    # As recorded by an earlier version: no bounds, a digest of the whole files.
    dataset = {k: v for k, v in run.config["dataset"].items() if k != "last_bars"}
    legacy = dataclasses.replace(run, config={**run.config, "dataset": dataset})
    before = run_context(legacy).dataset.primary.features
    catalog.append("SYN", BARS.iloc[1_500:])
    catalog.append("REF", REFERENCE.iloc[1_500:])
    assert recorded_spec(legacy).last_bars == dict.fromkeys(["SYN", "REF"], BARS.index[1_499])
    pd.testing.assert_frame_equal(run_context(legacy).dataset.primary.features, before)
