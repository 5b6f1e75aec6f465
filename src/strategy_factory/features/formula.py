"""Formula features: an indicator defined by its own name, ``formula:<expression>``.

A discovered indicator is a formula over primitives, and its name is its definition, so
a run, a worker or a notebook computes it again from the name alone. The expression is
read by :func:`ast.parse` and every node is checked against a short whitelist before
anything is computed: nothing is ever evaluated as Python.

Grammar (windows and lags are integer literals)::

    series := close | open | high | low | volume | ref(SYMBOL)
            | lag(series, k) | diff(series, k) | ret(series, k)
            | mean(series, n) | std(series, n) | min(series, n) | max(series, n)
            | rank(series, n) | z(series, n) | ratio(series, series) | sub(series, series)

``ref(SYMBOL)`` is the reference symbol's close aligned without look-ahead (see
:mod:`.reference`); ``ret`` is a log return; ``rank`` the percentile rank of the last
value in its window; ``z`` the rolling z-score. Every operation is causal: the value at
bar ``t`` uses bars up to ``t``'s close. Division by zero gives NaN, never infinity.

Example: ``formula:lag(ratio(mean(close,5),mean(close,20)),1)``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from strategy_factory.errors import FactoryError
from strategy_factory.features.reference import align_reference
from strategy_factory.features.rolling import rolling_mean, rolling_std, rolling_zscore
from strategy_factory.features.spec import NEEDS_OHLC, NEEDS_VOLUME, BarInputs, Feature

PREFIX = "formula:"
MAX_WINDOW = 500
MAX_DEPTH = 8
MAX_LENGTH = 200

TERMINALS = {"close": frozenset(), "volume": frozenset({NEEDS_VOLUME})} | {
    name: frozenset({NEEDS_OHLC}) for name in ("open", "high", "low")
}
WINDOWED = ("lag", "diff", "ret", "mean", "std", "min", "max", "rank", "z")
PAIRED = ("ratio", "sub")
# The smallest window each windowed operation accepts (a std of one value is undefined).
MIN_WINDOW = {"lag": 1, "diff": 1, "ret": 1} | dict.fromkeys(
    ("mean", "std", "min", "max", "rank", "z"), 2
)


@dataclass(frozen=True)
class Formula:
    """A parsed formula: an operation, its argument formulas and its window (if any)."""

    op: str
    args: tuple[Formula, ...] = ()
    window: int = 0
    symbol: str = ""

    @property
    def text(self) -> str:
        """The canonical spelling (no spaces), which is also the feature's name after the prefix."""
        if self.op in TERMINALS:
            return self.op
        if self.op == "ref":
            return f"ref({self.symbol})"
        inner = ",".join(a.text for a in self.args)
        return f"{self.op}({inner},{self.window})" if self.op in WINDOWED else f"{self.op}({inner})"

    @property
    def name(self) -> str:
        """The feature name: ``formula:`` and the canonical text."""
        return PREFIX + self.text

    @property
    def warm_up(self) -> int:
        """Leading NaN bars on a gap-free series (a reference may add its own)."""
        own = {"lag": self.window, "diff": self.window, "ret": self.window}.get(
            self.op, max(self.window - 1, 0)
        )
        return own + max((a.warm_up for a in self.args), default=0)

    @property
    def needs(self) -> frozenset[str]:
        """What the bars must have (``ohlc``, ``volume``, ``ref:<S>``)."""
        own = TERMINALS.get(self.op, frozenset())
        if self.op == "ref":
            own = frozenset({f"ref:{self.symbol}"})
        return own.union(*(a.needs for a in self.args))

    @property
    def depth(self) -> int:
        """Levels of operations (a terminal has depth 1)."""
        return 1 + max((a.depth for a in self.args), default=0)

    @property
    def size(self) -> int:
        """Number of operations and terminals."""
        return 1 + sum(a.size for a in self.args)


def is_formula(name: str) -> bool:
    """Whether a feature name is a formula (``formula:…``)."""
    return name.startswith(PREFIX)


def parse_formula(name: str) -> Formula:
    """The formula a feature name defines; a mistake raises :class:`FactoryError` saying what.

    Only the canonical spelling is accepted (it is the feature's identity), and the error
    for any other gives it.
    """
    text = name.removeprefix(PREFIX)
    if len(name) > MAX_LENGTH:
        raise FactoryError(f"formula {name!r} is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise FactoryError(f"formula {text!r} does not parse: {error.msg}") from None
    formula = _node(tree.body, text)
    if formula.depth > MAX_DEPTH:
        raise FactoryError(f"formula {text!r} is nested deeper than {MAX_DEPTH} levels")
    if formula.name != name:
        raise FactoryError(f"formula {name!r} is not in canonical form; write {formula.name!r}")
    return formula


def _node(node: ast.expr, text: str) -> Formula:
    if isinstance(node, ast.Name):
        if node.id not in TERMINALS:
            known = ", ".join(TERMINALS)
            raise FactoryError(f"formula {text!r}: unknown series {node.id!r} (one of {known})")
        return Formula(node.id)
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)) or node.keywords:
        raise FactoryError(
            f"formula {text!r}: only series names and calls such as mean(close,20) are allowed"
        )
    op, args = node.func.id, node.args
    if op == "ref":
        if len(args) != 1 or not isinstance(args[0], ast.Name):
            raise FactoryError(f"formula {text!r}: ref takes one symbol name, e.g. ref(NASDAQ)")
        return Formula("ref", symbol=args[0].id)
    if op in PAIRED:
        if len(args) != 2:
            raise FactoryError(f"formula {text!r}: {op} takes two series")
        return Formula(op, (_node(args[0], text), _node(args[1], text)))
    if op in WINDOWED:
        return Formula(op, (_series_of(op, args, text),), _window(op, args, text))
    known = ", ".join(("ref", *WINDOWED, *PAIRED))
    raise FactoryError(f"formula {text!r}: unknown operation {op!r} (one of {known})")


def _series_of(op: str, args: list[ast.expr], text: str) -> Formula:
    if len(args) != 2:
        raise FactoryError(
            f"formula {text!r}: {op} takes a series and a window, e.g. {op}(close,5)"
        )
    return _node(args[0], text)


def _window(op: str, args: list[ast.expr], text: str) -> int:
    value = args[1]
    lowest = MIN_WINDOW[op]
    if not (
        isinstance(value, ast.Constant)
        and type(value.value) is int
        and lowest <= value.value <= MAX_WINDOW
    ):
        raise FactoryError(
            f"formula {text!r}: the window of {op} must be an integer from {lowest} to {MAX_WINDOW}"
        )
    return value.value


def evaluate_formula(formula: Formula, inputs: BarInputs) -> np.ndarray:
    """The formula's float64 column on ``inputs`` (subformulas cached per build)."""
    return inputs.cached(  # type: ignore[return-value]
        PREFIX + formula.text, lambda: _finite(_compute(formula, inputs))
    )


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values), values, np.nan)


def _compute(formula: Formula, inputs: BarInputs) -> np.ndarray:
    op = formula.op
    if op in TERMINALS:
        return getattr(inputs, op)
    if op == "ref":
        if formula.symbol not in inputs.references:
            raise FactoryError(f"formula ref({formula.symbol}) needs the reference symbol given")
        return align_reference(inputs.references[formula.symbol], inputs.index)
    values = [evaluate_formula(a, inputs) for a in formula.args]
    if op in PAIRED:
        with np.errstate(divide="ignore", invalid="ignore"):
            return values[0] / values[1] if op == "ratio" else values[0] - values[1]
    return _WINDOWED[op](values[0], formula.window)


def _lag(x: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(x, np.nan)
    out[k:] = x[:-k]
    return out


def _log_return(x: np.ndarray, k: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x / _lag(x, k))


def _pandas(method: str, x: np.ndarray, n: int) -> np.ndarray:
    rolling = pd.Series(x).rolling(n, min_periods=n)
    if method == "rank":
        return rolling.rank(pct=True).to_numpy()
    return getattr(rolling, method)().to_numpy()


_WINDOWED: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "lag": _lag,
    "diff": lambda x, k: x - _lag(x, k),
    "ret": _log_return,
    "mean": rolling_mean,
    "std": rolling_std,
    "z": rolling_zscore,
    "min": partial(_pandas, "min"),
    "max": partial(_pandas, "max"),
    "rank": partial(_pandas, "rank"),
}


def _compute_feature(inputs: BarInputs, formula: Formula) -> np.ndarray:
    return evaluate_formula(formula, inputs)


def formula_feature(name: str) -> Feature:
    """The :class:`Feature` a ``formula:…`` name defines."""
    formula = parse_formula(name)
    return Feature(
        formula.name,
        partial(_compute_feature, formula=formula),
        formula.warm_up,
        formula.needs,
        description=f"discovered formula {formula.text}",
    )
