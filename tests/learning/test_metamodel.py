"""The meta-model: it ranks out-of-sample fitness better than both baselines on a history
whose fitness depends on known traits, names those traits, and round-trips exactly."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy_factory.errors import FactoryError
from strategy_factory.learning import (
    GenomeTable,
    MetaModel,
    fit_meta_model,
    train_meta_model,
)
from strategy_factory.learning.evaluation import group_folds
from strategy_factory.store import create_store
from tests.learning.history import PLANTED


def test_the_meta_model_beats_both_baselines(meta_model: MetaModel) -> None:
    metrics = meta_model.metrics
    full = metrics["models"]["full"]["spearman"]
    genome = metrics["models"]["genome"]["spearman"]
    selection = metrics["baselines"]["selection"]["spearman"]
    random = metrics["baselines"]["random"]
    assert metrics["beats_baselines"] is True
    # Ranking by the selection period misleads here (the fading models look best there)...
    assert selection < 0.1
    # ... luck with this many rows stays near 0 ...
    assert abs(random["mean"]) < 0.01 and random["p95"] < 0.1
    # ... and the meta-model ranks held-out runs' configurations far better than both.
    assert full > selection + 0.3 and full > random["p95"] + 0.3
    assert genome > selection + 0.3
    assert metrics["runs"] == 12 and metrics["group_by"] == "run"
    assert metrics["folds"] == 5 and len(metrics["models"]["full"]["fold_spearman"]) == 5


def test_the_planted_traits_rank_top(meta_model: MetaModel) -> None:
    genome_only = meta_model.importance["genome"]
    assert {item.trait for item in genome_only[:2]} == set(PLANTED)
    by_trait = {item.trait: item for item in genome_only}
    assert by_trait["feature:exo_lasting"].direction > 0.3  # using it predicts fitness
    assert by_trait["feature:exo_fading"].direction < -0.3  # leaning on it predicts decay
    # Reading everything, a planted feature is still the genome trait that matters most.
    full = [item for item in meta_model.importance["full"] if item.group == "genome"]
    assert full[0].trait in PLANTED
    for items in meta_model.importance.values():
        traits = [item.trait for item in items]
        assert len(traits) == len(set(traits))  # one-hot columns summed into their trait
        assert sum(item.gain for item in items) == pytest.approx(1.0)
        assert "symbol" in traits and "mode" in traits
        assert not any("=" in trait for trait in traits)
    categories = {item.trait: item.best for item in genome_only if item.best is not None}
    assert categories["mode"] in {"long_short", "long_only"}


@settings(max_examples=50, deadline=None)
@given(
    groups=st.lists(st.sampled_from("abcdefghij"), min_size=2, max_size=80).filter(
        lambda g: len(set(g)) >= 2
    ),
    folds=st.integers(2, 8),
)
def test_grouped_folds_never_split_a_run(groups: list[str], folds: int) -> None:
    labels = np.array(groups)
    split = group_folds(labels, folds)
    assert len(split) == min(folds, len(set(groups)))
    tested = np.concatenate([test for _, test in split])
    assert sorted(tested) == list(range(len(groups)))  # every row is held out once
    for train, test in split:
        assert not set(labels[train]) & set(labels[test])


def test_the_history_folds_hold_whole_runs_out(table: GenomeTable) -> None:
    runs = table.rows["run_id"].to_numpy()
    for train, test in group_folds(runs, 5):
        assert not set(runs[train]) & set(runs[test])
        assert set(runs[train]) | set(runs[test]) == set(runs)


def test_the_artifact_round_trips_exactly(meta_model: MetaModel, table: GenomeTable) -> None:
    content = meta_model.to_bytes()
    again = MetaModel.from_bytes(content)
    for inputs in ("full", "genome"):
        assert np.array_equal(
            meta_model.predict(table.rows, inputs), again.predict(table.rows, inputs)
        )
    assert again.to_bytes() == content
    assert again.version == meta_model.version and again.champions == meta_model.champions
    assert again.importance_json() == meta_model.importance_json()
    document = json.loads(content)  # strict JSON: no NaN, no Infinity
    assert json.dumps(document, allow_nan=False)
    assert document["regressors"]["full"]["booster"].startswith("tree\n")  # LightGBM's text


def _tampered(content: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    document = json.loads(content)
    change(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(extra=1), "Extra inputs"),
        (lambda d: d.update(format="pickle"), "format"),
        (lambda d: d["regressors"]["full"].update(booster="not a model"), "unreadable LightGBM"),
        (lambda d: d["regressors"]["full"]["encoding"]["numeric"].pop(), "reads"),
        (
            lambda d: d["regressors"]["full"]["encoding"]["numeric"].append("__import__"),
            "not a genome trait",
        ),
    ],
)
def test_a_forged_artifact_is_refused(meta_model: MetaModel, change, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FactoryError, match=message):
        MetaModel.from_bytes(_tampered(meta_model.to_bytes(), change))


def test_bytes_that_are_not_an_artifact_are_refused() -> None:
    import pickle

    with pytest.raises(FactoryError, match="not a meta-model artifact"):
        MetaModel.from_bytes(pickle.dumps({"format": "strategy-factory-meta-model"}))


def test_an_empty_store_has_not_enough_history(tmp_path: Path) -> None:
    with create_store(f"sqlite:///{tmp_path / 'empty.db'}") as store:
        result = train_meta_model(store)
    assert not result.trained and result.model is None
    assert result.reason is not None and result.reason.startswith("not enough history")
    assert result.metrics == {
        "status": "not_enough_history",
        "reason": result.reason,
        "rows": 0,
        "runs": 0,
    }


def test_two_runs_are_not_enough_history(table: GenomeTable) -> None:
    two = table.rows[table.rows["run_id"].isin(table.rows["run_id"].unique()[:2])]
    result = fit_meta_model(replace(table, rows=two))
    assert not result.trained
    assert "2 finished run(s)" in result.reason and "at least 3 runs" in result.reason
    enough_runs = fit_meta_model(replace(table, rows=table.rows.head(60)), min_runs=1)
    assert not enough_runs.trained and "100 configurations" in enough_runs.reason


def test_a_target_that_never_varies_is_not_a_score(table: GenomeTable) -> None:
    flat = table.rows.assign(target=1.0)
    result = fit_meta_model(replace(table, rows=flat))
    assert not result.trained and "same out-of-sample result" in result.reason
