"""Honesty and power of hypothesis tests and indicator discovery, measured over many series.

- FDR: 100 hypotheses per random walk (the tests' set), Benjamini–Hochberg at 5%; every
  hypothesis is false, so the FDR is the share of walks with any discovery.
- Discovery: the planted formula (the tests' series) matched at |r| >= 0.95 and passing,
  over seeds; random walks: how many judged indicators pass.
- Timing: one hypothesis and one default search (medians; say the machine's load).

Usage: ``python benchmarks/bench_understanding.py [walks] [seeds]``
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import beta, false_discovery_control

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' planted series
from tests.understanding.test_discovery import PLANTED, _values, planted_bars
from tests.understanding.test_event_study import _hypotheses_on_a_walk

from strategy_factory.data import synthetic_bars
from strategy_factory.understanding.discovery import discover
from strategy_factory.understanding.discovery_config import DiscoveryConfig


def _upper(hits: int, n: int) -> float:
    """Clopper–Pearson 95% upper bound of a rate."""
    return 1.0 if hits == n else float(beta.ppf(0.975, hits + 1, n - hits))


def fdr(walks: int) -> None:
    with_discoveries, below = 0, []
    for seed in range(walks):
        p_values = _hypotheses_on_a_walk(seed)
        below.append(float(np.mean(p_values <= 0.05)))
        with_discoveries += bool((false_discovery_control(p_values) <= 0.05).any())
    print(
        f"FDR: {with_discoveries} of {walks} random walks with a discovery "
        f"({with_discoveries / walks:.1%}, 95% upper bound {_upper(with_discoveries, walks):.1%}); "
        f"raw p <= 0.05 in {statistics.mean(below):.1%} of hypotheses"
    )


def discovery(seeds: int) -> None:
    matched, passed, walk_passes, judged, seconds = 0, 0, 0, 0, []
    bars = planted_bars()
    truth = _values(PLANTED, bars)
    for seed in range(seeds):
        started = time.perf_counter()
        result = discover(bars, {}, DiscoveryConfig(symbol="SYN", seed=seed))
        seconds.append(time.perf_counter() - started)
        best, best_passed = 0.0, False
        for j in result.judged:
            found = _values(j.candidate.formula.name, bars)
            both = np.isfinite(found) & np.isfinite(truth)
            r = abs(np.corrcoef(found[both], truth[both])[0, 1])
            if r > best:
                best, best_passed = r, j.passed
        matched += best >= 0.95
        passed += best >= 0.95 and best_passed
        walk = synthetic_bars(4_000, freq="1D", seed=seed, tail_df=4.0)
        found_on_walk = discover(walk, {}, DiscoveryConfig(symbol="WALK", seed=seed)).judged
        walk_passes += sum(j.passed for j in found_on_walk)
        judged += len(found_on_walk)
    print(
        f"planted formula matched at |r| >= 0.95 in {matched} of {seeds} searches "
        f"({passed} of them passing); random walks: {walk_passes} of {judged} judged pass; "
        f"a default search on 4,000 bars: median {statistics.median(seconds):.1f} s"
    )


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    fdr(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
    discovery(int(sys.argv[2]) if len(sys.argv) > 2 else 20)
