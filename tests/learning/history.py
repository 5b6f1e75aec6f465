"""A store filled by real evolution runs over synthetic markets with known planted traits.

Every market is :func:`fading_edge_bars`: hourly bars (60% a year volatility) with two
exogenous columns known at the close of their bar, each predicting the next bar's
open-to-close return:

- ``lasting`` (strength 0.2) keeps predicting to the last bar;
- ``fading`` (strength 0.3) predicts until the runs' holdout starts, then nothing.

Runs differ by the features they start from: the lasting feature, the fading one, or both,
each with the same three indicators that predict nothing; their grids trade all bars (no
regime filter) over thresholds, z-limits and both modes. On the selection period every
such model looks good — the fading one best — but out of sample only the lasting feature
still pays: the out-of-sample fitness of a configuration depends on known genome traits
(which planted feature its model uses), and its selection-period metrics cannot tell.
Costs drag the fading models below zero on the holdout.

The runs end (``data_options.end``) a tenth of the series before its last bar: bars no run
has seen, on which the genome search's launched runs are judged. The store is built once
per session (about 7 s) and copied for each test that writes to it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from strategy_factory.data import BarCatalog, fading_edge_bars
from strategy_factory.evolution import Evolution, EvolveConfig, create_run
from strategy_factory.execution import InlineExecutor
from strategy_factory.learning import GenomeTable, MetaModel, fit_meta_model, genome_table
from strategy_factory.store import Store, create_store

BARS = 4_000
SYMBOLS = ("S0", "S1", "S2", "S3")
# Fractions of the series: selection starts, holdout starts (the fading edge ends), runs end.
SELECTION, HOLDOUT, END = 0.5, 0.7, 0.9
KINDS = (["exo_lasting"], ["exo_fading"], ["exo_lasting", "exo_fading"])
# Every run also starts from the same indicators, which predict nothing.
NOISE = ("ret_1", "rsi_14", "vol_20")
PLANTED = ("feature:exo_lasting", "feature:exo_fading")


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
        "strategy": {"modes": ["long_short", "long_only"], "regime_filters": [None]},
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
    with create_store(history.url) as store:
        for number, symbol in enumerate(SYMBOLS):
            bars = fading_edge_bars(BARS, seed=100 + number, fade_at=HOLDOUT)
            catalog.save(symbol, bars)
            for kind in KINDS:
                config = EvolveConfig.load(run_fields(symbol, bars.index, [*kind, *NOISE]))
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
