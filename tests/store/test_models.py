"""Models and the fingerprint registry, including two trainers racing on one configuration."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from strategy_factory.errors import NotFoundError
from strategy_factory.store import Store
from strategy_factory.store.tables import model_fingerprints
from tests.store.conftest import add_model


def test_a_model_keeps_everything_it_was_given(store: Store, run_id: str) -> None:
    model = store.models.add(
        run_id=run_id,
        generation=2,
        fingerprint="ab" * 32,
        algorithm="elasticnet",
        symbol="SP500",
        features=["zeta", "alpha", "mid"],
        chosen_config={"alpha": 0.1, "l1_ratio": 0.5, "regime": {"regime_gmm": [0, 2]}},
        validation_metrics={"folds": [0.1, float("nan")], "mean": float("inf")},
        importance={"method": "permutation", "scores": {"zeta": 0.3, "alpha": -0.01}},
        data_ranges={"start": "1999-01-04T00:00:00+00:00", "holdout": "2015-01-02T00:00:00+00:00"},
        artifact_path="models/abc.joblib",
    )
    loaded = store.models.get(model.id)
    assert loaded.features == ["zeta", "alpha", "mid"]
    assert loaded.validation_metrics is not None
    assert loaded.validation_metrics["mean"] == float("inf")
    assert loaded.validation_metrics["folds"][1] != loaded.validation_metrics["folds"][1]  # NaN
    assert loaded.importance == model.importance
    assert loaded == model
    with pytest.raises(NotFoundError, match="no model 'nope'"):
        store.models.get("nope")


def test_models_of_a_run_come_by_generation(store: Store, run_id: str) -> None:
    ids = [add_model(store, run_id, generation=g) for g in (0, 1, 1, 2)]
    assert [m.id for m in store.models.of_run(run_id)] == ids
    assert [m.id for m in store.models.of_run(run_id, generation=1)] == ids[1:3]


def test_a_known_fingerprint_is_found_and_counted(store: Store, run_id: str) -> None:
    fingerprint = hashlib.sha256(b'{"features":["a"]}').hexdigest()
    assert store.models.by_fingerprint(fingerprint) is None
    model_id = add_model(store, run_id)
    assert store.models.register_fingerprint(fingerprint, model_id, '{"features":["a"]}', 1) == (
        model_id
    )
    hits = [store.models.by_fingerprint(fingerprint) for _ in range(3)]
    assert [hit.hits for hit in hits if hit is not None] == [1, 2, 3]
    assert {hit.model_id for hit in hits if hit is not None} == {model_id}
    assert hits[0] is not None
    assert (hits[0].config, hits[0].fingerprint_version) == ('{"features":["a"]}', "1")


def test_two_trainers_racing_on_one_fingerprint_agree_on_one_model(
    store: Store, run_id: str
) -> None:
    rounds = 15
    barrier = threading.Barrier(2)

    def trainer(_: int) -> list[tuple[str, str]]:
        outcomes = []
        for round_ in range(rounds):
            mine = add_model(store, run_id)
            barrier.wait()
            winner = store.models.register_fingerprint(f"{round_:064x}", mine, "{}", 1)
            outcomes.append((mine, winner))
        return outcomes

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(trainer, range(2))
    for (mine_a, winner_a), (mine_b, winner_b) in zip(first, second, strict=True):
        assert winner_a == winner_b
        assert winner_a in {mine_a, mine_b}
    with store.database.read() as connection:
        rows = connection.execute(select(func.count()).select_from(model_fingerprints))
        assert rows.scalar_one() == rounds


def test_artifacts_are_kept_once_and_returned_byte_for_byte(store: Store, run_id: str) -> None:
    model_id = add_model(store, run_id)
    content = bytes(range(256)) * 1000
    store.models.save_artifact(model_id, content)
    store.models.save_artifact(model_id, b"a second save is ignored")
    assert store.models.artifact(model_id) == content
    other = add_model(store, run_id)
    with pytest.raises(NotFoundError, match="no artifact is stored"):
        store.models.artifact(other)


def test_a_trained_model_its_artifact_and_fingerprint_are_recorded_together(
    store: Store, run_id: str
) -> None:
    fingerprint = hashlib.sha256(b"trained together").hexdigest()
    fields = {
        "fingerprint": fingerprint,
        "algorithm": "ElasticNet",
        "symbol": "SP500",
        "features": ["b", "a"],
        "run_id": run_id,
        "generation": 1,
    }
    holder = store.models.add_trained({**fields, "model_id": "first"}, b"bytes-1", "{}", 1)
    assert holder == "first"
    assert store.models.artifact("first") == b"bytes-1"
    assert store.models.get("first").features == ["b", "a"]
    # A racing trainer that finished second learns who holds the key and writes nothing.
    assert (
        store.models.add_trained({**fields, "model_id": "second"}, b"bytes-2", "{}", 1) == "first"
    )
    hit = store.models.by_fingerprint(fingerprint)
    assert hit is not None and hit.model_id == "first"
    with pytest.raises(NotFoundError):
        store.models.get("second")
    with pytest.raises(NotFoundError):
        store.models.artifact("second")


def test_one_trainer_at_a_time_claims_a_fingerprint(store: Store) -> None:
    fingerprint = "c" * 64
    assert store.models.claim_training(fingerprint, "run-a", lease_seconds=60)
    assert not store.models.claim_training(fingerprint, "run-b", lease_seconds=60)
    assert store.models.claim_training(fingerprint, "run-a", lease_seconds=60)  # renews
    assert store.models.renew_training(fingerprint, "run-a", lease_seconds=60)
    assert not store.models.renew_training(fingerprint, "run-b", lease_seconds=60)
    # The holder died: its claim runs out (a negative lease expired a moment ago).
    assert store.models.renew_training(fingerprint, "run-a", lease_seconds=-1)
    assert store.models.claim_training(fingerprint, "run-b", lease_seconds=60)
    assert not store.models.renew_training(fingerprint, "run-a", lease_seconds=60)
    store.models.release_training(fingerprint, "run-a")  # not its claim any more: no effect
    assert not store.models.claim_training(fingerprint, "run-a", lease_seconds=60)
    store.models.release_training(fingerprint, "run-b")
    assert store.models.claim_training(fingerprint, "run-a", lease_seconds=60)


def test_the_claim_of_a_dead_holder_is_taken_over_at_once(store: Store) -> None:
    fingerprint = "d" * 64
    assert store.models.training_holder(fingerprint) is None
    assert store.models.claim_training(fingerprint, "dead/run", lease_seconds=60)
    assert store.models.training_holder(fingerprint) == "dead/run"
    # Naming another holder as dead takes nothing; naming the holder takes its live claim.
    assert not store.models.claim_training(fingerprint, "b/run", 60, dead_owner="other/run")
    assert store.models.claim_training(fingerprint, "b/run", 60, dead_owner="dead/run")
    assert store.models.training_holder(fingerprint) == "b/run"
    assert not store.models.renew_training(fingerprint, "dead/run", lease_seconds=60)


def test_a_failed_trained_write_leaves_nothing_behind(store: Store, run_id: str) -> None:
    fields = {"fingerprint": "f" * 64, "algorithm": "ElasticNet", "symbol": "SP500"}
    with pytest.raises(Exception, match=r"(?i)foreign key|violates"):
        store.models.add_trained(
            {**fields, "features": ["a"], "run_id": "no-such-run", "model_id": "orphan"},
            b"x",
            "{}",
            1,
        )
    with pytest.raises(NotFoundError):
        store.models.get("orphan")
    assert store.models.by_fingerprint("f" * 64) is None
