"""Bad input is refused with a clear message before any work starts, and nothing is recorded."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

import pytest

from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.evolution import EvolveConfig, create_run
from strategy_factory.store import Store


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"prune_fraction": 0}, "prune_fraction: Input should be greater than 0"),
        ({"prune_fraction": 1.0}, "prune_fraction: Input should be less than 1"),
        ({"seed_features": []}, "seed_features is empty"),
        ({"seed_features": ["a", "a", "b"]}, "lists a feature twice"),
        ({"criteria": {"sqn_100": {"min": 5, "max": 3}}}, "min 5 is above max 3"),
        ({"criteria": {"trades": {"min": -1}}}, "impossible"),
        ({"criteria": {"dsr": {"min": 0.9}}}, "set the Deflated Sharpe Ratio gate with min_dsr"),
        ({"max_generations": 0}, "max_generations: Input should be greater than or equal to 1"),
        ({"data_options": {"selection_fraction": 0.5, "holdout_fraction": 0.45}}, "at least 10%"),
        ({"reference_symbols": ["SP500"]}, "cannot be its own reference"),
        ({"strategy": {"fee_bps": -1}}, "fee_bps: Input should be greater than or equal to 0"),
        ({"strategy": {"threshold_quantiles": [1.5]}}, "threshold quantiles must be in [0, 1)"),
        ({"colour": "blue"}, "colour: Extra inputs are not permitted"),
        ({"seed": 2**70}, "seed: Input should be less than or equal to 4294967295"),
        ({"symbol": "no spaces"}, "not a valid name"),
        ({"grid": {"alpha": [-1]}}, "alpha must be above 0"),
        ({"grid": {"alpha": [0.001 * k for k in range(1, 10**5)]}}, "values; at most 100"),
        ({"grid": {"alpha": ["a"]}}, "alpha must be a number, got 'a'"),
        ({"params": {"max_iter": "lots"}}, "max_iter must be a whole number, got 'lots'"),
        ({"strategy": {"fee_bps": 1e308}}, "fee_bps: Input should be less than or equal to 1000"),
        ({"strategy": {"z_limits": [-1]}}, "Input should be greater than 0"),
        ({"strategy": {"thresholds": [0.1] * 10**6}}, "at most 100 items"),
        ({"walk_forward": {"folds": 10**6}}, "folds: Input should be less than or equal to 50"),
        ({"algorithm": "this:s"}, "'this:s' is not allow-listed"),
    ],
)
def test_impossible_configs_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(FactoryError) as raised:
        EvolveConfig.load({"symbol": "SP500", **fields})
    assert message in str(raised.value)
    assert "this" not in sys.modules  # a named module is never imported to check it


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"symbol": "NOPE"}, NotFoundError, "unknown symbol 'NOPE'"),
        ({"reference_symbols": ["GHOST"]}, NotFoundError, "unknown symbol 'GHOST'"),
        (
            {"seed_features": ["rsi_14", "bogus_1", "ret_1"]},
            FactoryError,
            "bogus_1 are not available",
        ),
        (
            {"regime_configs": [None, {"regime_vix": [0]}]},
            FactoryError,
            "names 'regime_vix', which this run does not label",
        ),
        (
            {"strategy": {"regime_filters": [{"regime_trend": [7]}]}},
            FactoryError,
            "allows label(s) [7] that regime_trend never takes",
        ),
        (
            {"data_options": {"holdout_start": "2018-12-20"}},
            FactoryError,
            "holdout has",
        ),
        ({"seed_model_id": "missing"}, NotFoundError, "no model 'missing'"),
    ],
)
def test_configs_that_do_not_fit_the_data_record_nothing(
    factory_home: Path, fields: dict[str, Any], error: type, message: str
) -> None:
    from strategy_factory.store import create_store

    store: Store = create_store()
    with pytest.raises(error) as raised:
        create_run(store, EvolveConfig.load({"symbol": "SP500", "max_generations": 1, **fields}))
    assert message in str(raised.value)
    assert store.runs.recent() == []


def test_yaml_config_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "evolve.yaml"
    path.write_text(
        "symbol: SP500\nreference_symbols: [NASDAQ]\nmax_generations: 6\n"
        "criteria:\n  profit_factor: [1.5, 3]\nstrategy:\n  z_limits: [null, 1.0]\n"
    )
    config = EvolveConfig.from_yaml(path, {"max_generations": 2})
    assert config.max_generations == 2
    assert config.reference_symbols == ["NASDAQ"]
    assert config.criteria.profit_factor is not None and config.criteria.profit_factor.min == 1.5
    assert config.strategy.z_limits == [None, 1.0]
    assert config.promotion_criteria().dsr is not None
    assert config.promotion_criteria().dsr.min == 0.95
    path.write_text("- not a mapping\n")
    with pytest.raises(FactoryError, match="must be a mapping"):
        EvolveConfig.from_yaml(path)


def test_an_unknown_algorithm_is_refused_before_any_work(factory_home: Path) -> None:
    from strategy_factory.store import create_store

    store = create_store()
    with pytest.raises(FactoryError, match="unknown algorithm 'Magic'"):
        create_run(store, EvolveConfig.load({"symbol": "SP500", "algorithm": "Magic"}))
    with pytest.raises(FactoryError, match="has no hyperparameter 'depth'"):
        create_run(store, EvolveConfig.load({"symbol": "SP500", "grid": {"depth": [3]}}))
    assert store.runs.recent() == []


def test_a_run_over_the_work_budget_is_refused_with_its_estimate(
    factory_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strategy_factory.store import create_store

    store = create_store()
    # Every axis within its own bounds; together ~19 million cells a generation.
    huge = {
        "symbol": "SP500",
        "max_generations": 100,
        "strategy": {
            "thresholds": [k / 1000 for k in range(100)],
            "z_limits": [None, *range(1, 20)],
            "regime_filters": [{"regime_trend": [label]} for label in range(4)] * 16,
            "modes": ["long_short", "long_only"],
        },
    }
    with pytest.raises(FactoryError) as raised:
        create_run(store, EvolveConfig.load(huge))
    message = str(raised.value)
    assert "over the work budget: simulation 25,600,000 strategy cells > 1,000,000" in message
    assert "FACTORY_MAX_STRATEGY_CELLS" in message
    assert "25,600,000 strategy cells" in message
    # The default main job is far inside the budget, and a tiny budget refuses it too.
    assert create_run(store, EvolveConfig.load({"symbol": "SP500"}))
    monkeypatch.setenv("FACTORY_MAX_FIT_VALUES", "1000")
    with pytest.raises(FactoryError, match=r"training .* > 1e\+03 \(FACTORY_MAX_FIT_VALUES\)"):
        create_run(store, EvolveConfig.load({"symbol": "SP500"}))
    assert len(store.runs.recent()) == 1


def test_criteria_come_from_a_preset_a_mapping_or_a_file(tmp_path: Path) -> None:
    evidence = EvolveConfig.load({"symbol": "SP500", "criteria": "evidence"})
    assert evidence.criteria_name == "evidence" and evidence.ranking == "sharpe"
    assert set(evidence.criteria.active) == {"trades", "pbo", "holdout_p", "max_drawdown"}
    assert set(evidence.promotion_criteria().active) >= {"dsr", "holdout_p"}
    holy = EvolveConfig.load({"symbol": "SP500"})
    assert (holy.criteria_name, holy.ranking) == ("holy_grail", "sqn_100")
    custom = EvolveConfig.load({"symbol": "SP500", "criteria": {"trades": {"min": 50}}})
    assert custom.criteria_name == "custom"
    # The stored config reloads to the same criteria and name.
    assert EvolveConfig.load(evidence.model_dump(mode="json")) == evidence
    with pytest.raises(FactoryError, match="unknown criteria preset 'lenient'; presets: holy"):
        EvolveConfig.load({"symbol": "SP500", "criteria": "lenient"})
    ranges = tmp_path / "mine.yaml"
    ranges.write_text("trades: {min: 40}\nholdout_p: true\n")
    config = tmp_path / "run.yaml"
    config.write_text("symbol: SP500\ncriteria: mine.yaml\n")
    loaded = EvolveConfig.from_yaml(config)
    assert loaded.criteria_name == "custom"
    assert loaded.criteria.trades is not None and loaded.criteria.trades.min == 40
    assert loaded.criteria.holdout_p is not None and loaded.criteria.holdout_p.max == 0.05
    config.write_text("symbol: SP500\ncriteria: missing.yaml\n")
    with pytest.raises(FactoryError, match=r"neither a preset .* nor a file"):
        EvolveConfig.from_yaml(config)


def test_the_cli_takes_a_preset_or_a_file_of_criteria(tmp_path: Path) -> None:
    from strategy_factory.cli.evolve import criteria_option

    assert criteria_option("evidence") == "evidence"
    assert criteria_option(None) is None
    ranges = tmp_path / "ranges.yaml"
    ranges.write_text("sharpe: {min: 1}\n")
    assert criteria_option(str(ranges))["sharpe"] == {"min": 1}
    with pytest.raises(FactoryError, match="neither a preset"):
        criteria_option(str(tmp_path / "nope.yaml"))


def test_the_periods_are_recorded_with_what_cut_the_history(factory_home: Path) -> None:
    from strategy_factory.store import create_store

    run = create_run(
        create_store(),
        EvolveConfig.load({"symbol": "SP500", "reference_symbols": ["VIX"], "max_generations": 1}),
    )
    periods = run.config["periods"]
    assert periods["stored"]["first"].startswith("1999-01-04")
    assert periods["used"]["first"] >= "2014-01-03"  # VIX starts then
    assert periods["cut_by"] == ["reference VIX starts 2014-01-03"]
    spans = [periods[name] for name in ("training", "selection", "holdout")]
    assert sum(s["bars"] for s in spans) == periods["used"]["bars"]
    assert spans[0]["first"] == periods["used"]["first"]
    assert spans[-1]["last"] == periods["used"]["last"]
    for earlier, later in itertools.pairwise(spans):
        assert earlier["last"] < later["first"]
    # 240 holdout bars for a minimum of 200 trades: said before the run starts.
    assert any("only a strategy trading on most bars" in w for w in periods["warnings"])


def test_the_whole_history_is_used_without_a_late_reference(factory_home: Path) -> None:
    from strategy_factory.store import create_store

    run = create_run(create_store(), EvolveConfig.load({"symbol": "SP500", "max_generations": 1}))
    periods = run.config["periods"]
    assert periods["cut_by"] == []  # only the indicators' warm-up
    assert periods["used"]["bars"] > 0.9 * periods["stored"]["bars"]
    assert periods["warnings"] == []


def test_a_period_with_fewer_bars_than_the_minimum_trades_is_refused(factory_home: Path) -> None:
    from strategy_factory.store import create_store

    store = create_store()
    config = {"symbol": "SP500", "reference_symbols": ["VIX"], "max_generations": 1,
              "criteria": {"trades": {"min": 300}}}  # fmt: skip
    with pytest.raises(FactoryError) as refused:
        create_run(store, EvolveConfig.load(config))
    message = str(refused.value)
    assert "selection period of SP500 has 239 bars" in message
    assert "minimum of 300 trades" in message
    assert "reference VIX starts 2014-01-03" in message
    assert store.runs.recent() == []
