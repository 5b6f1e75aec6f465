"""Random typed formulas and their variations: the moves of the indicator search.

Every node of a formula is a series, so any subtree may replace any other (crossover)
and every result is a valid formula; windows are drawn from short menus so the search
explores lengths a trader would use rather than every integer. A formula is kept within
``max_depth`` levels and a warm-up the training period can afford.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from strategy_factory.features.formula import PAIRED, WINDOWED, Formula

LAGS = (1, 2, 3, 5, 10, 20)
WINDOWS = (3, 5, 10, 20, 50, 100, 200)
ROLLING = ("mean", "std", "min", "max", "rank", "z")
SHIFTS = ("lag", "diff", "ret")


@dataclass(frozen=True)
class Grammar:
    """What the search may build: terminals the bars can feed, depth and warm-up bounds."""

    terminals: tuple[Formula, ...]
    max_depth: int = 4
    max_warm_up: int = 300

    def fits(self, formula: Formula) -> bool:
        """Whether a formula stays within the depth and warm-up bounds."""
        return formula.depth <= self.max_depth and formula.warm_up <= self.max_warm_up


def grammar_for(
    has_ohlc: bool, has_volume: bool, references: Sequence[str], max_depth: int
) -> Grammar:
    """The grammar over the series these bars (and references) have."""
    names = ["close", *(("open", "high", "low") if has_ohlc else ()), *(("volume",) * has_volume)]
    terminals = [Formula(n) for n in names] + [Formula("ref", symbol=s) for s in references]
    return Grammar(tuple(terminals), max_depth)


def _window(rng: np.random.Generator, op: str) -> int:
    menu = LAGS if op in SHIFTS else WINDOWS
    return int(rng.choice(menu))


def random_formula(rng: np.random.Generator, grammar: Grammar, depth: int | None = None) -> Formula:
    """A random formula of at most ``depth`` levels (default the grammar's)."""
    depth = grammar.max_depth if depth is None else depth
    # The close is the series that matters most: it is drawn as often as the others together.
    if depth <= 1 or rng.random() < 0.15:
        if rng.random() < 0.5:
            return Formula("close")
        return grammar.terminals[int(rng.integers(len(grammar.terminals)))]
    if rng.random() < 0.3:
        op = str(rng.choice(PAIRED))
        return Formula(
            op, (random_formula(rng, grammar, depth - 1), random_formula(rng, grammar, depth - 1))
        )
    op = str(rng.choice(WINDOWED))
    return Formula(op, (random_formula(rng, grammar, depth - 1),), _window(rng, op))


def _paths(formula: Formula, prefix: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    found = [prefix]
    for i, arg in enumerate(formula.args):
        found += _paths(arg, (*prefix, i))
    return found


def _at(formula: Formula, path: tuple[int, ...]) -> Formula:
    for i in path:
        formula = formula.args[i]
    return formula


def _put(formula: Formula, path: tuple[int, ...], new: Formula) -> Formula:
    if not path:
        return new
    args = list(formula.args)
    args[path[0]] = _put(args[path[0]], path[1:], new)
    return replace(formula, args=tuple(args))


def mutate(rng: np.random.Generator, formula: Formula, grammar: Grammar) -> Formula:
    """A variation: a new window, a new subtree, or the whole wrapped in one more operation."""
    paths = _paths(formula)
    path = paths[int(rng.integers(len(paths)))]
    node = _at(formula, path)
    move = rng.random()
    if move < 0.45 and node.op in WINDOWED:
        return _put(formula, path, replace(node, window=_window(rng, node.op)))
    if move < 0.85:
        budget = max(1, grammar.max_depth - len(path))
        return _put(formula, path, random_formula(rng, grammar, budget))
    op = str(rng.choice(WINDOWED))
    return Formula(op, (formula,), _window(rng, op))


def crossover(rng: np.random.Generator, first: Formula, second: Formula) -> Formula:
    """``first`` with one of its subtrees replaced by one of ``second``'s."""
    into = _paths(first)
    taken = _paths(second)
    path = into[int(rng.integers(len(into)))]
    return _put(first, path, _at(second, taken[int(rng.integers(len(taken)))]))
