"""SIMD lanes: every operation gives, lane by lane, the bits of the same scalar operation.

The grid kernel's statistics are bit-identical to the per-bar arithmetic only if each
vector instruction rounds, compares and selects exactly as Python's float operations do,
NaN, infinities and signed zeros included.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba.core.errors import TypingError

from strategy_factory.backtest.lanes import (
    add,
    any_lane,
    both,
    div,
    eq,
    ge,
    gt,
    load,
    lt,
    mul,
    ne,
    neg,
    negate,
    splat,
    sub,
    where,
)

N = 8
SPECIAL = [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 5e-324, 1e308, 1.5]
floats = st.one_of(st.sampled_from(SPECIAL), st.floats(allow_nan=True, allow_infinity=True))
lanes = st.lists(floats, min_size=N, max_size=N).map(np.array)


@numba.njit(error_model="numpy")
def _lanes_out(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = load(x, N), load(y, N)
    values = (add(a, b), sub(a, b), mul(a, b), div(a, b), neg(a), where(gt(a, b), a, b))
    masks = (gt(a, b), lt(a, b), ge(a, b), eq(a, b), ne(a, b), both(gt(a, b), negate(lt(a, b))))
    floats_out = np.empty((len(values), N))
    masks_out = np.empty((len(masks), N), dtype=np.bool_)
    for i in range(N):
        for row, value in enumerate(values):
            floats_out[row, i] = value[i]
        for row, mask in enumerate(masks):
            masks_out[row, i] = mask[i]
    return floats_out, masks_out


@numba.njit(error_model="numpy")
def _scalars_out(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    floats_out = np.empty((6, N))
    masks_out = np.empty((6, N), dtype=np.bool_)
    for i in range(N):
        a, b = x[i], y[i]
        for row, value in enumerate((a + b, a - b, a * b, a / b, -a, a if a > b else b)):
            floats_out[row, i] = value
        for row, mask in enumerate((a > b, a < b, a >= b, a == b, a != b, a > b and not a < b)):
            masks_out[row, i] = mask
    return floats_out, masks_out


def _bits(values: np.ndarray) -> np.ndarray:
    # NaN payloads may differ between a vector and a scalar NaN; any NaN is "NaN".
    return np.where(np.isnan(values), np.nan, values).view(np.uint64)


@settings(max_examples=300, deadline=None)
@given(x=lanes, y=lanes)
def test_every_lane_operation_gives_the_scalar_operations_bits(
    x: np.ndarray, y: np.ndarray
) -> None:
    lane_values, lane_masks = _lanes_out(x, y)
    scalar_values, scalar_masks = _scalars_out(x, y)
    assert np.array_equal(_bits(lane_values), _bits(scalar_values))
    assert np.array_equal(lane_masks, scalar_masks)


@numba.njit
def _broadcast(x: np.ndarray, value: float, flag: bool, lane: int) -> tuple[float, bool, bool]:
    like = load(x, N)
    mask = splat(flag, like)
    return splat(value, like)[lane], mask[lane], any_lane(mask)


@numba.njit
def _any_lane(x: np.ndarray, limit: float) -> bool:
    return any_lane(gt(load(x, N), splat(limit, load(x, N))))


def test_splat_fills_every_lane_and_any_lane_sees_one() -> None:
    x = np.arange(N, dtype=np.float64)
    for lane in range(N):
        assert _broadcast(x, -2.5, True, lane) == (-2.5, True, True)
    assert _broadcast(x, 0.0, False, 3) == (0.0, False, False)
    assert _any_lane(x, N - 1.5)  # only the last lane is above
    assert not _any_lane(x, N - 0.5)
    assert not _any_lane(np.full(N, np.nan), 0.0)


def test_lanes_of_different_counts_or_kinds_do_not_type() -> None:
    @numba.njit
    def mixed(x: np.ndarray) -> float:
        return add(load(x, 4), load(x, N))[0]

    @numba.njit
    def float_as_mask(x: np.ndarray) -> float:
        return where(load(x, N), load(x, N), load(x, N))[0]

    for function in (mixed, float_as_mask):
        with pytest.raises(TypingError):
            function(np.zeros(N))


@pytest.mark.parametrize("name", ["add", "mul"])
def test_scalar_arguments_need_a_splat(name: str) -> None:
    lane_operation = {"add": add, "mul": mul}[name]

    @numba.njit
    def scalar_argument(x: np.ndarray) -> float:
        return lane_operation(load(x, N), 1.0)[0]

    with pytest.raises(TypingError):
        scalar_argument(np.zeros(N))
