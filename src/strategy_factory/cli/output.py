"""How the CLI prints: rich tables for people, JSON for machines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

# Piped output is not cut to 80 columns: tables stay whole in logs and files.
console = Console(width=None if Console().is_terminal else 160)
errors = Console(stderr=True, width=None if Console(stderr=True).is_terminal else 160)


def moment(stamp: Any) -> str:
    """A timestamp as a date when it falls on midnight, else to the minute (UTC)."""
    if stamp.hour == stamp.minute == stamp.second == 0:
        return stamp.strftime("%Y-%m-%d")
    return stamp.strftime("%Y-%m-%d %H:%M")


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print ``rows`` under ``columns`` as a table."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
    console.print(table)


def print_warning(text: str) -> None:
    """Print ``text`` as a warning on stderr, where it never mixes with ``--json`` output."""
    errors.print(f"[bold yellow]warning:[/] {text}", highlight=False)


def print_json(payload: Any) -> None:
    """Print ``payload`` as strict JSON on stdout (the one convention of
    :mod:`strategy_factory.json_values`: a non-finite number is ``null``)."""
    from strategy_factory.json_values import dumps  # NumPy: only output that needs it pays

    print(dumps(payload, indent=2, default=str))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
