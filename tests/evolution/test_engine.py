"""The evolution engine end to end: power, honesty, lineage, fingerprint reuse, stop reasons."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from strategy_factory.evolution import Evolution, EvolveConfig, create_run, run_summary
from strategy_factory.execution import InlineExecutor
from strategy_factory.store import Store
from tests.evolution.conftest import Evolve, store_synthetic


def planted_kept_everywhere(store: Store, run_id: str) -> list[bool]:
    return ["exo_planted" in e.remaining_features for e in store.lineage.of_run(run_id)]


def test_a_planted_signal_is_promoted_and_survives_every_pruning(
    markets: Path, store: Store, evolve: Evolve
) -> None:
    run = evolve(symbol="PLANTED", max_generations=4, early_stop=False)
    assert run.status == "completed"
    assert run.stop_reason == "max_generations"
    assert run.promoted and run.promotion_id
    edges = store.lineage.of_run(run.id)
    assert [e.generation for e in edges] == [0, 1, 2, 3]
    assert all(planted_kept_everywhere(store, run.id))
    for edge in edges:
        model = store.models.get(edge.child_model_id)
        scores = model.importance["scores"]
        assert max(scores, key=scores.get) == "exo_planted"
    # Each child keeps its parent's features minus the pruned quarter.
    for parent, child in itertools.pairwise(edges):
        assert set(child.remaining_features) | set(child.pruned_features) == set(
            parent.remaining_features
        )
        assert len(child.pruned_features) == len(parent.remaining_features) // 4
    promoted = store.promoted.get(run.promotion_id)
    # N behind the DSR: every configuration the run had tried when it promoted.
    assert 0 < promoted.configurations_tried <= run.configurations_tried
    assert promoted.dsr is not None and promoted.dsr >= 0.95
    assert promoted.pbo is not None and 0 <= promoted.pbo <= 1
    assert promoted.verdict["passed"] is True
    holdout = promoted.holdout_metrics
    assert 3 <= holdout["sqn_100"] <= 5 and 2 <= holdout["profit_factor"] <= 4
    assert 200 <= holdout["trades"] <= 10_000 and holdout["weekly_consistency"] <= 0.5
    chain = [e["child_model_id"] for e in promoted.lineage]
    assert chain == [e.child_model_id for e in store.lineage.ancestry(promoted.model_id)]
    assert chain[0] == edges[0].child_model_id


def test_a_pure_random_walk_promotes_nothing(markets: Path, store: Store, evolve: Evolve) -> None:
    run = evolve(symbol="WALK")
    assert run.status == "completed"
    assert not run.promoted
    assert store.promoted.recent(run_id=run.id) == []
    summary = run_summary(store, run.id)
    assert summary["verdict"].startswith("not promoted")
    assert len(summary["generations"]) == 4
    for generation in summary["generations"]:
        assert generation["holdout"]["metrics"]["promoted"] is False


def test_early_stop_ends_the_run_at_the_first_promotion(
    markets: Path, store: Store, evolve: Evolve
) -> None:
    run = evolve(symbol="PLANTED", max_generations=4)
    assert (run.status, run.stop_reason, run.promoted) == ("completed", "promoted", True)
    assert len(store.lineage.of_run(run.id)) < 4 or run.current_generation < 3


def test_the_same_config_twice_trains_nothing_the_second_time(
    markets: Path, store: Store, evolve: Evolve
) -> None:
    fields: dict[str, Any] = {"symbol": "WALK", "max_generations": 2}
    first = evolve(**fields)
    models_before = len(store.models.of_run(first.id))
    second = evolve(**fields)
    assert store.models.of_run(second.id) == []  # every model came from the first run
    first_edges = store.lineage.of_run(first.id)
    second_edges = store.lineage.of_run(second.id)
    assert [e.child_model_id for e in second_edges] == [e.child_model_id for e in first_edges]
    assert models_before == 2
    for edge in first_edges:
        hit = store.models.by_fingerprint(store.models.get(edge.child_model_id).fingerprint)
        assert hit is not None and hit.hits >= 2  # found by the second run (and this lookup)
    assert second.simulations_completed == first.simulations_completed


def test_a_different_config_is_a_miss(markets: Path, store: Store, evolve: Evolve) -> None:
    first = evolve(symbol="WALK", max_generations=1)
    second = evolve(symbol="WALK", max_generations=1, algorithm="Lasso")
    assert len(store.models.of_run(second.id)) == 1
    a, b = (store.lineage.of_run(r.id)[0].child_model_id for r in (first, second))
    assert store.models.get(a).fingerprint != store.models.get(b).fingerprint


def test_cannot_prune_stops_the_lineage(markets: Path, store: Store, evolve: Evolve) -> None:
    seed = ["exo_planted", "ret_1", "rsi_14", "vol_20"]
    run = evolve(
        symbol="PLANTED", seed_features=seed, min_features=3, max_generations=5, early_stop=False
    )
    assert run.stop_reason == "cannot_prune"
    edges = store.lineage.of_run(run.id)
    assert [len(e.remaining_features) for e in edges] == [4, 3]
    assert edges[1].pruned_features != ["exo_planted"]


def test_a_stop_request_stops_the_run(markets: Path, store: Store) -> None:
    created = create_run(store, EvolveConfig(symbol="WALK", max_generations=3), owner_id="me")
    store.runs.request_stop(created.id)  # its driver (the lease holder) stops it
    run = Evolution(store, InlineExecutor(), owner_id="me").run(created.id)
    assert (run.status, run.stop_reason) == ("stopped", "stopped_by_user")
    with pytest.raises(Exception, match="already stopped"):
        Evolution(store, InlineExecutor()).run(created.id)


class BrokenExecutor(InlineExecutor):
    def submit(self, kind: str, payload: dict, priority: float | None = None):  # type: ignore[no-untyped-def]
        if kind == "simulate":
            raise RuntimeError("the simulator caught fire")
        return super().submit(kind, payload, priority)


def test_a_failure_is_recorded_with_its_error(markets: Path, store: Store) -> None:
    created = create_run(store, EvolveConfig(symbol="WALK", max_generations=1))
    with pytest.raises(RuntimeError, match="caught fire"):
        Evolution(store, BrokenExecutor()).run(created.id)
    run = store.runs.get(created.id)
    assert (run.status, run.stop_reason) == ("failed", "failed")
    assert run.error == "RuntimeError: the simulator caught fire"


def test_progress_is_recorded_as_it_goes(markets: Path, store: Store) -> None:
    created = create_run(store, EvolveConfig(symbol="PLANTED", max_generations=2, early_stop=False))
    seen = []
    run = Evolution(store, InlineExecutor(), seen.append).run(created.id)
    assert seen, "the listener saw no progress"
    trained = [r.models_trained for r in seen]
    assert trained == sorted(trained) and trained[-1] == 2
    completed = [r.simulations_completed for r in seen]
    assert completed == sorted(completed)
    assert run.simulations_completed == run.simulations_total
    assert 0 < run.configurations_tried <= run.simulations_completed  # distinct strategies
    assert run.models_trained == run.models_total == 2
    assert any("training generation 1" in (r.step_status or "") for r in seen)
    assert run.best_sqn_100 is not None and run.best_model_id is not None


def test_the_simulation_total_is_what_the_run_will_simulate_from_the_start(
    markets: Path, store: Store
) -> None:
    # Four seed features and min_features 3 allow two generations, not the ten asked for.
    seed = ["exo_planted", "ret_1", "rsi_14", "vol_20"]
    config = EvolveConfig(
        symbol="PLANTED", seed_features=seed, min_features=3, max_generations=10, early_stop=False
    )
    seen = []
    run = Evolution(store, InlineExecutor(), seen.append).run(create_run(store, config).id)
    assert run.stop_reason == "cannot_prune"
    simulated = store.simulations.count(run.id, period="selection")
    assert simulated == run.simulations_completed == run.simulations_total
    assert [r.models_total for r in seen] == [2] * len(seen)
    # Two models planned, each with its grid: never the grids of the ten generations asked
    # for. The child turned out to predict what its parent did, so only the seed's counts.
    seed_cells = store.simulations.count(
        run.id, model_id=store.lineage.of_run(run.id)[0].child_model_id, period="selection"
    )
    assert seen[0].simulations_total == 2 * seed_cells
    assert seen[-1].simulations_total == seed_cells == simulated


def test_a_resume_recounts_work_recorded_but_not_counted(
    markets: Path, store: Store, evolve: Evolve
) -> None:
    # As if the process died after recording each model and result but before counting it.
    first = evolve(symbol="WALK", max_generations=2)
    store.runs.update_progress(
        first.id, status="running", models_trained=0, simulations_completed=0
    )
    resumed = Evolution(store, InlineExecutor()).run(first.id)
    assert resumed.models_trained == 2
    assert resumed.simulations_completed == store.simulations.count(first.id, period="selection")
    assert resumed.simulations_completed == first.simulations_completed > 0


def test_a_random_walk_promotes_nothing_under_the_evidence_preset(
    markets: Path, store: Store, evolve: Evolve
) -> None:
    run = evolve(symbol="WALK", criteria="evidence", early_stop=False)
    assert run.status == "completed" and not run.promoted
    assert store.promoted.recent(run_id=run.id) == []
    summary = run_summary(store, run.id)
    assert summary["verdict"].startswith("not promoted")


def test_a_constant_model_ends_the_run_with_no_signal_in_generation_0(
    markets: Path, store: Store, evolve: Evolve
) -> None:
    # Every candidate of this grid shrinks to the intercept: the model predicts a constant.
    run = evolve(symbol="PLANTED", grid={"alpha": [100.0]}, early_stop=False)
    assert (run.status, run.stop_reason, run.promoted) == ("completed", "no_signal", False)
    [generation] = run_summary(store, run.id)["generations"]
    assert generation["state"] == "no_signal"
    assert "predicts a constant" in generation["note"]
    assert generation["simulations"] == 0  # nothing was simulated, nothing counted
    assert run.configurations_tried == 0
    summary = run_summary(store, run.id)
    assert summary["verdict"] == (
        f"not promoted: nothing was judged on the holdout; generation 0: {generation['note']}"
    )


def test_a_planted_edge_is_promoted_under_the_evidence_preset(
    factory_home: Path, store: Store, evolve: Evolve
) -> None:
    # A much weaker edge than the Holy Grail test's: its ideal strategy has a true Sharpe
    # of about 5 a year (see benchmarks/bench_power.py), well inside the power curve.
    store_synthetic(factory_home, "EDGE", 0.1)
    run = evolve(symbol="EDGE", criteria="evidence", early_stop=False)
    assert run.promoted, run_summary(store, run.id)["verdict"]
    assert all(planted_kept_everywhere(store, run.id))
    promotion = store.promoted.get(run.promotion_id)
    assert promotion.criteria["preset"] == "evidence"
    holdout = promotion.holdout_metrics
    assert holdout["holdout_p"] <= 0.05 and holdout["dsr"] >= 0.95
    assert holdout["trials"]["distinct_trials"] == promotion.configurations_tried
    assert 1 <= holdout["trials"]["effective_trials"] <= promotion.configurations_tried
    assert "sqn_100" not in {r["metric"] for r in promotion.verdict["results"]}  # no caps
