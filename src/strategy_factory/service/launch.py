"""Starting runs from API requests: validate everything, record, hand to the coordinator.

``create_run`` checks a config against the data (symbols, features, periods, algorithm
and hyperparameters) before it records anything. A batch is all or nothing: every config
is rehearsed through those same checks before any run is recorded, so a bad symbol in the
middle leaves no earlier run behind.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from strategy_factory.evolution import EvolveConfig, create_run
from strategy_factory.service.coordinator import Coordinator
from strategy_factory.service.schemas.evolve import (
    EvolveBatchRequest,
    EvolveRequest,
    RunAccepted,
    evolve_config,
)
from strategy_factory.store import Run, Store


class _Rehearsal:
    """Stands in for the store while ``create_run`` checks a config: it reads the real
    store's models (for ``seed_model_id``) and records nothing."""

    def __init__(self, store: Store) -> None:
        self.models = store.models
        self.runs = self

    def create(
        self, symbol: str, algorithm: str, config: dict[str, Any], max_generations: int, **_: Any
    ) -> None:
        return None


def rehearse(store: Store, config: EvolveConfig) -> None:
    """Check ``config`` exactly as ``create_run`` would, recording nothing."""
    create_run(_Rehearsal(store), config)  # type: ignore[arg-type]


def start_run(store: Store, coordinator: Coordinator, request: EvolveRequest) -> RunAccepted:
    """Validate, record and start one run."""
    return _accepted(_start(store, coordinator, _config(request, request.symbol)))


def start_batch(
    store: Store, coordinator: Coordinator, request: EvolveBatchRequest
) -> list[RunAccepted]:
    """Validate every run of the batch, then record and start them all."""
    configs = [_config(request, symbol) for symbol in request.symbols]
    for config in configs:
        rehearse(store, config)
    return [_accepted(_start(store, coordinator, config)) for config in configs]


def _start(store: Store, coordinator: Coordinator, config: EvolveConfig) -> Run:
    run = create_run(store, config)
    coordinator.launch(run.id)
    return run


def _config(request: EvolveRequest | EvolveBatchRequest, symbol: str) -> EvolveConfig:
    try:
        return evolve_config(request, symbol)
    except ValidationError as exc:
        raise RequestValidationError(
            [
                {**error, "loc": ("body", *error["loc"]), "msg": f"{symbol}: {error['msg']}"}
                for error in exc.errors(include_url=False)
            ]
        ) from exc


def _accepted(run: Run) -> RunAccepted:
    return RunAccepted(run_id=run.id, status=run.status, symbol=run.symbol)
