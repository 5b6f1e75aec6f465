"""White's Reality Check, Hansen's SPA and StepM on real S&P 500 returns: a true edge is
found, luck is not, and studentization really happens."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from strategy_factory.data import BarCatalog
from strategy_factory.errors import FactoryError
from strategy_factory.evaluate.reality_check import (
    hansen_spa,
    romano_wolf_stepm,
    white_reality_check,
)

REPS = 300  # enough bootstrap draws for p-values judged at 5%, and fast


@pytest.fixture(scope="module")
def buy_and_hold(shared_bars: BarCatalog) -> np.ndarray:
    """The benchmark: daily close-to-close returns of the S&P 500, last 1000 days."""
    close = shared_bars.load("SP500")["close"].to_numpy()
    return np.diff(close[-1001:]) / close[-1001:-1]


def _lucky_books(returns: np.ndarray, seed: int, n: int = 10) -> np.ndarray:
    """Random daily leverage of 0, 1 or 2: on average exactly buy-and-hold, no edge."""
    leverage = np.random.default_rng(seed).integers(0, 3, (returns.size, n))
    return leverage * returns[:, None]


def _peeking_book(returns: np.ndarray, seed: int, accuracy: float, lean: float) -> np.ndarray:
    """Buy-and-hold leaning ``lean`` towards the day's true direction ``accuracy`` of the time."""
    right = np.random.default_rng(seed).random(returns.size) < accuracy
    return (1 + lean * np.where(right, 1.0, -1.0) * np.sign(returns)) * returns


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_strategy_that_truly_beats_the_benchmark_is_found(
    buy_and_hold: np.ndarray, seed: int
) -> None:
    books = pd.DataFrame(_lucky_books(buy_and_hold, seed), columns=[f"cell{i}" for i in range(10)])
    books["peek"] = _peeking_book(buy_and_hold, seed, accuracy=0.6, lean=1.0)
    spa = hansen_spa(buy_and_hold, books, reps=REPS, seed=seed)
    assert spa.consistent < 0.05
    assert spa.lower <= spa.consistent <= spa.upper
    assert white_reality_check(buy_and_hold, books, reps=REPS, seed=seed) == spa.upper < 0.05
    superior = romano_wolf_stepm(buy_and_hold, books, reps=REPS, seed=seed)
    assert "peek" in superior


def test_luck_is_not_mistaken_for_skill(buy_and_hold: np.ndarray) -> None:
    # Twenty grids of ten edgeless books: at the 5% level about one grid in twenty is
    # flagged by chance; more than four would mean the tests are not controlling size.
    spa = [
        hansen_spa(buy_and_hold, _lucky_books(buy_and_hold, s), reps=REPS, seed=s)
        for s in range(20)
    ]
    consistent = np.array([p.consistent for p in spa])
    assert np.sum(consistent < 0.05) <= 4
    assert np.sum(np.array([p.upper for p in spa]) < 0.05) <= 4
    assert np.median(consistent) > 0.2
    flagged = [
        romano_wolf_stepm(buy_and_hold, _lucky_books(buy_and_hold, s), reps=REPS, seed=s)
        for s in range(10)
    ]
    assert sum(bool(f) for f in flagged) <= 2


def test_studentized_tests_ignore_each_strategys_scale(buy_and_hold: np.ndarray) -> None:
    books = _lucky_books(buy_and_hold, 7, n=6)
    scaled = buy_and_hold[:, None] + (books - buy_and_hold[:, None]) * [0.1, 1, 3, 10, 0.5, 7]
    assert hansen_spa(buy_and_hold, scaled, reps=REPS, seed=7) == hansen_spa(
        buy_and_hold, books, reps=REPS, seed=7
    )
    unscaled = hansen_spa(buy_and_hold, scaled, reps=REPS, seed=7, studentize=False)
    assert unscaled != hansen_spa(buy_and_hold, books, reps=REPS, seed=7, studentize=False)


@pytest.mark.parametrize("seed", [200, 201, 202])
def test_studentizing_keeps_a_steady_edge_from_drowning(
    buy_and_hold: np.ndarray, seed: int
) -> None:
    # Wild, edgeless books (leverage -5..7) next to a calm one with a modest real edge:
    # unscaled, the wild books' bootstrap maxima hide it; studentized, it stands out.
    leverage = 1 + 6 * np.random.default_rng(seed).integers(-1, 2, (buy_and_hold.size, 10))
    books = leverage * buy_and_hold[:, None]
    books[:, 2] = _peeking_book(buy_and_hold, seed, accuracy=0.6, lean=0.5)
    assert hansen_spa(buy_and_hold, books, reps=REPS, seed=seed).consistent < 0.05
    assert hansen_spa(buy_and_hold, books, reps=REPS, seed=seed, studentize=False).consistent > 0.05
    assert romano_wolf_stepm(buy_and_hold, books, reps=REPS, seed=seed) == (2,)
    assert romano_wolf_stepm(buy_and_hold, books, reps=REPS, seed=seed, studentize=False) == ()


def test_a_strategy_identical_to_the_benchmark_is_harmless(buy_and_hold: np.ndarray) -> None:
    books = _lucky_books(buy_and_hold, 3, n=4)
    books[:, 0] = buy_and_hold
    pvalues = hansen_spa(buy_and_hold, books, reps=REPS, seed=3)
    assert all(math.isfinite(p) for p in (pvalues.consistent, pvalues.lower, pvalues.upper))


@pytest.mark.parametrize(
    ("benchmark", "strategies", "kwargs", "message"),
    [
        (np.zeros(50), np.zeros((49, 3)), {}, "T = 50 rows"),
        (np.zeros((50, 2)), np.zeros((50, 3)), {}, "one series"),
        (np.zeros(5), np.zeros((5, 3)), {}, "at least 10 periods"),
        (np.full(50, math.nan), np.zeros((50, 3)), {}, "fill flat periods"),
        (np.zeros(50), np.zeros((50, 3)), {"block_size": 0}, "block_size"),
        (np.zeros(50), np.zeros((50, 3)), {"reps": 10}, "reps"),
    ],
)
def test_bad_input_says_what_to_fix(
    benchmark: np.ndarray, strategies: np.ndarray, kwargs: dict, message: str
) -> None:
    with pytest.raises(FactoryError, match=message):
        hansen_spa(benchmark, strategies, **kwargs)


def test_stepm_size_must_be_a_probability() -> None:
    with pytest.raises(FactoryError, match="size"):
        romano_wolf_stepm(np.zeros(50), np.zeros((50, 3)), size=1.5)
