"""Artifacts: save → load → predict is identical, on any symbol with the same features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.models import TrainedModel, TrainingConfig, load_model, save_model, train
from tests.models.conftest import Frames, planted_frames


@pytest.fixture(scope="module")
def model(planted: Frames) -> TrainedModel:
    config = TrainingConfig(
        symbol="SYN",
        features=list(planted.features.columns),
        grid={"alpha": [0.001, 0.01], "l1_ratio": [0.5]},
        regime_configs=[None, {"regime_gmm": [0]}],
        data={"holdout_start": planted.features.index[-1000]},
    )
    return train(planted.features, planted.target, planted.regimes, config)


def test_roundtrip_predicts_identically(
    model: TrainedModel, planted: Frames, tmp_path: Path
) -> None:
    path = save_model(model, tmp_path / "models")
    assert path == tmp_path / "models" / f"{model.id}.joblib"
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(planted.features), model.predict(planted.features))
    assert loaded.chosen == model.chosen
    assert loaded.importance == model.importance
    assert loaded.fingerprint == model.config.fingerprint()
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["id"] == model.id
    assert sidecar["chosen"]["params"] == model.chosen["params"]
    assert sidecar["importance"]["method"] == "coefficient"
    assert sidecar["data_range"]["train_end"] < planted.features.index[-1000].isoformat()
    assert [f["score"] for f in sidecar["validation"]["folds"]]
    assert not list((tmp_path / "models").glob("*.tmp"))


def test_predicts_another_symbols_frame_by_column_name(model: TrainedModel) -> None:
    other = planted_frames(n_bars=2000, seed=9).features
    shuffled = other[other.columns[::-1]].assign(unused=1.0)
    predictions = model.predict(shuffled)
    np.testing.assert_allclose(predictions, model.predict(other), rtol=0, atol=1e-15)
    # In the target's units: a next-hour log return, and it follows the planted signal.
    assert np.abs(predictions).max() < 0.01
    assert np.corrcoef(predictions, other["planted"])[0, 1] > 0.9


def test_rows_with_missing_features_predict_nan(model: TrainedModel, planted: Frames) -> None:
    frame = planted.features.iloc[:10].copy()
    frame.iloc[3, 0] = np.nan
    predictions = model.predict(frame)
    assert np.isnan(predictions[3]) and np.isfinite(np.delete(predictions, 3)).all()


def test_missing_feature_is_named(model: TrainedModel, planted: Frames) -> None:
    with pytest.raises(FactoryError, match="the feature frame lacks planted, noise_2"):
        model.predict(planted.features.drop(columns=["noise_2", "planted"]))


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no model artifact"):
        load_model(tmp_path / "nope.joblib")
    import joblib

    joblib.dump({"not": "a model"}, tmp_path / "x.joblib")
    with pytest.raises(FactoryError, match="holds a dict, not a trained model"):
        load_model(tmp_path / "x.joblib")
