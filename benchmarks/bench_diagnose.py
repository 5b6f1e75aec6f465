"""How often the diagnosis names exactly where a planted edge lives, and how often it
names anything on a random walk.

Each series is 80,000 hourly bars of :func:`session_edge_bars` (edge only in hidden
regime 1 and at 13:00-15:00 UTC, strength 0.4; or strength 0), traded whenever the
planted feature exceeds 1.5 standard deviations with the default costs. The diagnosis sees
the GMM, HMM and trend labelers (fitted on the first quarter) and the hidden regime.

    .venv/bin/python benchmarks/bench_diagnose.py --series 20
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from strategy_factory.backtest import Execution, Market, StrategyConfig, simulate_config
from strategy_factory.data.synthetic_session import SessionEdge, session_edge_bars
from strategy_factory.features import build_feature_matrix, label_regimes, volatility_zscore
from strategy_factory.understanding import Diagnosis, TradeInputs, diagnose_trades

BARS, WARM_UP = 80_000, 300
FEATURES = ["rsi_14", "vol_z_60", "ema_ratio_200", "exo_planted"]
TRUTH = {("regime_hidden", "0"), ("regime_hidden", "1")} | {
    ("hour", f"{h}:00 UTC") for h in (13, 14, 15)
}


def diagnosed(strength: float, seed: int) -> tuple[Diagnosis, float]:
    bars, hidden = session_edge_bars(BARS, seed, SessionEdge(strength=strength))
    features = build_feature_matrix(bars, None, FEATURES).iloc[WARM_UP:]
    regimes = label_regimes(bars, train_end=bars.index[BARS // 4])
    regimes["regime_hidden"] = hidden
    regimes, bars = regimes.iloc[WARM_UP:], bars.iloc[WARM_UP:]
    zscore = volatility_zscore(bars["close"].to_numpy())
    predictions = pd.Series(bars["planted"].to_numpy(), index=bars.index)
    market = Market("SYN", bars, predictions, zscore=zscore, regimes=regimes)
    detail = simulate_config(market, StrategyConfig("SYN", 1.5), Execution())
    started = time.perf_counter()
    diagnosis = diagnose_trades(detail, TradeInputs(regimes, zscore, features))
    return diagnosis, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--strength", type=float, action="append")
    arguments = parser.parse_args()
    series = arguments.series
    for strength in arguments.strength or (0.4, 0.0):
        exact = extra = missed = anything = 0
        seconds = []
        for seed in range(100, 100 + series):
            diagnosis, spent = diagnosed(strength, seed)
            seconds.append(spent)
            named = {(r["split"], r["group"]) for r in diagnosis.significant_groups()}
            named |= {("feature", r["feature"]) for r in diagnosis.significant_features()}
            exact += named == TRUTH
            extra += len(named - TRUTH)
            missed += len(TRUTH - named)
            anything += bool(named)
            if named - TRUTH:
                print(f"  seed {seed}: also named {sorted(named - TRUTH)}", flush=True)
        print(
            f"strength {strength}: {series} series; exactly the truth {exact}; "
            f"named anything {anything}; extra names {extra}; missed {missed}; "
            f"median diagnosis {sorted(seconds)[len(seconds) // 2]:.2f} s"
        )


if __name__ == "__main__":
    main()
