"""``factory diagnose`` and ``factory audit`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from strategy_factory.data import BarCatalog
from tests.factory_command import factory
from tests.learning.conftest import Promoted
from tests.test_cli_startup import loaded_by
from tests.understanding.test_audit import REF, SYM, config


def test_diagnose_prints_the_verdict_and_json(promoted: Promoted) -> None:
    shown = factory("diagnose", promoted.promotion.id)
    assert shown.returncode == 0, shown.stderr
    assert f"promotion {promoted.promotion.id}" in shown.stdout
    assert "Verdict" in shown.stdout
    as_json = json.loads(factory("diagnose", promoted.promotion.id, "--json").stdout)
    assert as_json["period"]["name"] == "holdout"
    assert as_json["verdict"] and as_json["trades"] >= 0


def test_diagnose_mistakes_are_one_line(promoted: Promoted) -> None:
    missing = factory("diagnose", "nope")
    assert missing.returncode == 2
    assert "error: no promotion or run 'nope'" in missing.stderr
    assert "Traceback" not in missing.stderr
    wrong = factory("diagnose", promoted.promotion.id, "--period", "later")
    assert "unknown period 'later'" in wrong.stderr


def test_audit_a_clean_and_a_broken_config(catalog: BarCatalog, tmp_path: Path) -> None:
    catalog.save("SYM", SYM)
    catalog.save("REF", REF)
    clean = tmp_path / "clean.yaml"
    clean.write_text(yaml.safe_dump(config().model_dump(mode="json")))
    shown = factory("audit", str(clean))
    assert shown.returncode == 0, shown.stderr
    assert "clean, none of the 6 checks found a problem" in shown.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        yaml.safe_dump(config(strategy={"thresholds": [3.0]}).model_dump(mode="json"))
    )
    found = factory("audit", str(broken), "--json")
    assert found.returncode == 1
    report = json.loads(found.stdout)
    assert report["errors"] == 1 and report["findings"][0]["kind"] == "never_trades"


def test_help_loads_nothing_heavy(factory_home: Path) -> None:
    assert loaded_by("diagnose", "--help") == []
    assert loaded_by("audit", "--help") == []
