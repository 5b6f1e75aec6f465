"""The virtual fund: a hand-checked example, agreement with a bar-by-bar book-keeping loop,
drift and turnover, and what happens to snapshots no bar separates."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from strategy_factory.errors import FactoryError
from strategy_factory.learning.fund import virtual_fund

DAYS = pd.date_range("2024-01-01", periods=5, freq="D")


def two_strategies() -> pd.DataFrame:
    return pd.DataFrame(
        {"A": [0.0, 0.10, 0.0, -0.10, 0.05], "B": [0.0, 0.0, 0.20, 0.0, 0.0]}, index=DAYS
    )


def test_a_hand_checked_two_strategy_fund() -> None:
    """Half and half from day 0, rebalanced to half and half after day 2.

    Day 1: A +10% → return 5%, equity 1.05, stakes .55/.50 → weights 11/21, 10/21.
    Day 2: B +20% on 10/21 → return 2/21, equity 1.15, stakes .55/.60.
    Rebalance: drifted weights 11/23, 12/23 → turnover ½(1/46 + 1/46) = 1/46.
    Day 3: A -10% on ½ → -5%, equity 1.0925. Day 4: A +5% on .45/.95 → equity 1.118375.
    """
    fund = virtual_fund(
        {DAYS[0]: {"A": 0.5, "B": 0.5}, DAYS[2]: {"A": 0.5, "B": 0.5}}, two_strategies()
    )
    np.testing.assert_allclose(fund.returns, [0.05, 2 / 21, -0.05, 0.45 / 0.95 * 0.05])
    np.testing.assert_allclose(fund.equity, [1.05, 1.15, 1.0925, 1.118375])
    np.testing.assert_allclose(fund.drawdown, [0, 0, 1.0925 / 1.15 - 1, 1.118375 / 1.15 - 1])
    np.testing.assert_allclose(fund.weights["A"], [0.5, 11 / 21, 0.5, 0.45 / 0.95])
    assert list(fund.returns.index) == list(DAYS[1:])  # day 0's return is not earned
    np.testing.assert_allclose(fund.rebalances["turnover"], [1.0, 1 / 46])
    assert list(fund.rebalances["first_bar"]) == [DAYS[1], DAYS[3]]
    summary = fund.summary()
    assert summary["total_return"] == pytest.approx(0.118375)
    assert summary["max_drawdown"] == pytest.approx(1.0925 / 1.15 - 1)
    assert summary["rebalances"] == 2


def random_case(seed: int) -> tuple[dict, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    bars = pd.date_range("2023-01-02", periods=300, freq="B")
    returns = pd.DataFrame(rng.normal(0.0005, 0.02, (300, 5)), index=bars, columns=list("abcde"))
    picks = np.sort(rng.choice(np.arange(-1, 290), size=6, replace=False))
    snapshots = {}
    for pick in picks:
        when = bars[pick] if pick >= 0 else bars[0] - pd.Timedelta(days=3)
        weights = rng.dirichlet(np.ones(5)) * rng.uniform(0.7, 1.0)  # some cash at times
        weights[rng.random(5) < 0.3] = 0
        snapshots[when + pd.Timedelta(hours=int(rng.integers(0, 2)) * 12)] = dict(
            zip("abcde", weights, strict=True)
        )
    return snapshots, returns


def book_keeping(snapshots: dict, returns: pd.DataFrame) -> pd.Series:
    """A bar-by-bar loop over stakes: the reference the vectorised fund must match."""
    schedule = sorted(snapshots.items())
    stakes: dict[str, float] = {}
    cash, applied, equity = 0.0, 0, {}
    for bar, row in returns.iterrows():
        due = [weights for when, weights in schedule if when < bar]
        if len(due) > applied:  # rebalance to the latest snapshot due, at today's value
            value = sum(stakes.values()) + cash if applied else 1.0
            stakes = {k: w * value for k, w in due[-1].items()}
            cash = value - sum(stakes.values())
            applied = len(due)
        if not applied:
            continue
        stakes = {k: v * (1 + row[k]) for k, v in stakes.items()}
        equity[bar] = sum(stakes.values()) + cash
    return pd.Series(equity)


@pytest.mark.parametrize("seed", range(5))
def test_equity_matches_book_keeping_and_compounds_the_returns(seed: int) -> None:
    snapshots, returns = random_case(seed)
    fund = virtual_fund(snapshots, returns)
    reference = book_keeping(snapshots, returns)
    np.testing.assert_allclose(fund.equity.to_numpy(), reference.to_numpy(), rtol=1e-12)
    assert list(fund.equity.index) == list(reference.index)
    np.testing.assert_allclose(fund.equity, np.cumprod(1 + fund.returns.to_numpy()), rtol=1e-12)
    held = fund.weights.columns
    np.testing.assert_allclose(
        fund.returns, (fund.weights * returns.loc[fund.equity.index, held]).sum(axis=1), atol=1e-14
    )
    assert (fund.drawdown <= 0).all()
    assert (fund.rebalances["status"] == "applied").all()


def test_rebalancing_to_the_drifted_weights_trades_nothing() -> None:
    _, returns = random_case(7)
    start = returns.index[0] - pd.Timedelta(days=1)
    held = virtual_fund({start: {"a": 0.4, "b": 0.35, "c": 0.25}}, returns)
    bar = returns.index[120]
    drifted = held.weights.loc[returns.index[121]].to_dict()  # the weights after bar 120
    again = virtual_fund({start: {"a": 0.4, "b": 0.35, "c": 0.25}, bar: drifted}, returns)
    assert again.rebalances["turnover"].iloc[1] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(again.equity, held.equity, rtol=1e-12)


def test_one_snapshot_is_buy_and_hold_with_cash_flat() -> None:
    _, returns = random_case(8)
    start = returns.index[0] - pd.Timedelta(days=1)
    fund = virtual_fund({start: {"a": 0.3, "d": 0.5}}, returns)
    growth = (1 + returns).cumprod()
    np.testing.assert_allclose(fund.equity, 0.3 * growth["a"] + 0.5 * growth["d"] + 0.2)
    assert fund.rebalances["turnover"].iloc[0] == pytest.approx(0.8)
    assert list(fund.weights.columns) == ["a", "d"]


def test_snapshots_no_bar_separates_and_after_the_end() -> None:
    returns = two_strategies()
    fund = virtual_fund(
        pd.DataFrame(
            {"A": [1.0, 0.0, 0.5], "B": [np.nan, 1.0, 0.5]},
            index=[DAYS[1], DAYS[1] + pd.Timedelta(hours=6), DAYS[4]],
        ),
        returns,
    )
    assert list(fund.rebalances["status"]) == ["superseded", "applied", "pending"]
    assert fund.returns.index[0] == DAYS[2]
    np.testing.assert_allclose(fund.equity, [1.2, 1.2, 1.2])  # all in B from day 2
    payload = json.loads(json.dumps(fund.to_json(series=True), allow_nan=False))
    assert payload["rebalance_log"][0]["turnover"] is None
    assert payload["rebalance_log"][2]["first_bar"] is None


def test_times_as_text_and_an_all_cash_snapshot() -> None:
    fund = virtual_fund({"2024-01-02": {"B": 1.0}, "2024-01-03 12:00": {}}, two_strategies())
    assert list(fund.rebalances.index) == [DAYS[1], DAYS[2] + pd.Timedelta(hours=12)]
    np.testing.assert_allclose(fund.equity, [1.2, 1.2, 1.2])  # in B for day 2, then cash
    np.testing.assert_allclose(fund.rebalances["turnover"], [1.0, 1.0])
    assert fund.weights.loc[DAYS[3]].sum() == 0


def test_no_applied_snapshot_is_an_empty_fund() -> None:
    fund = virtual_fund({DAYS[4]: {"A": 1.0}}, two_strategies())
    assert fund.summary()["bars"] == 0
    assert fund.summary()["total_return"] == 0.0
    assert list(fund.rebalances["status"]) == ["pending"]


@pytest.mark.parametrize(
    ("snapshots", "message"),
    [
        ({DAYS[0]: {"A": 0.7, "B": 0.4}}, "invests 1.1 > 1"),
        ({DAYS[0]: {"A": -0.1, "B": 0.4}}, "negative or non-finite weight"),
        ({DAYS[0]: {"A": 0.5, "Z": 0.4}}, "strategies without returns: Z"),
        ({DAYS[0].tz_localize("UTC"): {"A": 1.0}}, "both timezone-aware or both naive"),
    ],
)
def test_bad_snapshots_are_refused(snapshots: dict, message: str) -> None:
    with pytest.raises(FactoryError, match=message):
        virtual_fund(snapshots, two_strategies())


def test_a_held_strategy_without_a_return_is_refused_naming_the_bar() -> None:
    returns = two_strategies()
    returns.loc[DAYS[3], "B"] = np.nan
    with pytest.raises(FactoryError, match="strategy B is held but has no return at 2024-01-04"):
        virtual_fund({DAYS[0]: {"A": 0.5, "B": 0.5}}, returns)
    # not held, a missing return does not matter
    assert virtual_fund({DAYS[0]: {"A": 1.0}}, returns).summary()["bars"] == 4


def test_unsorted_bars_are_refused() -> None:
    with pytest.raises(FactoryError, match="increasing order"):
        virtual_fund({DAYS[0]: {"A": 1.0}}, two_strategies().iloc[::-1])
