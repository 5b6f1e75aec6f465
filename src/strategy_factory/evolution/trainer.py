"""One model per fingerprint, across runs and servers: find it, or claim it and train it.

Before a run trains a model it claims the model's fingerprint in the store (a row with a
lease, renewed while the training runs). A second run that needs the same model — on
this server or another — waits until the first registers it and then reuses it; if the
first dies, its claim's lease runs out and the waiting run claims and trains it itself
(at once when the first was a process of this machine that no longer exists).
So "never trained twice" holds across concurrent runs, not only within one.

A train result comes from a worker that may be broken or forged: it is validated against
its schema, its artifact is read back through the safe format, and it must be the model
that was asked for (same fingerprint, id and features) before anything is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from strategy_factory.evolution.ownership import dead_here
from strategy_factory.evolution.prepare import RunContext
from strategy_factory.execution import TRAIN, Executor, InvalidResultError, validate_result
from strategy_factory.models import FINGERPRINT_VERSION, TrainedModel, TrainingConfig
from strategy_factory.store import Store

# How long a claim lasts without renewal; renewed every third of it while training.
CLAIM_LEASE_SECONDS = 60.0


class ModelTrainer:
    """Finds or trains the model of a training config, claiming its fingerprint first.

    ``owner_id`` names the run's driver; a claim is held by the driver *and* the run (one
    server drives many runs, and each must wait for the others' claims). ``check_stop``
    is called while waiting, so a stop request interrupts a wait for another run.
    """

    def __init__(
        self,
        store: Store,
        executor: Executor,
        owner_id: str,
        check_stop: Callable[[], None],
        claim_lease: float = CLAIM_LEASE_SECONDS,
        poll_interval: float = 0.5,
    ) -> None:
        self.store, self.executor, self.owner_id = store, executor, owner_id
        self.check_stop, self.claim_lease, self.poll_interval = (
            check_stop,
            claim_lease,
            poll_interval,
        )

    def model_id(
        self, context: RunContext, generation: int, training: TrainingConfig
    ) -> tuple[str, bool]:
        """The id of the model for ``training``, and whether this call trained it."""
        fingerprint = training.fingerprint()
        models = self.store.models
        claimant = f"{self.owner_id}/{context.run_id}"
        while True:
            self.check_stop()
            hit = models.by_fingerprint(fingerprint)
            if hit is not None:
                return hit.model_id, False
            if self._claim(fingerprint, claimant, context.run_id):
                try:
                    return self._train(context, generation, training, claimant), True
                finally:
                    models.release_training(fingerprint, claimant)
            time.sleep(self.poll_interval)  # another run is training it: wait for it

    def _claim(self, fingerprint: str, claimant: str, run_id: str) -> bool:
        """Claim ``fingerprint``, taking over the claim of a driver that died on this machine
        (a killed ``factory evolve`` being resumed) instead of waiting out its lease."""
        models = self.store.models
        if models.claim_training(fingerprint, claimant, self.claim_lease, run_id):
            return True
        holder = models.training_holder(fingerprint)
        if holder is None or not dead_here(holder.split("/", 1)[0]):
            return False
        return models.claim_training(
            fingerprint, claimant, self.claim_lease, run_id, dead_owner=holder
        )

    def _train(
        self, context: RunContext, generation: int, training: TrainingConfig, claimant: str
    ) -> str:
        payload = {
            "dataset": context.spec.model_dump(mode="json"),
            "training": training.model_dump(mode="json"),
        }
        fingerprint = training.fingerprint()
        raw = self._wait(self.executor.submit(TRAIN, payload), fingerprint, claimant)
        result = validate_result(TRAIN, raw)
        artifact = result.artifact_bytes()
        summary = result.summary.model_dump()
        check_trained(training, summary, result.model)
        return self.store.models.add_trained(
            {
                "model_id": summary["id"],
                "run_id": context.run_id,
                "generation": generation,
                "fingerprint": fingerprint,
                "algorithm": summary["algorithm"],
                "symbol": summary["symbol"],
                "features": summary["features"],
                "chosen_config": summary["chosen"],
                "validation_metrics": summary["validation"],
                "importance": summary["importance"],
                "data_ranges": summary["data_range"],
            },
            artifact,
            training.canonical_json(),
            FINGERPRINT_VERSION,
        )

    def _wait(self, future: Future, fingerprint: str, claimant: str) -> Any:
        """The training's result, renewing the claim while it runs."""
        while True:
            try:
                return future.result(timeout=self.claim_lease / 3)
            except FutureTimeout:
                self.store.models.renew_training(fingerprint, claimant, self.claim_lease)


def check_trained(training: TrainingConfig, summary: dict[str, Any], model: TrainedModel) -> None:
    """Refuse a trained model that is not the one asked for (a broken or forged worker)."""
    fingerprint = training.fingerprint()
    claims = {
        "summary fingerprint": summary["fingerprint"],
        "artifact fingerprint": model.fingerprint,
        "artifact config fingerprint": model.config.fingerprint(),
    }
    wrong = [name for name, value in claims.items() if value != fingerprint]
    if wrong or model.id != summary["id"] or list(model.features) != list(training.features):
        raise InvalidResultError(
            f"the train result is not the model asked for (fingerprint {fingerprint[:12]}…): "
            f"{', '.join(wrong) or 'its id or features'} differ"
        )
