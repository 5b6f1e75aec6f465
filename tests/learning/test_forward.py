"""Forward tracking of a promoted strategy: the bars appended after its run, in any number
of batches, trade exactly as one backtest of the whole series would; recording is
incremental, idempotent and safe against a racing update."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from strategy_factory.errors import FactoryError
from strategy_factory.learning.forward import (
    forward_results,
    forward_returns,
    forward_summary,
    update_forward,
)
from strategy_factory.learning.forward_window import WARM_UP_BARS
from strategy_factory.store import create_store
from strategy_factory.store.forward import ForwardRepository
from tests.learning.conftest import REF, STORED, SYN, Promoted
from tests.store.conftest import add_model


def assert_equals_backtest(promoted: Promoted, start: int, stop: int) -> pd.DataFrame:
    """Forward results are the whole-series backtest on SYN's bars ``start``…``stop - 1``."""
    recorded = forward_results(promoted.store, promoted.promotion.id)
    expected = promoted.whole_series_backtest().loc[SYN.index[start:stop]]
    assert recorded.index.equals(expected.index)
    assert np.array_equal(recorded["position"].to_numpy(), expected["position"].to_numpy())
    np.testing.assert_allclose(recorded["return"], expected["returns"], rtol=0, atol=1e-12)
    return recorded


def test_forward_tracking_of_an_appended_period_equals_a_backtest_of_the_whole_series(
    promoted: Promoted,
) -> None:
    store, catalog, promotion = promoted.store, promoted.catalog, promoted.promotion
    first = update_forward(store, catalog)
    [started] = first.updates
    assert (started.added, started.status, started.last) == (0, "tracking", SYN.index[STORED - 1])
    # Three appends (one repeating stored bars), the reference lagging behind in the second.
    catalog.append("SYN", SYN.iloc[STORED - 24 : 9_000])
    catalog.append("REF", REF.iloc[STORED:9_000])
    [one] = update_forward(store, catalog).updates
    assert (one.added, one.first, one.last) == (2_000, SYN.index[STORED], SYN.index[8_999])
    catalog.append("SYN", SYN.iloc[9_000:10_500])
    catalog.append("REF", REF.iloc[9_000:10_000])
    [two] = update_forward(store, catalog).updates
    assert (two.added, two.last, two.status) == (1_000, SYN.index[9_999], "waiting")
    assert two.reason == "waiting for bars of REF after 2021-02-20 15:00"
    catalog.append("SYN", SYN.iloc[10_500:])
    catalog.append("REF", REF.iloc[10_000:])
    [three] = update_forward(store, catalog).updates
    assert (three.added, three.bars_tracked, three.status) == (2_000, 5_000, "tracking")
    recorded = assert_equals_backtest(promoted, STORED, len(SYN))
    # Each update read a window of WARM_UP_BARS before its last bar, never the whole history.
    assert STORED - 1 > WARM_UP_BARS
    assert 0.1 < (recorded["position"] != 0).mean() < 0.9  # the filters let it trade and not
    # An update with nothing new records nothing.
    [again] = update_forward(store, catalog).updates
    assert (again.added, again.bars_tracked) == (0, 5_000)
    assert len(forward_results(store, promotion.id)) == 5_000
    returns = forward_returns(store, promotion.id)
    summary = forward_summary(store, promotion.id)
    assert summary["bars"] == 5_000
    assert summary["total_return"] == pytest.approx(np.prod(1 + returns) - 1, rel=1e-12)
    assert summary["max_drawdown"] < 0
    assert summary["holdout_sharpe"] == 1.0


def file_of(bars: pd.DataFrame, path) -> object:  # type: ignore[no-untyped-def]
    bars.reset_index().to_csv(path, index=False, float_format="%.17g")
    return path


def test_a_refused_append_changes_neither_the_bars_nor_forward_tracking(
    promoted: Promoted, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    store, catalog, promotion = promoted.store, promoted.catalog, promoted.promotion
    catalog.append("SYN", SYN.iloc[STORED:8_000])
    catalog.append("REF", REF.iloc[STORED:8_000])
    update_forward(store, catalog)
    before = (catalog.version("SYN"), catalog.digest("SYN"), store.forward.get(promotion.id))
    changed = SYN.iloc[7_990:8_100].copy()
    changed.iloc[5, changed.columns.get_loc("planted")] += 1.0
    gap = SYN.iloc[8_200:8_300]  # 200 hours missing in a series without gaps
    malformed = SYN.iloc[8_000:8_100].copy()
    malformed.iloc[50, malformed.columns.get_loc("close")] = -1.0
    for name, bars, message in [
        ("changed.csv", changed, "differs from the stored bar of SYN in planted"),
        ("gap.csv", gap, "bars of SYN are missing"),
        ("malformed.csv", malformed, "close is -1"),
    ]:
        with pytest.raises(FactoryError, match=message):
            catalog.append_file(file_of(bars, tmp_path / name), "SYN")
    assert (catalog.version("SYN"), catalog.digest("SYN")) == before[:2]
    [update] = update_forward(store, catalog).updates
    assert update.added == 0
    assert store.forward.get(promotion.id) == before[2]
    assert_equals_backtest(promoted, STORED, 8_000)


def test_two_updates_at_once_record_each_bar_once(
    promoted: Promoted, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog, promotion = promoted.catalog, promoted.promotion
    update_forward(promoted.store, catalog)  # started
    catalog.append("SYN", SYN.iloc[STORED:8_500])
    catalog.append("REF", REF.iloc[STORED:8_500])
    # Both updates compute from the same state before either records: a true race.
    both_computed = threading.Barrier(2)
    advance = ForwardRepository.advance

    def racing_advance(self, promotion_id, **fields):  # type: ignore[no-untyped-def]
        both_computed.wait(timeout=60)
        return advance(self, promotion_id, **fields)

    monkeypatch.setattr(ForwardRepository, "advance", racing_advance)
    reports = []

    def update() -> None:
        with create_store() as own:
            reports.append(update_forward(own, catalog))

    threads = [threading.Thread(target=update) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    added = sorted(report.updates[0].added for report in reports)
    assert added == [0, 1_500]
    loser = next(r.updates[0] for r in reports if r.updates[0].added == 0)
    assert loser.reason == "another update recorded these bars"
    state = promoted.store.forward.get(promotion.id)
    assert state is not None and state.bars_tracked == 1_500
    assert_equals_backtest(promoted, STORED, 8_500)


def test_a_demoted_promotion_waits_and_catches_up_when_reactivated(promoted: Promoted) -> None:
    store, catalog, promotion = promoted.store, promoted.catalog, promoted.promotion
    update_forward(store, catalog)
    assert store.promoted.demote(promotion.id, "forward returns decayed")
    catalog.append("SYN", SYN.iloc[STORED:8_000])
    catalog.append("REF", REF.iloc[STORED:8_000])
    [skipped] = update_forward(store, catalog).updates
    assert (skipped.added, skipped.status) == (0, "demoted")
    assert skipped.reason == "demoted: forward returns decayed; not tracked"
    store.promoted.reactivate(promotion.id)
    [caught_up] = update_forward(store, catalog, [promotion.id]).updates
    assert caught_up.added == 1_000
    assert_equals_backtest(promoted, STORED, 8_000)


def test_replaced_bars_stop_tracking_with_the_reason(promoted: Promoted) -> None:
    store, catalog, promotion = promoted.store, promoted.catalog, promoted.promotion
    catalog.append("SYN", SYN.iloc[STORED:7_500])
    catalog.append("REF", REF.iloc[STORED:7_500])
    update_forward(store, catalog)
    rewritten = SYN.iloc[:7_600].copy()
    rewritten["close"] *= 1.01
    rewritten["high"] *= 1.01
    catalog.save("SYN", rewritten, replace=True)
    [failed] = update_forward(store, catalog).updates
    assert (failed.added, failed.status, failed.bars_tracked) == (0, "failed", 500)
    assert "its bars were replaced" in failed.reason
    state = store.forward.get(promotion.id)
    assert state is not None and state.status == "failed" and state.status_reason == failed.reason


def test_a_promotion_that_cannot_be_tracked_is_reported_and_the_others_go_on(
    promoted: Promoted,
) -> None:
    store, catalog = promoted.store, promoted.catalog
    other_run = store.runs.create("SYN", "elasticnet", {}, max_generations=1).id
    broken = store.promoted.add(
        run_id=other_run, model_id=add_model(store, other_run), strategy={"ticker": "SYN"},
        criteria={}, selection_metrics={}, holdout_metrics={}, configurations_tried=1,
        verdict={}, lineage=[],
    )  # fmt: skip
    catalog.append("SYN", SYN.iloc[STORED:7_100])
    catalog.append("REF", REF.iloc[STORED:7_100])
    report = update_forward(store, catalog)
    by_id = {update.promotion_id: update for update in report.updates}
    assert by_id[promoted.promotion.id].added == 100
    failed = by_id[broken.id]
    assert (failed.status, failed.added) == ("failed", 0)
    assert "does not record a whole strategy configuration" in failed.reason
    assert store.forward.get(broken.id) is None  # nothing to start from, nothing recorded
