"""A family's captured signals on disk: parts of changes plus the bars' timestamps read
back as exactly the signals written, and as each trial's own signal recomputed from the
bars; a damaged or foreign file is refused naming it and what is wrong with it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from strategy_factory.backtest import signal_changes
from strategy_factory.data import BarCatalog
from strategy_factory.errors import FactoryError
from strategy_factory.workflow import WorkflowConfig, create_workflow, run_workflow
from strategy_factory.workflow.backtester import Trial, trial_signals
from strategy_factory.workflow.bars import load_bars
from strategy_factory.workflow.config import Search
from strategy_factory.workflow.files import (
    SIGNAL_TIMESTAMPS,
    SIGNAL_TRIALS,
    read_signals,
    write_signal_part,
    write_signal_timestamps,
)
from strategy_factory.workflow.optimizer import expand
from strategy_factory.workflow.workspace import file_hash
from tests.workflow.conftest import small_workflow

INDEX = pd.date_range("2024-01-01", periods=40, freq="1h", tz="UTC")


def held(seed: int, trials: int) -> np.ndarray:
    """(trials × bars) signals held for a few bars at a time."""
    rng = np.random.default_rng(seed)
    runs = rng.integers(-1, 2, size=(trials, len(INDEX) // 4)).astype(np.int8)
    return np.repeat(runs, 4, axis=1)


@pytest.fixture
def family(tmp_path: Path) -> tuple[Path, dict[int, np.ndarray]]:
    """A family folder of two parts, trials numbered out of order, and what was written."""
    folder = tmp_path / "momentum"
    write_signal_timestamps(folder, INDEX)
    first, second = held(1, 2), held(2, 1)
    write_signal_part(folder / "trials-000002.parquet", [5, 2], signal_changes(first))
    write_signal_part(folder / "trials-000009.parquet", [9], signal_changes(second))
    return folder, {5: first[0], 2: first[1], 9: second[0]}


def test_parts_read_back_as_the_signals_written(family: tuple) -> None:
    folder, written = family
    frame = read_signals(folder)
    assert list(frame.columns) == ["t2", "t5", "t9"]
    assert frame.index.equals(INDEX.rename("timestamp"))
    assert (frame.dtypes == np.int8).all()
    for number, signal in written.items():
        np.testing.assert_array_equal(frame[f"t{number}"].to_numpy(), signal)
    picked = read_signals(folder, ["t9", "t5"])
    assert list(picked.columns) == ["t9", "t5"]
    np.testing.assert_array_equal(picked.to_numpy(), frame[["t9", "t5"]].to_numpy())


def test_the_discovery_captures_each_trials_own_signal(
    planted_home: BarCatalog, tmp_path: Path
) -> None:
    settings = small_workflow()
    settings["phases"] = settings["phases"][:1]
    config = WorkflowConfig.load(settings)
    workspace = create_workflow(config, tmp_path / "results")
    run_workflow(workspace)
    data = load_bars(config.data, config.classifiers, planted_home)
    folder = workspace.path("signals/parameter_discovery")
    for family in config.phases[0].families:
        captured = read_signals(folder / family.name)
        assert len(captured.columns) == family.grid_size()
        for number, params in enumerate(expand(family, Search())):
            recomputed = trial_signals(data, family, Trial(number, params), "selection")
            np.testing.assert_array_equal(captured[f"t{number}"].to_numpy(), recomputed)


def _rewrite(path: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    table = pq.read_table(path)
    pq.write_table(change(table), path)


DAMAGE = {
    "no timestamps": (lambda f: (f / SIGNAL_TIMESTAMPS).unlink(), "timestamps.parquet: missing"),
    "no change column": (
        lambda f: _rewrite(f / "trials-000009.parquet", lambda t: t.drop_columns(["change"])),
        r"trials-000009.parquet: no change column",
    ),
    "float changes": (
        lambda f: _rewrite(
            f / "trials-000009.parquet",
            lambda t: t.set_column(0, "change", pa.array(np.asarray(t["change"]) + 0.5)),
        ),
        r"trials-000009.parquet: change must be whole numbers",
    ),
    "bar beyond the bars": (  # every change after bar 0 moved 100 bars on
        lambda f: _rewrite(
            f / "trials-000009.parquet",
            lambda t: t.set_column(
                0, "change", pa.array(np.asarray(t["change"]) + np.r_[0, [400] * (len(t) - 1)])
            ),
        ),
        r"trials-000009.parquet: series 9: bar \d+ is outside 0 … 39",
    ),
    "signal 2": (
        lambda f: _rewrite(
            f / "trials-000009.parquet",
            lambda t: t.set_column(0, "change", pa.array(np.asarray(t["change"]) | 3)),
        ),
        r"trials-000009.parquet: a signal is -1, 0 or 1, got 2",
    ),
    "no trial numbers": (
        lambda f: _rewrite(f / "trials-000009.parquet", lambda t: t.replace_schema_metadata()),
        r"trials-000009.parquet: no ascending list of trial numbers",
    ),
    "a trial not named": (
        lambda f: _rewrite(
            f / "trials-000002.parquet",
            lambda t: t.replace_schema_metadata({SIGNAL_TRIALS: "[2]"}),
        ),
        r"trials-000002.parquet: 1 trials are named but 2 rows are at bar 0",
    ),
    "a trial in two parts": (
        lambda f: write_signal_part(f / "trials-000010.parquet", [2], signal_changes(held(3, 1))),
        r"trials-000010.parquet: trial 2 is in another part",
    ),
    "no parts": (
        lambda f: [p.unlink() for p in f.glob("trials-*.parquet")],
        "no signal files",
    ),
}


@pytest.mark.parametrize("case", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_family_folder_is_refused_naming_the_file(family: tuple, case: str) -> None:
    folder, _ = family
    damage, message = DAMAGE[case]
    damage(folder)
    hashes = {p.name: file_hash(p) for p in folder.iterdir()}
    with pytest.raises(FactoryError, match=message):
        read_signals(folder)
    assert {p.name: file_hash(p) for p in folder.iterdir()} == hashes  # nothing was touched


@pytest.mark.parametrize(
    ("columns", "message"),
    [(["t4"], "no signal column 't4'"), (["x5"], "'x5' is not a trial column")],
)
def test_asking_for_a_trial_not_captured_says_which(
    family: tuple, columns: list[str], message: str
) -> None:
    with pytest.raises(FactoryError, match=message):
        read_signals(family[0], columns)
