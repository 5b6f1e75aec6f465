"""Probability of Backtest Overfitting by combinatorially symmetric cross-validation.

Bailey, Borwein, López de Prado & Zhu, "The Probability of Backtest Overfitting" (2015).
No maintained Python package implements it, so it is written here, vectorized: per-block
sums and sums of squares are sufficient for the mean and Sharpe of any union of blocks,
so every combination of halves is scored by matrix products, in chunks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from strategy_factory.errors import FactoryError

Metric = Literal["sharpe", "mean"]

# Bound the (combinations x configurations) work arrays of CSCV to a few tens of MB.
_CSCV_CHUNK_CELLS = 2_000_000


@dataclass(frozen=True, eq=False)
class PBOResult:
    """Probability of Backtest Overfitting by CSCV, with the distributions behind it.

    Arrays have one entry per combination of in-sample blocks.
    """

    pbo: float
    logits: npt.NDArray[np.float64]  # λ = ln(ω / (1 - ω)) of the in-sample best
    relative_ranks: npt.NDArray[np.float64]  # ω: its out-of-sample rank / (N + 1)
    selected: npt.NDArray[np.int64]  # column of the in-sample best
    in_sample: npt.NDArray[np.float64]  # its in-sample metric
    out_of_sample: npt.NDArray[np.float64]  # its out-of-sample metric
    degradation_slope: float  # OLS slope of out_of_sample on in_sample
    degradation_intercept: float
    probability_of_loss: float  # share of combinations where out_of_sample < 0
    in_sample_blocks: npt.NDArray[np.bool_]  # (combinations, n_splits): blocks in sample
    n_splits: int
    n_combinations: int


def probability_of_backtest_overfitting(
    strategy_returns: npt.ArrayLike | pd.DataFrame,
    n_splits: int = 16,
    metric: Metric = "sharpe",
    max_combinations: int = 20_000,
    seed: int = 0,
) -> PBOResult:
    """PBO by combinatorially symmetric cross-validation over a T x N returns matrix.

    The rows (periods) are cut into ``n_splits`` contiguous blocks of equal length (the
    oldest ``T mod n_splits`` rows are dropped); every half of the blocks is an in-sample
    set and the other half its out-of-sample set. When there are more than
    ``max_combinations`` halves, that many are drawn at random with ``seed``.
    ``metric`` ranks configurations: per-period ``sharpe`` or ``mean`` return. A
    configuration with no variation in a set scores Sharpe 0 there.

    Example::

        result = probability_of_backtest_overfitting(grid_returns, n_splits=16)
        result.pbo  # about 0.5 for pure noise, near 0 for a real edge
    """
    blocks = _blocks(strategy_returns, n_splits)
    # Per-block sums of centred returns are sufficient for mean and Sharpe of any union of
    # blocks; centring first keeps the variance free of cancellation error.
    centre = blocks.mean(axis=(0, 1))
    centred = blocks - centre
    return _cscv(
        centred.sum(axis=1),
        (centred**2).sum(axis=1),
        blocks.shape[1],
        centre,
        metric,
        max_combinations,
        seed,
    )


def probability_of_backtest_overfitting_from_blocks(
    block_sums: npt.ArrayLike,
    block_squares: npt.ArrayLike,
    rows_per_block: int,
    metric: Metric = "sharpe",
    max_combinations: int = 20_000,
    seed: int = 0,
) -> PBOResult:
    """PBO by CSCV from per-block sums and sums of squares of each configuration's returns.

    ``block_sums`` and ``block_squares`` are (n_splits, N): the sum and the sum of squares
    of configuration n's returns over the ``rows_per_block`` periods of block s. This is
    all CSCV needs, so a search can keep a few numbers per configuration instead of its
    whole return series, and add configurations as it goes. Equal to
    :func:`probability_of_backtest_overfitting` on the underlying returns.
    """
    sums = np.asarray(block_sums, dtype=float)
    squares = np.asarray(block_squares, dtype=float)
    if sums.ndim != 2 or sums.shape != squares.shape or sums.shape[1] < 2:
        raise FactoryError(
            "block_sums and block_squares must both be (n_splits, N) with N >= 2 "
            f"configurations, got shapes {sums.shape} and {squares.shape}"
        )
    _check_splits(sums.shape[0], rows_per_block * sums.shape[0])
    if not (np.isfinite(sums).all() and np.isfinite(squares).all()):
        raise FactoryError("block statistics contain NaN or infinite values")
    centre = sums.sum(axis=0) / (rows_per_block * sums.shape[0])
    centred_sums = sums - rows_per_block * centre
    centred_squares = squares - 2 * centre * sums + rows_per_block * centre**2
    return _cscv(
        centred_sums, centred_squares, rows_per_block, centre, metric, max_combinations, seed
    )


def _cscv(
    sums: np.ndarray,
    squares: np.ndarray,
    rows: int,
    centre: np.ndarray,
    metric: Metric,
    max_combinations: int,
    seed: int,
) -> PBOResult:
    if max_combinations < 1:
        raise FactoryError(f"max_combinations must be at least 1, got {max_combinations}")
    if metric not in ("sharpe", "mean"):
        raise FactoryError(f"metric must be 'sharpe' or 'mean', got {metric!r}")
    n_splits, n_strategies = sums.shape
    in_sample_sets = _in_sample_sets(n_splits, max_combinations, seed)
    parts = [
        _score_combinations(sums, squares, rows, centre, chunk, metric)
        for chunk in _chunks(in_sample_sets, n_strategies)
    ]
    selected, in_sample, out_of_sample, ranks = (
        np.concatenate(p) for p in zip(*parts, strict=True)
    )
    relative_ranks = ranks / (n_strategies + 1)
    logits = np.log(relative_ranks / (1.0 - relative_ranks))
    slope, intercept = _ols(in_sample, out_of_sample)
    return PBOResult(
        pbo=float(np.mean(logits <= 0)),
        logits=logits,
        relative_ranks=relative_ranks,
        selected=selected,
        in_sample=in_sample,
        out_of_sample=out_of_sample,
        degradation_slope=slope,
        degradation_intercept=intercept,
        probability_of_loss=float(np.mean(out_of_sample < 0)),
        in_sample_blocks=in_sample_sets,
        n_splits=n_splits,
        n_combinations=int(in_sample_sets.shape[0]),
    )


def _blocks(strategy_returns: npt.ArrayLike | pd.DataFrame, n_splits: int) -> np.ndarray:
    """Returns as (n_splits, rows per block, N), oldest remainder rows dropped."""
    values = np.asarray(strategy_returns, dtype=float)
    if values.ndim != 2 or values.shape[1] < 2:
        raise FactoryError(
            "strategy_returns must be a T x N matrix with one column per configuration "
            f"and at least 2 configurations, got shape {values.shape}"
        )
    _check_splits(n_splits, values.shape[0])
    rows = values.shape[0] // n_splits
    if not np.isfinite(values).all():
        raise FactoryError(
            "strategy_returns contain NaN or infinite values; fill flat periods with 0"
        )
    values = values[values.shape[0] - rows * n_splits :]
    return values.reshape(n_splits, rows, values.shape[1])


def _check_splits(n_splits: int, periods: int) -> None:
    if n_splits < 2 or n_splits % 2:
        raise FactoryError(f"n_splits must be an even number of at least 2, got {n_splits}")
    if periods // n_splits * n_splits // 2 < 2:
        raise FactoryError(
            f"{periods} periods are too few for {n_splits} splits: each half needs "
            "at least 2 periods; use fewer splits"
        )


def _in_sample_sets(n_splits: int, max_combinations: int, seed: int) -> np.ndarray:
    """Boolean (combinations, n_splits) masks of the blocks in each in-sample half."""
    half = n_splits // 2
    if math.comb(n_splits, half) <= max_combinations:
        chosen = np.array(list(combinations(range(n_splits), half)))
    else:
        rng = np.random.default_rng(seed)
        chosen = np.empty((0, half), dtype=np.int64)
        while chosen.shape[0] < max_combinations:
            draws = rng.random((max_combinations, n_splits)).argsort(axis=1)[:, :half]
            chosen = np.unique(np.concatenate([chosen, np.sort(draws, axis=1)]), axis=0)
        # np.unique sorts its rows: shuffle before cutting so no block is favoured.
        chosen = rng.permutation(chosen)[:max_combinations]
    masks = np.zeros((chosen.shape[0], n_splits), dtype=bool)
    np.put_along_axis(masks, chosen, True, axis=1)
    return masks


def _chunks(in_sample_sets: np.ndarray, n_strategies: int) -> list[np.ndarray]:
    size = max(1, _CSCV_CHUNK_CELLS // n_strategies)
    return [in_sample_sets[i : i + size] for i in range(0, in_sample_sets.shape[0], size)]


def _score_combinations(
    sums: np.ndarray,
    squares: np.ndarray,
    rows: int,
    centre: np.ndarray,
    in_sample_sets: np.ndarray,
    metric: Metric,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Selected column, its IS and OOS metric and its OOS rank, for each combination.

    ``sums``/``squares`` are per-block sums of returns centred on ``centre`` (per column).
    """
    n_splits = sums.shape[0]
    weights = in_sample_sets.astype(float)
    n = rows * n_splits // 2
    in_sample = _metric(weights @ sums, weights @ squares, n, centre, metric)
    out_of_sample = _metric((1 - weights) @ sums, (1 - weights) @ squares, n, centre, metric)
    selected = in_sample.argmax(axis=1)
    chosen_in = np.take_along_axis(in_sample, selected[:, None], axis=1)[:, 0]
    chosen_out = np.take_along_axis(out_of_sample, selected[:, None], axis=1)
    # Average rank (1 = worst) of the selected column among all columns out of sample.
    below = (out_of_sample < chosen_out).sum(axis=1)
    tied = (out_of_sample == chosen_out).sum(axis=1)
    ranks = below + (tied + 1) / 2.0
    return selected, chosen_in, chosen_out[:, 0], ranks


def _metric(
    sums: np.ndarray, squares: np.ndarray, n: int, centre: np.ndarray, metric: Metric
) -> np.ndarray:
    mean = sums / n + centre
    if metric == "mean":
        return mean
    variance = np.maximum(squares - sums**2 / n, 0.0) / (n - 1)
    std = np.sqrt(variance)
    return np.divide(mean, std, out=np.zeros_like(mean), where=std > 0)


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    spread = x - x.mean()
    variance = float(spread @ spread)
    if variance == 0:
        return math.nan, math.nan
    slope = float(spread @ (y - y.mean())) / variance
    return slope, float(y.mean() - slope * x.mean())
