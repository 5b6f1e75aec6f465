"""Training config: checked at the boundary, fingerprint blind to order, sensitive to meaning."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.svm import SVR

from strategy_factory.errors import FactoryError
from strategy_factory.models import FINGERPRINT_VERSION, TrainingConfig
from strategy_factory.models import config as config_module

FEATURE_NAMES = [f"f{k}" for k in range(12)]
ALPHAS = [0.001, 0.01, 0.1, 1, 10, 50, 100]
L1_RATIOS = [0.1, 0.3, 0.5, 0.7, 0.9, 0.95]
REGIME_COLUMNS = ["regime_gmm", "regime_hmm", "regime_trend", "regime_vix"]

regime_config = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(REGIME_COLUMNS),
        st.lists(st.integers(0, 3), min_size=1, max_size=4, unique=True),
        min_size=1,
        max_size=2,
    ),
)


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "symbol": draw(st.sampled_from(["SP500", "NASDAQ", "BTC"])),
        "features": draw(
            st.lists(st.sampled_from(FEATURE_NAMES), min_size=1, max_size=6, unique=True)
        ),
        "grid": {
            "alpha": draw(st.lists(st.sampled_from(ALPHAS), min_size=1, max_size=5, unique=True)),
            "l1_ratio": draw(
                st.lists(st.sampled_from(L1_RATIOS), min_size=1, max_size=4, unique=True)
            ),
        },
        "regime_configs": draw(st.lists(regime_config, min_size=1, max_size=4)),
        "target": {"horizon": draw(st.integers(1, 5))},
        "data": {"holdout_start": draw(st.sampled_from(["2016-01-01", "2017-06-30T12:00:00"]))},
    }


def shuffled(fields: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The same config written differently: orders, duplicates, 1 vs 1.0, time zones."""
    out = dict(fields)
    out["features"] = rng.sample(fields["features"], len(fields["features"]))
    grid = {}
    for name, values in fields["grid"].items():
        again = [*values, values[0]]
        grid[name] = rng.sample(again, len(again))
    out["grid"] = dict(reversed(list({**grid, "alpha": [float(a) for a in grid["alpha"]]}.items())))
    out["regime_configs"] = [
        None if c is None else {k: list(reversed(v)) for k, v in reversed(list(c.items()))}
        for c in rng.sample(fields["regime_configs"], len(fields["regime_configs"]))
    ]
    out["symbol"] = fields["symbol"].lower()
    holdout = fields["data"]["holdout_start"]
    out["data"] = {"holdout_start": f"{holdout}+00:00" if "T" in holdout else holdout}
    return out


@settings(max_examples=150, deadline=None)
@given(fields=configs(), seed=st.integers(0, 10**6))
def test_same_config_in_any_order_has_the_same_fingerprint(
    fields: dict[str, Any], seed: int
) -> None:
    original = TrainingConfig(**fields)
    rewritten = TrainingConfig(**shuffled(fields, random.Random(seed)))
    assert rewritten.fingerprint() == original.fingerprint()
    assert rewritten.canonical_json() == original.canonical_json()


def _changes(fields: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every single semantic change of ``fields`` that is possible for this draw."""
    changes = []
    unused = [f for f in FEATURE_NAMES if f not in fields["features"]]
    changes.append(("feature", {**fields, "features": [*fields["features"][:-1], unused[0]]}))
    if len(fields["features"]) > 1:
        changes.append(("feature dropped", {**fields, "features": fields["features"][1:]}))
    spare = [a for a in ALPHAS if a not in fields["grid"]["alpha"]]
    if spare:
        grid = {**fields["grid"], "alpha": [*fields["grid"]["alpha"], spare[0]]}
        changes.append(("alpha", {**fields, "grid": grid}))
    labelled = [c for c in fields["regime_configs"] if c]
    if labelled:
        column, labels = next(iter(labelled[0].items()))
        other = [*labels, 7]
        edited = [{**c, column: other} if c is labelled[0] else c for c in fields["regime_configs"]]
        changes.append(("regime label", {**fields, "regime_configs": edited}))
    changes.append(("symbol", {**fields, "symbol": "OTHER"}))
    changes.append(("timeframe", {**fields, "timeframe": "1h"}))
    changes.append(("date", {**fields, "data": {"holdout_start": "2015-12-31"}}))
    changes.append(("horizon", {**fields, "target": {"horizon": fields["target"]["horizon"] + 1}}))
    changes.append(
        ("transform", {**fields, "target": {**fields["target"], "transform": "pct_change"}})
    )
    return changes


@settings(max_examples=100, deadline=None)
@given(fields=configs())
def test_any_single_semantic_change_changes_the_fingerprint(fields: dict[str, Any]) -> None:
    original = TrainingConfig(**fields).fingerprint()
    for what, changed in _changes(fields):
        assert TrainingConfig(**changed).fingerprint() != original, what


def test_fingerprint_version_is_hashed(monkeypatch: pytest.MonkeyPatch) -> None:
    config = TrainingConfig(symbol="SP500", features=["a"])
    before = config.fingerprint()
    assert f'"fingerprint_version":{FINGERPRINT_VERSION}' in config.canonical_json()
    monkeypatch.setattr(config_module, "FINGERPRINT_VERSION", FINGERPRINT_VERSION + 1)
    assert config.fingerprint() != before
    assert config.fingerprint() == hashlib.sha256(config.canonical_json().encode()).hexdigest()


def test_one_and_one_point_zero_hash_alike_but_int_types_survive() -> None:
    a = TrainingConfig(
        symbol="X", features=["a"], algorithm="RandomForest", grid={"max_depth": [3, 6]}
    )
    b = TrainingConfig(
        symbol="X", features=["a"], algorithm="RandomForest", grid={"max_depth": [6.0, 3.0, 3]}
    )
    assert a.fingerprint() == b.fingerprint()
    assert a.grid == {"max_depth": [3, 6]}


def test_defaults_are_an_auto_alpha_grid_chosen_by_rank_ic() -> None:
    config = TrainingConfig(symbol="SP500", features=["a"])
    assert config.grid == {"alpha": "auto", "l1_ratio": L1_RATIOS}
    assert config.score == "rank_ic"
    assert len(config.regime_configs) == 7 and config.regime_configs[0] is None
    absolute = TrainingConfig(symbol="SP500", features=["a"], grid={"alpha": [10, 1]})
    assert absolute.grid == {"alpha": [1, 10], "l1_ratio": L1_RATIOS}
    assert absolute.fingerprint() != config.fingerprint()
    with pytest.raises(FactoryError, match="'auto' is a grid of alpha for linear models"):
        TrainingConfig.load({"symbol": "X", "features": ["a"], "grid": {"l1_ratio": "auto"}})


def test_an_estimator_instance_becomes_its_import_path_and_params(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FACTORY_ALLOWED_ESTIMATORS", "sklearn.svm:SVR")
    config = TrainingConfig(
        symbol="X", features=["a"], algorithm=SVR(C=3.0), grid={"epsilon": [0.1]}
    )
    assert config.algorithm == "sklearn.svm._classes:SVR"
    assert config.params["C"] == 3.0
    assert TrainingConfig.load(config.model_dump()).fingerprint() == config.fingerprint()


def test_allow_listed_estimators_are_still_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "FACTORY_ALLOWED_ESTIMATORS", "sklearn.preprocessing:StandardScaler, sklearn.nope:Thing"
    )
    with pytest.raises(FactoryError, match=r"'sklearn\.nope:Thing', which cannot be imported"):
        TrainingConfig.load({"symbol": "SP500", "features": ["a"], "algorithm": "x.y:Z"})
    monkeypatch.setenv("FACTORY_ALLOWED_ESTIMATORS", "sklearn.preprocessing:StandardScaler")
    with pytest.raises(FactoryError, match="is not a regressor"):
        TrainingConfig.load(
            {
                "symbol": "SP500",
                "features": ["a"],
                "algorithm": "sklearn.preprocessing:StandardScaler",
            }
        )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"algorithm": "DeepMagic"},
            "unknown algorithm 'DeepMagic'; known: ElasticNet, Lasso, Ridge",
        ),
        ({"algorithm": "sklearn.nope:Thing"}, "'sklearn.nope:Thing' is not allow-listed"),
        ({"algorithm": "os:system"}, "FACTORY_ALLOWED_ESTIMATORS"),
        ({"grid": {"alpah": [1]}}, "ElasticNet has no hyperparameter 'alpah'"),
        ({"grid": {"alpha": []}}, "the grid for 'alpha' is empty"),
        (
            {"algorithm": "Lasso", "grid": {"l1_ratio": [0.5]}},
            "Lasso has no hyperparameter 'l1_ratio'",
        ),
        ({"features": ["a", "a"]}, "features listed twice: a"),
        ({"regime_configs": [{"regime_gmm": []}]}, "allows no label"),
        ({"symbol": "bad symbol!"}, "not a valid name"),
        ({"data": {"start": "2020-01-01", "holdout_start": "2019-01-01"}}, "start must be before"),
        ({"walk_forward": {"test_window": "soon"}}, "not a time span"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_config_mistakes_are_factory_errors(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(FactoryError, match=message):
        TrainingConfig.load({"symbol": "SP500", "features": ["a"], **fields})
