"""What a run has tried: distinct strategies, their effective number, and the holdout looks.

Every simulated grid cell is a trial, but many are the same strategy: a higher threshold
that filters nothing, a regime filter that is always on, a child model whose positions
equal its parent's. A trial is identified by its per-block sums of bar returns
(:data:`TRIAL_BLOCKS` equal blocks of the selection period, which the grid kernel
accumulates in its one pass): identical position streams give bit-identical block sums,
so they count once. A cell that never trades has no returns to compare and is not a
trial at all. N (distinct trading trials), the variance V of their Sharpe ratios and the
PBO all come from this one set.

The trials also trade alike: N̂ = ρ̄ + (1 − ρ̄)·M effective trials (Bailey & López de Prado
2014, App. A.3 eq. 9), ρ̄ the average correlation of the trials' block returns, is what
the Deflated Sharpe Ratio is charged for. Holdout looks (one per judged generation) are
counted separately: they are what the holdout test is corrected for.

A run launched by the genome search also carries ``prior`` trials: every genome the search
proposed or evaluated before it (``EvolveConfig.prior_trials``). They were tried to find
this run, so the DSR is charged for them too, as independent trials: their returns were
never simulated here, so no correlation can discount them (the conservative choice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from strategy_factory.evaluate import (
    average_correlation,
    effective_trials,
    probability_of_backtest_overfitting_from_blocks,
)

# Blocks of the selection period per cell: enough for a correlation, 4 × the 16 of CSCV.
TRIAL_BLOCKS = 64
PBO_SPLITS = 16
# CSCV over 16 blocks has 12,870 halves; a seeded sample of 2,000 estimates PBO to about
# ±0.01 at a sixth of the cost, which matters when the run's grid holds thousands of cells.
PBO_COMBINATIONS = 2_000


@dataclass
class Trials:
    """The distinct trading strategies a run has tried so far, and its holdout looks."""

    simulated: int = 0
    signatures: set[bytes] = field(default_factory=set)
    block_sums: list[np.ndarray] = field(default_factory=list)
    block_squares: list[np.ndarray] = field(default_factory=list)
    bar_sharpes: list[float] = field(default_factory=list)
    primary: list[bool] = field(default_factory=list)
    rows_per_block: int = 0
    looks: int = 0
    prior: int = 0

    @property
    def count(self) -> int:
        """M: distinct strategies that traded."""
        return len(self.signatures)

    def add(self, result: dict[str, Any], symbol: str) -> int:
        """Count one model's simulated grid (``simulate_unit`` output); returns new trials."""
        rows = result["rows"]
        self.simulated += len(rows)
        sums = np.asarray(result["block_sums"], dtype=np.float64).reshape(-1, len(rows))
        squares = np.asarray(result["block_squares"], dtype=np.float64).reshape(sums.shape)
        per_year = math.sqrt(result["periods_per_year"])
        added = 0
        for column, row in enumerate(rows):
            cell = sums[:, column]
            sharpe = row.get("sharpe")
            if not row.get("trades") or not np.any(cell) or sharpe is None:
                continue
            if not math.isfinite(sharpe):
                continue
            signature = cell.tobytes()
            if signature in self.signatures:
                continue
            self.signatures.add(signature)
            self.block_sums.append(cell)
            self.block_squares.append(squares[:, column])
            self.bar_sharpes.append(sharpe / per_year)
            self.primary.append(row["ticker"] == symbol)
            added += 1
        self.rows_per_block = int(result["rows_per_block"])
        return added

    def look(self) -> int:
        """Count one look at the holdout; returns how many there have been."""
        self.looks += 1
        return self.looks

    def average_correlation(self) -> float:
        """ρ̄ of the distinct trials' block returns (NaN with fewer than two)."""
        if self.count < 2:
            return math.nan
        return average_correlation(np.column_stack(self.block_sums)).average

    def effective(self) -> float:
        """N̂ = ρ̄ + (1 − ρ̄)·M effective independent trials of the run (1 <= N̂ <= M; 1 when
        M <= 1), plus the ``prior`` trials of the search that launched it."""
        return self._effective_in_run() + self.prior

    def _effective_in_run(self) -> float:
        if self.count < 2:
            return 1.0
        rho = self.average_correlation()
        return effective_trials(rho if math.isfinite(rho) else 1.0, self.count)

    def sharpe_variance(self) -> float:
        """Cross-sectional variance of the distinct trials' per-bar Sharpe ratios."""
        return float(np.var(self.bar_sharpes, ddof=1)) if self.count > 1 else 0.0

    def pbo(self) -> float | None:
        """PBO by CSCV over the distinct trials of the run's symbol (None if too few)."""
        columns = [k for k, primary in enumerate(self.primary) if primary]
        if len(columns) < 2 or self.rows_per_block < 1:
            return None
        sums = _splits(np.column_stack([self.block_sums[k] for k in columns]))
        squares = _splits(np.column_stack([self.block_squares[k] for k in columns]))
        rows = self.rows_per_block * (TRIAL_BLOCKS // PBO_SPLITS)
        return probability_of_backtest_overfitting_from_blocks(
            sums, squares, rows, max_combinations=PBO_COMBINATIONS
        ).pbo

    def summary(self) -> dict[str, Any]:
        """The counts as plain JSON values (for the run and its promotions)."""
        rho = self.average_correlation()
        return {
            "cells_simulated": self.simulated,
            "distinct_trials": self.count,
            "average_correlation": rho if math.isfinite(rho) else None,
            "effective_trials": self.effective(),
            "prior_trials": self.prior,
            "holdout_looks": self.looks,
        }


def _splits(blocks: np.ndarray) -> np.ndarray:
    """:data:`TRIAL_BLOCKS` blocks summed into :data:`PBO_SPLITS` (CSCV's halves)."""
    return blocks.reshape(PBO_SPLITS, -1, blocks.shape[1]).sum(axis=1)
