"""A promoted strategy on synthetic hourly bars, with a reference symbol, built once.

``SYN`` (a planted edge) and ``REF`` (its reference) are stored up to bar 7,000 of 12,000;
a one-generation run trains a model on them, and its model is promoted with a
configuration that uses every part of the signal rule: a threshold, a volatility z-score
limit, and a filter on two fitted regime labelers (GMM and HMM). The model is seeded with
indicators of infinite memory (EMA(200), Wilder's RSI and ADX, MACD) and reference
features, and the run's history is longer than forward tracking's warm-up, so updates
really compute on a window. Each test gets its own copy of the bar store and database.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from strategy_factory.data import BarCatalog, Regime, synthetic_bars
from strategy_factory.evolution import Evolution, EvolveConfig, create_run
from strategy_factory.evolution.prepare import run_context
from strategy_factory.evolution.promotion import strategy_of
from strategy_factory.execution import InlineExecutor
from strategy_factory.execution.dataset import DatasetSpec, load_dataset
from strategy_factory.execution.units import execution_of, strategy_detail, thresholds
from strategy_factory.models import model_from_bytes
from strategy_factory.store import PromotedModel, Store, create_store
from tests.learning.history import (  # the meta-model's and search's fixtures
    built_history,
    history,
    history_copy,
    meta_model,
    table,
)

TOTAL = 12_000
STORED = 7_000
REGIMES = (Regime(0.0, 0.5), Regime(0.0, 0.9))
SEED_FEATURES = [
    "exo_planted",
    "ema_ratio_200",
    "rsi_28",
    "macd",
    "adx_14",
    "vol_z_60",
    "ref_REF_corr_60",
    "ref_REF_rs_20",
]
SYN = synthetic_bars(TOTAL, freq="1h", seed=7, planted_strength=0.2, regimes=REGIMES)
REF = synthetic_bars(TOTAL, freq="1h", seed=8, regimes=REGIMES)


@dataclass(frozen=True)
class Promoted:
    """A store with one promotion, and the bar store its run read."""

    store: Store
    catalog: BarCatalog
    promotion: PromotedModel

    def whole_series_backtest(self) -> pd.DataFrame:
        """The promoted configuration backtested over the run's holdout and every bar
        stored since, in one piece: what forward tracking must reproduce."""
        run = self.store.runs.get(self.promotion.run_id)
        spec = DatasetSpec.model_validate(run.config["dataset"])
        unbounded = spec.model_copy(update={"last_bars": None, "data_digest": None})
        model = model_from_bytes(self.store.models.artifact(self.promotion.model_id))
        strategy = self.promotion.strategy
        detail, _ = strategy_detail(
            load_dataset(unbounded), model, strategy_of(strategy), execution_of(strategy),
            "holdout",
        )  # fmt: skip
        return detail.per_bar


def promote(store: Store, **options: object) -> PromotedModel:
    """Run one generation on SYN (with REF) and promote its model with a configuration
    that uses a threshold, a z-score limit and a GMM + HMM filter; ``options`` are more
    EvolveConfig fields."""
    config = EvolveConfig.load(
        {
            "symbol": "SYN",
            "reference_symbols": ["REF"],
            "seed_features": SEED_FEATURES,
            "max_generations": 1,
            **options,
            # Out of reach, so the run promotes nothing itself: the test promotes its model
            # with a configuration of its choosing.
            "criteria": {"sharpe": {"min": 1_000}, "trades": {"min": 30}, "sqn_100": None,
                         "profit_factor": None, "weekly_consistency": None},
        }
    )  # fmt: skip
    run = Evolution(store, InlineExecutor()).run(create_run(store, config).id)
    assert not run.promoted
    [record] = store.models.of_run(run.id)
    model = model_from_bytes(store.models.artifact(record.id))
    dataset = run_context(run).dataset
    [median] = thresholds(model, dataset, {"threshold_quantiles": [0.5]})
    strategy = {
        "ticker": "SYN",
        "threshold": median,
        "z_limit": 1.5,
        "regime_filter": {"regime_gmm": [0, 1], "regime_hmm": [0]},
        "mode": "long_short",
        "fill": "next_open",
        "fee_bps": 1.0,
        "slippage_bps": 2.0,
    }
    return store.promoted.add(
        run_id=run.id,
        model_id=record.id,
        strategy=strategy,
        criteria={},
        selection_metrics={},
        holdout_metrics={"sharpe": 1.0},
        configurations_tried=1,
        verdict={},
        lineage=[],
    )


@pytest.fixture(scope="module")
def promoted_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A factory home and store with the promotion (built once per module)."""
    root = tmp_path_factory.mktemp("promoted")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORY_HOME", str(root / "home"))
        patch.setenv("FACTORY_DB", f"sqlite:///{root / 'factory.db'}")
        catalog = BarCatalog(root / "home" / "bars")
        catalog.save("SYN", SYN.iloc[:STORED])
        catalog.save("REF", REF.iloc[:STORED])
        with create_store() as store:
            return root, promote(store).id


@pytest.fixture
def promoted(
    promoted_home: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Promoted]:
    """A copy of the promoted store and bars for one test (FACTORY_HOME/FACTORY_DB set)."""
    root, promotion_id = promoted_home
    shutil.copytree(root / "home", tmp_path / "home")
    shutil.copy(root / "factory.db", tmp_path / "factory.db")
    monkeypatch.setenv("FACTORY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FACTORY_DB", f"sqlite:///{tmp_path / 'factory.db'}")
    monkeypatch.chdir(tmp_path)
    with create_store() as store:
        yield Promoted(
            store, BarCatalog(tmp_path / "home" / "bars"), store.promoted.get(promotion_id)
        )


__all__ = ["built_history", "history", "history_copy", "meta_model", "table"]
