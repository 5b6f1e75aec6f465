"""The lineage DAG: ancestry and descendants by one recursive query, and generation summaries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from strategy_factory.errors import NotFoundError
from strategy_factory.store import Store
from tests.store.conftest import add_model


@contextmanager
def recorded_statements(store: Store) -> Iterator[list[str]]:
    """Every SQL statement the store sends while the block runs."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(store.database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(store.database.engine, "before_cursor_execute", record)


@pytest.fixture
def family(store: Store, run_id: str) -> dict[str, str]:
    """A 10-generation chain m0 → … → m9, and a branch m4 → b5 → b6."""
    ids = {
        name: add_model(store, run_id, generation=int(name[1:]), name=name)
        for name in [f"m{g}" for g in range(10)] + ["b5", "b6"]
    }
    parents = {f"m{g}": f"m{g - 1}" for g in range(1, 10)} | {"b5": "m4", "b6": "b5", "m0": None}
    features = [f"f{i}" for i in range(12)]
    for child, parent in parents.items():
        generation = int(child[1:])
        store.lineage.add_edge(
            run_id=run_id,
            child_model_id=ids[child],
            parent_model_id=parent,
            generation=generation,
            parent_sqn=None if parent is None else 1.0 + generation / 10,
            pruned_features=[] if parent is None else [features[generation]],
            remaining_features=features[generation + 1 :],
            reason="seed" if parent is None else "pruned the least important feature",
        )
    return ids


def test_ancestry_is_the_chain_from_the_seed_in_one_query(store: Store, family: dict) -> None:
    with recorded_statements(store) as statements:
        chain = store.lineage.ancestry("m9")
    assert [edge.child_model_id for edge in chain] == [f"m{g}" for g in range(10)]
    assert [edge.parent_model_id for edge in chain] == [None] + [f"m{g}" for g in range(9)]
    assert [edge.generation for edge in chain] == list(range(10))
    assert chain[3].pruned_features == ["f3"]
    queries = [s.split()[0].upper() for s in statements if s.split()[0].upper() != "BEGIN"]
    assert queries == ["SELECT", "WITH"]  # the model's existence, then ONE recursive query
    assert "WITH RECURSIVE" in statements[-1].upper()


def test_ancestry_of_a_branch_follows_the_branch(store: Store, family: dict) -> None:
    chain = [edge.child_model_id for edge in store.lineage.ancestry("b6")]
    assert chain == ["m0", "m1", "m2", "m3", "m4", "b5", "b6"]
    assert [edge.child_model_id for edge in store.lineage.ancestry("m0")] == ["m0"]


def test_descendants_cover_both_branches_nearest_first(store: Store, family: dict) -> None:
    below = store.lineage.descendants("m4")
    assert {edge.child_model_id for edge in below} == {f"m{g}" for g in range(5, 10)} | {
        "b5",
        "b6",
    }
    generations = [edge.generation for edge in below]
    assert generations == sorted(generations)
    assert store.lineage.descendants("m9") == []
    with pytest.raises(NotFoundError, match="no model 'ghost'"):
        store.lineage.ancestry("ghost")


def test_generations_summarize_models_and_best_selection_result(store: Store, run_id: str) -> None:
    # (SQN-100, trades) per cell: the best is the highest SQN-100 among cells with at
    # least 30 trades (a 2-trade cell scoring 9 is noise), among all when none has 30.
    cells = {
        ("a", 0): [(1.0, 40), (2.5, 35), (9.0, 2)],
        ("b", 0): [(0.5, 300)],
        ("c", 1): [(3.1, 12), (float("nan"), 50)],
        ("d", 2): [],
    }
    for (name, generation), values in cells.items():
        add_model(store, run_id, generation=generation, name=name)
        rows = [
            {"ticker": "SP500", "threshold": i / 10, "mode": "long_short", "sqn": 2 * value,
             "sqn_100": value, "trades": trades}
            for i, (value, trades) in enumerate(values)
        ]  # fmt: skip
        store.simulations.add_many(run_id, name, "selection", rows)
    store.simulations.add_many(
        run_id, "d", "holdout", [{"ticker": "SP500", "threshold": 0.0, "mode": "long_only"}]
    )
    summary = [
        (g.generation, g.models, g.simulations, g.best_sqn_100, g.best_model_id)
        for g in store.lineage.generations(run_id)
    ]
    # Generation 1: the 50-trade cell's SQN-100 is undefined, so it ranks after 3.1.
    assert summary == [(0, 2, 4, 2.5, "a"), (1, 1, 2, 3.1, "c"), (2, 1, 0, None, None)]


def test_edges_of_a_run_and_parent_sqn_filled_in_later(store: Store, family: dict) -> None:
    run_id = store.models.get("m0").run_id
    assert run_id is not None
    edges = store.lineage.of_run(run_id)
    assert [e.generation for e in edges] == sorted(e.generation for e in edges)
    assert len(edges) == 12
    assert store.lineage.set_parent_sqn(run_id, "m4", 3.5) == 2  # children m5 and b5
    below = {e.child_model_id: e.parent_sqn for e in store.lineage.descendants("m4")}
    assert below["m5"] == below["b5"] == 3.5
    assert below["m6"] != 3.5


def test_ancestry_follows_one_run_however_many_runs_share_the_models(store: Store) -> None:
    """Three runs reuse the same five models: each ancestry is one path, each model once."""
    trainer = store.runs.create("SP500", "ElasticNet", {}, 5).id
    chain = [add_model(store, trainer, generation=g, name=f"s{g}") for g in range(5)]
    runs = [trainer, *(store.runs.create("SP500", "ElasticNet", {}, 5).id for _ in range(2))]
    for run in runs:
        for generation, child in enumerate(chain):
            for _ in range(2):  # recorded twice (a retried write): kept once
                store.lineage.add_edge(
                    run_id=run,
                    child_model_id=child,
                    parent_model_id=chain[generation - 1] if generation else None,
                    generation=generation,
                    pruned_features=[],
                    remaining_features=["x"],
                )
    assert len(store.lineage.of_run(runs[1])) == 5
    path = store.lineage.ancestry("s4")
    assert [edge.child_model_id for edge in path] == chain
    assert {edge.run_id for edge in path} == {trainer}  # the run that trained it
    other = store.lineage.ancestry("s4", run_id=runs[2])
    assert [edge.child_model_id for edge in other] == chain
    assert {edge.run_id for edge in other} == {runs[2]}
    assert [e.child_model_id for e in store.lineage.descendants("s2", run_id=runs[1])] == [
        "s3",
        "s4",
    ]
