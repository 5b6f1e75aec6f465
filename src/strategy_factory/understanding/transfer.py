"""Transfer: a promoted genome tried on other symbols, and what it did there.

A promotion's genome (its run's configuration, with the promoted model's features as the
seed features) becomes one evolution run per other symbol, recorded ``pending`` with
``origin`` ``transfer`` naming the promotion: ``factory transfer`` drives them at once, a
server's coordinator takes them over, or ``factory evolve --resume ID`` does. Each run is
judged like any other — on its own symbol's holdout, by its own criteria — so "it worked on
MSFT" means a promotion there, not a good-looking backtest.

The learning cycle's ``transfers`` step states the outcome of every transfer run that
finished since the previous cycle began, as knowledge: "the genome promoted on SP500 (…)
worked on MSFT: promoted …" or "… failed on NASDAQ: not promoted (…)".

Example::

    launched = launch_transfer(store, TransferRequest(promotion_id=pid, symbols=["MSFT"]))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from strategy_factory.errors import FactoryError, describe_problems
from strategy_factory.evolution import EvolveConfig, create_run
from strategy_factory.evolution.config import RunOrigin
from strategy_factory.store import Run, Store

MAX_SYMBOLS = 20
# The newest runs read when looking for finished transfers (more than a cycle sees).
READ_LIMIT = 500


class TransferRequest(BaseModel):
    """Which promotion to try, on which symbols (not the one it was promoted on)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    promotion_id: str = Field(min_length=1, max_length=64)
    symbols: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=MAX_SYMBOLS
    )
    generations: int | None = Field(None, ge=1, le=100)

    @field_validator("symbols")
    @classmethod
    def _distinct(cls, symbols: list[str]) -> list[str]:
        if len(set(symbols)) != len(symbols):
            raise ValueError("each symbol once")
        return symbols

    @classmethod
    def parse(cls, values: dict[str, Any]) -> TransferRequest:
        """Validate ``values`` (CLI or API), with one clear error."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise FactoryError(f"invalid transfer: {describe_problems(exc.errors())}") from exc


@dataclass(frozen=True)
class TransferLaunch:
    """One symbol's transfer run, or why it was not launched."""

    symbol: str
    run: Run | None
    reason: str | None


def transfer_config(store: Store, request: TransferRequest, symbol: str) -> EvolveConfig:
    """The run that tries the promotion's genome on ``symbol``."""
    promotion = store.promoted.get(request.promotion_id)
    base = EvolveConfig.load(store.runs.get(promotion.run_id).config["evolve"])
    if symbol == base.symbol:
        raise FactoryError(
            f"promotion {promotion.id} was made on {symbol}: transfer it to another symbol"
        )
    data = base.model_dump(mode="json")
    data |= {
        "symbol": symbol,
        "reference_symbols": [s for s in base.reference_symbols if s != symbol],
        "seed_features": list(store.models.get(promotion.model_id).features),
        "seed_model_id": None,
        "origin": RunOrigin(
            source="transfer", promotion=promotion.id, promoted_on=base.symbol
        ).model_dump(mode="json"),
        "prior_trials": 0,
    }
    data["strategy"] |= {"tickers": []}
    if request.generations is not None:
        data["max_generations"] = request.generations
    return EvolveConfig.load(data)


def launch_transfer(
    store: Store, request: TransferRequest, owner_id: str | None = None
) -> list[TransferLaunch]:
    """Record a pending run per symbol (``owner_id``: born leased to that driver); a
    symbol whose run cannot be made (no bars, the genome's features missing there) is
    reported with the reason, and the others still launch."""
    store.promoted.get(request.promotion_id)  # an unknown promotion fails before any run
    launched = []
    for symbol in request.symbols:
        try:
            run = create_run(store, transfer_config(store, request, symbol), owner_id=owner_id)
        except FactoryError as exc:
            launched.append(TransferLaunch(symbol, None, str(exc)))
            continue
        launched.append(TransferLaunch(symbol, run, None))
    return launched


def transfer_outcomes(store: Store, since: datetime | None) -> dict[str, Any]:
    """The transfer runs that finished since ``since`` (all, the first time): whether the
    genome worked there (a promotion) or failed, as sentences for the knowledge base."""
    finished = [
        run
        for run in transfer_runs(store)
        if run.finished_at is not None and (since is None or run.finished_at >= since)
    ]
    rows = [transfer_outcome(store, run) for run in finished]
    return {
        "title": "Transfers to other symbols",
        "runs": rows,
        "principles": [row["principle"] for row in rows],
    }


def transfer_runs(store: Store, limit: int = READ_LIMIT) -> list[Run]:
    """The transfer runs among the store's newest ``limit`` runs, newest first."""
    return [run for run in store.runs.recent(limit=limit) if transfer_origin(run) is not None]


def transfer_origin(run: Run) -> dict[str, Any] | None:
    """The promotion a transfer run tries (``promotion``, ``promoted_on``); None for any
    other run."""
    origin = (run.config.get("evolve") or {}).get("origin") or {}
    return origin if origin.get("source") == "transfer" else None


def transfer_outcome(store: Store, run: Run) -> dict[str, Any]:
    """What the finished transfer run ``run`` did on its symbol, with its sentence."""
    origin = transfer_origin(run)
    if origin is None:
        raise FactoryError(f"run {run.id} is not a transfer run: it has no transfer outcome")
    genome = f"the genome promoted on {origin['promoted_on']} ({origin['promotion']})"
    if run.status != "completed":
        worked = None
        said = f"{genome} could not be judged on {run.symbol}: the run {run.status}"
        said += f" ({run.error})" if run.error else ""
    elif run.promoted and run.promotion_id is not None:
        worked = True
        holdout = store.promoted.get(run.promotion_id).holdout_metrics
        said = (
            f"{genome} worked on {run.symbol}: promoted ({run.promotion_id}; holdout "
            f"Sharpe {_number(holdout.get('sharpe'))}, {_number(holdout.get('trades'), 0)} "
            "trades)"
        )
    else:
        worked = False
        said = (
            # Generations count from 0: the last one run is current_generation.
            f"{genome} failed on {run.symbol}: not promoted after {run.current_generation + 1} "
            f"generation(s), {run.configurations_tried} configurations tried"
        )
    return {
        "run_id": run.id,
        "symbol": run.symbol,
        "promotion": origin["promotion"],
        "worked": worked,
        "principle": f"Run {run.id}: {said}.",
    }


def _number(value: Any, digits: int = 2) -> str:
    return "n/a" if value is None else f"{float(value):.{digits}f}"
