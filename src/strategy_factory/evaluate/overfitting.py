"""Selection-honesty statistics: PSR, expected maximum Sharpe, DSR, MinTRL and PBO by CSCV.

Every Sharpe ratio here is **per period** (per bar of the return series), never
annualized: divide an annual figure by ``sqrt(periods_per_year)`` first. Kurtosis is
**Pearson** kurtosis (a normal distribution has 3), not excess kurtosis. The Sharpe
ratio of a series uses the sample standard deviation (``ddof=1``); skew and kurtosis
are the biased moment estimates — the conventions of ``skfolio.measures``, which
this module wraps where it is exact (PSR and DSR of a return series, expected
maximum Sharpe) and cross-checks against where it has no summary-statistics form.

References: Bailey & López de Prado, "The Sharpe Ratio Efficient Frontier" (2012);
"The Deflated Sharpe Ratio" (2014); Bailey, Borwein, López de Prado & Zhu, "The
Probability of Backtest Overfitting" (2015).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats
from skfolio import measures

from strategy_factory.errors import FactoryError

FloatOrArray = float | npt.NDArray[np.float64]
Metric = Literal["sharpe", "mean"]

# Bound the (combinations x configurations) work arrays of CSCV to a few tens of MB.
_CSCV_CHUNK_CELLS = 2_000_000


@dataclass(frozen=True)
class SharpeStats:
    """Per-period Sharpe ratio of a return series with the moments that set its precision."""

    sharpe: float
    n_observations: int
    skew: float
    kurtosis: float  # Pearson: 3 for normal returns


def sharpe_stats(returns: npt.ArrayLike) -> SharpeStats:
    """Per-period Sharpe ratio (ddof=1), length, skew and Pearson kurtosis of ``returns``.

    A series with no variation (a strategy that never traded) has NaN Sharpe and moments.
    """
    values = _returns(returns)
    std = values.std(ddof=1)
    if std == 0:
        return SharpeStats(math.nan, values.size, math.nan, math.nan)
    return SharpeStats(
        sharpe=float(values.mean() / std),
        n_observations=int(values.size),
        skew=float(stats.skew(values, bias=True)),
        kurtosis=float(stats.kurtosis(values, fisher=False, bias=True)),
    )


def probabilistic_sharpe_ratio(returns: npt.ArrayLike, benchmark_sharpe: float = 0.0) -> float:
    """Probability that the true Sharpe ratio of ``returns`` exceeds ``benchmark_sharpe``.

    ``benchmark_sharpe`` is per period. NaN for a series with no variation.
    Example: ``probabilistic_sharpe_ratio(daily_returns)`` is PSR(0).
    """
    return float(measures.probabilistic_sharpe_ratio(_returns(returns), benchmark_sharpe))


def probabilistic_sharpe_ratio_from_stats(
    sharpe: npt.ArrayLike,
    n_observations: npt.ArrayLike,
    skew: npt.ArrayLike = 0.0,
    kurtosis: npt.ArrayLike = 3.0,
    benchmark_sharpe: npt.ArrayLike = 0.0,
) -> FloatOrArray:
    """PSR from summary statistics; broadcasts over arrays (one value per grid cell).

    ``sharpe`` and ``benchmark_sharpe`` are per period; ``kurtosis`` is Pearson (normal = 3).
    PSR = Z[(SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2)].
    """
    sharpe, n_observations, skew, kurtosis, benchmark_sharpe = np.broadcast_arrays(
        *(
            np.asarray(v, dtype=float)
            for v in (sharpe, n_observations, skew, kurtosis, benchmark_sharpe)
        )
    )
    if np.any(n_observations < 2):
        raise FactoryError("n_observations must be at least 2 (the number of returns)")
    _check_kurtosis(skew, kurtosis)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.sqrt(1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2)
        value = stats.norm.cdf((sharpe - benchmark_sharpe) * np.sqrt(n_observations - 1) / spread)
    return _scalar_or_array(value)


def expected_max_sharpe(
    n_trials: float, trial_sharpe_variance: float, trial_sharpe_mean: float = 0.0
) -> float:
    """Expected maximum per-period Sharpe ratio of ``n_trials`` independent trials.

    ``trial_sharpe_variance`` is the variance of the trials' per-period Sharpe ratios
    (an annualized variance divided by periods per year). With one trial, or no
    dispersion, it is ``trial_sharpe_mean``: there was no selection to correct for.
    """
    if not (math.isfinite(n_trials) and n_trials >= 1):
        raise FactoryError(f"n_trials must be a number of at least 1, got {n_trials!r}")
    if not (math.isfinite(trial_sharpe_variance) and trial_sharpe_variance >= 0):
        raise FactoryError(
            "trial_sharpe_variance must be a finite variance (>= 0) of per-period Sharpe "
            f"ratios, got {trial_sharpe_variance!r}"
        )
    return float(
        measures.expected_max_sharpe_ratio(
            n_trials, math.sqrt(trial_sharpe_variance), trial_sharpe_mean
        )
    )


def deflated_sharpe_ratio(returns: npt.ArrayLike, trial_sharpes: npt.ArrayLike) -> float:
    """DSR of the selected strategy's ``returns`` given every trial's per-period Sharpe.

    ``trial_sharpes`` holds the Sharpe ratio of every configuration tried to find this
    one (including it); their count and variance (ddof=1) set the benchmark.
    """
    trials = np.asarray(trial_sharpes, dtype=float)
    if trials.ndim != 1 or trials.size == 0 or not np.isfinite(trials).all():
        raise FactoryError(
            "trial_sharpes must be a non-empty 1-D array of finite per-period Sharpe ratios, "
            "one per configuration tried (drop configurations that never traded)"
        )
    return float(measures.deflated_sharpe_ratio(_returns(returns), trials))


def deflated_sharpe_ratio_from_stats(
    sharpe: npt.ArrayLike,
    n_observations: npt.ArrayLike,
    n_trials: float,
    trial_sharpe_variance: float,
    skew: npt.ArrayLike = 0.0,
    kurtosis: npt.ArrayLike = 3.0,
) -> FloatOrArray:
    """DSR from summary statistics: PSR benchmarked at the expected maximum Sharpe.

    Per-period Sharpe and trial variance; Pearson kurtosis. Example (the paper's)::

        deflated_sharpe_ratio_from_stats(2.5 / 250**0.5, 1250, 100, 0.5 / 250, -3, 10)  # 0.9004
    """
    benchmark = expected_max_sharpe(n_trials, trial_sharpe_variance)
    return probabilistic_sharpe_ratio_from_stats(
        sharpe, n_observations, skew, kurtosis, benchmark_sharpe=benchmark
    )


def minimum_track_record_length(
    sharpe: npt.ArrayLike,
    skew: npt.ArrayLike = 0.0,
    kurtosis: npt.ArrayLike = 3.0,
    benchmark_sharpe: npt.ArrayLike = 0.0,
    confidence: float = 0.95,
) -> FloatOrArray:
    """Observations needed for PSR(``benchmark_sharpe``) to reach ``confidence``.

    Infinite when the observed per-period ``sharpe`` does not exceed the benchmark.
    """
    if not 0 < confidence < 1:
        raise FactoryError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    sharpe, skew, kurtosis, benchmark_sharpe = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (sharpe, skew, kurtosis, benchmark_sharpe))
    )
    _check_kurtosis(skew, kurtosis)
    spread = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    edge = sharpe - benchmark_sharpe
    with np.errstate(divide="ignore", invalid="ignore"):
        length = 1.0 + spread * (stats.norm.ppf(confidence) / edge) ** 2
    return _scalar_or_array(np.where(edge > 0, length, np.inf))


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


def _returns(returns: npt.ArrayLike) -> npt.NDArray[np.float64]:
    values = np.asarray(returns, dtype=float)
    if values.ndim != 1:
        raise FactoryError(f"returns must be one series (1-D), got shape {values.shape}")
    if values.size < 3:
        raise FactoryError(f"returns need at least 3 observations, got {values.size}")
    if not np.isfinite(values).all():
        first = int(np.flatnonzero(~np.isfinite(values))[0])
        raise FactoryError(
            f"returns contain a missing or infinite value at position {first}; "
            "fill flat periods with 0"
        )
    return values


def _check_kurtosis(skew: np.ndarray, kurtosis: np.ndarray) -> None:
    # Pearson kurtosis is never below skew² + 1; a smaller value is usually excess kurtosis.
    if np.any(kurtosis < skew**2 + 1):
        raise FactoryError(
            "kurtosis must be Pearson kurtosis (normal = 3), at least skew² + 1; "
            "if you have excess kurtosis, add 3"
        )


def _scalar_or_array(value: npt.ArrayLike) -> FloatOrArray:
    array = np.asarray(value, dtype=float)
    return float(array) if array.ndim == 0 else array


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
