"""Transfer: a promoted genome tried on other symbols, each run judged on its own
holdout, and its outcome stated in the learning cycle's knowledge."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from strategy_factory.cli import app
from strategy_factory.data import synthetic_bars
from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.evolution import Evolution
from strategy_factory.execution import InlineExecutor
from strategy_factory.understanding.transfer import (
    TransferRequest,
    launch_transfer,
    transfer_outcomes,
)
from tests.learning.conftest import REGIMES, STORED, TOTAL, Promoted

OTHER = synthetic_bars(TOTAL, freq="1h", seed=9, planted_strength=0.2, regimes=REGIMES)


def test_a_promoted_genome_is_tried_on_other_symbols_and_judged_there(
    promoted: Promoted,
) -> None:
    store, promotion = promoted.store, promoted.promotion
    promoted.catalog.save("SYN2", OTHER.iloc[:STORED])
    request = TransferRequest(
        promotion_id=promotion.id, symbols=["SYN2", "SYN", "NOPE"], generations=1
    )
    launched = {launch.symbol: launch for launch in launch_transfer(store, request)}

    run = launched["SYN2"].run
    assert run is not None and run.status == "pending" and launched["SYN2"].reason is None
    evolve = run.config["evolve"]
    assert evolve["origin"]["source"] == "transfer"
    assert evolve["origin"]["promotion"] == promotion.id
    assert evolve["origin"]["promoted_on"] == "SYN"
    assert evolve["seed_features"] == store.models.get(promotion.model_id).features
    assert evolve["reference_symbols"] == ["REF"] and evolve["max_generations"] == 1
    # The symbol it was promoted on, and one with no bars: named, with the reason.
    assert launched["SYN"].run is None and "was made on SYN" in str(launched["SYN"].reason)
    assert launched["NOPE"].run is None and "NOPE" in str(launched["NOPE"].reason)

    assert transfer_outcomes(store, None)["runs"] == []  # nothing finished yet
    finished = Evolution(store, InlineExecutor()).run(run.id)
    [row] = transfer_outcomes(store, None)["runs"]
    assert row["run_id"] == run.id and row["symbol"] == "SYN2"
    assert row["worked"] is finished.promoted
    verb = "worked on SYN2" if finished.promoted else "failed on SYN2: not promoted after 1 "
    assert f"the genome promoted on SYN ({promotion.id}) {verb}" in row["principle"]
    later = finished.finished_at.replace(year=finished.finished_at.year + 1)
    assert transfer_outcomes(store, later)["runs"] == []  # only what finished since


def test_a_transfer_is_refused_clearly_and_records_nothing(promoted: Promoted) -> None:
    store = promoted.store
    before = len(store.runs.recent())
    with pytest.raises(FactoryError, match="each symbol once"):
        TransferRequest.parse({"promotion_id": promoted.promotion.id, "symbols": ["A", "A"]})
    with pytest.raises(FactoryError, match="symbols"):
        TransferRequest.parse({"promotion_id": promoted.promotion.id, "symbols": []})
    with pytest.raises(NotFoundError):
        launch_transfer(store, TransferRequest(promotion_id="nope", symbols=["SYN2"]))
    assert len(store.runs.recent()) == before


def test_factory_transfer_runs_the_genome_and_says_what_it_did(promoted: Promoted) -> None:
    promoted.catalog.save("SYN2", OTHER.iloc[:STORED])
    promotion = promoted.promotion
    args = ["transfer", promotion.id, "--symbol", "SYN2", "--generations", "1", "--json"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    answer = json.loads(done.output)
    [launched] = answer["launched"]
    [outcome] = answer["outcomes"]
    assert launched["symbol"] == "SYN2" and outcome["run_id"] == launched["run_id"]
    assert promoted.store.runs.get(launched["run_id"]).status == "completed"
    assert outcome["principle"].startswith(f"Run {launched['run_id']}: the genome promoted on SYN")
