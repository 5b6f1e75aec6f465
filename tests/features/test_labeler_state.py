"""A fitted labeler leaves as JSON values and comes back labelling exactly as before."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from strategy_factory.errors import FactoryError
from strategy_factory.features import GMMRegimes, HMMRegimes, TrendVolRegimes, VIXRegimes


@pytest.mark.parametrize(
    "labeler",
    [GMMRegimes(n_regimes=3), HMMRegimes(), TrendVolRegimes(), VIXRegimes()],
    ids=["gmm", "hmm", "trend_vol", "vix"],
)
def test_a_restored_labeler_labels_like_the_fitted_one(
    labeler, sp500: pd.DataFrame, vix: pd.DataFrame
) -> None:
    bars = sp500.loc["2014":]
    references = {"VIX": vix}
    fitted = clone(labeler).fit(bars.loc[:"2016"], references)
    # Through text, as the store keeps it: nothing but numbers and lists.
    state = json.loads(json.dumps(fitted.fitted_state()))
    restored = clone(labeler).restore(state)
    expected = fitted.predict(bars, references)
    assert np.array_equal(restored.predict(bars, references), expected)
    assert len(np.unique(expected[expected >= 0])) > 1  # the labels say something


def test_a_state_that_does_not_fit_the_labeler_is_refused(sp500: pd.DataFrame) -> None:
    state = HMMRegimes(n_regimes=2).fit(sp500.loc[:"2005"]).fitted_state()
    with pytest.raises(FactoryError, match="not a fitted state of HMMRegimes"):
        HMMRegimes(n_regimes=3).restore(state)
    with pytest.raises(FactoryError, match="not a fitted state of GMMRegimes"):
        GMMRegimes().restore({"center": [0.0, 0.0]})
