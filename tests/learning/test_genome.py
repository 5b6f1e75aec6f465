"""The genome table: every stored configuration, its traits, and its out-of-sample target."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from strategy_factory.data import BarCatalog, fading_edge_bars
from strategy_factory.learning import (
    ForwardOutcome,
    GenomeTable,
    configuration_key,
    genome_table,
)
from strategy_factory.learning.genome import GENOME, SELECTION, TRAINING, trait_of
from strategy_factory.settings import get_settings
from strategy_factory.store import MIN_RANKED_TRADES, Store, strategy_key
from tests.learning.history import BARS, END


def test_every_configuration_is_a_row_once_with_its_traits(
    history: Store, table: GenomeTable
) -> None:
    rows = table.rows
    runs = sorted(history.runs.recent(limit=100), key=lambda run: run.created_at)
    expected = set()
    for run in runs:
        for result in history.simulations.of_run(run.id):
            if (result.trades or 0) >= MIN_RANKED_TRADES:
                expected.add((result.model_id, strategy_key(vars(result))))
    found = list(zip(rows["model_id"], rows["strategy_key"], strict=True))
    assert len(found) == len(set(found)) == len(expected)
    assert set(found) == expected
    # The repeated run reused every model of the first: its configurations count once,
    # under the first run, so grouped cross-validation cannot see them on both sides.
    assert runs[-1].id not in set(rows["run_id"])
    assert table.runs == len(runs) - 1
    assert table.skipped == {}
    assert {t.group for t in table.traits} == {GENOME, TRAINING, SELECTION}
    assert (rows["selection:trades"] >= MIN_RANKED_TRADES).all()
    for row in rows.head(50).to_dict("records"):
        flags = {
            c.removeprefix("feature:") for c, v in row.items() if c.startswith("feature:") and v
        }
        assert flags == set(row["features"])
        assert row["feature_count"] == len(row["features"])
        assert 0 <= row["threshold_quantile"] <= 1


def test_the_judged_configurations_get_the_holdout_their_runs_recorded(
    history: Store, table: GenomeTable
) -> None:
    """Every configuration's holdout comes from the grid kernel; the one each run judged was
    traded by the run's own single-configuration backtest: both must agree."""
    rows = table.rows.set_index(["model_id", "strategy_key"])
    compared = 0
    for run in history.runs.recent(limit=100):
        for judged in history.simulations.of_run(run.id, period="holdout"):
            key = (judged.model_id, strategy_key(vars(judged)))
            if key not in rows.index or rows.loc[key, "run_id"] != run.id:
                continue
            expected = 0.0 if judged.trades == 0 else judged.sharpe
            assert rows.loc[key, "target"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
            compared += 1
    assert compared >= 10


def test_the_planted_traits_decide_the_target_and_the_selection_period_cannot_tell(
    table: GenomeTable,
) -> None:
    rows = table.rows
    lasting = rows["feature:exo_lasting"] == 1
    fading_only = (rows["feature:exo_fading"] == 1) & ~lasting
    # Out of sample only the lasting feature pays ...
    assert rows.loc[lasting, "target"].mean() > 3
    assert rows.loc[fading_only, "target"].mean() < 0.5
    # ... while on the selection period the fading models looked at least as good.
    assert (
        rows.loc[fading_only, "selection:sharpe"].mean()
        >= rows.loc[lasting, "selection:sharpe"].mean()
    )


def test_forward_results_replace_the_holdout_and_move_what_was_seen(history: Store) -> None:
    promotion = history.promoted.recent(limit=1)[0]
    key = configuration_key(promotion)
    later = datetime.fromisoformat("2021-01-01T00:00:00+00:00")
    table = genome_table(history, forward={key: ForwardOutcome(value=-7.5, last_bar=later)})
    rows = table.rows.set_index(["model_id", "strategy_key"])
    assert rows.loc[key, "target"] == -7.5
    assert rows.loc[key, "target_source"] == "forward"
    assert bool(rows.loc[key, "promoted"])
    assert (rows["target_source"] == "forward").sum() == 1
    ticker = promotion.strategy["ticker"]
    assert table.seen_until[ticker] == later.isoformat()


def appended(bars: pd.DataFrame, more: pd.DataFrame) -> pd.DataFrame:
    """``bars`` followed by ``more``, moved to start one bar later at the last close."""
    step = bars.index[-1] - bars.index[-2]
    more = more.set_axis(bars.index[-1] + step * np.arange(1, len(more) + 1))
    scale = bars["close"].iloc[-1] / more["open"].iloc[0]
    more[["open", "high", "low", "close"]] *= scale
    return pd.concat([bars, more])


def test_appended_bars_change_nothing_and_replaced_bars_are_refused(
    history_copy: Store, table: GenomeTable
) -> None:
    catalog = BarCatalog(get_settings().bars_dir)
    grown = appended(catalog.load("S0"), fading_edge_bars(200, seed=5))
    catalog.save("S0", grown, replace=True)  # S0's bars and 200 more
    catalog.save("S1", fading_edge_bars(BARS, seed=999), replace=True)  # other bars
    after = genome_table(history_copy)
    s1_runs = {run.id for run in history_copy.runs.recent(limit=100) if run.symbol == "S1"}
    assert set(after.skipped) == s1_runs
    assert all("have changed" in reason for reason in after.skipped.values())
    kept = table.rows[~table.rows["run_id"].isin(s1_runs)].reset_index(drop=True)
    pd.testing.assert_frame_equal(after.rows, kept[after.rows.columns])
    unused = set(kept.columns) - set(after.rows.columns)  # features only S1's models used
    assert all(c.startswith("feature:") and not kept[c].any() for c in unused)
    # The runs' holdouts ended where their data ended, not at the appended bars.
    assert after.seen_until["S0"] == grown.index[int(BARS * END)].isoformat()


def test_an_unknown_target_is_refused(history: Store) -> None:
    with pytest.raises(Exception, match="target 'calmar' is not one of"):
        genome_table(history, target="calmar")


def test_every_column_is_a_key_an_outcome_or_a_trait(table: GenomeTable) -> None:
    rows = table.rows
    outcome = {"run_id", "model_id", "strategy_key", "features", "promoted", "target"}
    for column in set(rows.columns) - outcome - {"target_source"}:
        assert trait_of(column).name == column
    assert np.isfinite(rows["target"]).all()
