"""Champion slots on every backend: of two callers racing to replace a slot's champion
exactly one does (with its backup and log entry), the other is told and writes nothing;
the audit log only grows."""

from __future__ import annotations

import threading

import pytest

from strategy_factory.errors import BusyError, FactoryError
from strategy_factory.store import LogLine, Store, create_store
from tests.store.conftest import add_model
from tests.store.test_forward import EVIDENCE

LINE = LogLine("replaced", "test", "tester", {"n": 1})


def promotions(store: Store, count: int) -> list[str]:
    run_id = store.runs.create("SP500", "elasticnet", {}, max_generations=1).id
    return [
        store.promoted.add(run_id=run_id, model_id=add_model(store, run_id), **EVIDENCE).id
        for _ in range(count)
    ]


def test_racing_replacements_change_the_slot_once(store: Store, store_url: str) -> None:
    champion, first, second = promotions(store, 3)
    assert store.champions.crown("SP500", champion, LogLine("crowned", "empty", "t", {}))
    assert not store.champions.crown("SP500", first, LogLine("crowned", "empty", "t", {}))
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def replace(after: str) -> None:
        with create_store(store_url) as own:
            barrier.wait()
            try:
                own.champions.replace(
                    "SP500", before=champion, after=after, configuration={"p": champion}, line=LINE
                )
                outcomes.append(after)
            except BusyError as exc:
                outcomes.append(exc)

    threads = [threading.Thread(target=replace, args=(after,)) for after in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (winner,) = [o for o in outcomes if isinstance(o, str)]
    (loser,) = [o for o in outcomes if isinstance(o, BusyError)]
    assert "no longer has champion" in str(loser)
    assert store.champions.slot("SP500").promotion_id == winner
    (backup,) = store.champions.backups("SP500")
    assert (backup.promotion_id, backup.replaced_by) == (champion, winner)
    log = store.champions.log("SP500")
    assert [(e.action, e.champion_after) for e in log] == [
        ("replaced", winner),
        ("crowned", champion),
    ]


def test_a_log_entry_needs_a_reason_and_an_actor(store: Store) -> None:
    (champion,) = promotions(store, 1)
    with pytest.raises(FactoryError, match="reason and an actor"):
        store.champions.crown("SP500", champion, LogLine("crowned", " ", "t", {}))
    assert store.champions.slot("SP500") is None and store.champions.log() == []
