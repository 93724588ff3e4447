"""Rules for the runtime's own NumPy helpers (`_sd.<name>`, runtime/numpy_*.py), which
generated reverse-mode code calls: with them, that code can be differentiated again (hessian,
hvp, jvp and grad of grad). The rules of NumPy itself are in `numpy`.
"""

from .. import runtime
from .numpy import _ALL_OPERANDS, _OPERANDS, rule
from .registry import _signature, nondifferentiable

# ---- the helpers above, for higher-order derivatives --------------------------------------------
# Second derivatives run forward mode over generated reverse-mode code (hessian, hvp, jvp and
# grad of grad), so the helpers that code calls need tangent rules too. Most adjoint helpers
# are linear in the carried derivative `g` (and, for products, in the other factor) and read
# their other arguments only for shapes, axes or piecewise-constant choices (the argmax, the
# sorting permutation, a sign): `_linear` gives them their rules, with `_sd.transpose_linear`
# (exact, one call per element) as the adjoint, for reverse mode over generated code.
# The templates of std, var, inv, det, slogdet, solve and cholesky are NumPy expressions over a
# few such helpers, so they need nothing more. Helpers without a rule (prod, nanprod,
# average, trapezoid, matrix_power, multi_dot, the singular-value norms) have first derivatives
# only: a second derivative through them is a SourceDiffError naming the helper.
LINEAR_HELPERS = []   # the helpers `_linear` gave rules (tests/test_rules.py checks them)


def _linear(helper, sig, carried=("g",), adjoint=True):
    LINEAR_HELPERS.append(helper)
    params, _ = _signature(sig)
    args = ", ".join(params)
    name = f"_sd.{helper.__name__}"
    adjoints, tangents = {}, {}
    for p in carried:
        if adjoint:
            adjoints[p] = f"_sd.transpose_linear({name}, ({args},), {params.index(p)}, d[y])"
        tangents[p] = f"{name}({', '.join(f'd[{q}]' if q == p else q for q in params)})"
    rule(helper, sig, adjoint=adjoints, tangent=tangents)


for _helper, _sig in (
        (runtime.unreduce, "g, x, axis=None, keepdims=False"),
        (runtime.dense, "g, like"),
        (runtime.to_col, "g, a, b"),
        (runtime.from_col, "g, a, b"),
        (runtime.phi, "g"),
        (runtime.sym_lower, "g"),
        (runtime.swap_if, "g, flag"),
        (runtime.max_back, "g, x, out, axis=None, keepdims=False"),
        (runtime.nanmax_back, "g, x, out, axis=None, keepdims=False"),
        (runtime.ptp_back, "g, x, out, axis=None, keepdims=False"),
        (runtime.median_back, "g, x, out, axis=None, keepdims=False"),
        (runtime.nansum_back, "g, x, axis=None, keepdims=False"),
        (runtime.nanmean_back, "g, x, axis=None, keepdims=False"),
        (runtime.cumsum_back, "g, x, axis=None"),
        (runtime.cumulative_sum_back, "g, x, axis=None, include_initial=False"),
        (runtime.diff_back, "g, x, n=1, axis=-1"),
        (runtime.tri_back, "g, m, k=0, lower=True"),
        (runtime.reshape_back, "g, x, order='C'"),
        (runtime.ravel_back, "g, x, order='C'"),
        (runtime.transpose_back, "g, axes"),
        (runtime.swapaxes_back, "g, axis1, axis2"),
        (runtime.matrix_transpose, "g"),
        (runtime.moveaxis_back, "g, source, destination"),
        (runtime.rollaxis_back, "g, x, axis, start=0"),
        (runtime.broadcast_back, "g, x"),
        (runtime.atleast_back, "g, x"),
        (runtime.flip_back, "g, axis=None"),
        (runtime.rot90_back, "g, k=1, axes=None"),
        (runtime.roll_back, "g, shift, axis=None"),
        (runtime.tile_back, "g, x, reps"),
        (runtime.repeat_back, "g, x, repeats, axis=None"),
        (runtime.pad_back, "g, x, pad_width, mode='constant'"),
        (runtime.take_back, "g, x, indices, axis=None, mode='raise'"),
        (runtime.take_along_back, "g, x, indices, axis=-1"),
        (runtime.sort_back, "g, x, axis=-1"),
        (runtime.partition_back, "g, x, out, axis=-1"),
        (runtime.append_back, "g, arr, values, axis=None, which=0"),
        (runtime.delete_back, "g, arr, obj, axis=None"),
        (runtime.insert_back, "g, arr, obj, values, axis=None, which=0"),
        (runtime.astype_back, "g, dtype"),
        (runtime.item_back, "g, x, i0=None, i1=None, i2=None, i3=None, i4=None, i5=None"),
        (runtime.fill_back, "g, out, fill"),
        (runtime.linspace_back, "g, out, x, which, num=50, endpoint=True, retstep=False, "
                                "axis=0"),
        (runtime.select_back_default, "g, condlist, default"),
        (runtime.trace_back, "g, x, offset=0, axis1=0, axis2=1"),
        (runtime.diagonal_back, "g, x, offset=0, axis1=0, axis2=1"),
        (runtime.diag_back, "g, v, k=0"),
        (runtime.linalg_trace_back, "g, x, offset=0"),
        (runtime.linalg_diagonal_back, "g, x, offset=0")):
    _linear(_helper, _sig)
# adjoints that are lists (one per element of a sequence argument), or take one: forward over
# them only (`transpose_linear` of a list argument does not zero the other elements yet)
for _helper, _sig in (
        (runtime.split_back, "g, x, out, axis=0"),
        (runtime.concatenate_back, "g, arrays, axis=0"),
        (runtime.stack_back, "g, arrays, axis=0"),
        (runtime.stacked_back, "g, arrays, kind"),
        (runtime.select_back_choices, "g, condlist, choicelist"),
        (runtime.array_back, "g, x")):
    _linear(_helper, _sig, adjoint=False)
# bilinear: in `g` and the other factor
for _helper, _sig, _other in (
        (runtime.vdot_back, "g, other, x", "other"),
        (runtime.vecdot_back, "g, other, x, axis=-1", "other"),
        (runtime.inner_back_a, "g, a, b", "b"), (runtime.inner_back_b, "g, a, b", "a"),
        (runtime.outer_back_a, "g, a, b", "b"), (runtime.outer_back_b, "g, a, b", "a"),
        (runtime.tensordot_back_a, "g, a, b, axes=2", "b"),
        (runtime.tensordot_back_b, "g, a, b, axes=2", "a"),
        (runtime.kron_back_a, "g, a, b", "b"), (runtime.kron_back_b, "g, a, b", "a"),
        (runtime.cross_back_a, "g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None", "b"),
        (runtime.cross_back_b, "g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None", "a"),
        (runtime.convolve_back_a, "g, a, v, mode='full'", "v"),
        (runtime.convolve_back_v, "g, a, v, mode='full'", "a"),
        (runtime.correlate_back_a, "g, a, v, mode='valid'", "v"),
        (runtime.correlate_back_v, "g, a, v, mode='valid'", "a")):
    _linear(_helper, _sig, carried=("g", _other))
# einsum's adjoint: linear in g and in every operand but the k-th (read for its shape)
rule(runtime.einsum_back, "g, k, subscripts, optimize, " + _ALL_OPERANDS,
     adjoint={},
     tangent={"g": f"_sd.einsum_back(d[g], k, subscripts, optimize, {_ALL_OPERANDS})",
              **{o: f"_sd.einsum_back_along(g, k, subscripts, optimize, {j}, d[{o}], "
                    f"{_ALL_OPERANDS})" for j, o in enumerate(_OPERANDS)}})
# the norms: the weights' own derivatives (with respect to x, and to the norm y they divide by)
for _helper, _along, _sig, _call in (
        (runtime.norm_back, "norm_back_along", "g, x, out, ord=None, axis=None, keepdims=False",
         "ord, axis, keepdims"),
        (runtime.vector_norm_back, "vector_norm_back_along",
         "g, x, out, axis=None, keepdims=False, ord=2", "axis, keepdims, ord"),
        (runtime.matrix_norm_back, "matrix_norm_back_along",
         "g, x, out, keepdims=False, ord='fro'", "keepdims, ord")):
    rule(_helper, _sig,
         adjoint={},
         tangent={"g": f"_sd.{_helper.__name__}(d[g], x, out, {_call})",
                  "x": f"_sd.{_along}(g, x, out, d[x], 'x', {_call})",
                  "out": f"_sd.{_along}(g, x, out, d[out], 'y', {_call})"})
# cumprod's adjoint: linear in g; along x and y = cumprod(x) from its loop form (exact where x
# has zeros)
rule(runtime.cumprod_back, "g, x, out, axis=None",
     adjoint={},
     tangent={"g": "_sd.cumprod_back(d[g], x, out, axis)",
              "x": "_sd.cumprod_back_dx(g, x, out, d[x], axis)",
              "out": "_sd.cumprod_back_dy(g, x, out, d[out], axis)"})
# np.gradient's adjoint is linear in g (a list for several axes): its transpose is np.gradient
rule(runtime.np_gradient_back, "g, f, s0=None, s1=None, s2=None, s3=None, axis=None, "
     "edge_order=1",
     adjoint={"g": "_sd.np_gradient_apply(d[y], f, s0, s1, s2, s3, axis, edge_order)"},
     tangent={"g": "_sd.np_gradient_back(d[g], f, s0, s1, s2, s3, axis, edge_order)"})
# np.interp: the slope is linear in fp and piecewise constant in x; the fp adjoint is linear in
# g, and in x through the interpolation weights (its x-derivative is the slope's transpose)
rule(runtime.interp_slope, "x, xp, fp, period=None",
     adjoint={"fp": "_sd.interp_slope_back(d[y], x, xp, fp, period)"},
     tangent={"fp": "_sd.interp_slope(x, xp, d[fp], period)"})
rule(runtime.interp_fp_back, "g, x, xp, fp, left=None, right=None, period=None",
     adjoint={"g": "_sd.interp_fp_tangent(d[y], x, xp, fp, left, right, period)",
              "x": "g * _sd.interp_slope(x, xp, d[y], period)"},
     tangent={"g": "_sd.interp_fp_back(d[g], x, xp, fp, left, right, period)",
              "x": "_sd.interp_slope_back(g * d[x], x, xp, fp, period)"})
# sorted(): a permutation and its inverse
rule(runtime.sorted_back, "g, xs, key=None, reverse=False",
     adjoint={"g": "_sd.sorted_tangent(d[y], xs, key, reverse)"},
     tangent={"g": "_sd.sorted_back(d[g], xs, key, reverse)"})
rule(runtime.sorted_tangent, "t, xs, key=None, reverse=False",
     adjoint={"t": "_sd.sorted_back(d[y], xs, key, reverse)"},
     tangent={"t": "_sd.sorted_tangent(d[t], xs, key, reverse)"})
# eigh: reading one triangle and its transpose
rule(runtime.sym_from, "a, lower=True",
     adjoint={"a": "_sd.sym_from_back(d[y], lower)"},
     tangent={"a": "_sd.sym_from(d[a], lower)"})
rule(runtime.sym_from_back, "g, lower=True",
     adjoint={"g": "_sd.sym_from(d[y], lower)"},
     tangent={"g": "_sd.sym_from_back(d[g], lower)"})
# first derivatives only: a second derivative through them is refused when it runs
for _helper, _sig, _what in (
        (runtime.svd_back, "g, a, out, full_matrices=True, compute_uv=True, hermitian=False",
         "numpy.linalg.svd"),
        (runtime.svdvals_back, "g, x", "numpy.linalg.svdvals"),
        (runtime.qr_back, "g, a, out, mode='reduced'", "numpy.linalg.qr"),
        (runtime.lstsq_back, "g, a, b, out, rcond=None, which='a'", "numpy.linalg.lstsq")):
    _first = f"_sd.first_order_only({_what!r})"
    _params = [p for p in _signature(_sig)[0] if p not in ("rcond", "which", "mode",
                                                            "full_matrices", "compute_uv",
                                                            "hermitian")]
    rule(_helper, _sig, adjoint={p: _first for p in _params},
         tangent={p: _first for p in _params})
nondifferentiable(runtime.interp_outside, runtime.partition_perm, runtime.uplo_lower,
                  runtime.eye_mask, runtime.eye_like, runtime.first_order_only)
nondifferentiable(runtime.clip_da, runtime.clip_dlo, runtime.clip_dhi, runtime.transpose_axes,
                  runtime.method_axes, runtime.split_axis, runtime.rot90_axes, runtime.sort_perm,
                  runtime.dof)
