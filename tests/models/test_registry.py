"""Artifacts: save → load → predict is identical, the format runs no code, and anything
that is not an artifact of the safe format is refused with a reason."""

from __future__ import annotations

import base64
import json
import os
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.models import (
    LinearPredictor,
    TrainedModel,
    TrainingConfig,
    load_model,
    model_from_bytes,
    model_from_text,
    model_to_bytes,
    model_to_text,
    save_model,
    train,
)
from tests.models.conftest import Frames, planted_frames


def _model(planted: Frames, algorithm: str, grid: dict) -> TrainedModel:
    config = TrainingConfig(
        symbol="SYN",
        features=list(planted.features.columns),
        algorithm=algorithm,
        grid=grid,
        regime_configs=[None, {"regime_gmm": [0]}],
        data={"holdout_start": planted.features.index[-1000]},
    )
    return train(planted.features, planted.target, planted.regimes, config)


@pytest.fixture(scope="module")
def model(planted: Frames) -> TrainedModel:
    return _model(planted, "ElasticNet", {"alpha": [0.001, 0.01], "l1_ratio": [0.5]})


def test_roundtrip_predicts_identically(
    model: TrainedModel, planted: Frames, tmp_path: Path
) -> None:
    path = save_model(model, tmp_path / "models")
    assert path == tmp_path / "models" / f"{model.id}.model"
    loaded = load_model(path)
    assert isinstance(loaded.estimator, LinearPredictor)  # plain arrays, no estimator object
    np.testing.assert_array_equal(loaded.predict(planted.features), model.predict(planted.features))
    assert loaded.chosen == model.chosen
    assert loaded.importance == model.importance
    assert loaded.config == model.config
    assert loaded.fingerprint == model.config.fingerprint()
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["id"] == model.id
    assert sidecar["chosen"]["params"] == model.chosen["params"]
    assert sidecar["importance"]["method"] == "coefficient"
    assert sidecar["data_range"]["train_end"] < planted.features.index[-1000].isoformat()
    assert [f["score"] for f in sidecar["validation"]["folds"]]
    assert not list((tmp_path / "models").glob("*.tmp"))


def test_files_follow_the_umask(model: TrainedModel, tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        path = save_model(model, tmp_path)
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o644
    assert path.with_suffix(".json").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    ("algorithm", "grid"),
    [
        ("RandomForest", {"n_estimators": [20], "max_depth": [3], "min_samples_leaf": [50]}),
        ("LightGBM", {"num_leaves": [7], "learning_rate": [0.1], "n_estimators": [30]}),
    ],
)
def test_tree_models_roundtrip_through_the_allow_list(
    planted: Frames, algorithm: str, grid: dict
) -> None:
    trained = _model(planted, algorithm, grid)
    loaded = model_from_text(model_to_text(trained))
    np.testing.assert_array_equal(
        loaded.predict(planted.features), trained.predict(planted.features)
    )
    assert loaded.importance == trained.importance


def test_predicts_another_symbols_frame_by_column_name(model: TrainedModel) -> None:
    other = planted_frames(n_bars=2000, seed=9).features
    shuffled = other[other.columns[::-1]].assign(unused=1.0)
    loaded = model_from_bytes(model_to_bytes(model))
    predictions = loaded.predict(shuffled)
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


class _Sentinel:
    """Unpickling this writes a file: proof that loading ran code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (Path.write_text, (self.path, "pwned"))


def test_a_pickle_is_refused_and_never_executed(tmp_path: Path) -> None:
    sentinel = tmp_path / "sentinel"
    forged = pickle.dumps(_Sentinel(sentinel))
    with pytest.raises(FactoryError, match="no longer read"):
        model_from_bytes(forged)
    with pytest.raises(FactoryError, match="no longer read"):
        model_from_text(base64.b64encode(forged).decode())
    (tmp_path / "x.model").write_bytes(forged)
    with pytest.raises(FactoryError, match=r"x\.model"):
        load_model(tmp_path / "x.model")
    assert not sentinel.exists()


def _document(model: TrainedModel) -> dict:
    return json.loads(model_to_bytes(model))


def test_malformed_documents_are_refused_with_the_reason(model: TrainedModel) -> None:
    good = _document(model)
    cases = {
        "format": ({**good, "format": "other"}, "format"),
        "extra field": ({**good, "code": "import os"}, "code"),
        "wrong type": ({**good, "features": "planted"}, "features"),
        "short arrays": (
            {**good, "estimator": {**good["estimator"], "coef": [1.0]}},
            "arrays do not match",
        ),
        "unknown kind": ({**good, "estimator": {"kind": "pickle", "content": ""}}, "estimator"),
        "features differ": ({**good, "features": ["ret_1"]}, "features differ"),
    }
    for name, (document, message) in cases.items():
        with pytest.raises(FactoryError, match=message):
            model_from_bytes(json.dumps(document).encode())
        assert name


def test_a_skops_estimator_of_an_untrusted_type_is_refused(planted: Frames) -> None:
    from sklearn.preprocessing import FunctionTransformer
    from skops.io import dumps

    trained = _model(
        planted, "RandomForest", {"n_estimators": [5], "max_depth": [2], "min_samples_leaf": [50]}
    )
    document = _document(trained)
    hostile = FunctionTransformer(func=os.system)
    document["estimator"]["content"] = base64.b64encode(dumps(hostile)).decode()
    with pytest.raises(FactoryError, match=r"not trusted: posix\.system"):
        model_from_bytes(json.dumps(document).encode())


def test_a_custom_algorithm_needs_the_allow_list(
    planted: Frames, monkeypatch: pytest.MonkeyPatch
) -> None:
    features = list(planted.features.columns)
    with pytest.raises(FactoryError, match="not allow-listed"):
        TrainingConfig.load({"symbol": "SYN", "features": features, "algorithm": "os:system"})
    monkeypatch.setenv("FACTORY_ALLOWED_ESTIMATORS", "sklearn.neighbors:KNeighborsRegressor")
    config = TrainingConfig(
        symbol="SYN",
        features=features,
        algorithm="sklearn.neighbors:KNeighborsRegressor",
        grid={"n_neighbors": [50]},
        regime_configs=[None],
        data={"holdout_start": planted.features.index[-1000]},
    )
    trained = train(planted.features, planted.target, planted.regimes, config)
    content = model_to_bytes(trained)
    # The fitted neighbours index holds types of its own: refused until they are trusted.
    with pytest.raises(FactoryError, match=r"not trusted: .*KDTree.*FACTORY_TRUSTED_TYPES"):
        model_from_bytes(content)
    monkeypatch.setenv(
        "FACTORY_TRUSTED_TYPES",
        "sklearn.metrics._dist_metrics.EuclideanDistance64,sklearn.neighbors._kd_tree.KDTree",
    )
    np.testing.assert_array_equal(
        model_from_bytes(content).predict(planted.features.iloc[:50]),
        trained.predict(planted.features.iloc[:50]),
    )
    monkeypatch.delenv("FACTORY_ALLOWED_ESTIMATORS")
    with pytest.raises(FactoryError, match="not allow-listed"):
        model_from_bytes(content)


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no model artifact"):
        load_model(tmp_path / "nope.model")
    (tmp_path / "x.model").write_text('{"not": "a model"}')
    with pytest.raises(FactoryError, match="invalid model artifact"):
        load_model(tmp_path / "x.model")


@pytest.mark.parametrize(
    ("scores", "beating"),
    [([0.02, -0.01, 0.03], 2), ([-0.01, 0.0, None], 0), ([None, None, None], 0)],
    ids=["some", "none-above-zero", "all-undefined"],
)
def test_folds_beating_the_baseline(
    model: TrainedModel, scores: list[float | None], beating: int
) -> None:
    folds = [{**model.validation["folds"][0], "score": score} for score in scores]
    judged = replace(model, validation={**model.validation, "folds": folds})
    assert judged.folds_beating_baseline() == beating
