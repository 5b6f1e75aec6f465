"""Training chooses what it chose before it was rebuilt on sufficient statistics.

Three pinned cases (``golden_training``: SP500 and MSFT daily with every feature, and
synthetic one-minute bars), trained with the default grid. The chosen configuration must
be exactly the stored one, and the fold scores of the chosen configuration and of every
grid cell equal to 1e-9 (a cell constant in a fold stays constant there).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from strategy_factory.data import BarCatalog
from strategy_factory.models import train
from tests.models.golden_training import CASES, GOLDEN, load_case, summary

TOLERANCE = 1e-9


def _close(got: list[float | None], want: list[float | None]) -> bool:
    got_array = np.array(got, dtype=np.float64)
    want_array = np.array(want, dtype=np.float64)
    same_nan = np.array_equal(np.isnan(got_array), np.isnan(want_array))
    return same_nan and np.allclose(got_array, want_array, rtol=0, atol=TOLERANCE, equal_nan=True)


@pytest.mark.parametrize("name", CASES)
def test_same_choice_and_fold_scores_as_stored(name: str, shared_bars: BarCatalog) -> None:
    want = json.loads(GOLDEN.read_text())[name]
    case = load_case(name, shared_bars)
    got = summary(train(case.features, case.target, case.regimes, case.config))
    assert got["regime_config"] == want["regime_config"]
    assert got["params"]["alpha_fraction"] == want["params"]["alpha_fraction"]
    assert got["params"]["l1_ratio"] == want["params"]["l1_ratio"]
    assert got["params"]["alpha"] == pytest.approx(want["params"]["alpha"], rel=1e-12)
    assert got["score"] == pytest.approx(want["score"], abs=TOLERANCE)
    assert _close(got["folds"], want["folds"])
    assert [(c["regime_config"], c["params"]) for c in got["grid"]] == [
        (c["regime_config"], c["params"]) for c in want["grid"]
    ]
    far = [
        (cell["regime_config"], cell["params"], cell["folds"], stored["folds"])
        for cell, stored in zip(got["grid"], want["grid"], strict=True)
        if not _close(cell["folds"], stored["folds"])
    ]
    assert not far, f"{len(far)} cells' fold scores moved by more than {TOLERANCE}: {far[:3]}"
