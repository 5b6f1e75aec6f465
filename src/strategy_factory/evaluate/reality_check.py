"""Data-snooping tests over a grid of strategies: White's Reality Check, Hansen's SPA, StepM.

Thin wrappers over :mod:`arch.bootstrap`. Each takes the benchmark's per-period returns
(``T``) and the strategies' (``T x N``) and asks whether the best strategy beats the
benchmark by more than the best of ``N`` lucky draws would. arch works on losses, so a
strategy's loss differential is its excess return over the benchmark.

Studentization is done here: arch's ``studentize`` option computes variances but does
not use them in the statistic, so with ``studentize=True`` (the default) each strategy's
excess returns are divided by their own standard deviation before arch sees them. This
stops a volatile, edgeless strategy from drowning a steady one with a real edge.
``studentize=False`` gives White's original, unscaled statistic.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from strategy_factory.errors import FactoryError

Bootstrap = Literal["stationary", "circular", "moving block"]


@dataclass(frozen=True)
class SPAPValues:
    """Hansen's SPA p-values; ``consistent`` is the test, ``lower``/``upper`` bound it.

    ``upper`` recentres every strategy (the least favourable case): White's Reality Check.
    """

    consistent: float
    lower: float
    upper: float


def white_reality_check(
    benchmark_returns: npt.ArrayLike,
    strategy_returns: npt.ArrayLike | pd.DataFrame,
    *,
    block_size: int | None = None,
    reps: int = 1000,
    bootstrap: Bootstrap = "stationary",
    studentize: bool = True,
    seed: int | None = 0,
) -> float:
    """P-value of White's Reality Check: no strategy beats the benchmark.

    ``block_size`` defaults to sqrt(T); choose it to cover the returns' serial dependence.
    """
    return hansen_spa(
        benchmark_returns,
        strategy_returns,
        block_size=block_size,
        reps=reps,
        bootstrap=bootstrap,
        studentize=studentize,
        seed=seed,
    ).upper


def hansen_spa(
    benchmark_returns: npt.ArrayLike,
    strategy_returns: npt.ArrayLike | pd.DataFrame,
    *,
    block_size: int | None = None,
    reps: int = 1000,
    bootstrap: Bootstrap = "stationary",
    studentize: bool = True,
    seed: int | None = 0,
) -> SPAPValues:
    """Hansen's test of Superior Predictive Ability: no strategy beats the benchmark.

    Example::

        hansen_spa(buy_and_hold, grid_returns).consistent < 0.05  # something truly beats it
    """
    from arch.bootstrap import SPA  # arch (with statsmodels, matplotlib) only when tested

    losses = _scaled_losses(benchmark_returns, strategy_returns, studentize)
    test = SPA(
        np.zeros(losses.shape[0]),
        losses,
        block_size=_block_size(block_size, losses.shape[0]),
        reps=_reps(reps),
        bootstrap=bootstrap,
        seed=seed,
    )
    test.compute()
    pvalues = test.pvalues
    return SPAPValues(
        consistent=float(pvalues["consistent"]),
        lower=float(pvalues["lower"]),
        upper=float(pvalues["upper"]),
    )


def romano_wolf_stepm(
    benchmark_returns: npt.ArrayLike,
    strategy_returns: npt.ArrayLike | pd.DataFrame,
    *,
    size: float = 0.05,
    block_size: int | None = None,
    reps: int = 1000,
    bootstrap: Bootstrap = "stationary",
    studentize: bool = True,
    seed: int | None = 0,
) -> tuple[Hashable, ...]:
    """Strategies that beat the benchmark by Romano and Wolf's StepM, in column order.

    ``size`` bounds the family-wise error rate: the chance that any strategy returned
    does not truly beat the benchmark. Column labels for a DataFrame, else positions.
    """
    if not 0 < size < 1:
        raise FactoryError(f"size must be a probability strictly between 0 and 1, got {size!r}")
    from arch.bootstrap import StepM

    losses = _scaled_losses(benchmark_returns, strategy_returns, studentize)
    test = StepM(
        np.zeros(losses.shape[0]),
        losses,
        size=size,
        block_size=_block_size(block_size, losses.shape[0]),
        reps=_reps(reps),
        bootstrap=bootstrap,
        seed=seed,
    )
    test.compute()
    labels = _labels(strategy_returns, losses.shape[1])
    return tuple(labels[i] for i in sorted(test.superior_models))


def _scaled_losses(
    benchmark_returns: npt.ArrayLike,
    strategy_returns: npt.ArrayLike | pd.DataFrame,
    studentize: bool,
) -> npt.NDArray[np.float64]:
    """Losses whose differential from a zero benchmark is each strategy's excess return."""
    benchmark = np.asarray(benchmark_returns, dtype=float)
    strategies = np.asarray(strategy_returns, dtype=float)
    if benchmark.ndim != 1:
        raise FactoryError(f"benchmark_returns must be one series (1-D), got {benchmark.shape}")
    if strategies.ndim == 1:
        strategies = strategies[:, None]
    if strategies.ndim != 2 or strategies.shape[0] != benchmark.size:
        raise FactoryError(
            f"strategy_returns must be a T x N matrix with T = {benchmark.size} rows like "
            f"benchmark_returns, got shape {strategies.shape}"
        )
    if benchmark.size < 10:
        raise FactoryError(f"need at least 10 periods to bootstrap, got {benchmark.size}")
    if not (np.isfinite(benchmark).all() and np.isfinite(strategies).all()):
        raise FactoryError("returns contain NaN or infinite values; fill flat periods with 0")
    excess = strategies - benchmark[:, None]
    if studentize:
        std = excess.std(axis=0, ddof=1)
        # An excess return with no variation is already on its own scale: leave it as is.
        excess = excess / np.where(std > 0, std, 1.0)
    return -excess


def _block_size(block_size: int | None, periods: int) -> int:
    if block_size is None:
        return max(1, int(np.sqrt(periods)))
    if not 1 <= block_size <= periods:
        raise FactoryError(f"block_size must be between 1 and {periods} periods, got {block_size}")
    return block_size


def _reps(reps: int) -> int:
    if reps < 100:
        raise FactoryError(f"reps must be at least 100 bootstrap replications, got {reps}")
    return reps


def _labels(strategy_returns: npt.ArrayLike | pd.DataFrame, n: int) -> list[Hashable]:
    if isinstance(strategy_returns, pd.DataFrame):
        return list(strategy_returns.columns)
    return list(range(n))
