"""A store filled by real evolution runs over synthetic markets with known planted traits.

Every market is hourly bars (60% a year volatility) with two exogenous columns known at the
close of their bar, each predicting the next bar's open-to-close return:

- ``lasting`` (strength 0.2) keeps predicting to the last bar;
- ``fading`` (strength 0.3) predicts until the runs' holdout starts, then nothing.

Runs differ by the features they start from: the lasting feature, the fading one, or both,
each with noise indicators drawn at random. On the selection period every such model looks
good — the fading one best — but out of sample only the lasting feature still pays: the
out-of-sample fitness of a configuration depends on known genome traits (which planted
feature its model uses), and its selection-period metrics cannot tell. Costs drag the
fading models below zero on the holdout.

The runs end (``data_options.end``) a tenth of the series before its last bar: bars no run
has seen, on which the genome search's launched runs are judged. The store is built once
per session (about 7 s) and copied for each test that writes to it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategy_factory.data import BarCatalog
from strategy_factory.evolution import Evolution, EvolveConfig, create_run
from strategy_factory.execution import InlineExecutor
from strategy_factory.learning import GenomeTable, MetaModel, fit_meta_model, genome_table
from strategy_factory.store import Store, create_store

BARS = 4_000
SYMBOLS = ("S0", "S1", "S2", "S3")
LASTING, FADING = 0.2, 0.3
# Fractions of the series: selection starts, holdout starts (the fading edge ends), runs end.
SELECTION, HOLDOUT, END = 0.5, 0.7, 0.9
KINDS = (["exo_lasting"], ["exo_fading"], ["exo_lasting", "exo_fading"])
NOISE = ("ret_1", "ret_5", "rsi_14", "vol_20", "macd_hist", "bb_pos_20", "stoch_k_14", "adx_14")
PLANTED = ("feature:exo_lasting", "feature:exo_fading")


def planted_bars(n_bars: int, seed: int) -> pd.DataFrame:
    """Hourly bars whose returns the ``lasting`` column predicts throughout and the
    ``fading`` column predicts only before ``HOLDOUT`` of the series."""
    rng = np.random.default_rng(seed)
    sigma = 0.6 / np.sqrt(24 * 365.25)
    lasting, fading, body_noise, gap_noise, high, low, volume = rng.standard_normal((7, n_bars))
    fading_strength = np.where(np.arange(n_bars) < int(n_bars * HOLDOUT), FADING, 0.0)
    noise = np.sqrt(1 - 0.05 - LASTING**2 - fading_strength**2)
    body = sigma * (
        LASTING * np.r_[0, lasting[:-1]]
        + fading_strength * np.r_[0, fading[:-1]]
        + noise * body_noise
    )
    log_close = np.log(100) + np.cumsum(sigma * np.sqrt(0.05) * gap_noise + body)
    close, open_ = np.exp(log_close), np.exp(log_close - body)
    index = pd.date_range("2020-01-01", periods=n_bars, freq="1h", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * np.exp(np.abs(high) * 0.5 * sigma),
            "low": np.minimum(open_, close) * np.exp(-np.abs(low) * 0.5 * sigma),
            "close": close,
            "volume": np.round(1e4 * np.exp(0.3 * volume)),
            "lasting": lasting,
            "fading": fading,
        },
        index=index,
    )


def run_fields(symbol: str, index: pd.DatetimeIndex, features: list[str]) -> dict:
    """The fields of one small evolution run of the history (one generation, small grid)."""
    return {
        "symbol": symbol,
        "seed_features": features,
        "max_generations": 1,
        "criteria": "evidence",
        "regime_configs": [None],
        "grid": {"alpha": "auto", "l1_ratio": [0.5]},
        "data_options": {
            "selection_start": index[int(BARS * SELECTION)].isoformat(),
            "holdout_start": index[int(BARS * HOLDOUT)].isoformat(),
            "end": index[int(BARS * END)].isoformat(),
        },
        "strategy": {"modes": ["long_short", "long_only"]},
    }


@dataclass(frozen=True)
class History:
    """Where the session's history lives: its factory home and its SQLite store."""

    folder: Path

    @property
    def home(self) -> Path:
        return self.folder / "home"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.folder / 'factory.db'}"

    def environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("FACTORY_HOME", str(self.home))
        monkeypatch.setenv("FACTORY_DB", self.url)


def _build(history: History) -> None:
    catalog = BarCatalog(history.home / "bars")
    rng = np.random.default_rng(0)
    with create_store(history.url) as store:
        for number, symbol in enumerate(SYMBOLS):
            bars = planted_bars(BARS, seed=100 + number)
            catalog.save(symbol, bars)
            for kind in KINDS:
                noise = list(rng.choice(NOISE, 4 - len(kind), replace=False))
                config = EvolveConfig.load(run_fields(symbol, bars.index, kind + noise))
                Evolution(store, InlineExecutor()).run(create_run(store, config).id)
        # The first run again: every model comes from it (same fingerprint), so every
        # configuration is recorded twice, under two runs.
        first = store.runs.recent(limit=1_000)[-1]
        again = create_run(store, EvolveConfig.load(first.config["evolve"]))
        Evolution(store, InlineExecutor()).run(again.id)


@pytest.fixture(scope="session")
def built_history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """The session's history, built once (read it through ``history`` or ``history_copy``)."""
    history = History(tmp_path_factory.mktemp("history"))
    with pytest.MonkeyPatch.context() as patch:
        history.environment(patch)
        _build(history)
    return history


@pytest.fixture
def history(built_history: History, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The session's history store, to read only (the environment points at it)."""
    built_history.environment(monkeypatch)
    with create_store(built_history.url) as store:
        yield store


@pytest.fixture
def history_copy(
    built_history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    """A copy of the history of this test's own, to write to."""
    copy = History(tmp_path / "history")
    shutil.copytree(built_history.folder, copy.folder)
    copy.environment(monkeypatch)
    with create_store(copy.url) as store:
        yield store


@pytest.fixture(scope="session")
def table(built_history: History) -> GenomeTable:
    """The genome table of the session's history."""
    with pytest.MonkeyPatch.context() as patch:
        built_history.environment(patch)
        with create_store(built_history.url) as store:
            return genome_table(store)


@pytest.fixture(scope="session")
def meta_model(table: GenomeTable) -> MetaModel:
    """The meta-model trained on the session's history."""
    result = fit_meta_model(table)
    assert result.model is not None, result.reason
    return result.model
