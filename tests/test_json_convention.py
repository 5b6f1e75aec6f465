"""One JSON convention everywhere: every ``--json`` output and every API answer is strict
JSON (no NaN, no Infinity, no "inf" strings standing in for numbers), non-finite numbers
written as null."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from strategy_factory.cli import app
from strategy_factory.data import BarCatalog, synthetic_bars
from strategy_factory.json_values import canonical_bytes, dumps, plain
from tests.workflow.conftest import small_workflow


def strict(text: str) -> Any:
    """Parse ``text`` refusing NaN and ±Infinity, as JavaScript's JSON.parse does."""

    def refuse(constant: str) -> Any:
        raise AssertionError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def no_number_strings(value: Any, path: str = "") -> None:
    """No number hidden in a string ("inf", "nan")."""
    if isinstance(value, str):
        assert value.lower() not in {"inf", "-inf", "nan", "infinity", "-infinity"}, path
    elif isinstance(value, dict):
        for key, item in value.items():
            no_number_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for position, item in enumerate(value):
            no_number_strings(item, f"{path}[{position}]")


def test_the_helper_writes_non_finite_numbers_as_null() -> None:
    value = {"pf": float("inf"), "s": [np.float64("nan"), np.int64(3), (1.5, -np.inf)]}
    assert plain(value) == {"pf": None, "s": [None, 3, [1.5, None]]}
    assert strict(dumps(value)) == {"pf": None, "s": [None, 3, [1.5, None]]}
    nested = {1: [{"x": float("-inf"), "ok": True, "n": None}], "f": np.float32(0.5)}
    assert plain(nested) == {"1": [{"x": None, "ok": True, "n": None}], "f": 0.5}
    assert type(plain(nested)["f"]) is float


finite_or_not = st.floats(allow_nan=True, allow_infinity=True)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    finite_or_not,
    finite_or_not.map(np.float64),
    st.integers(-(2**31), 2**31).map(np.int64),
    st.text(max_size=8),
    st.datetimes().map(pd.Timestamp),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(
            st.one_of(st.text("abc", max_size=6), st.integers(0, 9)), inner, max_size=4
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_files_and_answers_say_the_same_values(value: Any) -> None:
    """Workflow files (orjson) and answers (json) encode one value alike: non-finite as
    null, numpy as Python, tuples as lists, timestamps as ISO text, keys as text."""
    text = canonical_bytes(value).decode()
    assert text.endswith("\n")
    assert strict(text) == strict(dumps(value))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("json-home")
    bars = synthetic_bars(1500, freq="1D", seed=3, planted_strength=0.3, mean_duration=200)
    BarCatalog(folder / "bars").save("SYN", bars)
    return folder


def _run(home: Path, *args: str) -> Any:
    env = {"FACTORY_HOME": str(home), "FACTORY_DB": f"sqlite:///{home / 'factory.db'}"}
    result = CliRunner().invoke(app, [*args, "--json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    parsed = strict(result.stdout)
    no_number_strings(parsed, " ".join(args))
    return parsed


def test_every_json_output_of_the_cli_is_strict(home: Path) -> None:
    seeds = ["exo_planted", "rsi_14", "ret_1", "vol_20", "ret_5", "macd_hist"]
    seed_args = [argument for name in seeds for argument in ("--seed-feature", name)]
    summary = _run(home, "evolve", "--symbol", "SYN", "--generations", "2", "--workers", "1",
                   "--no-early-stop", *seed_args)  # fmt: skip
    run_id = summary["run"]["id"]
    _run(home, "runs", "list")
    _run(home, "runs", "show", run_id)
    _run(home, "runs", "generations", run_id)
    promoted = _run(home, "promoted", "list")
    for promotion in promoted:
        _run(home, "promoted", "show", promotion["id"])
    _run(home, "data", "list")
    _run(home, "data", "show", "SYN")
    _run(home, "features", "list", "SYN")
    _run(home, "features", "report", "SYN")
    _run(home, "train", "--symbol", "SYN", "-f", "exo_planted", "-f", "rsi_14")
    # A backtest whose best cells never lose a trade: profit factor ∞ → null, not "inf".
    table = _run(home, "backtest", "--symbol", "SYN", "--rule", "momentum", "--lookback", "5",
                 "--threshold", "0.2", "--threshold", "0", "--top", "5")  # fmt: skip
    assert table["top"]
    workflow = home / "workflow.yaml"
    workflow.write_text(yaml.safe_dump(small_workflow("SYN")))
    results = str(home / "results")
    manifest = _run(home, "workflow", "run", str(workflow), "--results", results)
    assert _run(home, "workflow", "list")[0]["id"] == manifest["id"]
    _run(home, "workflow", "status", manifest["id"], "--results", results)
