"""Forward tracking in the store and a promotion's lifecycle, on every backend: a bar is
recorded once whoever races to record it, and a status change says who made it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from strategy_factory.errors import FactoryError
from strategy_factory.store import ForwardBar, Store, create_store
from tests.store.conftest import add_model

START = datetime(2021, 3, 1, tzinfo=UTC)
EVIDENCE = {
    "strategy": {"ticker": "SP500"},
    "criteria": {},
    "selection_metrics": {},
    "holdout_metrics": {},
    "configurations_tried": 1,
    "verdict": {},
    "lineage": [],
}


@pytest.fixture
def promotion_id(store: Store, run_id: str) -> str:
    return store.promoted.add(run_id=run_id, model_id=add_model(store, run_id), **EVIDENCE).id


def hours(first: int, count: int) -> list[ForwardBar]:
    """Bars ``first`` … ``first + count - 1`` hours after START, with distinct values."""
    return [
        ForwardBar(START + timedelta(hours=h), (-1, 0, 1)[h % 3], h / 1e4 - 1 / 3)
        for h in range(first, first + count)
    ]


def started(store: Store, promotion_id: str) -> None:
    store.forward.start(
        promotion_id, symbol="SP500", started_after=START, state={"n": 0}, status="tracking"
    )


def test_tracking_starts_once_and_bars_round_trip(store: Store, promotion_id: str) -> None:
    assert store.forward.get(promotion_id) is None
    started(store, promotion_id)
    again = store.forward.start(
        promotion_id, symbol="OTHER", started_after=START + timedelta(days=1), state={},
        status="waiting",
    )  # fmt: skip
    assert (again.symbol, again.started_after, again.last_bar) == ("SP500", START, START)
    bars = hours(1, 5)
    state = {"account": {"cash": 0.1 + 0.2, "equity": 1 / 3}}
    assert store.forward.advance(
        promotion_id, after=START, bars=bars, state=state, status="waiting",
        status_reason="waiting for bars of NASDAQ after 2021-03-01",
    )  # fmt: skip
    assert store.forward.results(promotion_id) == bars  # floats exactly, in time order
    now = store.forward.get(promotion_id)
    assert now is not None
    assert (now.last_bar, now.bars_tracked, now.state) == (bars[-1].timestamp, 5, state)
    assert (now.status, now.status_reason) == (
        "waiting",
        "waiting for bars of NASDAQ after 2021-03-01",
    )
    store.forward.set_status(promotion_id, "failed", "its bars were replaced")
    assert store.forward.get(promotion_id).status == "failed"  # type: ignore[union-attr]
    assert [s.promotion_id for s in store.forward.states()] == [promotion_id]
    with pytest.raises(FactoryError, match="forward status 'lost' is not one of"):
        store.forward.set_status(promotion_id, "lost", None)


def test_only_the_first_of_two_updates_from_the_same_bar_records(
    store: Store, promotion_id: str
) -> None:
    started(store, promotion_id)
    assert store.forward.advance(
        promotion_id, after=START, bars=hours(1, 3), state={}, status="tracking"
    )
    # A second update that read the same state computed (some of) the same bars: it loses.
    assert not store.forward.advance(
        promotion_id, after=START, bars=hours(1, 4), state={"late": True}, status="tracking"
    )
    state = store.forward.get(promotion_id)
    assert state is not None and (state.bars_tracked, state.state) == (3, {})
    assert len(store.forward.results(promotion_id)) == 3


def test_racing_updates_record_each_bar_once(store_url: str, promotion_id: str) -> None:
    with create_store(store_url) as store:
        started(store, promotion_id)
    barrier = threading.Barrier(4)
    won: list[bool] = []

    def update() -> None:
        with create_store(store_url) as own:
            barrier.wait()
            won.append(
                own.forward.advance(
                    promotion_id, after=START, bars=hours(1, 50), state={}, status="tracking"
                )
            )

    threads = [threading.Thread(target=update) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(won) == [False, False, False, True]
    with create_store(store_url) as store:
        assert len(store.forward.results(promotion_id)) == 50
        assert store.forward.get(promotion_id).bars_tracked == 50  # type: ignore[union-attr]


def test_a_promotion_is_demoted_and_reactivated_once_each(store: Store, promotion_id: str) -> None:
    assert store.promoted.get(promotion_id).status == "active"
    assert store.promoted.recent(status="demoted") == []
    assert store.promoted.demote(promotion_id, "forward Sharpe decayed below 0 for 60 bars")
    assert not store.promoted.demote(promotion_id, "a second monitor agrees")
    demoted = store.promoted.get(promotion_id)
    assert demoted.status == "demoted"
    assert demoted.status_reason == "forward Sharpe decayed below 0 for 60 bars"
    assert demoted.status_changed_at is not None
    assert [p.id for p in store.promoted.recent(status="demoted")] == [promotion_id]
    assert store.promoted.reactivate(promotion_id, "reviewed: the decay was a data error")
    assert not store.promoted.reactivate(promotion_id)
    active = store.promoted.get(promotion_id)
    assert (active.status, active.status_reason) == (
        "active",
        "reviewed: the decay was a data error",
    )
    assert active.status_changed_at >= demoted.status_changed_at  # type: ignore[operator]
    with pytest.raises(FactoryError, match="the reason is empty"):
        store.promoted.demote(promotion_id, "  ")
    with pytest.raises(FactoryError, match="no promoted model 'nope'"):
        store.promoted.demote("nope", "gone")
    with pytest.raises(FactoryError, match="promotion status 'retired' is not one of"):
        store.promoted.recent(status="retired")
