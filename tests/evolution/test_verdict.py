"""Verdicts a user can act on: which criteria the best configuration missed and by how
much, each missed criterion said once across generations, one ranking key for "best", and
no judgement of configurations that hardly trade."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from strategy_factory.evaluate import PRESETS, PromotionCriteria
from strategy_factory.evolution import run_summary
from strategy_factory.evolution.promotion import best_configuration, rank_key
from strategy_factory.evolution.summary import best_generation, verdict_detail
from strategy_factory.store import MIN_RANKED_TRADES, Run, Store
from tests.evolution.conftest import Evolve

BRIEF = re.compile(
    r"^(?P<label>[\w\- ]+?) (?P<value>[-\d.,e+∞]+) (?P<side>[<>]) (?P<bound>[-\d.,]+)"
)


def _number(text: str) -> float:
    return math.inf if text == "∞" else float(text.replace(",", ""))


def test_a_random_walk_says_which_criteria_its_best_configuration_missed(
    markets: Path, store: Store, evolve: Evolve
) -> None:
    run = evolve(symbol="WALK", early_stop=False)
    summary = run_summary(store, run.id)
    detail = summary["verdict_detail"]
    assert detail["state"] == "not_promoted" and detail["ranked_by"] == "sqn_100"
    best = summary["best"]
    assert best is not None and best == detail["best"]
    # The run row, the summary and the CLI agree on the best: one place decides.
    assert (best["model_id"], best["selection"]["sqn_100"]) == (
        run.best_model_id,
        run.best_sqn_100,
    )
    judged = [g for g in summary["generations"] if g["holdout"]]
    keys = [
        (
            g["holdout"]["metrics"]["promoted"],
            g["holdout"]["metrics"]["candidate"],
            *rank_key(g["best_selection"], "sqn_100"),
        )
        for g in judged
    ]
    mine = (best["promoted"], best["candidate"], *rank_key(best["selection"], "sqn_100"))
    assert mine == max(keys)
    assert best["misses"], "a configuration that was not promoted missed something"
    criteria = PromotionCriteria()
    period = "holdout" if best["candidate"] else "selection"
    metrics = best["holdout"] if best["candidate"] else best["selection"]
    for miss in best["misses"]:
        assert miss["period"] == period
        assert miss["text"] in summary["verdict"]
        found = BRIEF.match(miss["text"])
        if found is None:  # missing or undefined
            assert miss["value"] is None or math.isnan(miss["value"])
            continue
        limits = getattr(criteria, miss["metric"])
        assert (found["side"] == "<") == (limits.min is not None and miss["value"] < limits.min)
        assert not limits.contains(miss["value"])
        if miss["metric"] in metrics:
            assert metrics[miss["metric"]] == miss["value"]
    # Each missed criterion once, with the generations that missed it.
    clauses = [(m["period"], m["metric"], m["text"].split(" ")[-1]) for m in detail["misses"]]
    assert len(clauses) == len(set(clauses))
    judged_generations = {g["generation"] for g in judged}
    for miss in detail["misses"]:
        assert set(miss["generations"]) <= judged_generations


def test_no_configuration_with_enough_trades_is_not_judged(
    markets: Path, store: Store, evolve: Evolve
) -> None:
    # Only the most extreme 0.05% of predictions trade: a handful of trades per cell.
    run = evolve(
        symbol="WALK",
        max_generations=2,
        early_stop=False,
        strategy={"threshold_quantiles": [0.9995]},
    )
    summary = run_summary(store, run.id)
    for generation in summary["generations"]:
        if generation["state"] == "same_as_parent":
            continue
        assert generation["state"] == "too_few_trades", generation
        assert f"no configuration with ≥ {MIN_RANKED_TRADES} trades" in generation["note"]
        assert generation["holdout"] is None  # the holdout was not looked at
        assert generation["simulations"] > 0
    assert store.simulations.count(run.id, period="holdout") == 0
    assert summary["best"] is None
    assert summary["verdict"].startswith("not promoted: nothing was judged on the holdout")
    assert f"≥ {MIN_RANKED_TRADES} trades" in summary["verdict"]


def test_best_configuration_judges_nothing_below_the_trade_floor() -> None:
    rows = pd.DataFrame(
        {"sqn_100": [3.6, 1.2], "sharpe": [9.0, 1.0], "trades": [2, MIN_RANKED_TRADES - 1]}
    )
    assert best_configuration(rows, PRESETS["holy_grail"]) == (None, False)
    rows.loc[1, "trades"] = MIN_RANKED_TRADES
    assert best_configuration(rows, PRESETS["holy_grail"]) == (1, False)


def _generation(number: int, trades: float, pf: float, *, candidate: bool = False) -> dict:
    misses = []
    if trades < 200:
        misses.append(_miss("trades", trades, 200, None, f"trades {trades:g} < 200"))
    if pf > 4:
        misses.append(_miss("profit_factor", pf, 2, 4, f"profit factor {pf:g} > 4"))
    period = "holdout" if candidate else "selection"
    for miss in misses:
        miss["period"] = period
    selection = {
        "ticker": "SYN",
        "threshold": 0.1,
        "z_limit": None,
        "regime_filter": None,
        "mode": "long_short",
        "trades": trades,
        "sqn_100": 1.0 + number,
        "sharpe": 0.1,
        "metrics": {},
    }
    holdout = {
        **selection,
        "metrics": {"promoted": False, "candidate": candidate, "misses": misses},
    }
    return {
        "generation": number,
        "state": "judged",
        "note": "",
        "model_id": f"model{number:08d}",
        "holdout": holdout,
        "best_selection": selection,
    }


def _miss(metric: str, value: float, low: float | None, high: float | None, text: str) -> dict:
    return {"metric": metric, "value": value, "min": low, "max": high, "text": text}


def _run(status: str) -> Run:
    now = datetime.now(UTC)
    return Run(
        id="r1", created_at=now, updated_at=now, started_at=now, finished_at=None,
        status=status, symbol="SYN", algorithm="ElasticNet", config={"evolve": {"symbol": "SYN"}},
        current_generation=2,
        max_generations=4, models_trained=3, models_total=4, simulations_completed=10,
        simulations_total=20, step_status=None, best_sqn_100=None, best_model_id=None,
        promoted=False, promotion_id=None, configurations_tried=10, stop_reason=None,
        error=None, stop_requested=False,
    )  # fmt: skip


def test_reasons_from_several_generations_are_said_once_with_the_closest_value() -> None:
    per_generation = [_generation(0, 150, 3), _generation(1, 178, 4.6), _generation(2, 120, 5.2)]
    detail = verdict_detail(_run("completed"), per_generation)
    by_metric = {m["metric"]: m for m in detail["misses"]}
    assert set(by_metric) == {"trades", "profit_factor"}
    assert by_metric["trades"]["generations"] == [0, 1, 2]
    assert (
        by_metric["trades"]["closest"] == 178 and by_metric["trades"]["text"] == "trades 178 < 200"
    )
    assert by_metric["profit_factor"]["generations"] == [1, 2]
    assert by_metric["profit_factor"]["closest"] == 4.6
    text = detail["text"]
    # The best's own misses (generation 2), then each clause once with its closest value.
    assert text.count("trades 120 < 200") == 1 and text.count("trades 178 < 200") == 1
    assert "trades 150" not in text
    # Best by SQN-100 (no candidate): generation 2.
    assert detail["best"]["generation"] == 2
    assert best_generation(per_generation, "sqn_100")["generation"] == 2


def test_a_candidate_outranks_a_better_scoring_non_candidate() -> None:
    per_generation = [_generation(0, 250, 3, candidate=True), _generation(1, 178, 3)]
    assert best_generation(per_generation, "sqn_100")["generation"] == 0


def test_a_running_run_has_no_verdict_yet() -> None:
    detail = verdict_detail(_run("running"), [_generation(0, 150, 3)])
    assert detail["state"] == "running"
    assert detail["text"].startswith("running: no verdict yet; best so far: generation 0")
    assert "not promoted" not in detail["text"]


def test_a_brief_says_the_value_and_the_bound() -> None:
    verdict = PromotionCriteria().judge(
        {"sqn_100": 5.8, "profit_factor": math.nan, "trades": 178, "weekly_consistency": 0.4}
    )
    briefs = {r.metric: r.brief for r in verdict.results}
    assert briefs == {
        "sqn_100": "SQN-100 5.8 > 5 (suspiciously high)",
        "profit_factor": "profit factor undefined",
        "trades": "trades 178 < 200",
        "weekly_consistency": "weekly consistency 0.4 at most 0.5",
    }
