"""The optimizer role: expand parameter spaces and analyse what the backtester found.

Expansion: the full grid, a seeded random sample, or Optuna's TPE in batches (each batch
asks a fresh seeded sampler given every earlier result, so a resumed search asks exactly
what an uninterrupted one would). Analysis: the best trial of each family in each regime
(:func:`best_per_regime`), and the weights of a blend by grid over the weight simplex
or CMA-ES (:func:`search_weights`). It never trades anything itself.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from strategy_factory.errors import FactoryError
from strategy_factory.workflow.config import (
    MAX_TRIALS,
    EnsembleOptimization,
    Family,
    Search,
    Span,
    grid_points,
)

OPTUNA_BATCH = 32
MAX_WEIGHT_SETS = 200_000


def _sample(rng: np.random.Generator, space: list[Any] | Span) -> Any:
    if isinstance(space, list):
        return space[int(rng.integers(len(space)))]
    if space.log:
        value = math.exp(rng.uniform(math.log(space.low), math.log(space.high)))
    else:
        value = rng.uniform(space.low, space.high)
    return round(value) if space.integer else float(value)


def expand(family: Family, search: Search) -> list[dict[str, Any]]:
    """The trials of a grid or random search, in a stable order (duplicates dropped)."""
    space = family.space()
    if search.method == "grid":
        return grid_points({k: v for k, v in space.items() if isinstance(v, list)})
    rng = np.random.default_rng([search.seed, *family.name.encode()])
    points: dict[str, dict[str, Any]] = {}
    for _ in range(search.trials * 20):
        point = {name: _sample(rng, values) for name, values in space.items()}
        points.setdefault(repr(sorted(point.items())), point)
        if len(points) == search.trials:
            break
    return list(points.values())


def optuna_batch(
    family: Family,
    search: Search,
    told: Sequence[tuple[dict[str, Any], float]],
    batch: int,
) -> list[dict[str, Any]]:
    """The next ``batch`` trials TPE asks for, given every (params, value) told so far."""
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    distributions = _distributions(family)
    sampler = optuna.samplers.TPESampler(seed=search.seed + len(told), multivariate=True)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.add_trials(
        [
            optuna.trial.create_trial(
                params=_encode(params), distributions=distributions, value=value
            )
            if math.isfinite(value)
            else optuna.trial.create_trial(
                params=_encode(params),
                distributions=distributions,
                state=optuna.trial.TrialState.FAIL,
            )
            for params, value in told
        ]
    )
    asked = []
    for _ in range(batch):
        trial = study.ask(distributions)
        asked.append(_decode(trial.params))
        study.tell(trial, state=optuna.trial.TrialState.FAIL)  # told for real next batch
    return asked


def _distributions(family: Family) -> dict[str, Any]:
    import optuna.distributions as d

    found: dict[str, Any] = {}
    for name, space in family.space().items():
        if isinstance(space, Span):
            kind = d.IntDistribution if space.integer else d.FloatDistribution
            low, high = (
                (int(space.low), int(space.high)) if space.integer else (space.low, space.high)
            )
            found[name] = kind(low, high, log=space.log)
        else:
            found[name] = d.CategoricalDistribution([_token(v) for v in space])
    return found


def _token(value: Any) -> Any:
    return "none" if value is None else value


def _encode(params: dict[str, Any]) -> dict[str, Any]:
    return {k: _token(v) for k, v in params.items()}


def _decode(params: dict[str, Any]) -> dict[str, Any]:
    return {k: None if v == "none" else v for k, v in params.items()}


def best_per_regime(
    records: Sequence[dict[str, Any]],
    labels: dict[str, list[int]],
    metric: str,
    min_bars: int,
    min_trades: int,
) -> dict[str, Any]:
    """The best trial overall and in each regime; a regime without a usable trial falls back.

    A regime with fewer than ``min_bars`` bars, or where no trial made ``min_trades``
    trades, takes the overall best and says why (never an empty choice).
    """
    if not records:
        raise FactoryError("no trials to analyse: the discovery phase recorded none")
    overall, overall_note = _best(records, lambda r: r["overall"], metric, min_trades)
    chosen: dict[str, Any] = {}
    for name, classifier_labels in labels.items():
        chosen[name] = {}
        for label in classifier_labels:
            key = str(label)
            bars = records[0]["regimes"][name][key]["bars"]
            if bars < min_bars:
                reason = f"only {bars} bars in this regime (< min_bars {min_bars})"
                chosen[name][key] = _fallback(overall, reason, bars)
                continue
            view = _regime(name, key)
            best, note = _best(records, view, metric, min_trades)
            if note:
                chosen[name][key] = _fallback(overall, note, bars)
            else:
                chosen[name][key] = _choice(best, view, metric) | {
                    "bars": bars,
                    "fallback": False,
                }
    return {
        "overall": _choice(overall, lambda r: r["overall"], metric)
        | {"fallback": False, "note": overall_note},
        "regimes": chosen,
    }


def _regime(name: str, key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The metrics of a record in one regime."""
    return lambda record: record["regimes"][name][key]


def _best(
    records: Sequence[dict[str, Any]], where: Callable, metric: str, min_trades: int
) -> tuple[dict[str, Any], str]:
    def score(record: dict[str, Any]) -> tuple[float, float, int]:
        value = where(record)[metric]
        value = value if value is not None and math.isfinite(value) else -math.inf
        return (value, where(record)["trades"] or 0, -record["trial"])

    eligible = [r for r in records if (where(r)["trades"] or 0) >= min_trades]
    if eligible:
        return max(eligible, key=score), ""
    most = max(where(r)["trades"] or 0 for r in records)
    return max(records, key=score), f"no trial made {min_trades} trades here (most: {most:g})"


def _choice(record: dict[str, Any], where: Callable, metric: str) -> dict[str, Any]:
    return {
        "trial": record["trial"],
        "params": record["params"],
        "value": where(record)[metric],
        "trades": where(record)["trades"],
    }


def _fallback(overall: dict[str, Any], reason: str, bars: int) -> dict[str, Any]:
    return {
        "trial": overall["trial"],
        "params": overall["params"],
        "value": None,
        "trades": None,
        "bars": bars,
        "fallback": True,
        "reason": f"{reason}: the overall best is used",
    }


def project_weights(raw: np.ndarray, low: float, high: float) -> np.ndarray:
    """Rows of ``raw`` projected onto {Σw = 1, low <= w <= high} (Euclidean, by bisection)."""
    raw = np.atleast_2d(np.asarray(raw, dtype=np.float64))
    members = raw.shape[1]
    if not members * low <= 1 <= members * high:
        raise FactoryError(
            f"no weights of {members} members sum to 1 within [{low}, {high}]: "
            "loosen min_weight/max_weight"
        )
    lo = (raw - high).min(axis=1) - 1.0
    hi = (raw - low).max(axis=1) + 1.0
    for _ in range(100):
        shift = (lo + hi) / 2
        total = np.clip(raw - shift[:, None], low, high).sum(axis=1)
        lo = np.where(total > 1, shift, lo)
        hi = np.where(total > 1, hi, shift)
    weights = np.clip(raw - ((lo + hi) / 2)[:, None], low, high)
    return weights / weights.sum(axis=1, keepdims=True)


def simplex_grid(members: int, config: EnsembleOptimization) -> np.ndarray:
    """Every weight set on a ``step`` lattice with Σw = 1 inside [min_weight, max_weight]."""
    units = round(1 / config.step)
    low, high = config.min_weight, config.max_weight
    values = np.round(np.arange(math.floor(low * units), math.ceil(high * units) + 1) / units, 12)
    values = values[(values >= low - 1e-12) & (values <= high + 1e-12)]
    if members == 1:
        return np.ones((1, 1))
    count = len(values) ** (members - 1)
    if count > MAX_WEIGHT_SETS:
        raise FactoryError(
            f"the weight grid of {members} members at step {config.step} has {count:,} points "
            f"(more than {MAX_WEIGHT_SETS:,}); raise step or use method: cmaes"
        )
    rows = [
        (*head, 1.0 - sum(head))
        for head in itertools.product(values, repeat=members - 1)
        if low - 1e-9 <= 1.0 - sum(head) <= high + 1e-9
    ]
    if not rows:
        raise FactoryError(f"no weight set on the step-{config.step} grid sums to 1 within bounds")
    return np.round(np.array(rows, dtype=np.float64), 12)


def search_weights(
    members: int, config: EnsembleOptimization, evaluate: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """(weight sets tried, their objective values) by grid or CMA-ES; higher is better.

    CMA-ES (Optuna's sampler) fits this search: a few continuous weights, a smooth but
    noisy objective, and a population that is replayed as one batch per generation.
    """
    if config.method == "grid" or members == 1:
        sets = simplex_grid(members, config)
        return sets, evaluate(sets)
    return _cmaes(members, config, evaluate)


def _cmaes(
    members: int, config: EnsembleOptimization, evaluate: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    distributions = {
        f"w{i}": optuna.distributions.FloatDistribution(config.min_weight, config.max_weight)
        for i in range(members)
    }
    sampler = optuna.samplers.CmaEsSampler(seed=config.seed, warn_independent_sampling=False)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    population = 4 + math.floor(3 * math.log(members))
    tried, values = [], []
    while len(tried) < min(config.trials, MAX_TRIALS):
        asked = [study.ask(distributions) for _ in range(population)]
        raw = np.array([[t.params[f"w{i}"] for i in range(members)] for t in asked])
        sets = project_weights(raw, config.min_weight, config.max_weight)
        scores = evaluate(sets)
        for trial, score in zip(asked, scores, strict=True):
            finite = bool(np.isfinite(score))
            study.tell(trial, float(score) if finite else None,
                       state=None if finite else optuna.trial.TrialState.FAIL)  # fmt: skip
        tried.append(sets)
        values.append(scores)
    return np.concatenate(tried)[: config.trials], np.concatenate(values)[: config.trials]
