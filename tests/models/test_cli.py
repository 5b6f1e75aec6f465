"""`factory train` end to end through the real console entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strategy_factory.models import load_model
from strategy_factory.models.algorithms import AUTO_ALPHA_FRACTIONS
from tests.factory_command import factory

FEATURES = ["ret_1", "ret_5", "rsi_14", "vol_20", "sma_ratio_20", "bb_pos_20"]


def test_train_prints_the_choice_and_saves_the_model(factory_home: Path) -> None:
    feature_flags = [flag for name in FEATURES for flag in ("--features", name)]
    result = factory(
        "train", "--symbol", "SP500", "--algorithm", "Ridge", *feature_flags,
        "--holdout-start", "2016-01-01", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["algorithm"] == "Ridge"
    assert sorted(summary["features"]) == sorted(FEATURES)
    assert summary["data_range"]["train_end"] < "2016-01-01"
    assert summary["data_range"]["cutoff"].startswith("2016-01-01")
    assert len(summary["validation"]["folds"]) == 4
    # The default alpha grid is relative to each fold's alpha_max: the refit records both.
    chosen = summary["chosen"]["params"]
    assert chosen["alpha_fraction"] in AUTO_ALPHA_FRACTIONS and chosen["alpha"] > 0
    assert set(summary["importance"]["scores"]) == set(FEATURES)
    artifact = Path(summary["artifact"])
    assert artifact.parent == factory_home / "models"
    model = load_model(artifact)
    assert model.fingerprint == summary["fingerprint"]
    assert model.config.regime_configs[0] is None
    assert all("regime_vix" not in (c or {}) for c in model.config.regime_configs)


def test_train_table_output(factory_home: Path) -> None:
    result = factory(
        "train", "--symbol", "SP500", "--algorithm", "Lasso", "-f", "ret_1", "-f", "rsi_14",
        "--folds", "3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for heading in ("Chosen", "Validation folds", "Top features", "coefficient", "saved "):
        assert heading in result.stdout


def test_a_model_that_beats_the_baseline_in_no_fold_is_saved_with_a_warning(
    factory_home: Path,
) -> None:
    # A pure random walk: chosen by R², the model scores below 0 in every fold.
    made = factory("data", "synth", "--symbol", "RW", "--bars", "3000", "--seed", "1")
    assert made.returncode == 0, made.stderr
    args = ["train", "--symbol", "RW", "-f", "ret_1", "-f", "rsi_14", "-f", "vol_20"]
    result = factory(*args, "--score", "r2", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert all(fold["score"] < 0 for fold in summary["validation"]["folds"])
    [warning] = summary["warnings"]
    assert "did not beat the baseline in any of its 4 validation folds" in warning
    assert "warning:" in result.stderr
    assert "did not beat the baseline" in " ".join(result.stderr.split())
    assert Path(summary["artifact"]).exists()


def test_a_model_that_beats_the_baseline_has_no_warning(factory_home: Path) -> None:
    made = factory("data", "synth", "--symbol", "PL", "--bars", "3000", "--planted", "0.3")
    assert made.returncode == 0, made.stderr
    result = factory("train", "--symbol", "PL", "-f", "ret_1", "-f", "exo_planted", "--score", "r2")
    assert result.returncode == 0, result.stderr
    assert "saved " in result.stdout
    assert "warning" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--algorithm", "DeepMagic"], "unknown algorithm 'DeepMagic'"),
        (["--holdout-start", "someday"], "holdout_start"),
        (["-f", "rsi_15"], "list them with `factory features list SYMBOL`"),
    ],
)
def test_mistakes_exit_2_without_traceback(
    factory_home: Path, args: list[str], message: str
) -> None:
    result = factory("train", "--symbol", "SP500", *args)
    assert result.returncode == 2, result.stderr
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
