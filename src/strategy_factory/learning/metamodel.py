"""The meta-model: predicts a configuration's out-of-sample performance from its genome.

Two LightGBM regressors share one training table (:mod:`.genome`):

- ``full`` reads every trait — genome, what training chose, and the selection-period
  metrics — and answers "given how this configuration did on the selection period, how
  will it do out of sample?". Its cross-validated rank correlation is the headline figure,
  reported against the random and selection-metric baselines (:mod:`.evaluation`).
- ``genome`` reads the genome traits alone — what is chosen before a run — and pre-scores
  genomes nobody has run yet: the Bayesian genome search asks it (:mod:`.search`).

Both are evaluated by cross-validation grouped by run, then refitted on every row. A store
with too little history (fewer than ``min_runs`` runs or ``min_rows`` configurations, or a
target that never varies) gets a result that says so, with no model and no score.

The artifact is one JSON document: each regressor in LightGBM's own text model format
(``Booster.model_to_string``, read back with ``Booster(model_str=...)``, never a pickle),
its encoding, the metrics, the importance per trait, the bars the model learned from
(``seen_until``) and the champions the search starts from. :meth:`MetaModel.from_bytes`
checks every field and refuses anything else; a model read back predicts exactly what the
model that was written predicts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from strategy_factory.errors import FactoryError, describe_problems
from strategy_factory.json_values import dumps, plain
from strategy_factory.learning.champions import CHAMPIONS_KEPT, Champion, champions
from strategy_factory.learning.encoding import Encoding
from strategy_factory.learning.evaluation import (
    Folds,
    cross_validate,
    fit_booster,
    fold_spearmans,
    gain_importance,
    group_folds,
    permutation_importance,
    random_baseline,
    spearman,
)
from strategy_factory.learning.genome import (
    GENOME,
    SELECTION,
    TRAINING,
    ConfigurationKey,
    ForwardOutcome,
    GenomeTable,
    genome_table,
    trait_of,
)
from strategy_factory.store import Store

FORMAT = "strategy-factory-meta-model"
FORMAT_VERSION = 1
Inputs = Literal["full", "genome"]
INPUT_GROUPS: dict[str, tuple[str, ...]] = {
    "full": (GENOME, TRAINING, SELECTION),
    "genome": (GENOME,),
}
MIN_RUNS = 3
MIN_ROWS = 100
MAX_ARTIFACT_BYTES = 64 * 1024 * 1024
_STRICT = ConfigDict(extra="forbid", frozen=True)


class _Regressor(BaseModel):
    model_config = _STRICT

    encoding: dict[str, Any]
    booster: str = Field(max_length=MAX_ARTIFACT_BYTES)


class _Document(BaseModel):
    model_config = _STRICT

    format: Literal["strategy-factory-meta-model"]
    format_version: Literal[1]
    version: str = Field(max_length=64)
    trained_at: datetime
    target: str = Field(max_length=32)
    library: dict[str, str]
    regressors: dict[Inputs, _Regressor]
    metrics: dict[str, Any]
    importance: dict[Inputs, list[dict[str, Any]]]
    seen_until: dict[str, str]
    champions: list[Champion] = Field(max_length=CHAMPIONS_KEPT)


@dataclass(frozen=True)
class TraitImportance:
    """How much one trait matters to a regressor, and which way.

    ``gain``: share of LightGBM's total gain; ``permutation``: drop in out-of-fold ρ when
    it is shuffled; ``direction``: Spearman's ρ of the trait's value with the out-of-fold
    prediction (numbers and flags); ``best``: the level with the highest mean prediction
    (categories).
    """

    trait: str
    group: str
    gain: float
    permutation: float
    direction: float | None
    best: str | None


@dataclass(frozen=True)
class MetaModel:
    """A trained meta-model (see the module docstring); ``version`` names it."""

    version: str
    trained_at: datetime
    target: str
    encodings: dict[str, Encoding]
    boosters: dict[str, lgb.Booster]
    metrics: dict[str, Any]
    importance: dict[str, list[TraitImportance]]
    seen_until: dict[str, str]
    champions: list[Champion] = field(default_factory=list)

    def predict(self, rows: pd.DataFrame, inputs: Inputs = "full") -> np.ndarray:
        """Predicted out-of-sample ``target`` of genome-table ``rows`` (``inputs="genome"``:
        of genomes alone, e.g. proposed ones without selection metrics)."""
        return self.boosters[inputs].predict(self.encodings[inputs].transform(rows))

    def importance_json(self) -> dict[str, list[dict[str, Any]]]:
        """The importance per trait of each regressor, as plain values, most important first."""
        return plain(
            {name: [vars(item) for item in items] for name, items in self.importance.items()}
        )

    def to_bytes(self) -> bytes:
        """The artifact: one strict JSON document (see the module docstring)."""
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "version": self.version,
            "trained_at": self.trained_at.isoformat(),
            "target": self.target,
            "library": {"lightgbm": lgb.__version__},
            "regressors": {
                name: {
                    "encoding": self.encodings[name].to_json(),
                    "booster": self.boosters[name].model_to_string(),
                }
                for name in self.boosters
            },
            "metrics": self.metrics,
            "importance": self.importance_json(),
            "seen_until": self.seen_until,
            "champions": [champion.model_dump() for champion in self.champions],
        }
        return dumps(document, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, content: bytes) -> MetaModel:
        """Read an artifact written by :meth:`to_bytes`; anything else is refused."""
        if len(content) > MAX_ARTIFACT_BYTES:
            raise FactoryError(
                f"a meta-model artifact is at most {MAX_ARTIFACT_BYTES} bytes, got {len(content)}"
            )
        try:
            document = _Document.model_validate(json.loads(content))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FactoryError(f"not a meta-model artifact: {exc}") from exc
        except ValidationError as exc:
            raise FactoryError(
                f"not a meta-model artifact: {describe_problems(exc.errors())}"
            ) from exc
        encodings = {n: Encoding.from_json(r.encoding) for n, r in document.regressors.items()}
        boosters = {n: _booster(r.booster) for n, r in document.regressors.items()}
        for name, encoding in encodings.items():
            if boosters[name].num_feature() != len(encoding.columns):
                raise FactoryError(
                    f"meta-model artifact: the {name} regressor reads "
                    f"{boosters[name].num_feature()} columns, its encoding has "
                    f"{len(encoding.columns)}"
                )
        return cls(
            version=document.version,
            trained_at=document.trained_at,
            target=document.target,
            encodings=encodings,
            boosters=boosters,
            metrics=document.metrics,
            importance={
                name: [TraitImportance(**item) for item in items]
                for name, items in document.importance.items()
            },
            seen_until=document.seen_until,
            champions=list(document.champions),
        )


def _booster(text: str) -> lgb.Booster:
    try:
        return lgb.Booster(model_str=text)
    except lgb.basic.LightGBMError as exc:
        raise FactoryError(f"meta-model artifact: unreadable LightGBM model: {exc}") from exc


@dataclass(frozen=True)
class MetaModelResult:
    """A training attempt: the model, or the reason there is none (not enough history)."""

    model: MetaModel | None
    reason: str | None
    rows: int
    runs: int
    skipped: dict[str, str]

    @property
    def trained(self) -> bool:
        """Whether a model was trained."""
        return self.model is not None

    @property
    def metrics(self) -> dict[str, Any]:
        """The model's metrics, or the status and reason when there is no model."""
        if self.model is None:
            return {"status": "not_enough_history", "reason": self.reason, "rows": self.rows,
                    "runs": self.runs}  # fmt: skip
        return {"status": "trained", **self.model.metrics}


def train_meta_model(
    store: Store,
    *,
    target: str = "sharpe",
    forward: dict[ConfigurationKey, ForwardOutcome] | None = None,
    folds: int = 5,
    min_runs: int = MIN_RUNS,
    min_rows: int = MIN_ROWS,
    seed: int = 0,
) -> MetaModelResult:
    """Train the meta-model on every finished run in ``store`` (see :func:`genome_table`
    for ``target`` and ``forward``, :func:`fit_meta_model` for the rest)."""
    table = genome_table(store, target=target, forward=forward)
    return fit_meta_model(table, folds=folds, min_runs=min_runs, min_rows=min_rows, seed=seed)


def fit_meta_model(
    table: GenomeTable,
    *,
    folds: int = 5,
    min_runs: int = MIN_RUNS,
    min_rows: int = MIN_ROWS,
    seed: int = 0,
    permutations: int = 200,
) -> MetaModelResult:
    """Evaluate (cross-validation grouped by run, ``folds`` folds at most) and train both
    regressors on ``table``; ``permutations`` random orderings make the random baseline."""
    rows = table.rows
    found = {"rows": len(rows), "runs": table.runs, "skipped": table.skipped}
    reason = _not_enough(table, min_runs, min_rows)
    if reason is not None:
        return MetaModelResult(model=None, reason=reason, **found)
    y = rows["target"].to_numpy(dtype=np.float64)
    # Runs numbered in the table's order (their creation order), not by their random ids,
    # so the same history always gives the same folds.
    split = group_folds(pd.factorize(rows["run_id"])[0], folds)
    encodings, boosters, importance, scores = {}, {}, {}, {}
    for name, groups in INPUT_GROUPS.items():
        encoding = Encoding.fit(rows, groups)
        X = encoding.transform(rows)
        predicted, fold_boosters = cross_validate(X, y, split, seed)
        final = fit_booster(X, y, seed)
        drops = permutation_importance(fold_boosters, X, y, split, encoding.column_traits, seed)
        gains = gain_importance(final, encoding.column_traits)
        importance[name] = _importance(rows, encoding, predicted, gains, drops)
        scores[name] = _score(predicted, y, split)
        encodings[name], boosters[name] = encoding, final
    metrics = _metrics(table, split, scores, y, seed, permutations)
    trained_at = datetime.now(UTC)
    model = MetaModel(
        version=_version(trained_at, boosters),
        trained_at=trained_at,
        target=table.target,
        encodings=encodings,
        boosters=boosters,
        metrics=metrics,
        importance=importance,
        seen_until=table.seen_until,
        champions=champions(table),
    )
    return MetaModelResult(model=model, reason=None, **found)


def _not_enough(table: GenomeTable, min_runs: int, min_rows: int) -> str | None:
    rows, runs = len(table.rows), table.runs
    if runs < min_runs or rows < min_rows:
        return (
            f"not enough history: {runs} finished run(s) with {rows} judged configuration(s); "
            f"the meta-model needs at least {min_runs} runs and {min_rows} configurations "
            "(cross-validation holds whole runs out): run more evolutions first"
        )
    if np.ptp(table.rows["target"].to_numpy(dtype=np.float64)) == 0:
        return "not enough history: every configuration has the same out-of-sample result"
    return None


def _score(predicted: np.ndarray, y: np.ndarray, split: Folds) -> dict[str, Any]:
    by_fold = fold_spearmans(predicted, y, split)
    return {"spearman": spearman(predicted, y), "fold_spearman": by_fold}


def _metrics(
    table: GenomeTable,
    split: Folds,
    scores: dict[str, Any],
    y: np.ndarray,
    seed: int,
    permutations: int,
) -> dict[str, Any]:
    rows = table.rows
    metric = f"selection:{table.target}"
    selection = rows[metric].to_numpy(dtype=np.float64)
    random = random_baseline(y, permutations, seed)
    baseline = {"metric": metric, **_score(selection, y, split)}
    full = scores["full"]["spearman"]
    return plain(
        {
            "target": table.target,
            "rows": len(rows),
            "runs": table.runs,
            "folds": len(split),
            "group_by": "run",
            "sources": rows["target_source"].value_counts().to_dict(),
            "models": scores,
            "baselines": {"selection": baseline, "random": random},
            "beats_baselines": bool(
                full > random["p95"]
                and (np.isnan(baseline["spearman"]) or full > baseline["spearman"])
            ),
        }
    )


def _importance(
    rows: pd.DataFrame,
    encoding: Encoding,
    predicted: np.ndarray,
    gains: dict[str, float],
    drops: dict[str, float],
) -> list[TraitImportance]:
    found = []
    for trait in dict.fromkeys(encoding.column_traits):
        kind = trait_of(trait)
        direction, best = None, None
        if kind.kind == "category":
            means = pd.Series(predicted).groupby(rows[trait].astype(str).to_numpy()).mean()
            best = str(means.idxmax())
        else:
            rho = spearman(rows[trait].to_numpy(dtype=np.float64), predicted)
            direction = None if np.isnan(rho) else rho
        found.append(
            TraitImportance(
                trait=trait,
                group=kind.group,
                gain=gains.get(trait, 0.0),
                permutation=drops.get(trait, 0.0),
                direction=direction,
                best=best,
            )
        )
    return sorted(found, key=lambda item: (-item.permutation, -item.gain, item.trait))


def _version(trained_at: datetime, boosters: dict[str, lgb.Booster]) -> str:
    digest = hashlib.sha256()
    for name in sorted(boosters):
        digest.update(boosters[name].model_to_string().encode())
    return f"{trained_at:%Y%m%dT%H%M%S}-{digest.hexdigest()[:8]}"
