"""The blend backtest: one member is that strategy's backtest bit for bit, a one-hot weight
set under a regime mask is that grid cell, replay agrees with the detail, the resize
arithmetic is pinned by hand and by an independent reference, nothing looks ahead, and
bad input is refused with a message that says what to fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from strategy_factory.backtest import (
    BLEND_FIELDS,
    CONFIG_COLUMNS,
    Execution,
    Market,
    StrategyConfig,
    StrategyGrid,
    config_signal,
    replay_weight_sets,
    simulate_blend,
    simulate_config,
    simulate_grid,
)
from strategy_factory.backtest.replay_kernel import LANES
from strategy_factory.data import synthetic_bars
from strategy_factory.errors import FactoryError
from strategy_factory.evaluate import metrics_table, strategy_metrics

EXECUTIONS = [
    Execution(fill="next_open", fee_bps=5, slippage_bps=2),
    Execution(fill="next_close", fee_bps=1, slippage_bps=10),
]
EXECUTION_IDS = ["next_open", "next_close"]
REGIME_FILTER = {"regime_trend": [1]}
# Fractional, negative (shorting a member), leveraged and one-hot weight sets.
WEIGHT_SETS = np.array(
    [
        [1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.5, 0.25, 0.25],
        [0.2, 0.3, 0.1],
        [-0.5, 1.0, 0.75],
        [1.5, 0.5, -1.0],
        [0.0, 0.0, 0.0],
    ]
)


def members(market: Market) -> list[StrategyConfig]:
    """Three members whose signals differ: thresholds, a z-limit and a long-only one."""
    return [
        StrategyConfig(market.ticker, 0.01),
        StrategyConfig(market.ticker, 0.0, z_limit=1.0, mode="long_only"),
        StrategyConfig(market.ticker, 0.03, z_limit=1.5),
    ]


def member_signals(market: Market) -> np.ndarray:
    return np.column_stack([config_signal(market, c) for c in members(market)])


def constant(weights: np.ndarray, n_bars: int) -> np.ndarray:
    return np.tile(weights, (n_bars, 1))


@pytest.mark.parametrize("execution", EXECUTIONS, ids=EXECUTION_IDS)
def test_one_member_with_weight_one_is_the_strategy_backtest(
    sp500: Market, execution: Execution
) -> None:
    config = StrategyConfig("SP500", 0.01, z_limit=1.5)
    signal = config_signal(sp500, config)
    strategy = simulate_config(sp500, config, execution)
    blend = simulate_blend(sp500.bars, signal[:, None], np.ones((len(signal), 1)), execution)
    assert list(blend.per_bar.columns) == list(BLEND_FIELDS)
    assert len(blend.trades) > 50 and (blend.trades["direction"] == -1).any()
    assert np.array_equal(blend.per_bar["exposure"], signal)
    assert np.array_equal(blend.per_bar["position"], strategy.per_bar["position"])
    assert np.array_equal(blend.equity, strategy.equity)
    assert np.array_equal(blend.returns, strategy.returns)
    pd.testing.assert_frame_equal(blend.trades, strategy.trades, check_exact=True)
    grid = simulate_grid(sp500, StrategyGrid([0.01], [1.5]), execution)
    pd.testing.assert_series_equal(blend.stats, grid.stats.iloc[0], check_exact=True)


@pytest.mark.parametrize("execution", EXECUTIONS, ids=EXECUTION_IDS)
def test_one_hot_weight_set_under_a_regime_mask_is_that_grid_cell(
    sp500: Market, execution: Execution
) -> None:
    result = replay_weight_sets(
        sp500.bars,
        member_signals(sp500),
        np.eye(3),
        execution,
        active=sp500.regime_mask(REGIME_FILTER),
        ticker="SP500",
    )
    cells = [simulate_grid(sp500, grid_of(c), execution) for c in members(sp500)]
    expected = pd.concat([cell.stats for cell in cells], ignore_index=True)
    assert (expected["trades"] > 20).all()
    # The same operations in the same order as the grid kernel: bit-identical, not close.
    pd.testing.assert_frame_equal(result.stats, expected, check_exact=True)
    table = metrics_table(result)
    assert list(table.columns[:5]) == ["ticker", "weight_set", "w0", "w1", "w2"]
    grid_table = pd.concat([metrics_table(cell) for cell in cells], ignore_index=True)
    pd.testing.assert_frame_equal(
        table.drop(columns=["ticker", "weight_set", "w0", "w1", "w2"]),
        grid_table.drop(columns=list(CONFIG_COLUMNS)),
        check_exact=True,
    )


def grid_of(config: StrategyConfig) -> StrategyGrid:
    return StrategyGrid([config.threshold], [config.z_limit], [REGIME_FILTER], [config.mode])


@pytest.mark.parametrize("execution", EXECUTIONS, ids=EXECUTION_IDS)
def test_replay_row_is_the_blend_with_those_weights_at_every_bar(
    sp500: Market, execution: Execution
) -> None:
    signals = member_signals(sp500)
    result = replay_weight_sets(sp500.bars, signals, WEIGHT_SETS, execution)
    table = metrics_table(result)
    resized = 0
    for k, weights in enumerate(WEIGHT_SETS):
        detail = simulate_blend(sp500.bars, signals, constant(weights, len(signals)), execution)
        # One kernel reads a weight row per bar or one row for all: identical, not just close.
        pd.testing.assert_series_equal(
            detail.stats, result.stats.iloc[k], check_exact=True, check_names=False
        )
        # The detail's own bars and trades give the same metrics as the streamed statistics.
        metrics = strategy_metrics(detail)
        assert metrics.pop("max_drawdown_duration") == table["max_drawdown_duration"][k]
        for name, value in metrics.items():
            assert value == pytest.approx(table[name][k], rel=1e-9, abs=1e-12, nan_ok=True), name
        resized += count_resizes(detail.per_bar["position"].to_numpy())
    assert resized > 100


def count_resizes(position: np.ndarray) -> int:
    """Bars whose held exposure changed size but not side."""
    before, after = position[:-1], position[1:]
    return int(np.sum((before != after) & (np.sign(before) == np.sign(after)) & (after != 0)))


def test_every_weight_set_of_a_big_replay_is_its_blend(synthetic: Market) -> None:
    # More weight sets than one group of lanes, the last group part-empty; members enough
    # that their signals' patterns exceed what one int64 code per pattern holds.
    base = member_signals(synthetic)
    delayed = [np.roll(base, lag, axis=0) for lag in range(14)]
    cases = [(base, LANES + 6), (np.concatenate(delayed, axis=1), 3)]
    rng = np.random.default_rng(5)
    for signals, count in cases:
        sets = rng.normal(0.0, 0.6 / signals.shape[1] ** 0.5, size=(count, signals.shape[1]))
        result = replay_weight_sets(synthetic.bars, signals, sets, EXECUTIONS[1])
        for k, weights in enumerate(sets):
            detail = simulate_blend(synthetic.bars, signals, weights, EXECUTIONS[1])
            assert detail.stats["trades"] > 10
            pd.testing.assert_series_equal(
                detail.stats, result.stats.iloc[k], check_exact=True, check_names=False
            )


def test_active_mask_is_a_zero_target_outside_it(sp500: Market) -> None:
    signals = member_signals(sp500)
    active = sp500.regime_mask(REGIME_FILTER)
    execution = EXECUTIONS[0]
    result = replay_weight_sets(sp500.bars, signals, WEIGHT_SETS[2:5], execution, active=active)
    for k, weights in enumerate(WEIGHT_SETS[2:5]):
        # A regime-adaptive blend: these weights in the regime, none outside it.
        per_bar = np.where(active[:, None], weights, 0.0)
        detail = simulate_blend(sp500.bars, signals, per_bar, execution)
        assert not detail.per_bar["exposure"][~active].any()
        pd.testing.assert_series_equal(
            detail.stats, result.stats.iloc[k], check_exact=True, check_names=False
        )


def test_constant_weights_may_be_given_as_one_row(synthetic: Market) -> None:
    signals = member_signals(synthetic)
    weights = WEIGHT_SETS[4]
    one_row = simulate_blend(synthetic.bars, signals, weights, EXECUTIONS[1])
    per_bar = simulate_blend(
        synthetic.bars, signals, constant(weights, len(signals)), EXECUTIONS[1]
    )
    pd.testing.assert_frame_equal(one_row.per_bar, per_bar.per_bar, check_exact=True)
    pd.testing.assert_frame_equal(one_row.trades, per_bar.trades, check_exact=True)
    pd.testing.assert_series_equal(one_row.stats, per_bar.stats, check_exact=True)


def test_resize_arithmetic_by_hand() -> None:
    """Two members weighted 0.75 / 0.25, fee 1 %, slippage 1 %, filled at the next open."""
    index = pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC")
    bars = pd.DataFrame(
        {"open": [100, 100, 110, 120, 125, 125], "close": [100, 110, 121, 120, 125, 120.0]},
        index=index,
    )
    # Targets 0.25, 1, 0.75, -0.5, -0.75, 0: enter, resize up, resize down, flip, add short.
    signals = np.array([[0, 1], [1, 1], [1, 0], [-1, 1], [-1, 0], [0, 0]], dtype=np.int8)
    execution = Execution(fee_bps=100, slippage_bps=100)
    detail = simulate_blend(bars, signals, np.array([0.75, 0.25]), execution)

    # Bar 1, open 100: from flat a quarter of the cash buys at 101 plus the 1 % fee.
    shares_1 = 0.25 / (100 * 1.01 * 1.01)  # 0.00245074 shares; equity at 110: 1.0195814
    cash_1 = 0.75
    # Bar 2, open 110: resize to 1 × the equity there, buying the difference at 111.1 + fee.
    equity_2 = cash_1 + shares_1 * 110
    shares_2 = 1.0 * equity_2 / (110 * 1.01 * 1.01)  # 0.00908629 shares
    cash_2 = cash_1 - (shares_2 - shares_1) * (110 * 1.01) * 1.01  # 0.0054186 left
    # Bar 3, open 120: resize to 0.75, selling the difference at 118.8 less the fee.
    equity_3 = cash_2 + shares_2 * 120
    shares_3 = 0.75 * equity_3 / (120 * 1.01 * 1.01)  # 0.00671364 shares
    proceeds_3 = (shares_2 - shares_3) * (120 * 0.99)
    cash_3 = cash_2 + proceeds_3 * (1 - 0.01)  # 0.2844707
    # Bar 4, open 125: the long exits at 123.75 less the fee, then half the cash goes short.
    exit_4 = cash_3 + shares_3 * (125 * 0.99) * (1 - 0.01)  # 1.1069752: the long made 10.7 %
    short_4 = 0.5 * exit_4 / (125 * 0.99 * 1.01)  # 0.00442834 shares short
    cash_4 = exit_4 + short_4 * (125 * 0.99) * (1 - 0.01)
    # Bar 5, open 125: resize the short to -0.75 × the equity there, selling more shares.
    equity_5 = cash_4 - short_4 * 125
    short_5 = 0.75 * equity_5 / (125 * 0.99 * 1.01)  # 0.00657642 shares short
    cash_5 = cash_4 + (short_5 - short_4) * (125 * 0.99) * (1 - 0.01)

    expected_equity = [
        1.0,
        cash_1 + shares_1 * 110,
        cash_2 + shares_2 * 121,
        cash_3 + shares_3 * 120,
        cash_4 - short_4 * 125,
        cash_5 - short_5 * 120,
    ]
    per_bar = detail.per_bar
    np.testing.assert_allclose(per_bar["equity"], expected_equity, rtol=1e-13)
    assert per_bar["exposure"].tolist() == [0.25, 1.0, 0.75, -0.5, -0.75, 0.0]
    assert per_bar["position"].tolist() == [0.0, 0.25, 1.0, 0.75, -0.5, -0.75]
    assert expected_equity[-1] == pytest.approx(1.1234985, abs=1e-7)  # worked out by hand

    trades = detail.trades
    assert trades["direction"].tolist() == [1, -1]
    assert trades["is_open"].tolist() == [False, True]
    assert (trades["bars_held"].tolist(), trades["entry_price"].tolist()) == ([3, 1], [101, 123.75])
    np.testing.assert_allclose(trades["shares"], [shares_1, short_4], rtol=1e-13)
    np.testing.assert_allclose(trades["exit_price"], [123.75, 120.0], rtol=1e-13)
    np.testing.assert_allclose(trades["entry_equity"], [1.0, exit_4], rtol=1e-13)
    np.testing.assert_allclose(trades["exit_equity"], [exit_4, expected_equity[-1]], rtol=1e-13)
    stats = detail.stats
    assert (stats["trades"], stats["position_changes"], stats["bars_in_market"]) == (2, 2, 5)


def test_a_ruined_account_stays_flat() -> None:
    """A 2× long through a 60 % fall: the next resize finds no equity and closes out."""
    index = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")
    bars = pd.DataFrame(
        {"open": [100, 100, 40, 40, 50], "close": [100, 40, 40, 45, 50.0]}, index=index
    )
    signals = np.array([[1, 1], [1, 0], [1, 1], [1, 1], [1, 1]], dtype=np.int8)
    detail = simulate_blend(bars, signals, np.array([1.0, 1.0]), Execution())
    equity = detail.equity.to_numpy()
    assert equity[1] == pytest.approx(1 - 0.02 * 60)  # 2 / 100 shares lost 60 each
    assert detail.per_bar["position"].tolist() == [0.0, 2.0, 0.0, 0.0, 0.0]
    assert equity[2] == equity[3] == equity[4] == pytest.approx(-0.2)
    assert detail.trades["return"].tolist() == pytest.approx([-1.2])


def _exit(cash: float, shares: float, price: float, execution: Execution) -> float:
    if shares > 0:
        return cash + shares * price * (1 - execution.slippage) * (1 - execution.fee)
    return cash - -shares * price * (1 + execution.slippage) * (1 + execution.fee)


def _enter(cash: float, target: float, price: float, execution: Execution) -> tuple[float, float]:
    fee, slippage = execution.fee, execution.slippage
    spend = abs(target) * cash
    if target > 0:
        return cash - spend, spend / (price * (1 + slippage) * (1 + fee))
    shares = spend / (price * (1 - slippage) * (1 + fee))
    return cash + shares * price * (1 - slippage) * (1 - fee), -shares


def _resize(
    cash: float, shares: float, target: float, price: float, execution: Execution
) -> tuple[float, float]:
    fee, slippage = execution.fee, execution.slippage
    quote = price * (1 + slippage) if target > 0 else price * (1 - slippage)
    wanted = target * (cash + shares * price) / (quote * (1 + fee))
    traded = wanted - shares
    if traded > 0:
        return cash - traded * price * (1 + slippage) * (1 + fee), wanted
    return cash - traded * price * (1 - slippage) * (1 - fee), wanted


def reference_blend(
    bars: pd.DataFrame, signals: np.ndarray, weights: np.ndarray, execution: Execution
) -> tuple[list[float], list[float], list[list]]:
    """Held exposure, equity and trades ([entry bar, exit bar, side, shares, entry equity,
    exit equity]) of a blend, in plain Python from the account rules, not from the kernel."""
    fill = bars["open" if execution.fill == "next_open" else "close"].tolist()
    close = bars["close"].tolist()
    # Member by member, in order: the same float sum as the kernel's, so targets compare.
    targets = [
        sum(float(w) * int(s) for w, s in zip(weights[t], signals[t], strict=True))
        for t in range(len(close))
    ]
    cash, shares, held = 1.0, 0.0, 0.0
    position, equity, trades = [0.0], [1.0], []
    for t in range(1, len(close)):
        target, price = targets[t - 1], fill[t]
        if target != held:
            ruined = cash + shares * price <= 0
            if shares and (target == 0 or (target > 0) != (shares > 0) or ruined):
                cash, shares = _exit(cash, shares, price, execution), 0.0
                trades[-1][1], trades[-1][5] = t, cash
            if target and not shares and cash > 0:
                entry_equity = cash
                cash, shares = _enter(cash, target, price, execution)
                trades.append([t, None, int(np.sign(target)), abs(shares), entry_equity, None])
            elif target and shares:
                cash, shares = _resize(cash, shares, target, price, execution)
            held = target
        position.append(held if shares else 0.0)
        equity.append(cash + shares * close[t])
    if shares:
        trades[-1][1], trades[-1][5] = len(close) - 1, equity[-1]
    return position, equity, trades


@pytest.mark.parametrize("execution", EXECUTIONS, ids=EXECUTION_IDS)
def test_blend_matches_a_plain_python_account(synthetic: Market, execution: Execution) -> None:
    """Weights that change every 50 bars (as a regime-adaptive blend's do) on hourly bars."""
    signals = member_signals(synthetic)
    schedule = np.arange(len(signals)) // 50 % len(WEIGHT_SETS)
    weights = WEIGHT_SETS[schedule] * np.where(schedule % 2, 1.0, 0.7)[:, None]
    detail = simulate_blend(synthetic.bars, signals, weights, execution)
    position, equity, trades = reference_blend(synthetic.bars, signals, weights, execution)
    np.testing.assert_array_equal(detail.per_bar["position"], position)
    np.testing.assert_allclose(detail.equity, equity, rtol=1e-12)
    expected = pd.DataFrame(
        trades, columns=["entry", "exit", "direction", "shares", "entry_equity", "exit_equity"]
    )
    index = synthetic.bars.index
    got = detail.trades
    assert len(got) == len(expected) > 100
    np.testing.assert_array_equal(index.get_indexer(got["entry_time"]), expected["entry"])
    np.testing.assert_array_equal(index.get_indexer(got["exit_time"]), expected["exit"])
    np.testing.assert_array_equal(got["direction"], expected["direction"])
    for column in ("shares", "entry_equity", "exit_equity"):
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-12)
    assert count_resizes(detail.per_bar["position"].to_numpy()) > 100


@st.composite
def blends(draw: st.DrawFn) -> tuple:
    """Bars, 3 members' signals and per-bar weights, and a second version of all three
    that differs only after bar ``cut``."""
    n = draw(st.integers(3, 80))
    cut = draw(st.integers(0, n - 2))
    bars = synthetic_bars(n, freq="4h", seed=draw(st.integers(0, 10_000)), mean_duration=10)
    signal_values = arrays(np.int8, (n, 3), elements=st.integers(-1, 1))
    weight_values = arrays(np.float64, (n, 3), elements=st.floats(-2.0, 2.0))
    signals, weights = draw(signal_values), draw(weight_values)
    later = slice(cut + 1, None)
    changed_bars = bars.copy()
    factor = draw(arrays(np.float64, n, elements=st.floats(0.2, 5.0)))
    changed_bars.loc[changed_bars.index[later], ["open", "close"]] *= factor[later, None]
    changed_signals, changed_weights = signals.copy(), weights.copy()
    changed_signals[later] = draw(signal_values)[later]
    changed_weights[later] = draw(weight_values)[later]
    return cut, (bars, signals, weights), (changed_bars, changed_signals, changed_weights)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blends(), st.sampled_from(EXECUTIONS))
def test_no_look_ahead(case: tuple, execution: Execution) -> None:
    cut, original, changed = case
    before = simulate_blend(*original, execution).per_bar.iloc[: cut + 1]
    after = simulate_blend(*changed, execution).per_bar.iloc[: cut + 1]
    pd.testing.assert_frame_equal(before, after, check_exact=True)


@pytest.fixture(scope="module")
def small() -> tuple[pd.DataFrame, np.ndarray]:
    bars = synthetic_bars(30, freq="1D", seed=5)
    return bars, np.ones((30, 2), dtype=np.int8)


def _with_open(bars: pd.DataFrame, value: float) -> pd.DataFrame:
    changed = bars.copy()
    changed.iloc[7, changed.columns.get_loc("open")] = value
    return changed


BAD_BLENDS = {
    "signals one row short": (lambda b, s: (b, s[1:], np.ones(2)), r"one row per bar \(30\)"),
    "signals of one member as 1-D": (lambda b, s: (b, s[:, 0], np.ones(1)), "bars × members"),
    "signal 2": (lambda b, s: (b, np.where(s == 1, 2, s), np.ones(2)), r"signals\[0, 0\] is 2"),
    "signal NaN": (
        lambda b, s: (b, np.where(np.arange(30)[:, None] == 3, np.nan, s), np.ones(2)),
        r"signals\[3, 0\] is nan.*-1 \(short\), 0 \(flat\) or 1 \(long\)",
    ),
    "weights NaN": (
        lambda b, s: (b, s, np.where(np.arange(30)[:, None] == 4, np.nan, 1.0) * [1, 1]),
        r"weights\[4, 0\] is nan: every weight must be a finite number",
    ),
    "weights of 3 members for 2": (lambda b, s: (b, s, np.ones(3)), r"shape \(2\), got \(3,\)"),
    "weights one row short": (lambda b, s: (b, s, np.ones((29, 2))), r"shape \(30, 2\)"),
    "weights text": (lambda b, s: (b, s, ["a", "b"]), "weights must be numbers"),
    "zero open": (lambda b, s: (_with_open(b, 0.0), s, np.ones(2)), "must be positive"),
    "negative open": (lambda b, s: (_with_open(b, -3.0), s, np.ones(2)), "must be positive"),
    "bars as an array": (lambda b, s: (b.to_numpy(), s, np.ones(2)), "must be a DataFrame"),
}


@pytest.mark.parametrize("case", list(BAD_BLENDS), ids=list(BAD_BLENDS))
def test_bad_blend_input_says_what_to_fix(small: tuple, case: str) -> None:
    make, message = BAD_BLENDS[case]
    with pytest.raises(FactoryError, match=message):
        simulate_blend(*make(*small))


BAD_REPLAYS = {
    "weight set of 3 members for 2": (
        {"weight_sets": np.ones((4, 3))},
        r"weight_sets must have shape \(any, 2\)",
    ),
    "no weight set": ({"weight_sets": np.ones((0, 2))}, r"shape \(any, 2\), got \(0, 2\)"),
    "weight set with inf": (
        {"weight_sets": np.array([[1.0, 0.0], [np.inf, 1.0]])},
        r"weight_sets\[1, 0\] is inf",
    ),
    "active of ints": ({"active": np.ones(30, dtype=int)}, "active must be a boolean mask"),
    "active one short": ({"active": np.ones(29, dtype=bool)}, r"one value per bar \(30\)"),
    "signal -2": ({"signals": -2 * np.ones((30, 2))}, r"signals\[0, 0\] is -2"),
}


@pytest.mark.parametrize("case", list(BAD_REPLAYS), ids=list(BAD_REPLAYS))
def test_bad_replay_input_says_what_to_fix(small: tuple, case: str) -> None:
    bars, signals = small
    arguments = {"signals": signals, "weight_sets": np.eye(2)} | BAD_REPLAYS[case][0]
    with pytest.raises(FactoryError, match=BAD_REPLAYS[case][1]):
        replay_weight_sets(bars, **arguments)
