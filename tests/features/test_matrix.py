"""The registry and build_feature_matrix: names, availability, order, warm-up, bad input."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from strategy_factory.data import synthetic_bars
from strategy_factory.errors import FactoryError
from strategy_factory.features import (
    STATIC_FEATURES,
    available_features,
    build_feature_matrix,
    drop_warm_up,
    feature_descriptions,
)
from strategy_factory.features.matrix import _inputs, _registry


def _close_only(bars: pd.DataFrame) -> pd.DataFrame:
    close = bars["close"]
    return pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": np.nan},
        index=bars.index,
    )


def test_library_is_large_named_and_described(sp500: pd.DataFrame, vix: pd.DataFrame) -> None:
    names = available_features(sp500, {"VIX": vix})
    assert len(STATIC_FEATURES) >= 40
    assert len(names) == len(set(names)) >= 50
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*|ref_[A-Z0-9_.\-^=]+_[a-z0-9_]+", n) for n in names)
    described = feature_descriptions(sp500, {"VIX": vix})
    assert list(described) == names and all(described.values())


def test_availability_follows_the_data(sp500: pd.DataFrame, vix: pd.DataFrame) -> None:
    daily = set(available_features(sp500))
    close_only = set(available_features(vix))
    intraday = set(available_features(synthetic_bars(500, freq="5min", planted_strength=0.1)))
    volume_features = {"obv_slope_20", "obv_z_50", "volume_z_20", "volume_ratio_20"}
    ohlc_features = {"atr_14", "stoch_k_14", "adx_14", "range_hl", "close_pos", "gap", "body"}
    assert volume_features | ohlc_features <= daily
    assert not (volume_features | ohlc_features) & close_only
    assert {"ret_1", "rsi_14", "vol_z_20", "macd_hist", "dow"} <= close_only
    assert {"hour", "minute", "tod_sin", "tod_cos", "exo_planted"} <= intraday
    assert not {"hour", "minute", "tod_sin"} & daily
    assert available_features(_close_only(sp500)) == available_features(vix)


def test_matrix_shape_dtype_and_stable_order(sp500: pd.DataFrame, nasdaq: pd.DataFrame) -> None:
    names = available_features(sp500, {"NASDAQ": nasdaq})
    matrix = build_feature_matrix(sp500, {"NASDAQ": nasdaq})
    assert list(matrix.columns) == names
    assert matrix.index.equals(sp500.index)
    assert (matrix.dtypes == np.float64).all()
    picked = ["ref_NASDAQ_corr_60", "rsi_14", "ret_1", "rsi_14"]
    subset = build_feature_matrix(sp500, {"NASDAQ": nasdaq}, picked)
    assert list(subset.columns) == ["ret_1", "rsi_14", "ref_NASDAQ_corr_60"]
    pd.testing.assert_frame_equal(subset, matrix[subset.columns])


def test_declared_warm_up_is_the_observed_one() -> None:
    bars = synthetic_bars(1_200, freq="1h", seed=5, planted_strength=0.1)
    references = {"PEER": synthetic_bars(1_200, freq="1h", seed=6), "IDX": _close_only(bars)}
    matrix = build_feature_matrix(bars, references)
    declared = {f.name: f.warm_up for f in _registry(_inputs(bars, references))}
    for name in matrix:
        finite = np.isfinite(matrix[name].to_numpy())
        assert finite.argmax() == declared[name], name
        assert finite[declared[name] :].all(), name


def test_drop_warm_up(sp500: pd.DataFrame) -> None:
    matrix = build_feature_matrix(sp500, features=["ret_1", "sma_ratio_200", "vol_z_20"])
    trimmed = drop_warm_up(matrix)
    assert trimmed.index[0] == sp500.index[269]
    assert np.isfinite(trimmed.to_numpy()).all()
    assert not np.isfinite(matrix.iloc[268].to_numpy()).all()


def test_drop_warm_up_names_features_that_are_never_finite(
    sp500: pd.DataFrame, vix: pd.DataFrame
) -> None:
    # The bundled VIX starts in 2014, long after these bars.
    matrix = build_feature_matrix(sp500.iloc[:300], {"VIX": vix}, ["ret_1", "ref_VIX_level"])
    with pytest.raises(FactoryError, match="never finite: ref_VIX_level"):
        drop_warm_up(matrix)


def test_unknown_feature_suggests_close_matches(sp500: pd.DataFrame) -> None:
    with pytest.raises(FactoryError, match=r"unknown feature 'rsi_15'.*rsi_14") as raised:
        build_feature_matrix(sp500, features=["rsi_15"])
    # The message names the command that lists the features, not a Python function.
    assert "`factory features list SYMBOL`" in str(raised.value)
    assert "available_features()" not in str(raised.value)


def test_features_must_be_a_list_of_names(sp500: pd.DataFrame) -> None:
    with pytest.raises(FactoryError, match=r"a list of names, e.g. \['ret_1'\]"):
        build_feature_matrix(sp500, features="ret_1")


def test_missing_reference_says_how_to_give_it(sp500: pd.DataFrame) -> None:
    with pytest.raises(
        FactoryError, match=r"needs the reference symbol NASDAQ.*--reference NASDAQ"
    ):
        build_feature_matrix(sp500, features=["ref_NASDAQ_corr_60"])


def test_feature_the_data_cannot_feed(vix: pd.DataFrame) -> None:
    with pytest.raises(FactoryError, match="volume_z_20 needs volume"):
        build_feature_matrix(vix, features=["volume_z_20"])
    with pytest.raises(FactoryError, match="atr_14 needs a real open/high/low"):
        build_feature_matrix(vix, features=["atr_14"])


def test_too_few_bars_for_a_window(sp500: pd.DataFrame) -> None:
    with pytest.raises(
        FactoryError, match=r"too few bars \(150\).*sma_ratio_200 needs at least 200"
    ):
        build_feature_matrix(sp500.iloc[:150], features=["ret_1", "sma_ratio_200"])
    assert build_feature_matrix(sp500.iloc[:200], features=["sma_ratio_200"]).iloc[-1].notna().all()


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b.drop(columns="low"), "lack column"),
        (lambda b: b.reset_index(drop=True), "DatetimeIndex"),
        (lambda b: b.iloc[::-1], "strictly increasing"),
        (lambda b: b.assign(close=-b["close"]), "finite and positive"),
        (lambda b: b.iloc[:1], "at least 2 bars"),
    ],
)
def test_bad_bars_are_rejected(sp500: pd.DataFrame, mangle, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FactoryError, match=message):
        build_feature_matrix(mangle(sp500))
    with pytest.raises(FactoryError, match=f"reference NASDAQ .*{message}|{message}"):
        available_features(sp500, {"NASDAQ": mangle(sp500)})
