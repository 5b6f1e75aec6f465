"""The grid kernel against a stored golden table: statistics must stay bit-identical.

``golden/grid_kernel.npz`` holds every statistic (float64) of 360 cells on SP500, MSFT
and a synthetic minute series (prices rounded to 6 decimals; long-short and long-only,
regime filters, z-limits, fees and slippage), with no blocks and with 7 blocks (the
per-block sums and squares too), as the kernel computed them before it was rewritten for
speed. A faster kernel must give exactly the same bits, so the comparison is
``np.array_equal``, not a tolerance.

Rewrite the table only when the grid's semantics change on purpose:
``.venv/bin/python -m tests.backtest.test_golden_grid``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from strategy_factory.backtest import (
    Execution,
    Market,
    StrategyGrid,
    simulate_configs,
    simulate_grid,
)
from strategy_factory.backtest.kernel import STAT_NAMES
from strategy_factory.data import BarCatalog, synthetic_bars
from tests.backtest.conftest import make_market

GOLDEN = Path(__file__).parent / "golden" / "grid_kernel.npz"
GRID = StrategyGrid(
    thresholds=[0.0, 0.002, 0.005, 0.01, 0.02],
    z_limits=[None, 0.5, 1.5],
    regime_filters=[
        None,
        {"regime_trend": [1]},
        {"regime_vol": [0, 1]},
        {"regime_trend": [0], "regime_vol": [1, 2]},
    ],
    modes=["long_short", "long_only"],
)
CASES = {
    "blocks0": (Execution(fill="next_open", fee_bps=5, slippage_bps=2), 0),
    "blocks7": (Execution(fill="next_close", fee_bps=1, slippage_bps=10), 7),
}
KEYS = ("blocks0_stats", "blocks7_stats", "blocks7_block_sums", "blocks7_block_squares")


def golden_markets(catalog: BarCatalog) -> list[Market]:
    """SP500 and MSFT daily with momentum predictions; 20,000 synthetic minute bars."""
    minute = synthetic_bars(20_000, freq="1min", seed=5, planted_strength=0.1)
    # NumPy's exp differs in the last bit between processors (its AVX-512 and AVX2 code
    # paths), and every later bit of the arithmetic with it: rounded prices are the same
    # on every machine.
    prices = ["open", "high", "low", "close"]
    minute[prices] = minute[prices].round(6)
    return [
        make_market("SP500", catalog.load("SP500")),
        make_market("MSFT", catalog.load("MSFT")),
        make_market("SYN", minute, minute["planted"].rename("prediction") * 0.01),
    ]


def grid_arrays(markets: list[Market]) -> dict[str, np.ndarray]:
    """Every case's statistics (cells × STAT_NAMES) and, with blocks, its block sums."""
    arrays = {}
    for name, (execution, blocks) in CASES.items():
        result = simulate_grid(markets, GRID, execution, blocks=blocks)
        arrays[f"{name}_stats"] = result.stats[list(STAT_NAMES)].to_numpy(dtype=np.float64)
        if blocks:
            arrays[f"{name}_block_sums"] = result.block_sums
            arrays[f"{name}_block_squares"] = result.block_squares
    return arrays


@pytest.fixture(scope="module")
def markets(shared_bars: BarCatalog) -> list[Market]:
    return golden_markets(shared_bars)


@pytest.fixture(scope="module")
def computed(markets: list[Market]) -> dict[str, np.ndarray]:
    return grid_arrays(markets)


@pytest.mark.parametrize("key", KEYS)
def test_grid_statistics_are_bit_identical_to_the_golden_table(
    computed: dict[str, np.ndarray], key: str
) -> None:
    expected = np.load(GOLDEN, allow_pickle=False)[key]
    assert expected.dtype == np.float64 and computed[key].dtype == np.float64
    assert computed[key].shape == expected.shape
    differ = np.argwhere(computed[key] != expected)
    assert differ.size == 0, f"{key}: {len(differ)} values differ, first at {differ[0]}"
    assert np.array_equal(computed[key], expected)


@pytest.mark.parametrize("case", sorted(CASES))
def test_configs_across_markets_in_an_odd_count_match_the_golden_rows(
    markets: list[Market], case: str
) -> None:
    # The kernel runs a group's cells eight by eight; these straddle markets and groups,
    # and their count is odd.
    execution, blocks = CASES[case]
    rows = [0, 125, 7, 250, 359]
    grid = simulate_grid(markets, GRID, execution)
    configs = [grid.config(row) for row in rows]
    picked = simulate_configs(markets, configs, execution, blocks=blocks)
    golden = np.load(GOLDEN, allow_pickle=False)
    stats = picked.stats[list(STAT_NAMES)].to_numpy(dtype=np.float64)
    assert np.array_equal(stats, golden[f"{case}_stats"][rows])
    if blocks:
        assert np.array_equal(picked.block_sums, golden[f"{case}_block_sums"][:, rows])
        assert np.array_equal(picked.block_squares, golden[f"{case}_block_squares"][:, rows])


def test_the_golden_table_is_not_degenerate() -> None:
    golden = np.load(GOLDEN, allow_pickle=False)
    assert sorted(golden.files) == sorted(KEYS)
    stats = golden["blocks0_stats"]
    trades = stats[:, STAT_NAMES.index("trades")]
    assert stats.shape == (360, len(STAT_NAMES))
    assert (trades > 10).mean() > 0.9 and trades.sum() > 100_000
    assert np.unique(stats[:, STAT_NAMES.index("final_equity")]).size > 250


def main() -> None:
    """Write the golden table from the kernel as it is now."""
    with tempfile.TemporaryDirectory() as root:
        np.savez_compressed(GOLDEN, **grid_arrays(golden_markets(BarCatalog(root))))
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
