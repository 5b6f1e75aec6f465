"""Size and power of the understanding layer's two tests that decide something.

Champion/challenger (``paired_test``): ``--pairs`` pairs of ``--bars`` per-bar returns,
each strategy an independent Gaussian AR(1) of coefficient φ (a strategy that holds
positions over several bars), started from its stationary distribution. With equal means
the rate at which the challenger passes at 5% is the test's size; with the challenger's
mean raised by ``--effect`` standard deviations (of the differences, per bar) it is the
power, printed beside the power the test stated on average.

Diagnosis (``diagnose_trades``): ``--walks`` random walks and ``--planted`` series with
the planted regime/session edge of ``bench_diagnose.py`` (seeds from 100). On random
walks every name is false, so the share of walks naming anything is the family-wise
error (BH at 5% allows 5% when nothing is there); on planted series, the detection of
each true group, the false discovery rate (mean share of false names per series) and the
pooled share of false names.

    .venv/bin/python benchmarks/bench_test_sizes.py              # the README's figures
    .venv/bin/python benchmarks/bench_test_sizes.py --pairs 500 --walks 40 --planted 20

It writes ``benchmarks/results/test_sizes.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal

from bench_diagnose import TRUTH, diagnosed
from strategy_factory.understanding.paired_test import paired_test

RESULTS = Path(__file__).resolve().parent / "results"
PHIS = (0.0, 0.3, 0.6, 0.9)
ALPHA = 0.05


def ar1_returns(rng: np.random.Generator, phi: float, pairs: int, bars: int) -> np.ndarray:
    """``pairs`` independent stationary Gaussian AR(1) paths of per-bar returns (sd 1%)."""
    shocks = rng.normal(0.0, 0.01, (pairs, bars))
    shocks[:, 0] /= np.sqrt(1 - phi**2)
    return signal.lfilter([1.0], [1.0, -phi], shocks, axis=1)


def paired_sizes(pairs: int, bars: int, effect: float, seed: int) -> list[dict[str, float]]:
    """Size and power of the paired test for each φ of :data:`PHIS`."""
    rows = []
    for phi in PHIS:
        rng = np.random.default_rng([seed, int(phi * 100)])
        challenger, champion = ar1_returns(rng, phi, 2 * pairs, bars).reshape(2, pairs, bars)
        null = [paired_test(a, b, alpha=ALPHA) for a, b in zip(challenger, champion, strict=True)]
        # The planted effect, in sd of the differences per bar (as min_effect states it).
        sd = float(np.mean((challenger - champion).std(axis=1, ddof=1)))
        better = [
            paired_test(a + effect * sd, b, alpha=ALPHA, min_effect=effect)
            for a, b in zip(challenger, champion, strict=True)
        ]
        rows.append(
            {
                "phi": phi,
                "false_acceptance": float(np.mean([r.passed for r in null])),
                "detection": float(np.mean([r.passed for r in better])),
                "stated_power": float(np.mean([r.power for r in better])),
            }
        )
        print(
            f"  phi {phi:.1f}: equal means accepted {rows[-1]['false_acceptance']:.1%} of "
            f"{pairs}; better by {effect:g} sd/bar accepted {rows[-1]['detection']:.1%} "
            f"(stated power {rows[-1]['stated_power']:.1%})",
            flush=True,
        )
    return rows


def named(job: tuple[float, int]) -> tuple[int, list[tuple[str, str]]]:
    """The groups and features one series' diagnosis names."""
    strength, seed = job
    diagnosis, _ = diagnosed(strength, seed)
    names = {(r["split"], r["group"]) for r in diagnosis.significant_groups()}
    names |= {("feature", r["feature"]) for r in diagnosis.significant_features()}
    return seed, sorted(names)


def diagnosis_rates(walks: int, planted: int, workers: int) -> dict[str, Any]:
    """False naming on random walks; detection and false discoveries with a planted edge."""
    jobs = [(0.0, s) for s in range(100, 100 + walks)] + [
        (0.4, s) for s in range(100, 100 + planted)
    ]
    with multiprocessing.Pool(workers) as pool:
        results = pool.map(named, jobs, chunksize=4)
    walk_names = [set(names) for _, names in results[:walks]]
    edge_names = [set(names) for _, names in results[walks:]]
    for (seed, names), (strength, _) in zip(results, jobs, strict=True):
        false = set(names) - (TRUTH if strength else set())
        if false:
            print(f"  strength {strength} seed {seed}: {sorted(false)}", flush=True)
    false_shares = [len(n - TRUTH) / len(n) if n else 0.0 for n in edge_names]
    all_names = sum(len(n) for n in edge_names)
    return {
        "walks": walks,
        "walks_naming_anything": float(np.mean([bool(n) for n in walk_names])),
        "planted": planted,
        "all_true_found": float(np.mean([n >= TRUTH for n in edge_names])),
        "true_found": {
            f"{split}={group}": float(np.mean([(split, group) in n for n in edge_names]))
            for split, group in sorted(TRUTH)
        },
        "exactly_the_truth": float(np.mean([n == TRUTH for n in edge_names])),
        "false_discovery_rate": float(np.mean(false_shares)),
        "false_names_pooled": sum(len(n - TRUTH) for n in edge_names) / max(all_names, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--bars", type=int, default=500)
    parser.add_argument("--effect", type=float, default=0.1)
    parser.add_argument("--walks", type=int, default=200)
    parser.add_argument("--planted", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args()
    print(f"paired test, {arguments.bars} bars per pair, one-sided {ALPHA:.0%}:", flush=True)
    paired = paired_sizes(arguments.pairs, arguments.bars, arguments.effect, seed=15)
    print("diagnosis, BH at 5%:", flush=True)
    diagnosis = diagnosis_rates(arguments.walks, arguments.planted, arguments.workers)
    print(
        f"  random walks naming anything: {diagnosis['walks_naming_anything']:.1%} of "
        f"{arguments.walks}\n  planted: every true group named in "
        f"{diagnosis['all_true_found']:.0%} of {arguments.planted}, exactly the truth in "
        f"{diagnosis['exactly_the_truth']:.0%}; FDR {diagnosis['false_discovery_rate']:.1%}, "
        f"false names pooled {diagnosis['false_names_pooled']:.1%}",
        flush=True,
    )
    RESULTS.mkdir(exist_ok=True)
    report = {"arguments": vars(arguments), "paired": paired, "diagnosis": diagnosis}
    (RESULTS / "test_sizes.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
