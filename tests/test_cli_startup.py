"""The ``factory`` command starts without the heavy libraries its work needs.

Each command imports what it uses when it runs; help and reading the store need none of
NumPy's stack, the models, the simulator or the service. (How long start-up takes is
measured in ``benchmarks/bench_startup.py``.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from strategy_factory.cli import app
from tests.factory_command import factory

HEAVY = ["numba", "sklearn", "lightgbm", "hmmlearn", "scipy", "pandas", "pyarrow", "talib"]
HEAVY += ["arch", "plotly", "fastapi", "uvicorn", "jinja2", "alembic", "numpy"]
# Runs the CLI in-process, then reports which of HEAVY (and the store's SQLAlchemy) it loaded.
PROBE = """
import json, sys
from strategy_factory.cli import app
app(sys.argv[2:], standalone_mode=False)
print(json.dumps(sorted(m for m in json.loads(sys.argv[1]) if m in sys.modules)))
"""


def loaded_by(*args: str, watched: list[str] | None = None) -> list[str]:
    """Which of ``watched`` (default HEAVY and ``sqlalchemy``) are imported after
    ``factory ARGS…`` ran."""
    names = json.dumps(watched if watched is not None else [*HEAVY, "sqlalchemy"])
    result = subprocess.run(
        [sys.executable, "-c", PROBE, names, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["evolve", "--help"],
        ["data", "synth", "--help"],
        ["runs", "--help"],
        ["workflow", "--help"],
        ["learn", "forward", "--help"],
    ],
)
def test_help_loads_neither_libraries_nor_the_store(factory_home: Path, args: list[str]) -> None:
    assert loaded_by(*args) == []


@pytest.mark.parametrize("args", [["runs", "list"], ["promoted", "list"], ["workflow", "list"]])
def test_reading_the_store_loads_only_the_store(factory_home: Path, args: list[str]) -> None:
    factory("runs", "list")  # the store exists (and is migrated) before the probe opens it
    assert loaded_by(*args) == ["sqlalchemy"]


# What the main job must not load: each costs its import and a share of the interpreter's exit.
NOT_FOR_THE_MAIN_JOB = ["skfolio", "cvxpy", "arch", "statsmodels", "matplotlib", "plotly"]
NOT_FOR_THE_MAIN_JOB += ["httpx", "jinja2", "fastapi", "uvicorn", "optuna", "dask", "lightgbm"]
NOT_FOR_THE_MAIN_JOB += ["sklearn.ensemble"]


def test_the_main_job_loads_only_what_it_uses(factory_home: Path) -> None:
    made = factory("data", "synth", "--symbol", "PL", "--bars", "3000", "--planted", "0.3")
    assert made.returncode == 0, made.stderr
    args = ["evolve", "--symbol", "PL", "--generations", "2", "--workers", "1", "--json"]
    loaded = loaded_by(*args, watched=[*NOT_FOR_THE_MAIN_JOB, "numba", "sklearn"])
    assert loaded == ["numba", "sklearn"]  # it ran: trained and simulated, yet loaded none


def test_the_probe_sees_what_a_command_loads(factory_home: Path) -> None:
    assert {"numpy", "pandas"} <= set(loaded_by("data", "synth", "--bars", "10"))


def _leaf_commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths of every command under ``group`` (Typer's click: a group has ``commands``)."""
    found = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found += _leaf_commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def test_help_lists_every_command_and_every_option() -> None:
    root = typer.main.get_command(app)
    runner = CliRunner()
    listed = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert all(name in listed for name in root.commands)  # type: ignore[attr-defined]
    for path in _leaf_commands(root):
        shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, path
        command = root
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        options = [o for p in command.params if p.param_type_name == "option" for o in p.opts]
        assert options
        for option in options:
            assert option in shown.output, (path, option)
