"""The cycle's meta-model and search steps on a store of real runs: the version is stored
with its scores and trait importance, the kept proposals become runs handed to the
caller, and the knowledge summary says what was learned and launched."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from strategy_factory.cli import app
from strategy_factory.data import BarCatalog
from strategy_factory.learning.cycle import run_cycle
from strategy_factory.learning.metamodel import MetaModel
from strategy_factory.learning.settings import LearningSettings, with_changes
from strategy_factory.learning.steps import latest_meta_model
from strategy_factory.settings import get_settings
from strategy_factory.store import Store
from tests.learning.history import PLANTED


def test_a_cycle_learns_from_the_store_and_launches_what_it_proposes(history_copy: Store) -> None:
    launched: list[str] = []
    settings = with_changes(LearningSettings(), {"search": {"candidates": 12, "keep": 2}})
    cycle = run_cycle(
        history_copy,
        BarCatalog(get_settings().bars_dir),
        settings=settings,
        period="2026-12-01",
        on_launch=launched.append,
    )
    steps = {step["name"]: step for step in cycle.steps}
    assert steps["meta_model"]["state"] == "done", steps["meta_model"]
    meta = steps["meta_model"]["summary"]
    assert meta["state"] == "trained" and meta["beats_baselines"]
    assert meta["scores"]["model"] > max(meta["scores"]["selection_only"], meta["scores"]["random"])
    # The planted features are the genome traits that matter most, and the stored artifact
    # is the model the summary describes.
    top = {trait["trait"] for trait in meta["traits"][:2]}
    assert top == set(PLANTED), meta["traits"][:4]
    record = history_copy.meta_models.latest()
    assert record is not None and record.version == meta["version"]
    model = latest_meta_model(history_copy)
    assert isinstance(model, MetaModel)
    assert model.to_bytes() == history_copy.meta_models.artifact(record.version)

    search = steps["search"]["summary"]
    assert search["state"] == "proposed" and len(search["kept"]) == 2
    ids = [row["run_id"] for row in search["launched"]]
    assert launched == ids and len(ids) + len(search["not_launched"]) == 2
    for run_id in ids:
        run = history_copy.runs.get(run_id)
        assert run.status == "pending"
        assert run.config["origin"]["study"] == search["kept"][0]["study"]
        assert run.config["prior_trials"] >= 12
    markdown = history_copy.knowledge.get("2026-12-01").markdown
    assert f"Version {meta['version']} (lightgbm)" in markdown
    assert "12 genomes proposed and pre-scored by the meta-model; the best 2 kept." in markdown
    for run_id in ids:
        assert f"| {run_id} |" in markdown


def test_search_settings_keep_no_more_than_they_propose() -> None:
    with pytest.raises(Exception, match=r"keep \(5\) must not exceed candidates \(3\)"):
        with_changes(LearningSettings(), {"search": {"candidates": 3, "keep": 5}})


def test_meta_model_and_search_from_the_command_line(history_copy: Store) -> None:
    runner = CliRunner()
    trained = runner.invoke(app, ["learn", "meta-model"])
    assert trained.exit_code == 0, trained.output
    assert "meta-model version 1 on" in trained.output and "Genome traits" in trained.output
    runner.invoke(app, ["learn", "settings", "set", "search.candidates=6", "search.launch=false"])
    searched = json.loads(runner.invoke(app, ["learn", "search", "--json"]).output)
    assert searched["state"] == "proposed" and searched["proposed"] == 6
    assert len(searched["kept"]) == 2 and searched["launched"] == []
