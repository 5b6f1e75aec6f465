"""The champions: the configurations a genome search starts from, kept in the meta-model.

Promoted configurations first, then the best realised out of sample (the genome table's
target), each with its genome — what the search needs to tell Optuna where good genomes
were found — and what it realised.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from strategy_factory.learning.genome import GenomeTable

CHAMPIONS_KEPT = 100


class Champion(BaseModel):
    """A configuration the search starts from: its genome and what it realised."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str = Field(max_length=64)
    model_id: str = Field(max_length=64)
    strategy_key: str = Field(max_length=10_000)
    symbol: str = Field(max_length=200)
    ticker: str = Field(max_length=200)
    features: list[str] = Field(max_length=10_000)
    algorithm: str = Field(max_length=200)
    threshold_quantile: float = Field(ge=0, le=1)
    z_limit: float | None
    regime_filter: str = Field(max_length=10_000)
    mode: str = Field(max_length=16)
    target: float
    promoted: bool


def champions(table: GenomeTable, limit: int = CHAMPIONS_KEPT) -> list[Champion]:
    """The configurations the search starts from: promoted first, then by realised target."""
    rows = table.rows.sort_values(
        ["promoted", "target", "run_id", "model_id", "strategy_key"],
        ascending=[False, False, True, True, True],
    ).head(limit)
    return [
        Champion(
            run_id=row["run_id"],
            model_id=row["model_id"],
            strategy_key=row["strategy_key"],
            symbol=row["symbol"],
            ticker=row["ticker"],
            features=list(row["features"]),
            algorithm=row["algorithm"],
            threshold_quantile=float(row["threshold_quantile"]),
            z_limit=None if np.isnan(row["z_limit"]) else float(row["z_limit"]),
            regime_filter=row["regime_filter"],
            mode=row["mode"],
            target=float(row["target"]),
            promoted=bool(row["promoted"]),
        )
        for row in rows.to_dict("records")
    ]
