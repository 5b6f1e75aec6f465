"""Lanes: a few floats that Numba kernels compute on as one SIMD vector.

A :class:`LanesType` value is an LLVM vector (``<n x double>``; a mask ``<n x i1>``)
from end to end, loop-carried values included, and each operation here is one vector
instruction over its ``n`` values: eight lanes take two AVX2 instructions (one AVX-512)
where eight scalars take eight. Numba's own compiler does not vectorize such code (its
SLP vectorizer is off), and in the grid kernel a division's latency, not the number of
divisions, bounds an account's chain of fills: eight accounts side by side keep the
divider busy. Every operation rounds as the same scalar operation does (IEEE, no fused
multiply-add), so a lane's results are bit-identical to the scalar arithmetic's.

    load(array, n)                                        # its first n floats
    splat(x, like)                                        # x (float or bool) in every lane
    add(a, b), sub(a, b), mul(a, b), div(a, b), neg(a)   # element-wise floats
    gt(a, b), lt(a, b), ge(a, b), eq(a, b), ne(a, b)      # element-wise masks
    both(m, k), negate(m), where(m, a, b), any_lane(m)
    a[i]                                                  # one lane's value
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, overload, register_model


class LanesType(types.Type):
    """``count`` values of ``dtype`` (float64, or boolean for a mask) in one vector."""

    def __init__(self, dtype: types.Type, count: int) -> None:
        self.dtype, self.count = dtype, count
        super().__init__(name=f"Lanes({dtype}, {count})")


Floats = LanesType  # annotations: a LanesType of float64
Mask = LanesType  # annotations: a LanesType of boolean


def _element(dtype: types.Type) -> ir.Type:
    return ir.DoubleType() if dtype == types.float64 else ir.IntType(1)


@register_model(LanesType)
class _LanesModel(models.PrimitiveModel):
    def __init__(self, dmm: object, fe_type: LanesType) -> None:
        super().__init__(dmm, fe_type, ir.VectorType(_element(fe_type.dtype), fe_type.count))


def _count(value: types.Type, dtype: types.Type) -> int | None:
    """How many lanes ``value`` has, when it is a :class:`LanesType` of ``dtype``."""
    if isinstance(value, LanesType) and value.dtype == dtype:
        return value.count
    return None


def _elementwise(
    name: str, arity: int, operand: types.Type, result: types.Type, emit: Callable
) -> Callable:
    """The intrinsic ``name`` applying ``emit(builder, *vectors)`` to ``arity`` lanes."""

    def typer(typingctx: object, *args: types.Type) -> object:
        counts = {_count(arg, operand) for arg in args}
        if len(counts) != 1 or None in counts:
            return None

        def codegen(context: object, builder: ir.IRBuilder, sig: object, values: list) -> ir.Value:
            return emit(builder, *values)

        return LanesType(result, counts.pop())(*args), codegen

    def unary(typingctx: object, a: types.Type) -> object:
        return typer(typingctx, a)

    def binary(typingctx: object, a: types.Type, b: types.Type) -> object:
        return typer(typingctx, a, b)

    defn = unary if arity == 1 else binary
    defn.__name__ = name
    return intrinsic(defn)


def _float(name: str) -> Callable:
    return _elementwise(
        name, 2, types.float64, types.float64, lambda b, x, y: getattr(b, name)(x, y)
    )


def _compare(name: str, operator_: str) -> Callable:
    # Python's comparisons: ordered (False with a NaN), except != (True with a NaN).
    compare = "fcmp_unordered" if operator_ == "!=" else "fcmp_ordered"
    return _elementwise(
        name, 2, types.float64, types.boolean, lambda b, x, y: getattr(b, compare)(operator_, x, y)
    )


add, sub, mul, div = (_float(name) for name in ("fadd", "fsub", "fmul", "fdiv"))
neg = _elementwise("neg", 1, types.float64, types.float64, lambda b, x: b.fneg(x))
gt, lt, ge, eq, ne = (
    _compare(name, operator_)
    for name, operator_ in (("gt", ">"), ("lt", "<"), ("ge", ">="), ("eq", "=="), ("ne", "!="))
)
both = _elementwise("both", 2, types.boolean, types.boolean, lambda b, x, y: b.and_(x, y))
negate = _elementwise("negate", 1, types.boolean, types.boolean, lambda b, x: b.not_(x))


@intrinsic
def where(typingctx: object, mask: types.Type, a: types.Type, b: types.Type) -> object:
    """``a`` in the lanes where ``mask`` holds, ``b`` elsewhere (a select, not a branch)."""
    n = _count(mask, types.boolean)
    if n is None or _count(a, types.float64) != n or _count(b, types.float64) != n:
        return None

    def codegen(context: object, builder: ir.IRBuilder, sig: object, values: list) -> ir.Value:
        return builder.select(*values)

    return LanesType(types.float64, n)(mask, a, b), codegen


@intrinsic
def any_lane(typingctx: object, mask: types.Type) -> object:
    """Whether ``mask`` holds in any lane."""
    n = _count(mask, types.boolean)
    if n is None:
        return None

    def codegen(context: object, builder: ir.IRBuilder, sig: object, values: list) -> ir.Value:
        bits = builder.bitcast(values[0], ir.IntType(n))
        return builder.icmp_unsigned("!=", bits, ir.Constant(ir.IntType(n), 0))

    return types.boolean(mask), codegen


def _broadcast(builder: ir.IRBuilder, scalar: ir.Value, n: int) -> ir.Value:
    vector = ir.Constant(ir.VectorType(scalar.type, n), ir.Undefined)
    for i in range(n):
        vector = builder.insert_element(vector, scalar, ir.Constant(ir.IntType(32), i))
    return vector


@intrinsic
def splat(typingctx: object, x: types.Type, like: types.Type) -> object:
    """``x`` (a float or a bool) in every lane of a vector as long as ``like``."""
    if not isinstance(like, LanesType) or not isinstance(x, (types.Float, types.Boolean)):
        return None
    dtype = types.float64 if isinstance(x, types.Float) else types.boolean

    def codegen(context: object, builder: ir.IRBuilder, sig: object, values: list) -> ir.Value:
        return _broadcast(builder, context.cast(builder, values[0], x, dtype), like.count)

    return LanesType(dtype, like.count)(x, like), codegen


@intrinsic
def load(typingctx: object, array: types.Type, n: types.Type) -> object:
    """The first ``n`` (a constant) floats of a contiguous 1-d ``array``."""
    if not (
        isinstance(array, types.Array)
        and array.dtype == types.float64
        and array.ndim == 1
        and isinstance(n, types.IntegerLiteral)
    ):
        return None
    count = n.literal_value

    def codegen(context: object, builder: ir.IRBuilder, sig: object, values: list) -> ir.Value:
        data = context.make_array(array)(context, builder, values[0]).data
        vector = ir.Constant(ir.VectorType(ir.DoubleType(), count), ir.Undefined)
        for i in range(count):
            element = builder.load(cgutils.gep_inbounds(builder, data, i))
            vector = builder.insert_element(vector, element, ir.Constant(ir.IntType(32), i))
        return vector

    return LanesType(types.float64, count)(array, n), codegen


@intrinsic
def _lane(typingctx: object, vector: types.Type, i: types.Type) -> object:
    if not isinstance(vector, LanesType) or not isinstance(i, types.Integer):
        return None

    def codegen(context: object, builder: ir.IRBuilder, sig: object, values: list) -> ir.Value:
        return builder.extract_element(values[0], values[1])

    return vector.dtype(vector, i), codegen


@overload(operator.getitem)
def _getitem(vector, i):  # unannotated: Numba requires the same signature as below
    if not (isinstance(vector, LanesType) and isinstance(i, types.Integer)):
        return None

    def implementation(vector, i):
        return _lane(vector, i)

    return implementation
