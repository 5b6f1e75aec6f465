"""``train`` end to end: the holdout is never read, inputs are checked, ranges are recorded."""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from strategy_factory.errors import FactoryError
from strategy_factory.models import TrainedModel, TrainingConfig, train
from tests.models.conftest import Frames, planted_frames

HOLDOUT = pd.Timestamp("2020-04-01", tz="UTC")


@pytest.fixture(scope="module")
def small() -> Frames:
    return planted_frames(n_bars=3000, seed=5)


def config_for(frames: Frames, **fields: Any) -> TrainingConfig:
    defaults: dict[str, Any] = {
        "symbol": "SYN",
        "features": list(frames.features.columns),
        "grid": {"alpha": [0.001, 0.01, 0.1], "l1_ratio": [0.5, 1.0]},
        "regime_configs": [None, {"regime_gmm": [0]}],
        "data": {"holdout_start": HOLDOUT},
        "walk_forward": {"folds": 3},
    }
    return TrainingConfig(**{**defaults, **fields})


def poisoned(frames: Frames, value: float, horizon: int) -> Frames:
    """Frames whose bars at or after the holdout are garbage, features and target rebuilt."""
    bars = frames.bars.copy()
    after = bars.index >= HOLDOUT
    bars.loc[after, ["open", "high", "low", "close"]] = value
    features = frames.features.copy()
    features.loc[features.index >= HOLDOUT, :] = value
    close = bars["close"]
    target = np.log(close.shift(-horizon) / close).reindex(features.index)
    regimes = frames.regimes.copy()
    regimes.loc[regimes.index >= HOLDOUT, :] = 99
    return Frames(features, target, regimes, bars)


@pytest.mark.parametrize("value", [np.nan, 1e12])
@pytest.mark.parametrize("horizon", [1, 3])
def test_holdout_rows_never_reach_training(small: Frames, value: float, horizon: int) -> None:
    config = config_for(small, target={"horizon": horizon})
    clean_target = np.log(small.bars["close"].shift(-horizon) / small.bars["close"])
    clean = train(small.features, clean_target.reindex(small.features.index), small.regimes, config)
    dirty_frames = poisoned(small, value, horizon)
    # The poison reaches the targets of the last `horizon` bars before the holdout too.
    before = dirty_frames.target.index < HOLDOUT
    assert not np.isfinite(dirty_frames.target[before].iloc[-horizon:]).all() or value > 1
    dirty = train(dirty_frames.features, dirty_frames.target, dirty_frames.regimes, config)

    assert dirty.chosen == clean.chosen
    assert dirty.validation["grid"] == clean.validation["grid"]
    inner_clean = clean.estimator.regressor_.named_steps["model"].coef_
    inner_dirty = dirty.estimator.regressor_.named_steps["model"].coef_
    np.testing.assert_array_equal(inner_dirty, inner_clean)
    train_end = pd.Timestamp(clean.metadata["data_range"]["train_end"])
    position = small.features.index.get_loc(train_end)
    assert small.features.index[position + horizon] < HOLDOUT  # its target ends before it
    assert small.features.index[position + horizon + 1] >= HOLDOUT  # and nothing later is used


def test_selection_start_cuts_like_a_holdout(small: Frames) -> None:
    selection = small.features.index[1500]
    model = train(
        small.features,
        small.target,
        small.regimes,
        config_for(small, data={"selection_start": selection, "holdout_start": HOLDOUT}),
    )
    assert pd.Timestamp(model.metadata["data_range"]["train_end"]) == small.features.index[1498]
    assert model.metadata["data_range"]["cutoff"] == selection.isoformat()


def test_model_records_folds_ranges_and_reasons(small: Frames) -> None:
    config = config_for(
        small, regime_configs=[None, {"regime_gmm": [0]}, {"regime_vix": [3]}], min_train_rows=50
    )
    rare = small.regimes.copy()
    rare["regime_vix"] = np.where(np.arange(len(rare)) % 100 == 0, 3, 0)
    model = train(small.features, small.target, rare, config)
    folds = model.validation["folds"]
    assert len(folds) == 3
    for earlier, later in itertools.pairwise(folds):
        assert earlier["validation_end"] < later["validation_start"]
    for fold in folds:
        assert fold["train_end"] < fold["validation_start"]
    assert model.validation["mean"] == pytest.approx(np.mean([f["score"] for f in folds]))
    assert model.validation["configurations_tried"] == 2 * 3 * 2
    [skipped] = model.validation["skipped"]
    assert skipped["regime_config"] == {"regime_vix": [3]}
    assert "too few rows" in skipped["reason"]
    assert model.metadata["fingerprint"] == config.fingerprint()
    assert set(model.metadata["library_versions"]) >= {"python", "numpy", "scikit-learn"}


def test_train_is_a_picklable_work_unit_and_parallel_runs_agree(small: Frames) -> None:
    config = config_for(small)
    payload = pickle.loads(pickle.dumps((small.features, small.target, small.regimes, config)))
    serial = train(*payload)
    parallel = train(small.features, small.target, small.regimes, config, n_jobs=2)
    assert parallel.validation["grid"] == serial.validation["grid"]
    restored = pickle.loads(pickle.dumps(serial))
    assert isinstance(restored, TrainedModel)
    np.testing.assert_array_equal(restored.predict(small.features), serial.predict(small.features))


def _nan_feature(f: Frames) -> tuple[Any, ...]:
    features = f.features.copy()
    features.iloc[100, 2] = np.nan
    return features, f.target, f.regimes


def _constant(f: Frames) -> tuple[Any, ...]:
    return f.features.assign(noise_1=1.0, noise_3=2.0), f.target, f.regimes


def _misaligned(f: Frames) -> tuple[Any, ...]:
    return f.features, f.target.iloc[50:], f.regimes


def _target_gap(f: Frames) -> tuple[Any, ...]:
    target = f.target.copy()
    target.iloc[10] = np.nan
    return f.features, target, f.regimes


BAD_INPUTS: list[tuple[Callable[[Frames], tuple[Any, ...]], dict[str, Any], str]] = [
    (_nan_feature, {}, r"feature 'ret_lag_2' is missing or infinite at 2020-01-05T09:00:00"),
    (_constant, {}, "features noise_1, noise_3 are constant over the training range"),
    (_misaligned, {}, "target is misaligned with the features: it has no row for 2020-01-01T05:00"),
    (_target_gap, {}, "the target is missing or infinite at 2020-01-01T15:00"),
    (
        lambda f: (f.features.drop(columns="planted"), f.target, f.regimes),
        {},
        "features planted are not columns of the feature frame",
    ),
    (
        lambda f: (f.features, f.target, f.regimes.drop(columns="regime_gmm")),
        {},
        "regime configs name regime_gmm, not columns of the regime frame",
    ),
    (
        lambda f: (f.features, f.target, None),
        {},
        "name regime_gmm but no regime labels were given",
    ),
    (
        lambda f: (f.features.iloc[:150], f.target, f.regimes),
        {},
        "only 149 bars fall in the training range",
    ),
    (
        lambda f: (f.features, f.target, f.regimes),
        {"regime_configs": [{"regime_gmm": [7]}]},
        "every regime config selects too few rows",
    ),
    (
        lambda f: (f.features, f.target, f.regimes),
        {"walk_forward": {"folds": 20, "test_window": 200}},
        "20 folds of test_window=200 do not fit",
    ),
    (
        lambda f: (f.features, f.target, f.regimes),
        {"algorithm": "RandomForest", "grid": {"max_depth": [2]}, "importance": "coefficient"},
        "importance method 'coefficient' does not apply to RandomForest",
    ),
]


@pytest.mark.parametrize(("mistake", "fields", "message"), BAD_INPUTS)
def test_bad_inputs_say_what_to_fix(
    small: Frames,
    mistake: Callable[[Frames], tuple[Any, ...]],
    fields: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(FactoryError, match=message):
        train(*mistake(small), config_for(small, **fields))


def test_an_unconverged_solver_is_counted_on_the_model_not_printed(small: Frames) -> None:
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        rushed = train(
            small.features, small.target, small.regimes, config_for(small, params={"max_iter": 1})
        )
        patient = train(small.features, small.target, small.regimes, config_for(small))
    assert rushed.metadata["unconverged_fits"] > 0
    assert patient.metadata["unconverged_fits"] == 0
