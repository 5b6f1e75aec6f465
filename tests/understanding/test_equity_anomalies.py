"""Equity anomalies are flagged where they were planted (a flat stretch, a jump, a gap),
and nowhere on a clean random walk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategy_factory.understanding.equity_anomalies import AnomalyBounds, equity_anomalies


def test_planted_anomalies_are_flagged_and_a_clean_curve_is_not() -> None:
    times = pd.date_range("2020-01-01", periods=2000, freq="1h")
    steps = np.random.default_rng(4).normal(0.0, 0.002, 2000)
    clean = pd.Series(np.cumprod(1.0 + steps), index=times)
    assert equity_anomalies(clean, "holdout") == []
    steps[500:800] = 0.0  # 301 bars of unchanged equity
    steps[1200] = 0.05  # 25 sd
    planted = pd.Series(
        np.cumprod(1.0 + steps),
        index=times.delete(range(1500, 1520)).append(
            pd.date_range(times[-1] + pd.Timedelta(hours=1), periods=20, freq="1h")
        ),
    )
    found = equity_anomalies(planted, "holdout", AnomalyBounds(max_flat_bars=250))
    assert [(a.kind, a.start) for a in found] == [
        ("flat", str(times[499])),
        ("jump", str(times[1199])),
        ("gap", str(times[1499])),
    ]
    assert found[0].size == 301 and found[1].size == pytest.approx(0.05)
    assert found[2].size == pytest.approx(21.0)
