"""``factory champion list|challenge|approve|restore|log``, in-process on a SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from strategy_factory.cli import app
from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.store import create_store
from strategy_factory.understanding.champion import ChallengeRequest, challenge
from tests.understanding.test_champion import BETTER, NOISE, promote


def test_the_champion_commands_from_challenge_to_restore(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'factory.db'}"
    db = ["--db", url]
    with create_store(url) as store:
        first = promote(store, NOISE)
        family = promote(store, BETTER, features=("rsi_14", "obv_slope_10"))
    runner = CliRunner()

    def run(*args: str) -> str:
        done = runner.invoke(app, ["champion", *args, *db])
        assert done.exit_code == 0, done.output
        return done.output

    assert "crowned" in run("challenge", "SP500", first)
    waiting = json.loads(run("challenge", "SP500", family, "--json"))
    assert waiting["outcome"] == "awaiting_approval"
    challenge_id = waiting["challenge"]["id"]
    assert challenge_id in run("list")
    assert f"{family} is champion of SP500" in run("approve", challenge_id, "--by", "alice")
    twice = runner.invoke(app, ["champion", "approve", challenge_id, "--by", "bob", *db])
    assert isinstance(twice.exception, FactoryError)
    assert "already accepted by alice" in str(twice.exception)
    assert f"{first} is champion of SP500 again" in run("restore", "SP500", "--by", "carol")
    log = json.loads(run("log", "SP500", "--json"))
    assert [e["action"] for e in log] == ["restored", "approved", "awaiting_approval", "crowned"]
    assert log[1]["actor"] == "alice" and "paired_test" in log[1]["evidence"]
    unknown = runner.invoke(app, ["champion", "approve", "0123456789ab", "--by", "x", *db])
    assert isinstance(unknown.exception, NotFoundError)
    bad = runner.invoke(app, ["champion", "challenge", "SP 500", first, "--alpha", "2", *db])
    assert isinstance(bad.exception, FactoryError)
    assert "slot" in str(bad.exception) and "alpha" in str(bad.exception)
    assert len(json.loads(run("log", "--json"))) == 4  # refusals wrote nothing


def test_a_learning_cycle_rolls_a_flagged_champion_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTORY_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'factory.db'}"
    with create_store(url) as store:
        first = promote(store, NOISE)
        challenge(store, ChallengeRequest(slot="SP500", challenger=first, by="desk"))
        better = promote(store, BETTER)
        assert challenge(
            store, ChallengeRequest(slot="SP500", challenger=better, by="desk")
        ).outcome == ("replaced")
        store.alerts.raise_alert(
            promotion_id=better, test="cusum", statistic=7.0, threshold=4.0, evidence={}
        )
    done = CliRunner().invoke(app, ["learn", "cycle", "--db", url, "--json"])
    steps = {step["name"]: step for step in json.loads(done.output)["steps"]}
    flagged = f"SP500: the overfitting monitor flagged champion {better}"
    assert steps["champions"]["state"] == "done"
    assert steps["champions"]["summary"]["rolled_back"] == ["SP500"]
    assert steps["champions"]["summary"]["principles"][0].startswith(flagged)
    # The two stand-in promotions have no real run to replay: each is named, none hidden.
    diagnoses = steps["diagnoses"]["summary"]
    assert sorted(f["promotion_id"] for f in diagnoses["failed"]) == sorted([first, better])
    knowledge = CliRunner().invoke(app, ["learn", "knowledge", "--db", url]).output
    assert "## Champions" in knowledge and flagged in " ".join(knowledge.split())
    with create_store(url) as store:
        assert store.champions.slot("SP500").promotion_id == first
        assert store.champions.log("SP500")[0].action == "rolled_back"
