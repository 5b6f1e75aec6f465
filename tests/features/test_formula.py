"""Formula features: parsed through a whitelist (never evaluated as Python), computed to
match pandas written out by hand, causal, and usable by name wherever a feature is."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy_factory.data import PRICE_COLUMNS, synthetic_bars
from strategy_factory.errors import FactoryError
from strategy_factory.features import build_feature_matrix
from strategy_factory.features.formula import parse_formula
from strategy_factory.features.reference import align_reference
from strategy_factory.understanding.formula_search import Grammar, random_formula

BARS = synthetic_bars(600, freq="1D", seed=2)
REFERENCE = synthetic_bars(600, freq="1D", seed=3)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("formula:__import__('os')", "unknown operation '__import__'"),
        ("formula:close.real", "only series names and calls"),
        ("formula:mean(close, 5)", "canonical form; write 'formula:mean(close,5)'"),
        ("formula:mean(close,1)", "integer from 2 to 500"),
        ("formula:lag(close,2.5)", "integer from 1 to 500"),
        ("formula:lag(close,True)", "integer from 1 to 500"),
        ("formula:mean(price,5)", "unknown series 'price'"),
        ("formula:exp(close)", "unknown operation 'exp'"),
        ("formula:mean(close,x=5)", "only series names and calls"),
        ("formula:ratio(close)", "ratio takes two series"),
        ("formula:mean(close", "does not parse"),
        ("formula:" + "lag(" * 9 + "close" + ",1)" * 9, "nested deeper"),
    ],
)
def test_a_bad_formula_is_refused_saying_what_to_fix(name: str, problem: str) -> None:
    with pytest.raises(FactoryError, match=re.escape(problem)):
        parse_formula(name)


def test_values_match_pandas_written_out() -> None:
    close, volume = BARS["close"], BARS["volume"]
    reference = pd.Series(align_reference(REFERENCE, BARS.index), index=BARS.index)
    expected = {
        "formula:lag(ratio(mean(close,5),mean(close,20)),1)": (
            close.rolling(5).mean() / close.rolling(20).mean()
        ).shift(1),
        "formula:z(volume,30)": (volume - volume.rolling(30).mean()) / volume.rolling(30).std(),
        "formula:rank(ret(close,3),10)": np.log(close / close.shift(3)).rolling(10).rank(pct=True),
        "formula:sub(max(high,7),min(low,7))": BARS["high"].rolling(7).max()
        - BARS["low"].rolling(7).min(),
        "formula:diff(std(close,12),2)": close.rolling(12).std().diff(2),
        "formula:ratio(close,ref(PEER))": close / reference,
    }
    matrix = build_feature_matrix(BARS, {"PEER": REFERENCE}, list(expected))
    for name, values in expected.items():
        np.testing.assert_allclose(matrix[name], values, rtol=1e-9, atol=1e-12, err_msg=name)


def test_a_formula_needs_what_it_reads() -> None:
    with pytest.raises(FactoryError, match="ref:PEER"):
        build_feature_matrix(BARS, None, ["formula:ratio(close,ref(PEER))"])
    assert parse_formula("formula:mean(volume,5)").needs == {"volume"}
    assert parse_formula("formula:lag(mean(close,20),3)").warm_up == 22


def test_division_by_zero_is_missing_never_infinite() -> None:
    matrix = build_feature_matrix(BARS, None, ["formula:ratio(close,diff(close,1))"])
    values = matrix.iloc[:, 0].to_numpy()
    assert not np.isinf(values).any()


GRAMMAR = Grammar(tuple(parse_formula(f"formula:{n}") for n in ("close", "high", "volume")), 4)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(320, 560))
def test_no_look_ahead_in_any_formula_the_search_can_build(seed: int, cut: int) -> None:
    formula = random_formula(np.random.default_rng(seed), GRAMMAR)
    assert parse_formula(formula.name) == formula  # the name round-trips to the formula
    changed = BARS.copy()
    factor = np.random.default_rng(seed).uniform(0.5, 2.0, len(BARS) - cut - 1)
    for column in [*PRICE_COLUMNS, "volume"]:
        changed.iloc[cut + 1 :, changed.columns.get_loc(column)] *= factor
    before = build_feature_matrix(BARS, None, [formula.name]).iloc[: cut + 1]
    after = build_feature_matrix(changed, None, [formula.name]).iloc[: cut + 1]
    pd.testing.assert_frame_equal(before, after, rtol=1e-12)
