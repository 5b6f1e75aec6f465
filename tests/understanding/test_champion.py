"""Champion/challenger on every backend: a challenger replaces the champion only when its
forward returns are significantly better on common bars; major changes wait for approval;
a monitor alert rolls back; restore brings a backup back; every change is logged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import signal
from scipy.linalg import toeplitz

from strategy_factory.data import load_bundled
from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.store import ForwardBar, Store
from strategy_factory.understanding.champion import (
    ApprovalRequest,
    ChallengeRequest,
    RestoreRequest,
    approve,
    challenge,
    restore,
    roll_back_flagged,
)
from strategy_factory.understanding.long_run import MAX_BIAS, MIN_COSINES, long_run_variance
from strategy_factory.understanding.paired_test import paired_test

START = datetime(2021, 3, 1, tzinfo=UTC)
BARS = 500
NOISE = np.random.default_rng(11).normal(0.0, 0.01, BARS)
# What a challenger does differently from the champion, bar by bar.
OWN = np.random.default_rng(12).normal(0.0, 0.01, BARS)
BETTER = NOISE + OWN + 0.002


def promote(
    store: Store,
    returns: np.ndarray | pd.Series,
    algorithm: str = "elasticnet",
    features: tuple[str, ...] = ("rsi_14", "atr_14"),
    threshold: float = 0.1,
) -> str:
    """A promotion of a new run whose forward tracking recorded ``returns`` hourly."""
    run_id = store.runs.create("SP500", algorithm, {}, max_generations=1).id
    model_id = uuid.uuid4().hex
    store.models.add(
        model_id=model_id,
        run_id=run_id,
        generation=0,
        fingerprint=uuid.uuid4().hex * 2,
        algorithm=algorithm,
        symbol="SP500",
        features=list(features),
    )
    promotion = store.promoted.add(
        run_id=run_id,
        model_id=model_id,
        strategy={"ticker": "SP500", "threshold": threshold},
        criteria={},
        selection_metrics={},
        holdout_metrics={},
        configurations_tried=10,
        verdict={},
        lineage=[],
    ).id
    if isinstance(returns, pd.Series):
        stamps = list(returns.index)
    else:
        stamps = [START + timedelta(hours=h + 1) for h in range(len(returns))]
    first = stamps[0] - timedelta(hours=1)
    store.forward.start(promotion, symbol="SP500", started_after=first, state={}, status="tracking")
    values = np.asarray(returns, dtype=np.float64)
    bars = [ForwardBar(t, 1, float(r)) for t, r in zip(stamps, values, strict=True)]
    assert store.forward.advance(promotion, after=first, bars=bars, state={}, status="tracking")
    return promotion


def ask(slot: str, challenger: str, **fields: object) -> ChallengeRequest:
    return ChallengeRequest(slot=slot, challenger=challenger, by="desk", **fields)


@pytest.fixture
def champion(store: Store) -> str:
    promotion = promote(store, NOISE)
    assert challenge(store, ask("SP500", promotion)).outcome == "crowned"
    return promotion


def snapshot(store: Store) -> tuple[object, ...]:
    return (
        store.champions.slots(),
        store.champions.challenges(),
        store.champions.log(),
        store.champions.backups("SP500"),
    )


def test_the_long_run_variance_matches_dense_cosines_and_autocovariances() -> None:
    # Recomputed from an explicit cosine basis and a dense AR(1) autocorrelation matrix,
    # independent of the DCT and the recursive filters of the implementation.
    n = 300
    values = signal.lfilter([1.0], [1.0, -0.7], np.random.default_rng(3).normal(size=n))
    lrv = long_run_variance(values)
    basis = np.sqrt(2 / n) * np.cos(np.pi * np.outer(np.arange(1, n), np.arange(n) + 0.5) / n)
    gamma = toeplitz(lrv.persistence ** np.arange(n))
    expected = np.einsum("jt,ts,js->j", basis, gamma, basis)
    ratios = np.cumsum(expected) / np.arange(1, n) / (gamma.sum() / n)
    most = int(np.ceil(0.4 * n ** (2 / 3)))
    assert lrv.cosines == max(MIN_COSINES, np.flatnonzero(ratios[:most] >= 1 - MAX_BIAS)[-1] + 1)
    assert 0.5 < lrv.persistence < 0.98 and lrv.cosines < most
    projections = basis[: lrv.cosines] @ values
    estimate = np.mean(projections**2) / min(1.0, ratios[lrv.cosines - 1])
    assert lrv.value == pytest.approx(estimate, rel=1e-9)


def _ar1_pairs(seed: int, phi: float, pairs: int) -> np.ndarray:
    shocks = np.random.default_rng(seed).normal(0.0, 0.01, (2, pairs, BARS))
    shocks[..., 0] /= np.sqrt(1 - phi**2)
    return signal.lfilter([1.0], [1.0, -phi], shocks, axis=-1)


@pytest.mark.parametrize("phi", [0.0, 0.6, 0.9])
def test_p_values_of_equal_mean_autocorrelated_pairs_are_not_anti_conservative(
    phi: float,
) -> None:
    # 400 pairs of AR(1) returns with equal means (strategies holding positions over
    # several bars): p < a at most a + ~3 binomial sd for a = 5% and 10%. Newey–West
    # with ⌊4 (n/100)^(2/9)⌋ lags and a t(n−1) reference passed 22% at 5% for phi 0.9.
    challengers, champions = _ar1_pairs(int(phi * 10), phi, 400)
    p = np.array([paired_test(a, b).p_value for a, b in zip(challengers, champions, strict=True)])
    assert np.mean(p < 0.05) <= 0.085
    assert np.mean(p < 0.10) <= 0.145


def test_a_planted_edge_is_detected_about_as_often_as_the_stated_power() -> None:
    # The challenger better by 0.2 sd (of the differences) per bar, AR(1) phi 0.3.
    challengers, champions = _ar1_pairs(7, 0.3, 300)
    sd = float(np.mean((challengers - champions).std(axis=-1, ddof=1)))
    results = [
        paired_test(a + 0.2 * sd, b, min_effect=0.2)
        for a, b in zip(challengers, champions, strict=True)
    ]
    detected = np.mean([r.passed for r in results])
    assert detected >= 0.8
    assert detected == pytest.approx(np.mean([r.power for r in results]), abs=0.08)


def test_a_truly_better_challenger_replaces_the_champion(store: Store, champion: str) -> None:
    better = promote(store, BETTER, threshold=0.2)
    outcome = challenge(store, ask("SP500", better))
    assert outcome.outcome == "replaced"
    assert store.champions.slot("SP500").promotion_id == better
    test = outcome.challenge.evidence["paired_test"]
    assert test["passed"] and test["bars"] == BARS and test["p_value"] < 0.05
    assert test["mean_difference"] == pytest.approx(np.mean(OWN) + 0.002)
    assert 0.0 < test["power"] <= 1.0 and test["degrees_of_freedom"] == 26
    (backup,) = store.champions.backups("SP500")
    assert backup.promotion_id == champion and backup.configuration["strategy"]["threshold"] == 0.1
    actions = [entry.action for entry in store.champions.log("SP500")]
    assert actions == ["replaced", "challenge_passed", "crowned"]


@pytest.mark.parametrize(
    "returns",
    [NOISE, NOISE + 0.001, NOISE + OWN, NOISE + OWN - 0.002],
    ids=["identical", "shifted", "equal-mean", "worse"],
)
def test_an_equal_or_worse_challenger_does_not(
    store: Store, champion: str, returns: np.ndarray
) -> None:
    rival = promote(store, returns)
    outcome = challenge(store, ask("SP500", rival))
    assert outcome.outcome == "rejected"
    assert store.champions.slot("SP500").promotion_id == champion
    assert store.champions.backups("SP500") == []
    (entry, _) = store.champions.log("SP500")
    assert entry.action == "challenge_rejected" and entry.champion_after == champion
    if np.ptp(returns - NOISE) < 1e-12:
        assert "identical strategies cannot be told apart" in entry.reason
        assert entry.evidence["paired_test"]["p_value"] is None


def test_too_few_common_bars_are_named_and_the_champion_stays(store: Store, champion: str) -> None:
    short = promote(store, BETTER[:40])
    outcome = challenge(store, ask("SP500", short))
    assert outcome.outcome == "rejected" and "only 40 common forward bars" in outcome.message


def test_a_major_change_waits_for_approval_then_is_applied_once(
    store: Store, champion: str
) -> None:
    family = promote(store, BETTER, features=("rsi_14", "obv_slope_10"))
    outcome = challenge(store, ask("SP500", family))
    assert outcome.outcome == "awaiting_approval"
    assert outcome.challenge.change["new_feature_families"] == ["obv_slope"]
    assert store.champions.slot("SP500").promotion_id == champion
    with pytest.raises(FactoryError, match="already awaits approval"):
        challenge(store, ask("SP500", family))
    entry = approve(store, outcome.challenge.id, ApprovalRequest(by="alice"))
    assert entry.action == "approved" and entry.actor == "alice"
    assert store.champions.slot("SP500").promotion_id == family
    assert store.champions.challenge(outcome.challenge.id).approved_by == "alice"
    before = snapshot(store)
    with pytest.raises(FactoryError, match="already accepted by alice"):
        approve(store, outcome.challenge.id, ApprovalRequest(by="bob"))
    assert snapshot(store) == before


def test_a_new_algorithm_is_major(store: Store, champion: str) -> None:
    forest = promote(store, BETTER, algorithm="lightgbm")
    outcome = challenge(store, ask("SP500", forest))
    assert outcome.outcome == "awaiting_approval"
    assert "a new algorithm (elasticnet → lightgbm)" in outcome.message


def test_a_monitor_alert_rolls_back_and_the_log_says_so(store: Store, champion: str) -> None:
    better = promote(store, BETTER)
    challenge(store, ask("SP500", better))
    assert roll_back_flagged(store) == []
    alert, _ = store.alerts.raise_alert(
        promotion_id=better, test="cusum", statistic=5.1, threshold=4.0, evidence={"bars": 90}
    )
    (entry,) = roll_back_flagged(store)
    assert store.champions.slot("SP500").promotion_id == champion
    assert entry.action == "rolled_back" and entry.actor == "overfitting monitor"
    assert entry.champion_before == better and entry.champion_after == champion
    assert entry.evidence["alert"]["id"] == alert.id and f"alert {alert.id}" in entry.reason
    assert roll_back_flagged(store) == []  # handled once


def test_a_flag_without_a_backup_is_logged_once(store: Store, champion: str) -> None:
    store.alerts.raise_alert(
        promotion_id=champion, test="cusum", statistic=5.0, threshold=4.0, evidence={}
    )
    (entry,) = roll_back_flagged(store)
    assert entry.action == "flag_kept" and "replaced no earlier champion" in entry.reason
    assert roll_back_flagged(store) == []
    assert store.champions.slot("SP500").promotion_id == champion


def test_restore_brings_the_backup_back_and_backs_up_in_turn(store: Store, champion: str) -> None:
    better = promote(store, BETTER)
    challenge(store, ask("SP500", better))
    store.promoted.demote(champion, "tired")
    entry = restore(store, "SP500", RestoreRequest(by="carol", reason="desk's call"))
    assert entry.action == "restored" and entry.actor == "carol"
    assert store.champions.slot("SP500").promotion_id == champion
    assert store.promoted.get(champion).status == "active"
    newest = store.champions.backups("SP500")[0]
    assert newest.promotion_id == better
    with pytest.raises(FactoryError, match="already the champion"):
        restore(
            store,
            "SP500",
            RestoreRequest(by="carol", backup=store.champions.backups("SP500")[1].id),
        )


def test_bad_input_is_refused_and_changes_nothing(store: Store, champion: str) -> None:
    other = promote(store, NOISE)
    before = snapshot(store)
    with pytest.raises(NotFoundError, match="no promoted model"):
        challenge(store, ask("SP500", "abcdef123456"))
    with pytest.raises(NotFoundError, match="no challenge"):
        approve(store, "abcdef123456", ApprovalRequest(by="alice"))
    with pytest.raises(FactoryError, match="already the champion"):
        challenge(store, ask("SP500", champion))
    with pytest.raises(FactoryError, match="has no backup"):
        restore(store, "SP500", RestoreRequest(by="alice"))
    with pytest.raises(FactoryError, match="has no champion"):
        restore(store, "NASDAQ", RestoreRequest(by="alice"))
    with pytest.raises(NotFoundError, match="no champion backup 99"):
        restore(store, "SP500", RestoreRequest(by="alice", backup=99))
    store.promoted.demote(other, "decayed")
    with pytest.raises(FactoryError, match="only an active promotion"):
        challenge(store, ask("SP500", other))
    rejected = challenge(store, ask("SP500", promote(store, NOISE))).challenge
    after_rejection = snapshot(store)
    with pytest.raises(FactoryError, match="is rejected, not awaiting approval"):
        approve(store, rejected.id, ApprovalRequest(by="alice"))
    assert snapshot(store) == after_rejection
    assert len(after_rejection[2]) == len(before[2]) + 1


@pytest.mark.parametrize(
    "fields",
    [
        {"slot": "bad slot!"},
        {"challenger": "../x"},
        {"alpha": 0.9},
        {"min_bars": 1},
        {"x": 1},
        {"by": " "},
    ],
)
def test_the_request_model_refuses_bad_fields(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ChallengeRequest(**{"slot": "SP500", "challenger": "abc123", "by": "desk", **fields})


@pytest.mark.parametrize(("edge", "outcome"), [(0.0, "rejected"), (0.001, "replaced")])
def test_real_market_returns_heavy_tailed_and_clustered(
    store: Store, edge: float, outcome: str
) -> None:
    # Champion: long SP500; challenger: long NASDAQ, its mean moved onto the champion's
    # plus ``edge`` a day. The differences keep the real tails and volatility clusters of
    # NASDAQ − SP500 (2010–2018); with no edge the test cannot pass (t = 0, p = 0.5).
    sp500 = load_bundled("SP500")["close"].pct_change().loc["2010":"2018"]
    nasdaq = load_bundled("NASDAQ")["close"].pct_change().reindex(sp500.index)
    sp500.index = sp500.index.tz_localize("UTC") if sp500.index.tz is None else sp500.index
    nasdaq.index = sp500.index
    challenger = nasdaq - (nasdaq - sp500).mean() + edge
    champion = promote(store, sp500)
    challenge(store, ask("SP500", champion))
    result = challenge(store, ask("SP500", promote(store, challenger)))
    assert result.outcome == outcome
    test = result.challenge.evidence["paired_test"]
    assert test["bars"] == len(sp500) > 2000
    assert test["first_bar"].startswith("2010-01")
    if edge == 0.0:
        assert test["p_value"] == pytest.approx(0.5, abs=1e-6)


def test_a_challenge_short_of_forward_bars_is_judged_again_when_they_arrive(
    store: Store, champion: str
) -> None:
    from strategy_factory.understanding.loop import retry_challenges

    short = promote(store, BETTER[:40])
    refused = challenge(store, ask("SP500", short)).challenge
    assert refused is not None and refused.state == "rejected"
    assert retry_challenges(store)["waiting"] == [
        {"challenge": refused.id, "bars": 40, "needed": 60}
    ]
    assert store.champions.slot("SP500").promotion_id == champion  # nothing judged yet

    last = START + timedelta(hours=40)
    rest = [
        ForwardBar(START + timedelta(hours=h + 1), 1, float(BETTER[h])) for h in range(40, BARS)
    ]
    assert store.forward.advance(short, after=last, bars=rest, state={}, status="tracking")
    again = retry_challenges(store)
    assert again["judged"] == [{"challenge": refused.id, "outcome": "replaced"}]
    assert again["principles"][0].startswith(f"SP500: {short} replaced {champion}")
    assert store.champions.slot("SP500").promotion_id == short
    assert retry_challenges(store)["judged"] == []  # judged once


def test_other_refusals_are_not_judged_again(store: Store, champion: str) -> None:
    from strategy_factory.understanding.loop import retry_challenges

    same = promote(store, NOISE)  # identical returns: refused, and more bars change nothing
    assert challenge(store, ask("SP500", same)).outcome == "rejected"
    assert retry_challenges(store) == {
        "title": "Challengers judged again",
        "judged": [],
        "waiting": [],
        "principles": [],
    }
