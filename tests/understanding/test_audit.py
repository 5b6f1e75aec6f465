"""The audit plants each defect and sees it reported, and says nothing of a clean config.

``SYM`` and ``REF`` are 6,000 hourly synthetic bars over the same span (REF is cut to
plant the reference defects); each finding kind has a test that plants it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from strategy_factory.data import BarCatalog, Regime, synthetic_bars
from strategy_factory.errors import FactoryError
from strategy_factory.evolution import Evolution, EvolveConfig, create_run
from strategy_factory.execution import InlineExecutor
from strategy_factory.store import Store, create_store
from strategy_factory.understanding.audit import (
    AuditReport,
    AuditRequest,
    audit_config,
    audit_run,
    audit_target,
)

BARS = 6_000
REGIMES = (Regime(0.0, 0.5), Regime(0.0, 0.9))
SEED_FEATURES = ["exo_planted", "rsi_14", "vol_z_60", "ema_ratio_50", "ref_REF_corr_60"]
SYM = synthetic_bars(BARS, freq="1h", seed=3, planted_strength=0.2, regimes=REGIMES)
REF = synthetic_bars(BARS, freq="1h", seed=4, regimes=REGIMES)


@pytest.fixture
def bars(catalog: BarCatalog) -> BarCatalog:
    catalog.save("SYM", SYM)
    catalog.save("REF", REF)
    return catalog


def config(**fields: Any) -> EvolveConfig:
    base: dict[str, Any] = {
        "symbol": "SYM",
        "reference_symbols": ["REF"],
        "seed_features": SEED_FEATURES,
        "criteria": "evidence",
        "max_generations": 1,
    }
    return EvolveConfig.load({**base, **fields})


def kinds(report: AuditReport) -> list[tuple[str, str, str]]:
    return [(f.kind, f.severity, f.subject) for f in report.findings]


def test_a_clean_config_reports_nothing(bars: BarCatalog) -> None:
    report = audit_config(config())
    assert report.findings == []
    assert report.as_json()["clean"] is True
    assert len(report.checked) == 6


def test_a_reference_that_ends_early(catalog: BarCatalog) -> None:
    catalog.save("SYM", SYM)
    catalog.save("REF", REF.iloc[: BARS - 500])
    report = audit_config(config())
    [finding] = [f for f in report.findings if f.kind == "reference_coverage"]
    assert finding.severity == "error" and finding.subject == "REF"
    assert "the last 500 bars of SYM have no fresh REF bar" in finding.consequence
    assert f"set data_options.end to {REF.index[BARS - 501].date()}" in finding.fix


def test_a_reference_that_starts_late(catalog: BarCatalog) -> None:
    catalog.save("SYM", SYM)
    catalog.save("REF", REF.iloc[800:])
    report = audit_config(config())
    [finding] = [f for f in report.findings if f.kind == "reference_coverage"]
    assert finding.severity == "warning"
    assert "the run loses the first 800 of 6,000 bars of SYM" in finding.consequence


def test_a_constant_feature(bars: BarCatalog) -> None:
    # The minute of an hourly bar is always 0.
    report = audit_config(config(seed_features=[*SEED_FEATURES, "minute"]))
    found = [f for f in report.findings if f.kind == "constant_feature"]
    assert [f.subject for f in found] == ["minute"] * 3
    assert "minute is 0 on all" in found[0].consequence
    assert "drop minute from seed_features" in found[0].fix


def test_a_threshold_no_prediction_reaches(bars: BarCatalog) -> None:
    report = audit_config(config(strategy={"thresholds": [0.0, 2.0]}))
    assert kinds(report) == [("never_trades", "error", "SYM threshold 2")]
    assert "above the largest |target|" in report.findings[0].consequence
    assert "threshold_quantiles" in report.findings[0].fix


def test_a_period_too_short_for_the_minimum_trades(bars: BarCatalog) -> None:
    report = audit_config(config(criteria={"trades": {"min": 1_500}}))
    found = [f for f in report.findings if f.kind == "period_too_short"]
    assert [(f.severity, f.subject) for f in found] == [
        ("error", "selection"),
        ("error", "holdout"),
    ]
    assert "for a minimum of 1500 trades: no strategy can make that many" in found[0].consequence


def test_a_regime_labeler_fitted_beyond_training(bars: BarCatalog, store: Store) -> None:
    honest = create_run(store, config())
    recorded = dict(honest.config)
    recorded["dataset"] = {**recorded["dataset"], "selection_start": None, "holdout_start": None}
    leaky = store.runs.create("SYM", "ElasticNet", recorded, 1)
    assert audit_run(store, honest.id).findings == []
    found = [f for f in audit_run(store, leaky.id).findings if f.kind == "regime_labeler_leak"]
    assert {f.subject for f in found} >= {"regime_gmm"}
    assert all(f.severity == "error" for f in found)
    assert "fitted on later bars" in found[0].consequence


def test_grid_cells_that_never_traded_in_a_run(bars: BarCatalog, store: Store) -> None:
    created = create_run(store, config(strategy={"thresholds": [0.0, 5.0], "z_limits": [None]}))
    run = Evolution(store, InlineExecutor()).run(created.id)
    report = audit_run(store, run.id)
    assert ("never_trades", "error", "SYM threshold 5.0") in kinds(report)
    [idle] = [f for f in report.findings if f.kind == "cells_never_trade"]
    simulated = len(store.simulations.of_run(run.id))
    assert f"{simulated // 2:,} of {simulated:,} simulated cells of SYM (50%)" in idle.consequence


def test_a_yaml_config_or_a_run_id(bars: BarCatalog, store: Store, tmp_path: Path) -> None:
    path = tmp_path / "evolve.yaml"
    path.write_text(yaml.safe_dump(config().model_dump(mode="json")))
    assert audit_target(store, str(path)).findings == []
    with pytest.raises(FactoryError, match="no config file"):
        audit_target(store, str(tmp_path / "missing.yaml"))
    with pytest.raises(FactoryError, match="no evolution run 'nope'"):
        audit_target(store, "nope")


def test_a_request_names_one_thing() -> None:
    with pytest.raises(ValueError, match="either run_id or config"):
        AuditRequest()
    with pytest.raises(ValueError, match="either run_id or config"):
        AuditRequest(run_id="x", config=config())


@pytest.fixture
def store(factory_home: Path) -> Store:
    return create_store()


def test_a_z_limit_and_regime_filter_that_never_meet(bars: BarCatalog) -> None:
    # regime_trend 1 and 3 are the volatile regimes: their volatility z-score is above 0
    # on every bar, so no bar is in them within a z-limit of 0.001 (each alone allows many).
    strategy = {"z_limits": [None, 0.001], "regime_filters": [None, {"regime_trend": [1, 3]}]}
    report = audit_config(config(strategy=strategy))
    assert kinds(report) == [
        ("cells_never_trade", "warning", "SYM z_limit 0.001 × {'regime_trend': [1, 3]}")
    ]
    assert "every cell of this pair never trades" in report.findings[0].consequence
