"""Rules for NumPy functions and ndarray methods.

Elementwise functions give their partial derivatives; broadcasting is undone once, by
`_sd.unbroadcast`, where the generator cannot prove the shapes equal. Every other rule gives its
adjoint (reverse mode) and tangent (forward mode) templates on adjacent lines; the longer ones
call helpers in `runtime/numpy_*.py` (`_sd.<name>`).

Signatures follow NumPy's positional order (`np.sum(x, 0)` binds `axis`), with `out=` listed
where it precedes a parameter the rule needs; arguments a rule does not list (`where=`,
`initial=`, `dtype=` of concatenate, ...) make the call an error that names the line, never a
silently wrong derivative.

Subgradient conventions (also in the runtime section):
* `np.abs` / `np.fabs` have derivative 0 at 0; `np.sign`, rounding and comparisons have none.
* `np.maximum(a, b)` / `np.fmax` give a tie to `a`; `np.minimum` / `np.fmin` too.
* `np.clip`: at a bound the derivative goes to `a` (the bound gets it only strictly outside).
* reductions `max min amax amin nanmax nanmin ptp` and the inf-norms split the derivative
  evenly among tied elements; `sort` and `median` follow the stable argsort order.
* norms and `std` have derivative 0 where their value is 0.
* `np.linalg.cholesky` reads one triangle of its argument: the gradient lives in that triangle
  (symmetrize it yourself if you treat the argument as symmetric).
"""

import builtins

import numpy as np

from .. import runtime
from .registry import (
    METHODS,
    Rule,
    _signature,
    elementwise,
    method,
    nondifferentiable,
    nondifferentiable_methods,
)
from .registry import rule as _rule


def rule(func, sig, *, adjoint, tangent, unsupported=(), **options):
    """`registry.rule`, with every parameter that has no template `static` (an axis, a shape,
    an option, the array whose shape `full_like` copies) except the `unsupported` ones:
    differentiable arguments without a rule, an error naming the line when they are active."""
    params, _ = _signature(sig)
    static = [p for p in params if p not in adjoint and p not in tangent and p not in unsupported]
    _rule(func, sig, adjoint=adjoint, tangent=tangent, static=static, **options)


# display names of the functions some NumPy versions have and others do not (the rule
# reference is generated with one NumPy; its check ignores these on another)
VERSION_DEPENDENT = set()


def _available(*names):
    """The NumPy functions among `names` ("linalg.vecdot") this NumPy version has."""
    found = []
    for name in names:
        VERSION_DEPENDENT.add(f"numpy.{name}")
        obj = np
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if obj is not None and obj not in found:
            found.append(obj)
    return found


# ---- elementwise unary --------------------------------------------------------------------------
elementwise(np.negative, "x", x="-1")
elementwise(np.positive, "x", x="1")
elementwise(np.sin, "x", x="np.cos(x)")
elementwise(np.cos, "x", x="-np.sin(x)")
elementwise(np.tan, "x", x="1.0 + y * y")
elementwise(np.arcsin, "x", steep="x", x="1.0 / np.sqrt(1.0 - x * x)")
elementwise(np.arccos, "x", steep="x", x="-1.0 / np.sqrt(1.0 - x * x)")
elementwise(np.arctan, "x", x="1.0 / (1.0 + x * x)")
elementwise(np.sinh, "x", x="np.cosh(x)")
elementwise(np.cosh, "x", x="np.sinh(x)")
elementwise(np.tanh, "x", x="1.0 - y * y")
elementwise(np.arcsinh, "x", x="1.0 / np.sqrt(x * x + 1.0)")
elementwise(np.arccosh, "x", steep="x", x="1.0 / np.sqrt(x * x - 1.0)")
elementwise(np.arctanh, "x", x="1.0 / (1.0 - x * x)")
elementwise(np.exp, "x", x="y")
elementwise(np.exp2, "x", x="y * 0.6931471805599453")
elementwise(np.expm1, "x", x="y + 1.0")
elementwise(np.log, "x", x="1.0 / x")
elementwise(np.log2, "x", x="1.0 / (x * 0.6931471805599453)")
elementwise(np.log10, "x", x="1.0 / (x * 2.302585092994046)")
elementwise(np.log1p, "x", x="1.0 / (1.0 + x)")
elementwise(np.sqrt, "x", steep="x", x="0.5 / y")
elementwise(np.cbrt, "x", steep="x", x="1.0 / (3.0 * y * y)")
elementwise(np.square, "x", x="2.0 * x")
elementwise(np.reciprocal, "x", x="-y * y")
elementwise(np.abs, "x", x="np.sign(x)")
elementwise(np.fabs, "x", x="np.sign(x)")
elementwise(np.deg2rad, "x", x="0.017453292519943295")
elementwise(np.radians, "x", x="0.017453292519943295")
elementwise(np.rad2deg, "x", x="57.29577951308232")
elementwise(np.degrees, "x", x="57.29577951308232")
elementwise(np.sinc, "x",
            x="np.where(x == 0, 0.0, (np.cos(np.pi * x) - y) / np.where(x == 0, 1.0, x))")
elementwise(np.float64, "x", x="1")
elementwise(np.float32, "x", x="1")
elementwise(np.conjugate, "x", x="1")
elementwise(np.real, "val", val="1")
rule(np.real_if_close, "a, tol=100",   # of real input: the input itself
     adjoint={"a": "d[y]"},
     tangent={"a": "d[a]"})
elementwise(np.nan_to_num, "x, copy=True, nan=0.0, posinf=None, neginf=None",
            x="np.isfinite(x)")
rule(np.clip, "a, a_min=None, a_max=None, out=None, min=None, max=None", elementwise=True,
     adjoint={"a": "d[y] * _sd.clip_da(a, a_min, a_max, min, max)",
              "a_min": "d[y] * _sd.clip_dlo(a, a_min, a_max, min, max)",
              "a_max": "d[y] * _sd.clip_dhi(a, a_min, a_max, min, max)",
              "min": "d[y] * _sd.clip_dlo(a, a_min, a_max, min, max)",
              "max": "d[y] * _sd.clip_dhi(a, a_min, a_max, min, max)"},
     tangent={"a": "d[a] * _sd.clip_da(a, a_min, a_max, min, max)",
              "a_min": "d[a_min] * _sd.clip_dlo(a, a_min, a_max, min, max)",
              "a_max": "d[a_max] * _sd.clip_dhi(a, a_min, a_max, min, max)",
              "min": "d[min] * _sd.clip_dlo(a, a_min, a_max, min, max)",
              "max": "d[max] * _sd.clip_dhi(a, a_min, a_max, min, max)"})

# ---- copies and conversions ---------------------------------------------------------------------
for _copy in (np.copy, np.ascontiguousarray, np.asfortranarray):
    rule(_copy, "a, order='K', subok=False",
         adjoint={"a": "d[y]"},
         tangent={"a": "_sd.copy_tangent(d[a])"})
for _array in (np.array, np.asarray, np.asanyarray):
    rule(_array, "x, dtype=None",
         adjoint={"x": "_sd.array_back(d[y], x)"},
         tangent={"x": "_sd.array_tangent(d[x], dtype)"})

# ---- elementwise binary -------------------------------------------------------------------------
elementwise(np.add, "a, b", a="1", b="1")
elementwise(np.subtract, "a, b", a="1", b="-1")
elementwise(np.multiply, "a, b", a="b", b="a")
elementwise(np.divide, "a, b", a="1.0 / b", b="-y / b")
# d/db a**b = a**b log(a); 0 where a <= 0 (there only integer b are defined)
elementwise(np.power, "a, b", steep="a",
            a="b * a ** (b - 1)", b="y * np.log(np.where(a > 0, a, 1))")
elementwise(np.float_power, "a, b", steep="a", a="b * np.float_power(a, b - 1)",
            b="y * np.log(np.where(a > 0, a, 1))")
elementwise(np.maximum, "a, b", a="a >= b", b="a < b")
elementwise(np.minimum, "a, b", a="a <= b", b="a > b")
elementwise(np.fmax, "a, b", a="(a >= b) | np.isnan(b)", b="(a < b) | np.isnan(a)")
elementwise(np.fmin, "a, b", a="(a <= b) | np.isnan(b)", b="(a > b) | np.isnan(a)")
elementwise(np.arctan2, "a, b", steep="a, b",
            a="b / (a * a + b * b)", b="-a / (a * a + b * b)")
elementwise(np.hypot, "a, b", steep="a, b", a="a / y", b="b / y")
elementwise(np.logaddexp, "a, b", a="np.exp(a - y)", b="np.exp(b - y)")
elementwise(np.logaddexp2, "a, b", a="np.exp2(a - y)", b="np.exp2(b - y)")
elementwise(np.remainder, "a, b", a="1", b="-np.floor_divide(a, b)")
elementwise(np.fmod, "a, b", a="1", b="-np.trunc(a / b)")
elementwise(np.copysign, "a, b", a="np.sign(a) * np.copysign(1.0, b)", b="0")
rule(np.where, "condition, a, b", elementwise=True,
     adjoint={"a": "np.where(condition, d[y], 0.0)", "b": "np.where(condition, 0.0, d[y])"},
     tangent={"a": "np.where(condition, d[a], 0.0)", "b": "np.where(condition, 0.0, d[b])"})
rule(np.select, "condlist, choicelist, default=0",
     adjoint={"choicelist": "_sd.select_back_choices(d[y], condlist, choicelist)",
              "default": "_sd.select_back_default(d[y], condlist, default)"},
     tangent={"choicelist": "_sd.select_tangent_choices(d[choicelist], condlist, choicelist, y)",
              "default": "_sd.select_tangent_default(d[default], condlist, y)"})

# ---- reductions ---------------------------------------------------------------------------------
rule(np.sum, "a, axis=None, dtype=None, out=None, keepdims=False",
     adjoint={"a": "_sd.sum_back(d[y], a, axis, keepdims)"},
     tangent={"a": "np.sum(d[a], axis=axis, dtype=dtype, keepdims=keepdims)"})
rule(np.mean, "a, axis=None, dtype=None, out=None, keepdims=False",
     adjoint={"a": "_sd.sum_back(d[y], a, axis, keepdims) / _sd.count(a, axis)"},
     tangent={"a": "np.mean(d[a], axis=axis, dtype=dtype, keepdims=keepdims)"})
rule(np.nansum, "a, axis=None, dtype=None, out=None, keepdims=False",
     adjoint={"a": "_sd.nansum_back(d[y], a, axis, keepdims)"},
     tangent={"a": "_sd.nansum_tangent(d[a], a, axis, keepdims)"})
rule(np.nanmean, "a, axis=None, dtype=None, out=None, keepdims=False",
     adjoint={"a": "_sd.nanmean_back(d[y], a, axis, keepdims)"},
     tangent={"a": "_sd.nanmean_tangent(d[a], a, axis, keepdims)"})
rule(np.prod, "a, axis=None, dtype=None, out=None, keepdims=False",
     adjoint={"a": "_sd.unreduce(d[y], a, axis, keepdims) * _sd.prod_others(a, axis)"},
     tangent={"a": "_sd.prod_tangent(d[a], a, y, axis, keepdims)"})
rule(np.nanprod, "a, axis=None, dtype=None, out=None, keepdims=False",
     adjoint={"a": "_sd.nanprod_back(d[y], a, y, axis, keepdims)"},
     tangent={"a": "_sd.nanprod_tangent(d[a], a, y, axis, keepdims)"})
for _extremum in (np.max, np.min, np.amax, np.amin):
    rule(_extremum, "a, axis=None, out=None, keepdims=False",
         adjoint={"a": "_sd.max_back(d[y], a, y, axis, keepdims)"},
         tangent={"a": "_sd.max_tangent(d[a], a, y, axis, keepdims)"})
for _extremum in (np.nanmax, np.nanmin):
    rule(_extremum, "a, axis=None, out=None, keepdims=False",
         adjoint={"a": "_sd.nanmax_back(d[y], a, y, axis, keepdims)"},
         tangent={"a": "_sd.nanmax_tangent(d[a], a, y, axis, keepdims)"})
rule(np.ptp, "a, axis=None, out=None, keepdims=False",
     adjoint={"a": "_sd.ptp_back(d[y], a, y, axis, keepdims)"},
     tangent={"a": "_sd.ptp_tangent(d[a], a, y, axis, keepdims)"})
# (written with NumPy operations, so that second derivatives come from the rules themselves;
# std's derivative is 0 where std is 0)
rule(np.std, "a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, correction=None",
     adjoint={"a": "_sd.unreduce(d[y] / np.where(y == 0, np.inf, y), a, axis, keepdims) * "
                   "(a - np.mean(a, axis=axis, keepdims=True)) / "
                   "_sd.dof(a, axis, ddof, correction)"},
     tangent={"a": "np.sum((a - np.mean(a, axis=axis, keepdims=True)) * d[a], axis=axis, "
                   "keepdims=keepdims) / (_sd.dof(a, axis, ddof, correction) * "
                   "np.where(y == 0, np.inf, y))"})
rule(np.var, "a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, correction=None",
     adjoint={"a": "_sd.unreduce(d[y], a, axis, keepdims) * "
                   "(a - np.mean(a, axis=axis, keepdims=True)) * "
                   "(2.0 / _sd.dof(a, axis, ddof, correction))"},
     tangent={"a": "np.sum((a - np.mean(a, axis=axis, keepdims=True)) * d[a], axis=axis, "
                   "keepdims=keepdims) * (2.0 / _sd.dof(a, axis, ddof, correction))"})
rule(np.median, "a, axis=None, out=None, overwrite_input=False, keepdims=False",
     adjoint={"a": "_sd.median_back(d[y], a, y, axis, keepdims)"},
     tangent={"a": "_sd.median_tangent(d[a], a, y, axis, keepdims)"})
rule(np.average, "a, axis=None, weights=None, returned=False, keepdims=False",
     adjoint={"a": "_sd.average_back_a(d[y], a, y, axis, weights, returned, keepdims)",
              "weights": "_sd.average_back_weights(d[y], a, y, axis, weights, returned, "
                         "keepdims)"},
     tangent={"a": "_sd.average_tangent_a(d[a], a, y, axis, weights, returned, keepdims)",
              "weights": "_sd.average_tangent_weights(d[weights], a, y, axis, weights, "
                         "returned, keepdims)"})
rule(np.cumsum, "a, axis=None, dtype=None, out=None",
     adjoint={"a": "_sd.cumsum_back(d[y], a, axis)"},
     tangent={"a": "np.cumsum(d[a], axis=axis, dtype=dtype)"})
rule(np.cumprod, "a, axis=None, dtype=None, out=None",
     adjoint={"a": "_sd.cumprod_back(d[y], a, y, axis)"},
     tangent={"a": "_sd.cumprod_tangent(d[a], a, y, axis)"})
for _cumulative_sum in _available("cumulative_sum"):
    rule(_cumulative_sum, "x, axis=None, dtype=None, out=None, include_initial=False",
         adjoint={"x": "_sd.cumulative_sum_back(d[y], x, axis, include_initial)"},
         tangent={"x": "_sd.cumulative_sum_tangent(d[x], axis, include_initial)"})
rule(np.diff, "a, n=1, axis=-1",
     adjoint={"a": "_sd.diff_back(d[y], a, n, axis)"},
     tangent={"a": "np.diff(d[a], n=n, axis=axis)"})
for _trapezoid in _available("trapezoid")[:1] or _available("trapz"):
    rule(_trapezoid, "f, x=None, dx=1.0, axis=-1",
         adjoint={"f": "_sd.trapezoid_back_f(d[y], f, x, dx, axis)",
                  "x": "_sd.trapezoid_back_x(d[y], f, x, axis)",
                  "dx": "_sd.unbroadcast(d[y] * _sd.trapezoid_dx_partial(f, x, axis), dx)"},
         tangent={"f": "_sd.trapezoid_tangent_f(d[f], f, x, dx, axis)",
                  "x": "_sd.trapezoid_tangent_x(d[x], f, x, axis)",
                  "dx": "d[dx] * _sd.trapezoid_dx_partial(f, x, axis)"})

# ---- shapes -------------------------------------------------------------------------------------
rule(np.reshape, "a, shape=None, order='C', newshape=None, copy=None",
     adjoint={"a": "_sd.reshape_back(d[y], a, order)"},
     tangent={"a": "_sd.reshape_tangent(d[a], a, y, order)"})
rule(runtime.reshape_method, "a, s0=None, s1=None, s2=None, s3=None, s4=None, s5=None, "
     "s6=None, s7=None, shape=None, order='C', copy=None", name="ndarray.reshape",
     adjoint={"a": "_sd.reshape_back(d[y], a, order)"},
     tangent={"a": "_sd.reshape_tangent(d[a], a, y, order)"})
rule(np.ravel, "a, order='C'",
     adjoint={"a": "_sd.ravel_back(d[y], a, order)"},
     tangent={"a": "_sd.ravel_tangent(d[a], a, order)"})
rule(np.transpose, "a, axes=None",
     adjoint={"a": "_sd.transpose_normalized_back(d[y], _sd.transpose_axes(axes, np.ndim(d[y])))"},
     tangent={"a": "np.transpose(d[a], axes)"})
rule(runtime.transpose_method, "a, s0=None, s1=None, s2=None, s3=None, s4=None, s5=None, "
     "s6=None, s7=None", name="ndarray.transpose",
     adjoint={"a": "_sd.transpose_back(d[y], _sd.method_axes(s0, s1, s2, s3, s4, s5, s6, s7))"},
     tangent={"a": "np.transpose(d[a], _sd.method_axes(s0, s1, s2, s3, s4, s5, s6, s7))"})
for _mt in _available("matrix_transpose", "linalg.matrix_transpose"):
    rule(_mt, "x",
         adjoint={"x": "_sd.matrix_transpose(d[y])"},
         tangent={"x": "np.swapaxes(d[x], -1, -2)"})
rule(np.swapaxes, "a, axis1, axis2",
     adjoint={"a": "_sd.swapaxes_back(d[y], axis1, axis2)"},
     tangent={"a": "np.swapaxes(d[a], axis1, axis2)"})
rule(np.moveaxis, "a, source, destination",
     adjoint={"a": "_sd.moveaxis_back(d[y], source, destination)"},
     tangent={"a": "np.moveaxis(d[a], source, destination)"})
rule(np.rollaxis, "a, axis, start=0",
     adjoint={"a": "_sd.rollaxis_back(d[y], a, axis, start)"},
     tangent={"a": "np.rollaxis(d[a], axis, start)"})
rule(np.squeeze, "a, axis=None",
     adjoint={"a": "_sd.atleast_back(d[y], a)"},
     tangent={"a": "np.reshape(d[a], np.shape(y))"})
rule(np.expand_dims, "a, axis",
     adjoint={"a": "_sd.atleast_back(d[y], a)"},
     tangent={"a": "np.reshape(d[a], np.shape(y))"})
for _atleast in (np.atleast_1d, np.atleast_2d, np.atleast_3d):
    rule(_atleast, "a",
         adjoint={"a": "_sd.atleast_back(d[y], a)"},
         tangent={"a": "np.reshape(d[a], np.shape(y))"})
rule(np.broadcast_to, "array, shape, subok=False",
     adjoint={"array": "_sd.broadcast_back(d[y], array)"},
     tangent={"array": "np.broadcast_to(d[array], shape)"})
rule(np.concatenate, "arrays, axis=0",
     adjoint={"arrays": "_sd.concatenate_back(d[y], arrays, axis)"},
     tangent={"arrays": "np.concatenate(d[arrays], axis=axis)"})
rule(np.stack, "arrays, axis=0",
     adjoint={"arrays": "_sd.stack_back(d[y], arrays, axis)"},
     tangent={"arrays": "np.stack(d[arrays], axis=axis)"})
rule(np.hstack, "tup",
     adjoint={"tup": "_sd.stacked_back(d[y], tup, 'h')"},
     tangent={"tup": "np.hstack(d[tup])"})
rule(np.vstack, "tup",
     adjoint={"tup": "_sd.stacked_back(d[y], tup, 'v')"},
     tangent={"tup": "np.vstack(d[tup])"})
for _row_stack in _available("row_stack"):   # deprecated in NumPy 2.0
    rule(_row_stack, "tup",
         adjoint={"tup": "_sd.stacked_back(d[y], tup, 'v')"},
         tangent={"tup": "np.vstack(d[tup])"})
rule(np.dstack, "tup",
     adjoint={"tup": "_sd.stacked_back(d[y], tup, 'd')"},
     tangent={"tup": "np.dstack(d[tup])"})
rule(np.column_stack, "tup",
     adjoint={"tup": "_sd.stacked_back(d[y], tup, 'c')"},
     tangent={"tup": "np.column_stack(d[tup])"})
for _split in (np.split, np.array_split):
    rule(_split, "ary, indices_or_sections, axis=0",
         adjoint={"ary": "_sd.split_back(d[y], ary, y, axis)"},
         tangent={"ary": f"np.{_split.__name__}(d[ary], indices_or_sections, axis)"})
for _split, _kind in ((np.hsplit, "h"), (np.vsplit, "v"), (np.dsplit, "d")):
    rule(_split, "ary, indices_or_sections",
         adjoint={"ary": f"_sd.split_back(d[y], ary, y, _sd.split_axis('{_kind}', ary))"},
         tangent={"ary": f"np.{_split.__name__}(d[ary], indices_or_sections)"})
rule(np.flip, "m, axis=None",
     adjoint={"m": "_sd.flip_back(d[y], axis)"},
     tangent={"m": "np.flip(d[m], axis)"})
rule(np.fliplr, "m",
     adjoint={"m": "_sd.flip_back(d[y], 1)"},
     tangent={"m": "np.fliplr(d[m])"})
rule(np.flipud, "m",
     adjoint={"m": "_sd.flip_back(d[y], 0)"},
     tangent={"m": "np.flipud(d[m])"})
rule(np.rot90, "m, k=1, axes=None",
     adjoint={"m": "_sd.rot90_back(d[y], k, axes)"},
     tangent={"m": "np.rot90(d[m], k, _sd.rot90_axes(axes))"})
rule(np.roll, "a, shift, axis=None",
     adjoint={"a": "_sd.roll_back(d[y], shift, axis)"},
     tangent={"a": "np.roll(d[a], shift, axis)"})
rule(np.tile, "A, reps",
     adjoint={"A": "_sd.tile_back(d[y], A, reps)"},
     tangent={"A": "np.tile(np.broadcast_to(d[A], np.shape(A)), reps)"})
rule(np.repeat, "a, repeats, axis=None",
     adjoint={"a": "_sd.repeat_back(d[y], a, repeats, axis)"},
     tangent={"a": "np.repeat(np.broadcast_to(d[a], np.shape(a)), repeats, axis)"})
rule(np.pad, "array, pad_width, mode='constant', constant_values=0",
     adjoint={"array": "_sd.pad_back(d[y], array, pad_width, mode)"},
     tangent={"array": "_sd.pad_tangent(d[array], array, pad_width, mode)"},
     unsupported=("constant_values",))

# ---- selection ----------------------------------------------------------------------------------
rule(np.take, "a, indices, axis=None, out=None, mode='raise'",
     adjoint={"a": "_sd.take_back(d[y], a, indices, axis, mode)"},
     tangent={"a": "_sd.take_tangent(d[a], a, indices, axis, mode)"})
rule(np.take_along_axis, "arr, indices, axis=-1",
     adjoint={"arr": "_sd.take_along_back(d[y], arr, indices, axis)"},
     tangent={"arr": "np.take_along_axis(np.broadcast_to(d[arr], np.shape(arr)), indices, "
                     "axis)"})
rule(np.sort, "a, axis=-1, kind=None, order=None, stable=None",
     adjoint={"a": "_sd.sort_back(d[y], a, axis)"},
     tangent={"a": "_sd.sort_tangent(d[a], a, axis)"})
rule(np.partition, "a, kth, axis=-1, kind='introselect', order=None",
     adjoint={"a": "_sd.partition_back(d[y], a, y, axis)"},
     tangent={"a": "_sd.partition_tangent(d[a], a, y, axis)"})
# builtin sorted() of a list (tuple, 1-d array) of numbers; a key= is refused when it runs
rule(builtins.sorted, "xs, key=None, reverse=False", name="sorted",
     adjoint={"xs": "_sd.sorted_back(d[y], xs, key, reverse)"},
     tangent={"xs": "_sd.sorted_tangent(d[xs], xs, key, reverse)"})

# ---- inserting and deleting elements ------------------------------------------------------------
rule(np.append, "arr, values, axis=None",
     adjoint={"arr": "_sd.append_back(d[y], arr, values, axis, 0)",
              "values": "_sd.append_back(d[y], arr, values, axis, 1)"},
     tangent={"arr": "_sd.np_append_tangent(d[arr], arr, values, axis, 0)",
              "values": "_sd.np_append_tangent(d[values], arr, values, axis, 1)"})
rule(np.delete, "arr, obj, axis=None",
     adjoint={"arr": "_sd.delete_back(d[y], arr, obj, axis)"},
     tangent={"arr": "np.delete(np.broadcast_to(d[arr], np.shape(arr)), obj, axis)"})
rule(np.insert, "arr, obj, values, axis=None",
     adjoint={"arr": "_sd.insert_back(d[y], arr, obj, values, axis, 0)",
              "values": "_sd.insert_back(d[y], arr, obj, values, axis, 1)"},
     tangent={"arr": "_sd.insert_tangent(d[arr], arr, obj, values, axis, 0)",
              "values": "_sd.insert_tangent(d[values], arr, obj, values, axis, 1)"})

# ---- differences and interpolation --------------------------------------------------------------
# np.gradient is linear in f; its spacing (s0.. are its positional varargs) has no rule
rule(np.gradient, "f, s0=None, s1=None, s2=None, s3=None, axis=None, edge_order=1",
     adjoint={"f": "_sd.np_gradient_back(d[y], f, s0, s1, s2, s3, axis, edge_order)"},
     tangent={"f": "_sd.np_gradient_apply(d[f], f, s0, s1, s2, s3, axis, edge_order)"},
     unsupported=("s0", "s1", "s2", "s3"))
# np.interp: with respect to x (the segment's slope; 0 outside [xp[0], xp[-1]) and at the last
# knot; at an inner knot the segment to its right), fp, left and right; not the knots xp
rule(np.interp, "x, xp, fp, left=None, right=None, period=None",
     adjoint={"x": "d[y] * _sd.interp_slope(x, xp, fp, period)",
              "fp": "_sd.interp_fp_back(d[y], x, xp, fp, left, right, period)",
              "left": "np.sum(d[y] * _sd.interp_outside(x, xp, 'left', left, period))",
              "right": "np.sum(d[y] * _sd.interp_outside(x, xp, 'right', right, period))"},
     tangent={"x": "d[x] * _sd.interp_slope(x, xp, fp, period)",
              "fp": "_sd.interp_fp_tangent(d[fp], x, xp, fp, left, right, period)",
              "left": "d[left] * _sd.interp_outside(x, xp, 'left', left, period)",
              "right": "d[right] * _sd.interp_outside(x, xp, 'right', right, period)"},
     unsupported=("xp",))

# ---- constructors -------------------------------------------------------------------------------
rule(np.full_like, "a, fill_value, dtype=None, order='K', subok=True, shape=None",
     adjoint={"fill_value": "_sd.fill_back(d[y], y, fill_value)"},
     tangent={"fill_value": "_sd.fill_tangent(d[fill_value], y)"})
rule(np.full, "shape, fill_value, dtype=None, order='C'",
     adjoint={"fill_value": "_sd.fill_back(d[y], y, fill_value)"},
     tangent={"fill_value": "_sd.fill_tangent(d[fill_value], y)"})
rule(np.linspace, "start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0",
     adjoint={"start": "_sd.linspace_back(d[y], y, start, 'start', num, endpoint, retstep, "
                       "axis)",
              "stop": "_sd.linspace_back(d[y], y, stop, 'stop', num, endpoint, retstep, axis)"},
     tangent={"start": "_sd.linspace_tangent(d[start], y, 'start', num, endpoint, retstep, "
                       "axis)",
              "stop": "_sd.linspace_tangent(d[stop], y, 'stop', num, endpoint, retstep, axis)"})

# ---- products -----------------------------------------------------------------------------------
rule(np.dot, "a, b",
     adjoint={"a": "_sd.dot_back_a(d[y], a, b)", "b": "_sd.dot_back_b(d[y], a, b)"},
     tangent={"a": "np.dot(d[a], b)", "b": "np.dot(a, d[b])"})
for _matmul in _available("matmul", "linalg.matmul"):
    rule(_matmul, "a, b",
         adjoint={"a": "_sd.matmul_back_a(d[y], a, b)",
                  "b": "_sd.matmul_back_b(d[y], a, b)"},
         tangent={"a": "np.matmul(d[a], b)", "b": "np.matmul(a, d[b])"})
rule(np.vdot, "a, b",
     adjoint={"a": "_sd.vdot_back(d[y], b, a)", "b": "_sd.vdot_back(d[y], a, b)"},
     tangent={"a": "np.vdot(d[a], b)", "b": "np.vdot(a, d[b])"})
rule(np.inner, "a, b",
     adjoint={"a": "_sd.inner_back_a(d[y], a, b)", "b": "_sd.inner_back_b(d[y], a, b)"},
     tangent={"a": "np.inner(d[a], b)", "b": "np.inner(a, d[b])"})
for _outer in _available("outer", "linalg.outer"):
    rule(_outer, "a, b",
         adjoint={"a": "_sd.outer_back_a(d[y], a, b)", "b": "_sd.outer_back_b(d[y], a, b)"},
         tangent={"a": "np.outer(d[a], b)", "b": "np.outer(a, d[b])"})
for _vecdot in _available("vecdot", "linalg.vecdot"):
    rule(_vecdot, "x1, x2, axis=-1",
         adjoint={"x1": "_sd.vecdot_back(d[y], x2, x1, axis)",
                  "x2": "_sd.vecdot_back(d[y], x1, x2, axis)"},
         tangent={"x1": "np.vecdot(d[x1], x2, axis=axis)",
                  "x2": "np.vecdot(x1, d[x2], axis=axis)"})
for _tensordot in _available("tensordot", "linalg.tensordot"):
    rule(_tensordot, "a, b, axes=2",
         adjoint={"a": "_sd.tensordot_back_a(d[y], a, b, axes)",
                  "b": "_sd.tensordot_back_b(d[y], a, b, axes)"},
         tangent={"a": "np.tensordot(d[a], b, axes)", "b": "np.tensordot(a, d[b], axes)"})
rule(np.kron, "a, b",
     adjoint={"a": "_sd.kron_back_a(d[y], a, b)", "b": "_sd.kron_back_b(d[y], a, b)"},
     tangent={"a": "np.kron(d[a], b)", "b": "np.kron(a, d[b])"})
rule(np.cross, "a, b, axisa=-1, axisb=-1, axisc=-1, axis=None",
     adjoint={"a": "_sd.cross_back_a(d[y], a, b, axisa, axisb, axisc, axis)",
              "b": "_sd.cross_back_b(d[y], a, b, axisa, axisb, axisc, axis)"},
     tangent={"a": "np.cross(np.broadcast_to(d[a], np.shape(a)), b, axisa, axisb, axisc, axis)",
              "b": "np.cross(a, np.broadcast_to(d[b], np.shape(b)), axisa, axisb, axisc, "
                   "axis)"})
rule(np.convolve, "a, v, mode='full'",
     adjoint={"a": "_sd.convolve_back_a(d[y], a, v, mode)",
              "v": "_sd.convolve_back_v(d[y], a, v, mode)"},
     tangent={"a": "np.convolve(d[a], v, mode)", "v": "np.convolve(a, d[v], mode)"})
rule(np.correlate, "a, v, mode='valid'",
     adjoint={"a": "_sd.correlate_back_a(d[y], a, v, mode)",
              "v": "_sd.correlate_back_v(d[y], a, v, mode)"},
     tangent={"a": "np.correlate(d[a], v, mode)", "v": "np.correlate(a, d[v], mode)"})
_OPERANDS = [f"op{i}" for i in range(8)]
_ALL_OPERANDS = ", ".join(_OPERANDS)
rule(np.einsum, "subscripts, " + ", ".join(["op0"] + [f"{o}=None" for o in _OPERANDS[1:]])
     + ", optimize=False",
     adjoint={o: f"_sd.einsum_back(d[y], {i}, subscripts, optimize, {_ALL_OPERANDS})"
              for i, o in enumerate(_OPERANDS)},
     tangent={o: f"_sd.einsum_tangent({i}, d[{o}], subscripts, optimize, {_ALL_OPERANDS})"
              for i, o in enumerate(_OPERANDS)})
rule(np.trace, "a, offset=0, axis1=0, axis2=1, dtype=None, out=None",
     adjoint={"a": "_sd.trace_back(d[y], a, offset, axis1, axis2)"},
     tangent={"a": "np.trace(d[a], offset, axis1, axis2, dtype)"})
for _trace in _available("linalg.trace"):
    rule(_trace, "x, offset=0, dtype=None",
         adjoint={"x": "_sd.linalg_trace_back(d[y], x, offset)"},
         tangent={"x": "np.linalg.trace(d[x], offset=offset, dtype=dtype)"})
rule(np.diagonal, "a, offset=0, axis1=0, axis2=1",
     adjoint={"a": "_sd.diagonal_back(d[y], a, offset, axis1, axis2)"},
     tangent={"a": "np.diagonal(d[a], offset, axis1, axis2)"})
for _diagonal in _available("linalg.diagonal"):
    rule(_diagonal, "x, offset=0",
         adjoint={"x": "_sd.linalg_diagonal_back(d[y], x, offset)"},
         tangent={"x": "np.linalg.diagonal(d[x], offset=offset)"})
rule(np.diag, "v, k=0",
     adjoint={"v": "_sd.diag_back(d[y], v, k)"},
     tangent={"v": "np.diag(d[v], k)"})
rule(np.tril, "m, k=0",
     adjoint={"m": "_sd.tri_back(d[y], m, k, True)"},
     tangent={"m": "np.tril(d[m], k)"})
rule(np.triu, "m, k=0",
     adjoint={"m": "_sd.tri_back(d[y], m, k, False)"},
     tangent={"m": "np.triu(d[m], k)"})

# ---- linear algebra -----------------------------------------------------------------------------
rule(np.linalg.norm, "x, ord=None, axis=None, keepdims=False",
     adjoint={"x": "_sd.norm_back(d[y], x, y, ord, axis, keepdims)"},
     tangent={"x": "_sd.norm_tangent(d[x], x, y, ord, axis, keepdims)"})
for _vnorm in _available("linalg.vector_norm"):
    rule(_vnorm, "x, axis=None, keepdims=False, ord=2",
         adjoint={"x": "_sd.vector_norm_back(d[y], x, y, axis, keepdims, ord)"},
         tangent={"x": "_sd.vector_norm_tangent(d[x], x, y, axis, keepdims, ord)"})
for _mnorm in _available("linalg.matrix_norm"):
    rule(_mnorm, "x, keepdims=False, ord='fro'",
         adjoint={"x": "_sd.matrix_norm_back(d[y], x, y, keepdims, ord)"},
         tangent={"x": "_sd.matrix_norm_tangent(d[x], x, y, keepdims, ord)"})
# (inv, det and slogdet are written with NumPy operations: second derivatives come from the
# rules themselves; det and slogdet need an invertible matrix)
rule(np.linalg.inv, "a",
     adjoint={"a": "-(np.swapaxes(y, -1, -2) @ _sd.dense(d[y], y) @ np.swapaxes(y, -1, -2))"},
     tangent={"a": "-(y @ d[a] @ y)"})
rule(np.linalg.det, "a",
     adjoint={"a": "np.expand_dims(d[y] * y, (-2, -1)) * "
                   "np.swapaxes(np.linalg.inv(a), -1, -2)"},
     tangent={"a": "y * np.einsum('...ij,...ji->...', np.linalg.inv(a), d[a])"})
rule(np.linalg.slogdet, "a",
     adjoint={"a": "np.expand_dims(_sd.getitem(d[y], 1), (-2, -1)) * "
                   "np.swapaxes(np.linalg.inv(a), -1, -2)"},
     tangent={"a": "_sd.slogdet_tangent(d[a], a, y)"})
# with G = solve(a^T, d[y]) (as columns): d[b] = G, d[a] = -G y^T, broadcasting undone
rule(np.linalg.solve, "a, b",
     adjoint={"a": "_sd.unbroadcast(-(np.linalg.solve(np.swapaxes(a, -1, -2), "
                   "_sd.to_col(_sd.dense(d[y], y), a, b)) @ "
                   "np.swapaxes(_sd.to_col(y, a, b), -1, -2)), a)",
              "b": "_sd.unbroadcast(_sd.from_col(np.linalg.solve(np.swapaxes(a, -1, -2), "
                   "_sd.to_col(_sd.dense(d[y], y), a, b)), a, b), b)"},
     tangent={"a": "_sd.solve_tangent_a(d[a], a, b, y)",
              "b": "_sd.solve_tangent_b(d[b], a, b, y)"})
# L = cholesky(a) reads the lower triangle of a: with S = L^-T phi(L^T d[L]) L^-1 (phi: the
# lower triangle, diagonal halved), d[a] = tril(S + S^T) with the diagonal of S. upper=True
# reads the upper triangle and returns L^T: the same, transposed.
rule(np.linalg.cholesky, "a, upper=False",
     adjoint={"a": "_sd.swap_if(_sd.sym_lower(np.swapaxes(np.linalg.inv(_sd.swap_if(y, upper)), "
                   "-1, -2) @ _sd.phi(np.swapaxes(_sd.swap_if(y, upper), -1, -2) @ "
                   "_sd.swap_if(_sd.dense(d[y], y), upper)) @ "
                   "np.linalg.inv(_sd.swap_if(y, upper))), upper)"},
     tangent={"a": "_sd.cholesky_tangent(d[a], y, upper)"})
# eigh reads one triangle (UPLO): its gradient lives in that triangle. With eigenvalues w,
# eigenvectors V and F[i, j] = 1 / (w[j] - w[i]) (distinct eigenvalues; 0 on the diagonal),
# S = V (diag(d[w]) + F * (V^T d[V])) V^T and d[a] is the triangle's share of (S + S^T) / 2.
# Written with NumPy operations over y (and eigvalsh over np.linalg.eigh): second derivatives
# come from the rules themselves.
_EIGH_W, _EIGH_V = "_sd.getitem(y, 0)", "_sd.getitem(y, 1)"
_EIGH_S = ("{V} @ (np.expand_dims(_sd.dense(_sd.getitem(d[y], 0), {W}), -1) * _sd.eye_like({W}) "
           "+ np.where(_sd.eye_mask({W}), 0.0, 1.0 / (np.expand_dims({W}, -2) - "
           "np.expand_dims({W}, -1) + _sd.eye_mask({W}))) * (np.swapaxes({V}, -1, -2) @ "
           "_sd.dense(_sd.getitem(d[y], 1), {V}))) @ np.swapaxes({V}, -1, -2)")
_S = _EIGH_S.format(W=_EIGH_W, V=_EIGH_V)
rule(np.linalg.eigh, "a, UPLO='L'",
     adjoint={"a": f"_sd.sym_from_back(0.5 * ({_S} + np.swapaxes({_S}, -1, -2)), "
                   "_sd.uplo_lower(UPLO))"},
     tangent={"a": "_sd.eigh_tangent(d[a], a, y, _sd.uplo_lower(UPLO))"})
_EIGVALSH_V = "_sd.getitem(np.linalg.eigh(_sd.sym_from(a, _sd.uplo_lower(UPLO))), 1)"
rule(np.linalg.eigvalsh, "a, UPLO='L'",
     adjoint={"a": f"_sd.sym_from_back(({_EIGVALSH_V} * np.expand_dims(_sd.dense(d[y], y), -2)) "
                   f"@ np.swapaxes({_EIGVALSH_V}, -1, -2), _sd.uplo_lower(UPLO))"},
     tangent={"a": "_sd.eigvalsh_tangent(d[a], a, _sd.uplo_lower(UPLO))"})
# the singular values only (d[a] = U diag(d[s]) Vh); the U and Vh of the full result have no
# rule (using them is refused). First derivatives only, like qr and lstsq.
rule(np.linalg.svd, "a, full_matrices=True, compute_uv=True, hermitian=False",
     adjoint={"a": "_sd.svd_back(d[y], a, y, full_matrices, compute_uv, hermitian)"},
     tangent={"a": "_sd.svd_tangent(d[a], a, y, full_matrices, compute_uv, hermitian)"})
for _svdvals in _available("linalg.svdvals"):
    rule(_svdvals, "x",
         adjoint={"x": "_sd.svdvals_back(d[y], x)"},
         tangent={"x": "_sd.svdvals_tangent(d[x], x)"})
# (Q, R) with rows >= columns (mode 'reduced' or 'r'; 'complete' of a square matrix)
rule(np.linalg.qr, "a, mode='reduced'",
     adjoint={"a": "_sd.qr_back(d[y], a, y, mode)"},
     tangent={"a": "_sd.qr_tangent(d[a], a, y, mode)"})
# (x, residuals, rank, s): with respect to b always; to a for a full column rank matrix
rule(np.linalg.lstsq, "a, b, rcond=None",
     adjoint={"a": "_sd.lstsq_back(d[y], a, b, y, rcond, 'a')",
              "b": "_sd.lstsq_back(d[y], a, b, y, rcond, 'b')"},
     tangent={"a": "_sd.lstsq_tangent(d[a], a, b, y, rcond, 'a')",
              "b": "_sd.lstsq_tangent(d[b], a, b, y, rcond, 'b')"})
# the pseudo-inverse P of a matrix of constant rank (Golub and Pereyra):
# dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P
_G, _GT, _PT = "_sd.dense(d[y], y)", "np.swapaxes(_sd.dense(d[y], y), -1, -2)", \
    "np.swapaxes(y, -1, -2)"
_DAT = "np.swapaxes(np.broadcast_to(d[a], np.shape(a)), -1, -2)"
rule(np.linalg.pinv, "a, rcond=None, hermitian=False, rtol=None",
     adjoint={"a": f"-({_PT} @ {_G} @ {_PT}) + ({_GT} - a @ (y @ {_GT})) @ (y @ {_PT}) + "
                   f"({_PT} @ y) @ ({_GT} - ({_GT} @ y) @ a)"},
     tangent={"a": f"-(y @ d[a] @ y) + (y @ {_PT}) @ ({_DAT} - ({_DAT} @ a) @ y) + "
                   f"({_DAT} - y @ (a @ {_DAT})) @ ({_PT} @ y)"})
rule(np.linalg.matrix_power, "a, n",
     adjoint={"a": "_sd.matrix_power_back(d[y], a, n)"},
     tangent={"a": "_sd.matrix_power_tangent(d[a], a, n)"})
rule(np.linalg.multi_dot, "arrays",
     adjoint={"arrays": "_sd.multi_dot_back(d[y], arrays)"},
     tangent={"arrays": "_sd.multi_dot_tangent(d[arrays], arrays)"})

# ---- ndarray methods and attributes -------------------------------------------------------------
# `x.name(...)` binds like `func(x, ...)`; the signatures above follow the method's positional
# order too (x.sum(axis, dtype, out, keepdims), x.std(axis, dtype, out, ddof, keepdims), ...).
rule(runtime.astype, "a, dtype, order='K', casting='unsafe', subok=True, copy=True",
     name="ndarray.astype",
     adjoint={"a": "_sd.astype_back(d[y], dtype)"},
     tangent={"a": "_sd.astype_tangent(d[a], a, dtype)"})
rule(runtime.item, "a, i0=None, i1=None, i2=None, i3=None, i4=None, i5=None",
     name="ndarray.item",
     adjoint={"a": "_sd.item_back(d[y], a, i0, i1, i2, i3, i4, i5)"},
     tangent={"a": "_sd.item_tangent(d[a], a, i0, i1, i2, i3, i4, i5)"})

for _name, _func in (
        ("sum", np.sum), ("mean", np.mean), ("prod", np.prod), ("max", np.max),
        ("min", np.min), ("std", np.std), ("var", np.var),
        ("cumsum", np.cumsum), ("cumprod", np.cumprod), ("dot", np.dot),
        ("reshape", runtime.reshape_method), ("transpose", runtime.transpose_method),
        ("swapaxes", np.swapaxes), ("squeeze", np.squeeze), ("ravel", np.ravel),
        ("flatten", np.ravel), ("copy", np.copy), ("astype", runtime.astype),
        ("clip", np.clip), ("trace", np.trace), ("diagonal", np.diagonal),
        ("repeat", np.repeat), ("take", np.take), ("conj", np.conjugate),
        ("conjugate", np.conjugate), ("item", runtime.item)):
    method(_name, _func)
method("T", np.transpose, attribute=True)
if hasattr(np, "matrix_transpose"):
    method("mT", np.matrix_transpose, attribute=True)
method("real", np.real, attribute=True)


def _nondifferentiable_method(name, sig, attribute=False):
    """`x.name(...)` has no derivative (an index, a boolean, a rounded value)."""
    params, defaults = _signature(sig)
    METHODS[name] = Rule(None, f"ndarray.{name}", params, defaults, {}, {},
                         attribute=attribute, static=params)


for _name, _sig in (
        ("argmax", "a, axis=None, out=None, keepdims=False"),
        ("argmin", "a, axis=None, out=None, keepdims=False"),
        ("argsort", "a, axis=-1, kind=None, order=None, stable=None"),
        ("argpartition", "a, kth, axis=-1, kind='introselect', order=None"),
        ("nonzero", "a"),
        ("searchsorted", "a, v, side='left', sorter=None"),
        ("any", "a, axis=None, out=None, keepdims=False"),
        ("all", "a, axis=None, out=None, keepdims=False"),
        ("round", "a, decimals=0, out=None")):
    _nondifferentiable_method(_name, _sig)
_nondifferentiable_method("imag", "a", attribute=True)


nondifferentiable(
    np.sign, np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.fix, np.heaviside,
    np.signbit, np.argmax, np.argmin, np.nanargmax, np.nanargmin, np.argsort, np.argpartition,
    np.lexsort, np.argwhere, np.nonzero, np.flatnonzero, np.searchsorted, np.digitize,
    np.shape, np.ndim, np.size, np.isnan, np.isinf, np.isfinite, np.isposinf, np.isneginf,
    np.isreal, np.iscomplex, np.isin, np.zeros, np.ones, np.empty, np.arange, np.eye,
    np.identity, np.tri, np.zeros_like, np.ones_like, np.empty_like, np.indices,
    np.tril_indices, np.triu_indices, np.diag_indices, np.unravel_index, np.ravel_multi_index,
    np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor, np.allclose, np.isclose,
    np.array_equal, np.array_equiv, np.any, np.all, np.count_nonzero, np.floor_divide,
    np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert, np.left_shift, np.right_shift,
    np.gcd, np.lcm, np.result_type, np.can_cast, np.broadcast_shapes, np.iscomplexobj,
    np.isrealobj, np.isscalar, np.angle,
)

# ---- random numbers: constants to the derivative ------------------------------------------------
# Draws from a Generator or RandomState (`rng.normal(size=3)` with a module-level
# `rng = np.random.default_rng(0)`, and np.random.randn / np.random.seed ..., which are methods
# of NumPy's global RandomState) carry no derivative, not even with respect to their
# parameters (for a reparameterized sample write `mu + sigma * rng.standard_normal()`). The
# methods that return their input's own values rearranged (permutation, shuffle, choice) are
# not draws: they have no rule, so using them on an active value is refused.
_SHUFFLES = ("permutation", "permuted", "shuffle", "choice")
nondifferentiable_methods(np.random.Generator, "numpy.random.Generator", exclude=_SHUFFLES)
nondifferentiable_methods(np.random.RandomState, "numpy.random.RandomState", exclude=_SHUFFLES)
_RANDOM = [(_name, _obj) for _name, _obj in sorted(vars(np.random).items())
           if not _name.startswith("_") and _name != "test" and callable(_obj)
           and not isinstance(getattr(_obj, "__self__", None), np.random.RandomState)]
nondifferentiable(*[o for _, o in _RANDOM], names=[f"numpy.random.{n}" for n, _ in _RANDOM])
