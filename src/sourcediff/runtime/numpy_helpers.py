"""Helpers for the NumPy rule table (rules/numpy.py): the adjoints and tangents too long to
write inline in a template. Generated code calls them as `_sd.<name>`; they depend only on
numpy, math and the runtime core.
"""

from __future__ import annotations

import numpy as np

from .core import NoRule, _float, unbroadcast

# Called by the templates in rules/numpy.py. Conventions:
# * an adjoint `g` may be the float 0.0 (nothing flowed into it yet); helpers return 0.0 for it
#   or give it a shape with `_dense`;
# * the forward-mode helpers (`*_tangent`) return arrays of the output's shape, never a bare
#   0.0; the ones for derivatives of adjoints (`*_along`) may return 0.0, like adjoints;
# * new arrays get the floating dtype NumPy itself would give (`_ftype`): float32 in, float32 out;
# * subgradients at ties: max/min/ptp/nanmax/nanmin and vector inf-norms split the derivative
#   evenly among the tied elements; sort and median follow the stable argsort order; norms and
#   std have derivative 0 where their value is 0.


def _no_flow(g):
    """Whether the adjoint `g` is a zero scalar: 0.0, or the 0-d zero another helper made of
    it (`np.transpose(0.0)`). Returning 0.0 for it is right whatever shape it stands for."""
    if type(g) is _float:
        return g == 0.0
    if isinstance(g, (np.ndarray, np.generic)) and g.ndim == 0:
        return not g
    return False


def _ftype(*xs):
    """The floating dtype of arrays `xs` (ints promote to float64, float32 stays float32)."""
    dtypes = [x.dtype for x in xs if isinstance(x, (np.ndarray, np.generic))]
    if not dtypes:
        return np.dtype(np.float64)
    dt = np.result_type(*dtypes)
    return dt if dt.kind in "fc" else np.result_type(dt, np.float64)


def _dense(g, like):
    """`g` as an array of `like`'s shape (a zero 0.0, or a zero that kept a broadcastable
    shape, gets its full shape)."""
    if _no_flow(g):
        return np.zeros(np.shape(like), dtype=_ftype(like))
    if np.shape(g) != np.shape(like):
        return np.broadcast_to(g, np.shape(like))
    return g


def _zeros_for(y, *xs):
    return np.zeros(np.shape(y), dtype=_ftype(y, *xs))


def _axis_tuple(axis, ndim):
    """`axis` (None, an int or a sequence) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(sorted(int(a) % ndim if ndim else 0 for a in axis))


def _unreduce(g, x, axis, keepdims):
    """`g`, the adjoint of a reduction of `x` over `axis`, with the reduced axes put back (as
    length-1 axes) so that it broadcasts against `x`."""
    ndim = np.ndim(x)
    if keepdims or ndim == 0:
        return g
    if axis is None:
        return np.reshape(g, (1,) * ndim)
    return np.expand_dims(g, _axis_tuple(axis, ndim))


def unreduce(g, x, axis=None, keepdims=False):
    """`_unreduce` for templates (linear in `g`; 0.0 stays 0.0)."""
    if _no_flow(g):
        return 0.0
    return _unreduce(g, x, axis, keepdims)


def dense(g, like):
    """`_dense` for templates: the adjoint `g` with the full shape of `like` (linear in g)."""
    return _dense(g, like)


def dof(x, axis=None, ddof=0, correction=None):
    """N - ddof for np.std / np.var over `axis`."""
    return _count(x, _axis_tuple(axis, np.ndim(x))) - _ddof(ddof, correction)


def _reduce_pair(weights_of, name):
    """The adjoint and tangent helpers of a reduction `y = r(x, axis)` whose partials, shaped
    like `x`, are `weights_of(x, y_unreduced, axes, *extra)`: the adjoint spreads `g` times the
    weights, the tangent sums the weights times `dx` over the reduced axes."""

    def adjoint(g, x, y, axis=None, keepdims=False, *extra):
        if _no_flow(g):
            return 0.0
        x = np.asarray(x)
        w = weights_of(x, _unreduce(y, x, axis, keepdims), _axis_tuple(axis, x.ndim), *extra)
        return _unreduce(g, x, axis, keepdims) * w

    def tangent(dx, x, y, axis=None, keepdims=False, *extra):
        x = np.asarray(x)
        axes = _axis_tuple(axis, x.ndim)
        w = weights_of(x, _unreduce(y, x, axis, keepdims), axes, *extra)
        out = np.sum(w * dx, axis=axes, keepdims=bool(keepdims))
        return out if np.ndim(out) else out[()]

    adjoint.__name__ = adjoint.__qualname__ = f"{name}_adjoint"
    tangent.__name__ = tangent.__qualname__ = f"{name}_tangent"
    return adjoint, tangent


def _tied(mask, axes, dtype):
    """`mask` (the elements that attain an extremum) divided by their count per slice."""
    w = mask.astype(dtype)
    count = np.sum(mask, axis=axes, keepdims=True)
    return w / np.maximum(count, 1).astype(dtype)


def _extremum_weights(x, y, axes):
    return _tied(x == y, axes, _ftype(x))


def _nanextremum_weights(x, y, axes):
    return _tied(x == y, axes, _ftype(x))   # NaN never equals the result


max_adjoint, max_tangent = _reduce_pair(_extremum_weights, "max")
nanmax_adjoint, nanmax_tangent = _reduce_pair(_nanextremum_weights, "nanmax")


def _ptp_weights(x, y, axes):
    hi = _tied(x == np.max(x, axis=axes, keepdims=True), axes, _ftype(x))
    lo = _tied(x == np.min(x, axis=axes, keepdims=True), axes, _ftype(x))
    return hi - lo


ptp_adjoint, ptp_tangent = _reduce_pair(_ptp_weights, "ptp")


def _ddof(ddof, correction):
    return correction if correction is not None else ddof


def _count(x, axes):
    n = 1
    for a in axes:
        n *= np.shape(x)[a]
    return n


def _prod_others(x, axes):
    """For each element, the product of the other elements of its slice (exact with zeros)."""
    x = np.asarray(x, dtype=_ftype(x))
    if x.ndim == 0:
        return np.ones_like(x)
    rest = [i for i in range(x.ndim) if i not in axes]
    order = rest + list(axes)
    xt = np.transpose(x, order)
    shape = xt.shape
    flat = xt.reshape(shape[:len(rest)] + (-1,))
    if flat.shape[-1] == 0:
        return np.zeros_like(x)
    ones = np.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
    left = np.concatenate([ones, np.cumprod(flat[..., :-1], axis=-1)], axis=-1)
    right = np.concatenate([np.cumprod(flat[..., :0:-1], axis=-1)[..., ::-1], ones], axis=-1)
    return np.transpose((left * right).reshape(shape), np.argsort(order))


def _prod_weights(x, y, axes):
    return _prod_others(x, axes)


def _nanprod_weights(x, y, axes):
    nan = np.isnan(x)
    return np.where(nan, 0, _prod_others(np.where(nan, 1, x), axes)).astype(_ftype(x))


prod_adjoint, prod_tangent = _reduce_pair(_prod_weights, "prod")
nanprod_adjoint, nanprod_tangent = _reduce_pair(_nanprod_weights, "nanprod")


def _median_weights(x, y, axes):
    """1 at the middle element of each slice (1/2 at each of the two middle ones)."""
    rest = [i for i in range(x.ndim) if i not in axes]
    order = rest + list(axes)
    xt = np.transpose(x, order)
    flat = xt.reshape(xt.shape[:len(rest)] + (-1,))
    n = flat.shape[-1]
    perm = np.argsort(flat, axis=-1, kind="stable")
    w_sorted = np.zeros(flat.shape, dtype=_ftype(x))
    if n % 2:
        w_sorted[..., n // 2] = 1.0
    else:
        w_sorted[..., n // 2 - 1] = 0.5
        w_sorted[..., n // 2] = 0.5
    w = np.empty_like(w_sorted)
    np.put_along_axis(w, perm, w_sorted, axis=-1)
    return np.transpose(w.reshape(xt.shape), np.argsort(order))


median_adjoint, median_tangent = _reduce_pair(_median_weights, "median")


def nansum_adjoint(g, x, axis=None, keepdims=False):
    if _no_flow(g):
        return 0.0
    return np.where(np.isnan(x), 0, _unreduce(g, x, axis, keepdims)).astype(_ftype(g, x))


def nansum_tangent(dx, x, axis=None, keepdims=False):
    return np.sum(np.where(np.isnan(x), 0, dx), axis=axis, keepdims=bool(keepdims))


def nanmean_adjoint(g, x, axis=None, keepdims=False):
    if _no_flow(g):
        return 0.0
    ok = ~np.isnan(x)
    count = np.sum(ok, axis=axis, keepdims=True).astype(_ftype(g, x))
    return np.where(ok, _unreduce(g, x, axis, keepdims) / count, 0).astype(_ftype(g, x))


def nanmean_tangent(dx, x, axis=None, keepdims=False):
    ok = ~np.isnan(x)
    total = np.sum(np.where(ok, dx, 0), axis=axis, keepdims=bool(keepdims))
    return total / np.sum(ok, axis=axis, keepdims=bool(keepdims)).astype(_ftype(total))


def average_weights(a, axis, weights):
    """The weights of np.average, broadcast against `a`, and their sum per slice."""
    a = np.asarray(a)
    if weights is None:
        w = np.ones(a.shape, dtype=_ftype(a))
    else:
        w = np.asarray(weights)
        if w.shape != a.shape:
            if axis is None or w.ndim != 1:
                raise NoRule("np.average: weights of another shape than `a` need a "
                                      "single axis")
            shape = [1] * a.ndim
            shape[int(axis) % a.ndim] = w.shape[0]
            w = w.reshape(shape)
        w = np.broadcast_to(w, a.shape)
    return w, np.sum(w, axis=axis, keepdims=True)


def _no_returned(returned):
    if returned:
        raise NoRule("np.average(..., returned=True) has no derivative rule; compute "
                              "the sum of the weights separately")


def average_adjoint_a(g, a, y, axis=None, weights=None, returned=False, keepdims=False):
    _no_returned(returned)
    if _no_flow(g):
        return 0.0
    w, total = average_weights(a, axis, weights)
    return _unreduce(g, a, axis, keepdims) * (w / total)


def average_adjoint_weights(g, a, y, axis=None, weights=None, returned=False, keepdims=False):
    _no_returned(returned)
    if _no_flow(g):
        return 0.0
    w, total = average_weights(a, axis, weights)
    full = _unreduce(g, a, axis, keepdims) * (a - _unreduce(y, a, axis, keepdims)) / total
    if np.shape(weights) == np.shape(a):
        return full
    other = tuple(i for i in range(np.ndim(a)) if i != int(axis) % np.ndim(a))
    return np.sum(full, axis=other)


def average_tangent_a(da, a, y, axis=None, weights=None, returned=False, keepdims=False):
    _no_returned(returned)
    w, total = average_weights(a, axis, weights)
    return np.sum(w * da / total, axis=axis, keepdims=bool(keepdims))


def average_tangent_weights(dw, a, y, axis=None, weights=None, returned=False,
                            keepdims=False):
    _no_returned(returned)
    w, total = average_weights(a, axis, weights)
    dw_b, _ = average_weights(a, axis, dw)
    dev = a - _unreduce(y, a, axis, keepdims)
    return np.sum(dw_b * dev / total, axis=axis, keepdims=bool(keepdims))


# ---- cumulative ---------------------------------------------------------------------------------
def _rev_cumsum(g, axis):
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


def cumsum_adjoint(g, x, axis=None):
    if _no_flow(g):
        return 0.0
    if axis is None:
        return np.reshape(_rev_cumsum(np.ravel(g), 0), np.shape(x))
    return _rev_cumsum(g, axis)


def cumulative_sum_adjoint(g, x, axis=None, include_initial=False):
    if _no_flow(g):
        return 0.0
    if axis is None:
        axis = 0
    if include_initial:
        g = np.delete(g, 0, axis=axis)
    return _rev_cumsum(g, axis)


def cumulative_sum_tangent(dx, axis=None, include_initial=False):
    return np.cumulative_sum(dx, axis=axis, include_initial=include_initial)


def _cumprod_along(g, x, y, axis):
    """The adjoint of y = cumprod(x, axis), exact when x has zeros."""
    if np.all(x != 0):
        return _rev_cumsum(g * y, axis) / x
    xm, ym, gm = (np.moveaxis(np.asarray(v), axis, 0) for v in (x, y, g))
    out = np.zeros(np.broadcast_shapes(xm.shape, gm.shape), dtype=_ftype(g, x))
    carry = 0.0
    n = xm.shape[0]
    for i in reversed(range(n)):           # c_i = g_i + c_{i+1} x_{i+1};  dx_i = c_i y_{i-1}
        carry = gm[i] + (carry * xm[i + 1] if i + 1 < n else 0.0)
        out[i] = carry * (ym[i - 1] if i > 0 else 1.0)
    return np.moveaxis(out, 0, axis)


def cumprod_adjoint(g, x, y, axis=None):
    if _no_flow(g):
        return 0.0
    x = np.asarray(x)
    if axis is None:
        return np.reshape(_cumprod_along(np.ravel(g), np.ravel(x), y, 0), x.shape)
    return _cumprod_along(g, x, y, int(axis) % max(x.ndim, 1))


def _cumprod_carries(g, x):
    """c_i = g_i + c_{i+1} x_{i+1} (along axis 0): what the adjoint of cumprod multiplies by
    y_{i-1}."""
    n = x.shape[0]
    carry = np.zeros(np.broadcast_shapes(x.shape, g.shape), dtype=_ftype(g, x))
    for i in reversed(range(n)):
        carry[i] = g[i] + (carry[i + 1] * x[i + 1] if i + 1 < n else 0.0)
    return carry


def _cumprod_adjoint_parts(g, x, y, t, axis, wrt):
    """The tangent of cumprod_adjoint(g, x, y, axis) along the tangent `t` of x (wrt="x") or
    of y (wrt="y"), from the loop form of the adjoint, so exact where x has zeros."""
    x = np.asarray(x)
    shape = x.shape
    if axis is None:   # along the flattened x (y, g and the tangent of y are flat already)
        g, x, y, t = (np.ravel(v) if np.size(v) == x.size else np.full(x.size, v)
                      for v in (g, x, y, t))
        axis = 0
    else:
        axis = int(axis) % max(x.ndim, 1)
        g, t = np.broadcast_to(g, shape), np.broadcast_to(t, shape)
    xm, ym, gm, tm = (np.moveaxis(np.asarray(v), axis, 0) for v in (x, y, g, t))
    carry = _cumprod_carries(gm, xm)
    out = np.zeros(carry.shape, dtype=_ftype(carry, tm))
    n = xm.shape[0]
    if wrt == "y":   # out_i = c_i y_{i-1}: along dy, c_i dy_{i-1}
        out[1:] = carry[1:] * tm[:-1]
    else:            # dc_i = dc_{i+1} x_{i+1} + c_{i+1} dx_{i+1}; out_i = dc_i y_{i-1}
        dcarry = np.zeros_like(out)
        for i in reversed(range(n - 1)):
            dcarry[i] = dcarry[i + 1] * xm[i + 1] + carry[i + 1] * tm[i + 1]
        out[0] = dcarry[0]
        out[1:] = dcarry[1:] * ym[:-1]
    return np.reshape(np.moveaxis(out, 0, axis), shape)


def cumprod_adjoint_dx(g, x, y, dx, axis=None):
    """The tangent of `cumprod_adjoint(g, x, y, axis)` along the tangent `dx` of `x`."""
    if _no_flow(g) or _no_flow(dx):
        return 0.0
    return _cumprod_adjoint_parts(g, x, y, dx, axis, "x")


def cumprod_adjoint_dy(g, x, y, dy, axis=None):
    """The tangent of `cumprod_adjoint(g, x, y, axis)` along the tangent `dy` of `y`."""
    if _no_flow(g) or _no_flow(dy):
        return 0.0
    return _cumprod_adjoint_parts(g, x, y, dy, axis, "y")


def _cumprod_tangent_along(dx, x, y, axis):
    if np.all(x != 0):
        return y * np.cumsum(dx / x, axis=axis)
    xm, ym, dm = (np.moveaxis(np.asarray(v), axis, 0) for v in (x, y, dx))
    out = np.zeros(np.broadcast_shapes(xm.shape, dm.shape), dtype=_ftype(dx, x))
    for i in range(xm.shape[0]):            # t_i = t_{i-1} x_i + y_{i-1} dx_i
        out[i] = (out[i - 1] * xm[i] + ym[i - 1] * dm[i]) if i else dm[i]
    return np.moveaxis(out, 0, axis)


def cumprod_tangent(dx, x, y, axis=None):
    x = np.asarray(x)
    dx = np.broadcast_to(dx, x.shape)
    if axis is None:
        return _cumprod_tangent_along(np.ravel(dx), np.ravel(x), y, 0)
    return _cumprod_tangent_along(dx, x, y, int(axis) % max(x.ndim, 1))


def tri_back(g, m, k=0, lower=True):
    """The adjoint of np.tril / np.triu (with broadcasting of `m` undone)."""
    if _no_flow(g):
        return 0.0
    return unbroadcast(np.tril(g, k) if lower else np.triu(g, k), m)


def diff_adjoint(g, x, n=1, axis=-1):
    if _no_flow(g):
        return 0.0
    for _ in range(n):
        shape = list(np.shape(g))
        shape[axis] += 1
        out = np.zeros(shape, dtype=_ftype(g))
        hi = [slice(None)] * len(shape)
        lo = [slice(None)] * len(shape)
        hi[axis] = slice(1, None)
        lo[axis] = slice(None, -1)
        out[tuple(hi)] += g
        out[tuple(lo)] -= g
        g = out
    return g


def _trapezoid_weights(f, x, dx, axis):
    """Partials of np.trapezoid(f, x, dx, axis) with respect to f, shaped to broadcast."""
    n = np.shape(f)[axis]
    nd = np.ndim(f)
    if x is None:
        w = np.full(n, dx, dtype=_ftype(np.asarray(f)))
        w[0] = w[-1] = 0.5 * dx
        shape = [1] * nd
        shape[axis] = n
        return w.reshape(shape)
    x = np.asarray(x)
    if x.ndim == 1:
        shape = [1] * nd
        shape[axis] = n
        x = x.reshape(shape)
    h = np.diff(x, axis=axis)
    w = np.zeros(np.broadcast_shapes(np.shape(x), (1,) * nd), dtype=_ftype(x, np.asarray(f)))
    w = np.moveaxis(w, axis, 0).copy()
    hm = np.moveaxis(h, axis, 0)
    w[:-1] += 0.5 * hm
    w[1:] += 0.5 * hm
    return np.moveaxis(w, 0, axis)


def trapezoid_adjoint_f(g, f, x=None, dx=1.0, axis=-1):
    if _no_flow(g):
        return 0.0
    w = _trapezoid_weights(f, x, dx, axis)
    return unbroadcast(np.expand_dims(g, axis) * w, f)


def trapezoid_tangent_f(df, f, x=None, dx=1.0, axis=-1):
    return np.sum(_trapezoid_weights(f, x, dx, axis) * df, axis=axis)


def _trapezoid_x_partial(f, x, axis):
    """d/dx_j of 0.5 * sum_i (x_{i+1} - x_i)(f_i + f_{i+1}), along `axis` of f."""
    f = np.moveaxis(np.asarray(f), axis, 0)
    s = f[:-1] + f[1:]                         # f_i + f_{i+1}, for each interval
    w = np.zeros(f.shape, dtype=_ftype(f))
    w[1:] += 0.5 * s
    w[:-1] -= 0.5 * s
    return np.moveaxis(w, 0, axis)


def trapezoid_adjoint_x(g, f, x, axis=-1):
    if _no_flow(g):
        return 0.0
    full = np.expand_dims(g, axis) * _trapezoid_x_partial(f, x, axis)
    if np.ndim(x) == 1 and np.ndim(f) != 1:
        other = tuple(i for i in range(np.ndim(f)) if i != axis % np.ndim(f))
        return np.sum(full, axis=other)
    return unbroadcast(full, x)


def trapezoid_tangent_x(ddx, f, x, axis=-1):
    if np.ndim(x) == 1 and np.ndim(f) != 1:
        shape = [1] * np.ndim(f)
        shape[axis] = np.shape(x)[0]
        ddx = np.reshape(ddx, shape)
    return np.sum(_trapezoid_x_partial(f, x, axis) * ddx, axis=axis)


def trapezoid_dx_partial(f, x=None, axis=-1):
    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    return trapezoid(f, x=x, dx=1.0, axis=axis)


# ---- shapes -------------------------------------------------------------------------------------
def _layout_order(x, order):
    if order == "A":
        return "F" if np.isfortran(np.asarray(x)) else "C"
    return order


def _memory_positions(x, order):
    """For each element of `np.ravel(x, order)`, its index in the C-order ravel of `x`."""
    x = np.asarray(x)
    idx = np.empty_like(x, dtype=np.intp)      # keeps x's memory layout
    idx[...] = np.arange(x.size).reshape(x.shape)
    return np.ravel(idx, order=order)


def reshape_adjoint(g, x, order="C"):
    if _no_flow(g):
        return 0.0
    order = _layout_order(x, order or "C")
    return np.reshape(g, np.shape(x), order=order)


def reshape_tangent(dx, x, y, order="C"):
    order = _layout_order(x, order or "C")
    return np.reshape(np.broadcast_to(dx, np.shape(x)), np.shape(y), order=order)


def ravel_adjoint(g, x, order="C"):
    if _no_flow(g):
        return 0.0
    if order in ("C", None):
        return np.reshape(g, np.shape(x))
    out = np.empty(np.size(x), dtype=_ftype(g))
    out[_memory_positions(x, order)] = np.ravel(g)
    return out.reshape(np.shape(x))


def ravel_tangent(dx, x, order="C"):
    dx = np.broadcast_to(dx, np.shape(x))
    if order in ("C", None):
        return np.ravel(dx)
    return np.ravel(dx)[_memory_positions(x, order)]


def reshape_method(a, *shape, order="C", copy=None):
    """`a.reshape(*shape)`: the rule for the method form (any number of dimensions)."""
    return a.reshape(*shape, order=order)


def transpose_axes(axes, ndim):
    """`axes` of np.transpose with negative axes made positive (None stays None, and so do
    the axes of a 0-d array: the zero adjoint 0.0)."""
    if axes is None or ndim == 0:
        return None
    return tuple(int(a) % ndim for a in axes)


def transpose_back(g, axes):
    """The adjoint of np.transpose(x, axes), negative axes included."""
    if _no_flow(g):
        return 0.0
    axes = transpose_axes(axes, np.ndim(g))
    return np.transpose(g, None if axes is None else np.argsort(axes))


def method_axes(*parts):
    """The `axes` of `x.transpose(*parts)`: none, one sequence, or several ints."""
    given = [p for p in parts if p is not None]
    if not given:
        return None
    if len(given) == 1 and not isinstance(given[0], (int, np.integer)):
        return given[0]
    return tuple(given)


def transpose_method(a, *axes):
    return a.transpose(*axes)


def swapaxes_back(g, axis1, axis2):
    if _no_flow(g):
        return 0.0
    return np.swapaxes(g, axis1, axis2)


def matrix_transpose(g):
    if _no_flow(g):
        return 0.0
    return np.swapaxes(g, -1, -2)


def moveaxis_back(g, source, destination):
    if _no_flow(g):
        return 0.0
    return np.moveaxis(g, destination, source)


def rollaxis_perm(ndim, axis, start=0):
    axis = int(axis) % ndim
    start = int(start) + ndim if start < 0 else int(start)
    perm = list(range(ndim))
    if axis < start:
        start -= 1
    if axis == start:
        return perm
    perm.remove(axis)
    perm.insert(start, axis)
    return perm


def rollaxis_back(g, x, axis, start=0):
    if _no_flow(g):
        return 0.0
    return np.transpose(g, np.argsort(rollaxis_perm(np.ndim(x), axis, start)))


def broadcast_back(g, x):
    """The adjoint of broadcasting `x` to the shape of `g`."""
    if _no_flow(g):
        return 0.0
    return unbroadcast(g, x)


def _parts(x):
    return list(x) if isinstance(x, (list, tuple)) else list(np.asarray(x))


def _like_container(pieces, arrays):
    """Per-element adjoints `pieces` in the structure of `arrays` (a sequence or an array)."""
    if isinstance(arrays, np.ndarray):
        return np.stack([np.broadcast_to(p, arrays.shape[1:]) for p in pieces])
    return tuple(pieces) if isinstance(arrays, tuple) else list(pieces)


def concatenate_back(g, arrays, axis=0):
    parts = _parts(arrays)
    if _no_flow(g):
        return _like_container([0.0] * len(parts), arrays)
    if axis is None:
        sizes = [np.size(p) for p in parts]
        pieces = np.split(np.ravel(g), np.cumsum(sizes)[:-1])
        pieces = [np.reshape(q, np.shape(p)) for q, p in zip(pieces, parts, strict=True)]
    else:
        sizes = [np.shape(p)[axis] for p in parts]
        pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis)
    return _like_container(pieces, arrays)


def stack_back(g, arrays, axis=0):
    parts = _parts(arrays)
    if _no_flow(g):
        return _like_container([0.0] * len(parts), arrays)
    return _like_container([np.take(g, i, axis=axis) for i in range(len(parts))], arrays)


def _joined(kind, p):
    p = np.asarray(p)
    if kind == "h":
        return np.atleast_1d(p)
    if kind == "v":
        return np.atleast_2d(p)
    if kind == "d":
        return np.atleast_3d(p)
    return p.reshape(-1, 1) if p.ndim < 2 else p     # column_stack


def stacked_back(g, arrays, kind):
    """The adjoint of np.hstack / vstack / dstack / column_stack (kind h v d c)."""
    parts = _parts(arrays)
    if _no_flow(g):
        return _like_container([0.0] * len(parts), arrays)
    joined = [_joined(kind, p) for p in parts]
    axis = {"h": 0 if joined[0].ndim == 1 else 1, "v": 0, "d": 2, "c": 1}[kind]
    sizes = [j.shape[axis] for j in joined]
    pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis)
    pieces = [np.reshape(q, np.shape(p)) for q, p in zip(pieces, parts, strict=True)]
    return _like_container(pieces, arrays)


def split_back(g, x, y, axis=0):
    """The adjoint of the list `y = np.split(x, ..., axis)` (and array_split, hsplit...)."""
    if _no_flow(g):
        return 0.0
    pieces = [_dense(gi, yi) for gi, yi in zip(g, y, strict=True)]
    return np.concatenate(pieces, axis=axis)


def split_axis(kind, x):
    if kind == "h":
        return 1 if np.ndim(x) > 1 else 0
    return {"v": 0, "d": 2}[kind]


def flip_back(g, axis=None):
    if _no_flow(g):
        return 0.0
    return np.flip(g, axis)


def rot90_axes(axes):
    return (0, 1) if axes is None else axes


def rot90_back(g, k=1, axes=None):
    if _no_flow(g):
        return 0.0
    return np.rot90(g, -k, rot90_axes(axes))


def _negated(shift):
    if isinstance(shift, (tuple, list)):
        return type(shift)(-s for s in shift)
    return -np.asarray(shift) if np.ndim(shift) else -shift


def roll_back(g, shift, axis=None):
    if _no_flow(g):
        return 0.0
    return np.roll(g, _negated(shift), axis)


def tile_back(g, x, reps):
    if _no_flow(g):
        return 0.0
    shape = np.shape(x)
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    n = max(len(shape), len(reps))
    s = (1,) * (n - len(shape)) + tuple(shape)
    r = (1,) * (n - len(reps)) + reps
    g = np.reshape(g, [v for pair in zip(r, s, strict=True) for v in pair])
    return np.reshape(np.sum(g, axis=tuple(range(0, 2 * n, 2))), shape)


def repeat_back(g, x, repeats, axis=None):
    if _no_flow(g):
        return 0.0
    shape = np.shape(x)
    if axis is None:
        n = int(np.prod(shape))
        out = np.zeros(n, dtype=_ftype(g))
        np.add.at(out, np.repeat(np.arange(n), repeats), np.ravel(g))
        return out.reshape(shape)
    axis = int(axis) % len(shape)
    gm = np.moveaxis(g, axis, 0)
    out = np.zeros((shape[axis],) + gm.shape[1:], dtype=_ftype(g))
    np.add.at(out, np.repeat(np.arange(shape[axis]), repeats), gm)
    return np.moveaxis(out, 0, axis)


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _pad_positions(x, pad_width, mode):
    """For each element of np.pad(x, pad_width, mode), the C-order index of the element of `x`
    it copies, or -1 for a constant."""
    if mode not in _PAD_MODES:
        raise NoRule(f"np.pad(mode={mode!r}) has no derivative rule (the modes that "
                              f"have one: {', '.join(_PAD_MODES)})")
    idx = np.arange(np.size(x)).reshape(np.shape(x))
    if mode == "constant":
        return np.pad(idx, pad_width, mode="constant", constant_values=-1)
    return np.pad(idx, pad_width, mode=mode)


def pad_back(g, x, pad_width, mode="constant"):
    pos = _pad_positions(x, pad_width, mode)
    if _no_flow(g):
        return 0.0
    keep = pos >= 0
    out = np.bincount(pos[keep], weights=np.broadcast_to(g, pos.shape)[keep],
                      minlength=np.size(x))
    return out.astype(_ftype(g), copy=False).reshape(np.shape(x))


def pad_tangent(dx, x, pad_width, mode="constant"):
    pos = _pad_positions(x, pad_width, mode)
    flat = np.ravel(np.broadcast_to(dx, np.shape(x)))
    if flat.size == 0:
        return np.zeros(pos.shape, dtype=_ftype(flat))
    return np.where(pos >= 0, flat[np.maximum(pos, 0)], 0).astype(_ftype(flat), copy=False)


def atleast_back(g, x):
    if _no_flow(g):
        return 0.0
    return np.reshape(g, np.shape(x))


def copy_tangent(dx):
    if isinstance(dx, (list, tuple, dict)):
        return type(dx)(dx) if not isinstance(dx, dict) else dict(dx)
    return np.copy(dx) if isinstance(dx, np.ndarray) else dx


def astype(a, dtype, order="K", casting="unsafe", subok=True, copy=True):
    """`a.astype(dtype)`: the rule for the method (derivatives only to floating types)."""
    return a.astype(dtype, order=order, casting=casting, subok=subok, copy=copy)


def _floating(dtype):
    return np.dtype(dtype).kind in "fc"


def astype_back(g, dtype):
    return g if _floating(dtype) else 0.0


def astype_tangent(dx, x, dtype):
    if _floating(dtype):
        return np.asarray(np.broadcast_to(dx, np.shape(x))).astype(dtype)
    return np.zeros(np.shape(x), dtype=np.float64)


def item(a, *args):
    """`a.item(*args)`."""
    return a.item(*args)


def item_back(g, x, *index):
    if _no_flow(g):
        return 0.0
    out = np.zeros(np.shape(x), dtype=_ftype(np.asarray(x)))
    index = tuple(i for i in index if i is not None)
    if len(index) == 1 and isinstance(index[0], tuple):
        index = index[0]
    if len(index) <= 1:
        out.reshape(-1)[index[0] if index else 0] = g
    else:
        out[index] = g
    return out


def item_tangent(dx, x, *index):
    index = tuple(i for i in index if i is not None)
    return np.asarray(np.broadcast_to(dx, np.shape(x))).item(*index)


def array_back(g, x):
    """The adjoint of np.array(x) / np.asarray(x): `g` in the structure of `x`."""
    if isinstance(x, (list, tuple)) and not _no_flow(g):
        return _like_container([g[i] for i in range(len(x))], x)
    return g


def array_tangent(dx, dtype=None):
    return np.array(dx, dtype=dtype if dtype is None or _floating(dtype) else None)


# ---- selection ----------------------------------------------------------------------------------
def clip_partials(a, a_min, a_max, lo_kw=None, hi_kw=None):
    """(dy/da, dy/dlo, dy/dhi) for y = min(max(a, lo), hi); at a bound `a` gets the derivative."""
    lo = a_min if a_min is not None else lo_kw
    hi = a_max if a_max is not None else hi_kw
    a = np.asarray(a)
    if lo is None:
        m, p_a, p_lo = a, np.ones(a.shape, dtype=bool), np.zeros(a.shape, dtype=bool)
    else:
        m = np.maximum(a, lo)
        p_a, p_lo = a >= lo, a < lo
    if hi is None:
        inside, p_hi = np.ones(np.shape(m), dtype=bool), np.zeros(np.shape(m), dtype=bool)
    else:
        inside, p_hi = m <= hi, m > hi
    return p_a & inside, p_lo & inside, p_hi


def clip_da(a, a_min, a_max, lo=None, hi=None):
    return clip_partials(a, a_min, a_max, lo, hi)[0]


def clip_dlo(a, a_min, a_max, lo=None, hi=None):
    return clip_partials(a, a_min, a_max, lo, hi)[1]


def clip_dhi(a, a_min, a_max, lo=None, hi=None):
    return clip_partials(a, a_min, a_max, lo, hi)[2]


def _take_index(x, indices, axis, mode):
    n = np.size(x) if axis is None else np.shape(x)[axis]
    indices = np.asarray(indices)
    if mode == "wrap":
        indices = indices % n
    elif mode == "clip":
        indices = np.clip(indices, 0, n - 1)
    return indices


def take_back(g, x, indices, axis=None, mode="raise"):
    if _no_flow(g):
        return 0.0
    shape = np.shape(x)
    idx = _take_index(x, indices, axis, mode)
    if axis is None:
        out = np.zeros(int(np.prod(shape)), dtype=_ftype(g))
        np.add.at(out, np.ravel(idx), np.ravel(np.broadcast_to(g, idx.shape)))
        return out.reshape(shape)
    axis = int(axis) % len(shape)
    out = np.zeros(shape, dtype=_ftype(g))
    np.add.at(out, (slice(None),) * axis + (idx,), g)
    return out


def take_tangent(dx, x, indices, axis=None, mode="raise"):
    return np.take(np.broadcast_to(dx, np.shape(x)), indices, axis=axis, mode=mode)


def _along_index(x, indices, axis):
    shape = np.shape(x)
    indices = np.asarray(indices)
    out_shape = np.broadcast_shapes(
        tuple(1 if i == axis else n for i, n in enumerate(shape)),
        tuple(1 if i == axis else n for i, n in enumerate(indices.shape)))
    index = []
    for i in range(len(shape)):
        if i == axis:
            index.append(indices)
            continue
        view = [1] * len(shape)
        view[i] = out_shape[i]
        ar = np.arange(out_shape[i]) if shape[i] != 1 else np.zeros(out_shape[i], dtype=int)
        index.append(ar.reshape(view))
    return tuple(index)


def take_along_back(g, x, indices, axis=-1):
    if _no_flow(g):
        return 0.0
    if axis is None:
        out = np.zeros(np.size(x), dtype=_ftype(g))
        np.add.at(out, indices, g)
        return out.reshape(np.shape(x))
    axis = int(axis) % np.ndim(x)
    out = np.zeros(np.shape(x), dtype=_ftype(g))
    np.add.at(out, _along_index(x, indices, axis), g)
    return out


def sort_perm(x, axis=-1):
    return np.argsort(x, axis=axis, kind="stable")


def sort_back(g, x, axis=-1):
    """The adjoint of np.sort: `g` sent back through the sorting permutation."""
    if _no_flow(g):
        return 0.0
    perm = sort_perm(x, axis)
    if axis is None:
        out = np.empty(np.size(x), dtype=_ftype(g))
        out[perm] = np.ravel(g)
        return out.reshape(np.shape(x))
    out = np.empty(np.shape(x), dtype=_ftype(g))
    np.put_along_axis(out, perm, np.broadcast_to(g, np.shape(x)), axis=axis)
    return out


def sort_tangent(dx, x, axis=-1):
    perm = sort_perm(x, axis)
    dx = np.broadcast_to(dx, np.shape(x))
    if axis is None:
        return np.ravel(dx)[perm]
    return np.take_along_axis(dx, perm, axis=axis)


def _flat_or(x, axis):
    """`x` as np.append / np.delete / np.insert read it: raveled when `axis` is None."""
    x = np.asarray(x)
    return x.ravel() if axis is None else x


def append_back(g, arr, values, axis=None, which=0):
    """The adjoint of `np.append(arr, values, axis)` for `arr` (which=0) or `values` (1)."""
    if _no_flow(g):
        return 0.0
    n = _flat_or(arr, axis).shape[0 if axis is None else axis]
    g = np.asarray(g)
    ax = 0 if axis is None else axis
    part = np.take(g, np.arange(n) if which == 0 else np.arange(n, g.shape[ax]), axis=ax)
    target = arr if which == 0 else values
    if axis is None:
        return np.reshape(part, np.shape(target))
    return unbroadcast(part, target)


def np_append_tangent(d, arr, values, axis=None, which=0):
    """The tangent term of `np.append(arr, values, axis)` for `arr` (which=0) or `values`."""
    if which == 0:
        return np.append(np.broadcast_to(d, np.shape(arr)),
                         np.zeros(np.shape(values), dtype=_ftype(np.asarray(d))), axis=axis)
    return np.append(np.zeros(np.shape(arr), dtype=_ftype(np.asarray(d))),
                     np.broadcast_to(d, np.shape(values)), axis=axis)


def delete_back(g, arr, obj, axis=None):
    """The adjoint of `np.delete(arr, obj, axis)`: `g` at the kept positions, 0 elsewhere."""
    if _no_flow(g):
        return 0.0
    flat = _flat_or(arr, axis)
    ax = 0 if axis is None else axis
    kept = np.delete(np.arange(flat.shape[ax]), obj)
    out = np.zeros(flat.shape, dtype=_ftype(np.asarray(g)))
    index = [slice(None)] * flat.ndim
    index[ax] = kept
    out[tuple(index)] = g
    return out.reshape(np.shape(arr))


def _insert_sources(arr, obj, values, axis):
    """For each element of `np.insert(arr, obj, values, axis)`: the flat index of the element
    of `arr` it is (-1 for inserted ones), and of the value it came from (-1 for arr's)."""
    shape_a, shape_v = np.shape(arr), np.shape(values)
    from_arr = np.insert(np.arange(int(np.prod(shape_a)), dtype=np.intp).reshape(shape_a), obj,
                         -1, axis=axis)
    from_values = np.insert(np.full(shape_a, -1, dtype=np.intp), obj,
                            np.arange(int(np.prod(shape_v)), dtype=np.intp).reshape(shape_v),
                            axis=axis)
    return from_arr, from_values


def insert_back(g, arr, obj, values, axis=None, which=0):
    """The adjoint of `np.insert(arr, obj, values, axis)` for `arr` (which=0) or `values`
    (1; a value broadcast to several places gets the sum)."""
    if _no_flow(g):
        return 0.0
    sources = _insert_sources(arr, obj, values, axis)[which]
    target = arr if which == 0 else values
    g = np.broadcast_to(g, sources.shape)
    taken = sources >= 0
    out = np.zeros(int(np.prod(np.shape(target))), dtype=_ftype(g))
    np.add.at(out, sources[taken], g[taken])
    return out.reshape(np.shape(target)) if np.ndim(target) else _float(out[0])


def insert_tangent(d, arr, obj, values, axis=None, which=0):
    dtype = _ftype(np.asarray(d))
    if which == 0:
        return np.insert(np.broadcast_to(d, np.shape(arr)).astype(dtype), obj, 0.0, axis=axis)
    return np.insert(np.zeros(np.shape(arr), dtype=dtype), obj,
                     np.broadcast_to(d, np.shape(values)), axis=axis)


def _gradient_axes(f, axis):
    ndim = np.ndim(f)
    if axis is None:
        return list(range(ndim))
    if isinstance(axis, (int, np.integer)):
        return [int(axis) % ndim]
    return [int(a) % ndim for a in axis]


def _gradient_spacing(axes, spacing):
    """np.gradient's varargs: one spacing for every axis, or one per axis."""
    spacing = [s for s in spacing if s is not None]
    if not spacing:
        return [1.0] * len(axes)
    if len(spacing) == 1 and np.ndim(spacing[0]) == 0:
        return spacing * len(axes)
    if len(spacing) != len(axes):
        raise NoRule("np.gradient: give one spacing, or one per axis")
    return spacing


def _gradient_matrix(n, h, edge_order):
    """The n x n matrix of np.gradient along one axis of length n with spacing h."""
    return np.gradient(np.eye(n), h, axis=0, edge_order=edge_order)


def np_gradient_back(g, f, s0=None, s1=None, s2=None, s3=None, axis=None, edge_order=1):
    """The adjoint of `np.gradient(f, *spacing, axis=axis, edge_order=edge_order)` with
    respect to `f` (linear in f: the transpose of the difference matrix of each axis). `g` is
    one array for one axis, a sequence of them (zeros allowed) for several."""
    axes = _gradient_axes(f, axis)
    parts = [g] if len(axes) == 1 and not isinstance(g, (list, tuple)) else g
    if _no_flow(parts):
        return 0.0
    spacing = _gradient_spacing(axes, (s0, s1, s2, s3))
    out = np.zeros(np.shape(f), dtype=_ftype(np.asarray(f)))
    for ax, h, gi in zip(axes, spacing, parts, strict=True):
        if _no_flow(gi):
            continue
        m = _gradient_matrix(np.shape(f)[ax], h, edge_order)
        gi = np.moveaxis(np.broadcast_to(gi, np.shape(f)), ax, 0)
        out += np.moveaxis(np.tensordot(m.T, gi, axes=(1, 0)), 0, ax)
    return out


def np_gradient_apply(d, f, s0=None, s1=None, s2=None, s3=None, axis=None, edge_order=1):
    """`np.gradient` of `d` (shaped like f; a zero allowed), with the spacing of the call."""
    axes = _gradient_axes(f, axis)
    spacing = _gradient_spacing(axes, (s0, s1, s2, s3))
    d = np.broadcast_to(d, np.shape(f)).astype(_ftype(np.asarray(d), np.asarray(f)))
    parts = [np.gradient(d, h, axis=ax, edge_order=edge_order)
             for ax, h in zip(axes, spacing, strict=True)]
    return parts[0] if len(axes) == 1 else tuple(parts)


def _interp_segments(x, xp, period):
    if period is not None:
        raise NoRule("np.interp with period= has no derivative rule")
    xp = np.asarray(xp)
    x = np.asarray(x)
    i = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, len(xp) - 2)
    inside = (x >= xp[0]) & (x < xp[-1])
    return i, inside


def interp_slope(x, xp, fp, period=None):
    """d np.interp(x, xp, fp) / dx: the slope of the segment xp[i] <= x < xp[i+1], 0 outside
    [xp[0], xp[-1]) (at a knot the segment to its right; linear in fp)."""
    i, inside = _interp_segments(x, xp, period)
    xp, fp = np.asarray(xp), np.asarray(fp)
    slope = (fp[i + 1] - fp[i]) / (xp[i + 1] - xp[i])
    out = np.where(inside, slope, 0.0)
    return out if np.ndim(out) else out[()]


def interp_slope_back(h, x, xp, fp, period=None):
    """The transpose of `interp_slope(x, xp, fp)` in fp: each h goes to its segment's ends
    with the signs -1 / +1, divided by the segment's length."""
    i, inside = _interp_segments(x, xp, period)
    xp = np.asarray(xp, dtype=float)
    out = np.zeros(np.shape(fp), dtype=_ftype(np.asarray(h)))
    if _no_flow(h):
        return out
    w = np.where(inside, np.broadcast_to(h, np.shape(i)) / (xp[i + 1] - xp[i]), 0.0)
    np.add.at(out, np.ravel(i), -np.ravel(w))
    np.add.at(out, np.ravel(i) + 1, np.ravel(w))
    return out


def _interp_weights(x, xp, left, right, period):
    """(i, w_i, w_i+1): y = w_i fp[i] + w_i+1 fp[i+1] for the fp part of np.interp."""
    i, inside = _interp_segments(x, xp, period)
    xp = np.asarray(xp, dtype=float)
    x = np.asarray(x, dtype=float)
    t = np.where(inside, (x - xp[i]) / (xp[i + 1] - xp[i]), 0.0)
    lo, hi = x < xp[0], x >= xp[-1]
    w0 = np.where(inside, 1.0 - t, 0.0)
    w1 = np.where(inside, t, 0.0)
    w0 = np.where(lo & (left is None), 1.0, w0)              # fp[0] extends to the left
    w1 = np.where(hi & ((right is None) | (x == xp[-1])), 1.0, w1)  # and fp[-1] to the right
    i = np.where(lo, 0, np.where(hi, len(xp) - 2, i))
    return i, w0, w1


def interp_fp_back(g, x, xp, fp, left=None, right=None, period=None):
    """The adjoint of np.interp(x, xp, fp, left, right) with respect to fp (linear in g)."""
    if _no_flow(g):
        return 0.0
    i, w0, w1 = _interp_weights(x, xp, left, right, period)
    g = np.broadcast_to(g, np.shape(x))
    out = np.zeros(np.shape(fp), dtype=_ftype(np.asarray(g)))
    np.add.at(out, np.ravel(i), np.ravel(g * w0))
    np.add.at(out, np.ravel(i) + 1, np.ravel(g * w1))
    return out


def interp_fp_tangent(dfp, x, xp, fp, left=None, right=None, period=None):
    i, w0, w1 = _interp_weights(x, xp, left, right, period)
    dfp = np.broadcast_to(dfp, np.shape(fp))
    out = w0 * dfp[i] + w1 * dfp[i + 1]
    return out if np.ndim(out) else out[()]


def interp_outside(x, xp, side, value, period=None):
    """Where np.interp returns `left` (side 'left': x < xp[0]) or `right` (x > xp[-1]), as
    floats; zero everywhere when that bound is not given."""
    if period is not None:
        raise NoRule("np.interp with period= has no derivative rule")
    x, xp = np.asarray(x), np.asarray(xp)
    mask = x < xp[0] if side == "left" else x > xp[-1]
    out = mask.astype(float) if value is not None else np.zeros(np.shape(x))
    return out if np.ndim(out) else out[()]


def partition_perm(x, out, axis=-1):
    """The permutation `np.partition` applied: out == take_along_axis(x, perm, axis) (found by
    matching the sorted orders of x and out; ties follow the stable order)."""
    if axis is None:
        x, out, axis = np.ravel(x), np.ravel(out), 0
    sx = np.argsort(x, axis=axis, kind="stable")
    so = np.argsort(out, axis=axis, kind="stable")
    perm = np.empty_like(sx)
    np.put_along_axis(perm, so, sx, axis=axis)
    return perm


def partition_back(g, x, out, axis=-1):
    """The adjoint of np.partition: `g` sent back through the permutation it applied."""
    if _no_flow(g):
        return 0.0
    perm = partition_perm(x, out, axis)
    result = np.zeros(np.size(x) if axis is None else np.shape(x), dtype=_ftype(np.asarray(g)))
    np.put_along_axis(result, perm, np.broadcast_to(g, perm.shape), axis=0 if axis is None
                      else axis)
    return result.reshape(np.shape(x))


def partition_tangent(dx, x, out, axis=-1):
    perm = partition_perm(x, out, axis)
    dx = np.broadcast_to(dx, np.shape(x))
    if axis is None:
        return np.ravel(dx)[perm]
    return np.take_along_axis(dx, perm, axis=axis)


def _sorted_order(xs, key, reverse):
    if key is not None:
        raise NoRule("sorted(..., key=...) has no derivative rule: sort the values themselves "
                     "(sorted(xs) or np.sort), or sort indices with np.argsort and index")
    values = [float(np.asarray(v)) for v in xs]
    order = sorted(range(len(values)), key=values.__getitem__, reverse=bool(reverse))
    return order


def _like_sequence(parts, xs):
    if isinstance(xs, np.ndarray):
        return np.array(parts, dtype=_ftype(xs))
    return tuple(parts) if isinstance(xs, tuple) else list(parts)


def sorted_back(g, xs, key=None, reverse=False):
    """The adjoint of the builtin `sorted(xs, reverse=...)`: element k of the sorted list
    goes back to the position it came from (Python's sort is stable)."""
    order = _sorted_order(xs, key, reverse)
    if _no_flow(g):
        return 0.0
    out = [0.0] * len(order)
    for k, i in enumerate(order):
        out[i] = g[k]
    return _like_sequence(out, xs)


def sorted_tangent(t, xs, key=None, reverse=False):
    order = _sorted_order(xs, key, reverse)
    if _no_flow(t):
        return [0.0] * len(order)
    return [t[i] for i in order]


def _selected(condlist):
    """For each condition of np.select, where it is the first true one."""
    taken = None
    out = []
    for cond in condlist:
        cond = np.asarray(cond, dtype=bool)
        out.append(cond if taken is None else cond & ~taken)
        taken = cond if taken is None else taken | cond
    return out, taken


def select_back_choices(g, condlist, choicelist):
    if _no_flow(g):
        return [0.0] * len(choicelist)
    picks, _ = _selected(condlist)
    pieces = [unbroadcast(np.where(p, g, 0).astype(_ftype(g), copy=False), c)
              for p, c in zip(picks, choicelist, strict=True)]
    return _like_container(pieces, choicelist)


def select_back_default(g, condlist, default):
    if _no_flow(g):
        return 0.0
    _, taken = _selected(condlist)
    return unbroadcast(np.where(taken, 0, g).astype(_ftype(g), copy=False), default)


def select_tangent_choices(dchoices, condlist, choicelist, y):
    parts = [np.broadcast_to(d, np.shape(c)) for d, c in zip(dchoices, choicelist, strict=True)]
    return np.select(condlist, parts, 0.0) + _zeros_for(y)


def select_tangent_default(ddefault, condlist, y):
    _, taken = _selected(condlist)
    return np.where(taken, 0, ddefault) + _zeros_for(y)


# ---- constructors -------------------------------------------------------------------------------
def fill_tangent(dfill, y):
    """The tangent of np.full / np.full_like: the fill value's tangent everywhere."""
    if not _floating(np.asarray(y).dtype):
        return np.zeros(np.shape(y), dtype=np.float64)
    return np.broadcast_to(dfill, np.shape(y)).astype(np.asarray(y).dtype)


def fill_back(g, y, fill):
    if _no_flow(g) or not _floating(np.asarray(y).dtype):
        return 0.0
    return unbroadcast(g, fill)


def _linspace_t(y, num, endpoint, axis):
    t = np.linspace(0.0, 1.0, num, endpoint=endpoint, dtype=_ftype(y))
    shape = [1] * np.ndim(y)
    shape[axis] = num
    return t.reshape(shape)


def _no_retstep(retstep):
    if retstep:
        raise NoRule("np.linspace(..., retstep=True) has no derivative rule; compute "
                              "the step from start and stop")


def linspace_back(g, y, x, which, num=50, endpoint=True, retstep=False, axis=0):
    _no_retstep(retstep)
    if _no_flow(g):
        return 0.0
    axis = int(axis) % np.ndim(y)
    t = _linspace_t(y, num, endpoint, axis)
    w = t if which == "stop" else 1 - t
    return unbroadcast(np.sum(g * w, axis=axis), x)


def linspace_tangent(dx, y, which, num=50, endpoint=True, retstep=False, axis=0):
    _no_retstep(retstep)
    axis = int(axis) % np.ndim(y)
    t = _linspace_t(y, num, endpoint, axis)
    w = t if which == "stop" else 1 - t
    return np.broadcast_to(np.expand_dims(dx, axis) * w, np.shape(y)).copy()


# ---- products and linear algebra ----------------------------------------------------------------
def vdot_back(g, other, x):
    if _no_flow(g):
        return 0.0
    return np.reshape(g * np.asarray(other), np.shape(x))


def inner_back_a(g, a, b):
    if _no_flow(g):
        return 0.0
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    na, nb = np.ndim(a), np.ndim(b)
    return np.tensordot(g, b, axes=(tuple(range(na - 1, na - 1 + nb - 1)),
                                    tuple(range(nb - 1))))


def inner_back_b(g, a, b):
    if _no_flow(g):
        return 0.0
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    na = np.ndim(a)
    return np.tensordot(g, a, axes=(tuple(range(na - 1)), tuple(range(na - 1))))


def outer_back_a(g, a, b):
    if _no_flow(g):
        return 0.0
    return np.reshape(np.dot(g, np.ravel(b)), np.shape(a))


def outer_back_b(g, a, b):
    if _no_flow(g):
        return 0.0
    return np.reshape(np.dot(np.ravel(a), g), np.shape(b))


def _tensordot_axes(a, b, axes):
    na, nb = np.ndim(a), np.ndim(b)
    if isinstance(axes, (int, np.integer)):
        return list(range(na - axes, na)), list(range(axes))
    axa, axb = axes
    axa = [axa] if isinstance(axa, (int, np.integer)) else list(axa)
    axb = [axb] if isinstance(axb, (int, np.integer)) else list(axb)
    return [int(i) % na for i in axa], [int(i) % nb for i in axb]


def tensordot_back_a(g, a, b, axes=2):
    if _no_flow(g):
        return 0.0
    axa, axb = _tensordot_axes(a, b, axes)
    free_a = [i for i in range(np.ndim(a)) if i not in axa]
    free_b = [i for i in range(np.ndim(b)) if i not in axb]
    g_axes = list(range(len(free_a), len(free_a) + len(free_b)))
    r = np.tensordot(g, b, axes=(g_axes, free_b))   # free_a, then b's contracted axes in order
    matched = [axa[axb.index(j)] for j in sorted(axb)]
    return np.transpose(r, np.argsort(free_a + matched))


def tensordot_back_b(g, a, b, axes=2):
    if _no_flow(g):
        return 0.0
    axa, axb = _tensordot_axes(a, b, axes)
    free_a = [i for i in range(np.ndim(a)) if i not in axa]
    free_b = [i for i in range(np.ndim(b)) if i not in axb]
    r = np.tensordot(a, g, axes=(free_a, list(range(len(free_a)))))  # a's contracted, free_b
    matched = [axb[axa.index(i)] for i in sorted(axa)]
    return np.transpose(r, np.argsort(matched + free_b))


def kron_back(g, a, b, which):
    if _no_flow(g):
        return 0.0
    a, b = np.asarray(a), np.asarray(b)
    n = max(a.ndim, b.ndim)
    sa = (1,) * (n - a.ndim) + a.shape
    sb = (1,) * (n - b.ndim) + b.shape
    g = np.reshape(g, [v for pair in zip(sa, sb, strict=True) for v in pair])
    letters = "abcdefghijklmnopqrstuvwxyz"
    ia, ib = letters[:n], letters[n:2 * n].upper()
    gi = "".join(p for pair in zip(ia, ib, strict=True) for p in pair)
    if which == "a":
        return np.einsum(f"{gi},{ib}->{ia}", g, b.reshape(sb)).reshape(a.shape)
    return np.einsum(f"{gi},{ia}->{ib}", g, a.reshape(sa)).reshape(b.shape)


def cross_back(g, a, b, which, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The adjoint of np.cross(a, b, axisa, axisb, axisc, axis) for `which` in a, b."""
    if _no_flow(g):
        return 0.0
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = np.moveaxis(np.asarray(a), axisa, -1), np.moveaxis(np.asarray(b), axisb, -1)
    if a.shape[-1] == 3 and b.shape[-1] == 3:
        g = np.moveaxis(np.asarray(g), axisc, -1)
    r = _cross_back_last(g, a, b, which)
    return np.moveaxis(r, -1, axisa if which == "a" else axisb)


def _cross_back_last(g, a, b, which):
    """cross_back for vectors along the last axis of a, b (and of g, for 3-vectors)."""
    if a.shape[-1] == 3 and b.shape[-1] == 3:
        r = np.cross(b, g) if which == "a" else np.cross(g, a)
    else:   # 2-vectors: y = a0 b1 - a1 b0 (a scalar per pair)
        other = b if which == "a" else a
        sign = 1 if which == "a" else -1
        r = sign * np.stack([g * other[..., 1], -g * other[..., 0]], axis=-1)
        if other.shape[-1] == 3 or (a if which == "a" else b).shape[-1] == 3:
            raise NoRule("np.cross of a 2-vector and a 3-vector has no derivative "
                                  "rule")
    return unbroadcast(r, a if which == "a" else b)


def kron_back_a(g, a, b):
    return kron_back(g, a, b, "a")


def kron_back_b(g, a, b):
    return kron_back(g, a, b, "b")


def cross_back_a(g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    return cross_back(g, a, b, "a", axisa, axisb, axisc, axis)


def cross_back_b(g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    return cross_back(g, a, b, "b", axisa, axisb, axisc, axis)


def _full_conv_back(g, a, v, which):
    """Adjoint of the full convolution of a and v, for `which` operand."""
    other = v if which == "a" else a
    return np.correlate(g, other, "valid")


def _conv_window(n, m, mode):
    """(start, length) of np.convolve(mode) inside the full convolution."""
    lo, hi = min(n, m), max(n, m)
    if mode == "full":
        return 0, n + m - 1
    if mode == "same":
        return (lo - 1) // 2, hi
    return lo - 1, hi - lo + 1


def _corr_window(n, m, mode):
    if mode == "full":
        return 0, n + m - 1
    if n >= m:
        return _conv_window(n, m, mode)
    if mode == "same":
        return n - 1 - (n - 1) // 2, m
    return n - 1, m - n + 1


def _embed(g, start, full):
    out = np.zeros(full, dtype=_ftype(g))
    out[start:start + np.size(g)] = g
    return out


def convolve_back(g, a, v, which, mode="full"):
    if _no_flow(g):
        return 0.0
    n, m = np.size(a), np.size(v)
    start, _ = _conv_window(n, m, mode)
    gf = _embed(g, start, n + m - 1)
    return _full_conv_back(gf, np.asarray(a), np.asarray(v), which)


def correlate_back(g, a, v, which, mode="valid"):
    """np.correlate(a, v, mode) is a window of the full convolution of a with v reversed."""
    if _no_flow(g):
        return 0.0
    n, m = np.size(a), np.size(v)
    start, _ = _corr_window(n, m, mode)
    gf = _embed(g, start, n + m - 1)
    a, vr = np.asarray(a), np.asarray(v)[::-1]
    if which == "a":
        return _full_conv_back(gf, a, vr, "a")
    return _full_conv_back(gf, a, vr, "v")[::-1]


def convolve_back_a(g, a, v, mode="full"):
    return convolve_back(g, a, v, "a", mode)


def convolve_back_v(g, a, v, mode="full"):
    return convolve_back(g, a, v, "v", mode)


def correlate_back_a(g, a, v, mode="valid"):
    return correlate_back(g, a, v, "a", mode)


def correlate_back_v(g, a, v, mode="valid"):
    return correlate_back(g, a, v, "v", mode)


def _swap(m):
    return np.swapaxes(m, -1, -2)


def slogdet_tangent(da, a, y):
    return (np.zeros_like(y[0], dtype=_ftype(y[1])),
            np.einsum("...ij,...ji->...", np.linalg.inv(a), da))


def _as_matrix_rhs(a, b):
    """Whether np.linalg.solve(a, b) treats `b` as one vector (stacks of them): exactly when it
    is 1-d in NumPy 2, when it has one dimension less than `a` before."""
    if int(np.__version__.split(".")[0]) >= 2:
        return np.ndim(b) == 1
    return np.ndim(b) == np.ndim(a) - 1




def to_col(g, a, b):
    """`g` (shaped like solve(a, b)) as a stack of matrices: a column for a vector `b`."""
    if _no_flow(g):
        return 0.0
    return np.asarray(g)[..., None] if _as_matrix_rhs(a, b) else g


def from_col(r, a, b):
    """The inverse of `to_col`."""
    if _no_flow(r):
        return 0.0
    return np.asarray(r)[..., 0] if _as_matrix_rhs(a, b) else r


def solve_tangent_a(da, a, b, y):
    if _as_matrix_rhs(a, b):
        return -np.linalg.solve(a, (da @ y[..., None]))[..., 0]
    return -np.linalg.solve(a, da @ y)


def solve_tangent_b(db, a, b, y):
    db = np.broadcast_to(db, np.shape(b))
    if _as_matrix_rhs(a, b):
        return np.linalg.solve(a, db[..., None])[..., 0] + _zeros_for(y)
    return np.linalg.solve(a, db) + _zeros_for(y)


def _phi(m):
    """The lower triangle of `m` with its diagonal halved."""
    out = np.tril(m)
    idx = np.arange(m.shape[-1])
    out[..., idx, idx] *= 0.5
    return out



def phi(m):
    """The lower triangle of `m` with its diagonal halved (linear; 0.0 stays 0.0)."""
    if _no_flow(m):
        return 0.0
    return _phi(np.asarray(m))


def sym_lower(s):
    """tril(s + s^T) with the diagonal of s: the gradient of a function of a symmetric matrix
    that reads only its lower triangle, from the symmetric-case gradient `s`."""
    if _no_flow(s):
        return 0.0
    full = np.tril(s + _swap(s), -1)
    idx = np.arange(np.shape(s)[-1])
    full[..., idx, idx] = s[..., idx, idx]
    return full


def swap_if(m, flag):
    """`m` with its last two axes swapped when `flag` (linear; 0.0 stays 0.0)."""
    if _no_flow(m) or not flag:
        return m
    return _swap(m)


def cholesky_tangent(da, y, upper=False):
    if upper:
        return _swap(cholesky_tangent(_swap(da), _swap(y)))
    lower = y
    sym = np.tril(da) + _swap(np.tril(da, -1))
    linv = np.linalg.inv(lower)
    return lower @ _phi(linv @ sym @ _swap(linv))


# ---- eigh, eigvalsh, svd, qr, lstsq (rules/numpy.py) --------------------------------------------
def uplo_lower(uplo):
    """Whether np.linalg.eigh(a, UPLO) reads the lower triangle."""
    if str(uplo).upper() not in ("L", "U"):
        raise NoRule(f"np.linalg.eigh: UPLO must be 'L' or 'U', not {uplo!r}")
    return str(uplo).upper() == "L"


def sym_from(a, lower=True):
    """The symmetric matrix a function reading one triangle of `a` sees: tril(a) mirrored
    (lower) or triu(a) mirrored (linear; 0.0 stays 0.0)."""
    if _no_flow(a):
        return 0.0
    a = np.asarray(a)
    tri = np.tril(a) if lower else np.triu(a)
    return tri + _swap(np.tril(a, -1) if lower else np.triu(a, 1))


def sym_from_back(g, lower=True):
    """The transpose of `sym_from`: g's off-diagonal pairs summed into the triangle read."""
    if _no_flow(g):
        return 0.0
    g = np.asarray(g)
    both = g + _swap(g)
    out = np.tril(both, -1) if lower else np.triu(both, 1)
    idx = np.arange(g.shape[-1])
    out[..., idx, idx] = g[..., idx, idx]
    return out


def eye_mask(w):
    """The boolean identity matrix for the eigenvalues `w` (shape (..., n))."""
    n = np.shape(w)[-1]
    return np.eye(n, dtype=bool)


def eye_like(w):
    n = np.shape(w)[-1]
    return np.eye(n, dtype=_ftype(np.asarray(w)))


def _gap_inverse(w):
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it."""
    mask = eye_mask(w)
    diff = w[..., None, :] - w[..., :, None]
    return np.where(mask, 0.0, 1.0 / np.where(mask, 1.0, diff))


def eigh_tangent_parts(dsym, w, v, vectors=True):
    """(dw, dv) of the eigenvalues w and eigenvectors v of a symmetric matrix moving by dsym."""
    p = _swap(v) @ dsym @ v
    dw = np.diagonal(p, axis1=-2, axis2=-1).copy()
    if not vectors:
        return dw, None
    return dw, v @ (_gap_inverse(w) * p)


def eigh_tangent(da, a, y, lower=True):
    """The tangent of np.linalg.eigh(a): (d eigenvalues, d eigenvectors)."""
    dsym = sym_from(np.broadcast_to(da, np.shape(a)), lower)
    dw, dv = eigh_tangent_parts(dsym, y[0], y[1])
    return type(y)(dw, dv) if hasattr(y, "_fields") else (dw, dv)


def eigvalsh_tangent(da, a, lower=True):
    dsym = sym_from(np.broadcast_to(da, np.shape(a)), lower)
    w, v = np.linalg.eigh(sym_from(a, lower))
    return eigh_tangent_parts(dsym, w, v, vectors=False)[0]


def first_order_only(name):
    """Stands in for the rule of a helper whose own derivatives sourcediff lacks: raises (so a
    second derivative through `name` is refused at the line that needs it)."""
    raise NoRule(f"{name} has first derivatives only: sourcediff cannot differentiate its "
                 "derivative again (hessian, hvp, jvp or grad of grad)")


class NoTangent:
    """The tangent of an output sourcediff has no forward-mode rule for (the U and Vh of
    np.linalg.svd): harmless while unused; any use raises NoRule with `message`."""

    def __init__(self, message):
        self.message = message

    def _refuse(self, *args, **kwargs):
        raise NoRule(self.message)

    __array__ = __array_ufunc__ = __array_function__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __pow__ = __rpow__ = _refuse
    __neg__ = __pos__ = __abs__ = __getitem__ = __iter__ = __len__ = __float__ = _refuse


def _is_zero_flow(g):
    """A cotangent that is zero: 0.0, or an array of zeros."""
    if _no_flow(g):
        return True
    return isinstance(g, (np.ndarray, np.generic)) and not np.any(g)


_SVD_UV = ("np.linalg.svd: derivatives through U and Vh are not supported (only the singular "
           "values S); use np.linalg.svd(a, compute_uv=False) or the S of the result")


def _thin_svd(a):
    return np.linalg.svd(a, full_matrices=False)


def svd_back(g, a, y, full_matrices=True, compute_uv=True, hermitian=False):
    """The adjoint of np.linalg.svd (and svdvals) with respect to a: U diag(dS) Vh for the
    singular values; U and Vh have no rule."""
    if hermitian:
        raise NoRule("np.linalg.svd(..., hermitian=True) has no derivative rule")
    if compute_uv:
        if _no_flow(g):
            return 0.0
        gu, gs, gv = g
        if not (_is_zero_flow(gu) and _is_zero_flow(gv)):
            raise NoRule(_SVD_UV)
    else:
        gs = g
    if _no_flow(gs):
        return 0.0
    u, _, vh = _thin_svd(a)
    gs = np.broadcast_to(gs, u.shape[:-2] + (u.shape[-1],))
    return (u * gs[..., None, :]) @ vh


def svd_tangent(da, a, y, full_matrices=True, compute_uv=True, hermitian=False):
    if hermitian:
        raise NoRule("np.linalg.svd(..., hermitian=True) has no derivative rule")
    u, _, vh = _thin_svd(a)
    da = np.broadcast_to(da, np.shape(a))
    ds = np.einsum("...ji,...jk,...ik->...i", u, da, vh)
    if not compute_uv:
        return ds
    return type(y)(NoTangent(_SVD_UV), ds, NoTangent(_SVD_UV))


def svdvals_back(g, x):
    return svd_back(g, x, None, False, False)


def svdvals_tangent(dx, x):
    return svd_tangent(dx, x, None, False, False)


def _qr_parts(a, y, mode):
    """(Q, R) of np.linalg.qr(a, mode) for the modes with a derivative rule."""
    a = np.asarray(a)
    m, n = a.shape[-2:]
    if mode not in ("reduced", "complete", "r") or m < n or (mode == "complete" and m != n):
        raise NoRule(f"np.linalg.qr(..., mode={mode!r}) of a {m}x{n} matrix has no derivative "
                     "rule (supported: mode 'reduced' or 'r' with rows >= columns, 'complete' "
                     "of a square matrix)")
    if mode == "r":
        return np.linalg.qr(a)
    return y[0], y[1]


def qr_back(g, a, y, mode="reduced"):
    """The adjoint of np.linalg.qr (rows >= columns): with M = R dR^T - dQ^T Q,
    d[a] = (dQ + Q copyltu(M)) R^-T, copyltu(M) = tril(M) + tril(M, -1)^T."""
    q, r = _qr_parts(a, y, mode)
    if _no_flow(g):
        return 0.0
    gq, gr = (0.0, g) if mode == "r" else g
    gq = _dense(gq, q)
    gr = _dense(gr, r)
    m = r @ _swap(gr) - _swap(gq) @ q
    copyltu = np.tril(m) + _swap(np.tril(m, -1))
    return _swap(np.linalg.solve(r, _swap(gq + q @ copyltu)))


def qr_tangent(da, a, y, mode="reduced"):
    q, r = _qr_parts(a, y, mode)
    da = np.broadcast_to(da, np.shape(a))
    rinv = np.linalg.inv(r)
    x = _swap(q) @ da @ rinv
    low = np.tril(x, -1)
    omega = low - _swap(low)
    dr = (x - omega) @ r
    if mode == "r":
        return dr
    dq = da @ rinv - q @ (x - omega)
    return type(y)(dq, dr) if hasattr(y, "_fields") else (dq, dr)


class SumTuple(tuple):
    """A tuple-valued tangent that forward mode may add to another (one term per argument):
    `+` adds elementwise instead of joining."""

    def __add__(self, other):
        if isinstance(other, _float) and other == 0.0:
            return self
        return SumTuple(a + b for a, b in zip(self, other, strict=True))

    __radd__ = __add__


def _lstsq_parts(a, b, y, need_a):
    a = np.asarray(a, dtype=_ftype(np.asarray(a)))
    m, n = a.shape
    x, res, rank = y[0], y[1], y[2]
    if need_a and (rank < n or m < n):
        raise NoRule(f"np.linalg.lstsq: the derivative with respect to a needs a full column "
                     f"rank matrix (rows >= columns), but a is {m}x{n} of rank {rank}")
    return a, np.asarray(x), res


def _lstsq_cols(v, b):
    return v[:, None] if np.ndim(b) == 1 else v


def lstsq_back(g, a, b, y, rcond=None, which="a"):
    """The adjoint of np.linalg.lstsq(a, b) = (x, residuals, rank, s) with respect to a or
    b: x = pinv(a) b; residuals = |a x - b|^2 per column; s the singular values of a."""
    if _no_flow(g):
        return 0.0
    a, x, res = _lstsq_parts(a, b, y, which == "a")
    gx, gres, _, gs = g
    xc, bc = _lstsq_cols(x, b), _lstsq_cols(np.asarray(b, dtype=a.dtype), b)
    r = a @ xc - bc
    out = np.zeros(a.shape if which == "a" else bc.shape, dtype=_ftype(a, np.asarray(b)))
    if not _no_flow(gx):
        gxc = _lstsq_cols(np.broadcast_to(gx, np.shape(x)), b)
        if which == "a":
            z = np.linalg.solve(_swap(a) @ a, gxc)
            out -= r @ _swap(z) + (a @ z) @ _swap(xc)
        else:
            out += _swap(np.linalg.pinv(a)) @ gxc
    if not _no_flow(gres) and np.size(res):
        gres = np.broadcast_to(gres, np.shape(res))
        out += 2.0 * (r * gres) @ _swap(xc) if which == "a" else -2.0 * r * gres
    if which == "a" and not _no_flow(gs):
        u, _, vh = _thin_svd(a)
        out += (u * np.broadcast_to(gs, (u.shape[-1],))) @ vh
    return out if which == "a" or np.ndim(b) == 2 else out[:, 0]


def lstsq_tangent(d, a, b, y, rcond=None, which="a"):
    a_, x, res = _lstsq_parts(a, b, y, which == "a")
    xc, bc = _lstsq_cols(x, b), _lstsq_cols(np.asarray(b, dtype=a_.dtype), b)
    r = a_ @ xc - bc
    if which == "a":
        da = np.broadcast_to(d, a_.shape)
        dxc = np.linalg.solve(_swap(a_) @ a_, -_swap(da) @ r - _swap(a_) @ (da @ xc))
        dres = 2.0 * np.sum(r * (da @ xc), axis=0)
        u, _, vh = _thin_svd(a_)
        ds = np.einsum("ji,jk,ik->i", u, da, vh)
    else:
        dbc = _lstsq_cols(np.broadcast_to(d, np.shape(b)), b)
        dxc = np.linalg.pinv(a_) @ dbc
        dres = -2.0 * np.sum(r * dbc, axis=0)
        ds = np.zeros(np.shape(y[3]), dtype=a_.dtype)
    dx = dxc[:, 0] if np.ndim(b) == 1 else dxc
    dres = dres if np.size(res) else np.zeros(np.shape(res), dtype=a_.dtype)
    return SumTuple((dx, np.reshape(dres, np.shape(res)), 0.0, ds))


def matrix_power_back(g, a, n):
    if _no_flow(g):
        return 0.0
    n = int(n)
    if n == 0:
        return 0.0
    if n < 0:
        b = np.linalg.inv(a)
        gb = matrix_power_back(g, b, -n)
        return -_swap(b) @ gb @ _swap(b)
    powers = [np.broadcast_to(np.eye(np.shape(a)[-1], dtype=_ftype(np.asarray(a))),
                              np.shape(a))]
    for _ in range(n - 1):
        powers.append(powers[-1] @ a)
    return sum(_swap(powers[k]) @ g @ _swap(powers[n - 1 - k]) for k in range(n))


def matrix_power_tangent(da, a, n):
    n = int(n)
    if n == 0:
        return np.zeros(np.shape(a), dtype=_ftype(np.asarray(a)))
    if n < 0:
        b = np.linalg.inv(a)
        return matrix_power_tangent(-b @ da @ b, b, -n)
    powers = [np.broadcast_to(np.eye(np.shape(a)[-1], dtype=_ftype(np.asarray(a))),
                              np.shape(a))]
    for _ in range(n - 1):
        powers.append(powers[-1] @ a)
    return sum(powers[k] @ da @ powers[n - 1 - k] for k in range(n))


def _chain(arrays):
    mats = [np.asarray(m) for m in arrays]
    first_vec, last_vec = mats[0].ndim == 1, mats[-1].ndim == 1
    if first_vec:
        mats[0] = mats[0][None, :]
    if last_vec:
        mats[-1] = mats[-1][:, None]
    return mats, first_vec, last_vec


def multi_dot_back(g, arrays):
    if _no_flow(g):
        return _like_container([0.0] * len(arrays), arrays)
    mats, first_vec, last_vec = _chain(arrays)
    g = np.reshape(g, (mats[0].shape[0], mats[-1].shape[1]))
    left = [None] * len(mats)
    right = [None] * len(mats)
    acc = None
    for i, m in enumerate(mats):
        left[i] = acc
        acc = m if acc is None else acc @ m
    acc = None
    for i in reversed(range(len(mats))):
        right[i] = acc
        acc = mats[i] if acc is None else mats[i] @ acc
    pieces = []
    for i in range(len(mats)):
        gi = g
        if left[i] is not None:
            gi = left[i].T @ gi
        if right[i] is not None:
            gi = gi @ right[i].T
        pieces.append(np.reshape(gi, np.shape(arrays[i])))
    return _like_container(pieces, arrays)


def multi_dot_tangent(darrays, arrays):
    terms = []
    for i, d in enumerate(darrays):
        if _no_flow(d):
            continue
        parts = list(arrays)
        parts[i] = np.broadcast_to(d, np.shape(arrays[i]))
        terms.append(np.linalg.multi_dot(parts))
    if not terms:
        return np.zeros(np.shape(np.linalg.multi_dot(list(arrays))))
    return sum(terms[1:], terms[0])


def trace_back(g, x, offset=0, axis1=0, axis2=1):
    if _no_flow(g):
        return 0.0
    shape = np.shape(x)
    n1, n2 = shape[axis1], shape[axis2]
    eye = np.eye(n1, n2, k=offset, dtype=_ftype(g, np.asarray(x)))
    full = np.asarray(g)[..., None, None] * eye
    return np.moveaxis(full, (-2, -1), (axis1 % len(shape), axis2 % len(shape)))


def diagonal_back(g, x, offset=0, axis1=0, axis2=1):
    if _no_flow(g):
        return 0.0
    shape = np.shape(x)
    a1, a2 = axis1 % len(shape), axis2 % len(shape)
    rest = [n for i, n in enumerate(shape) if i not in (a1, a2)]
    out = np.zeros(rest + [shape[a1], shape[a2]], dtype=_ftype(g))
    k = np.shape(g)[-1]
    rows = np.arange(k) + max(0, -offset)
    cols = np.arange(k) + max(0, offset)
    out[..., rows, cols] = g
    return np.moveaxis(out, (-2, -1), (a1, a2))


def diag_back(g, v, k=0):
    if _no_flow(g):
        return 0.0
    if np.ndim(v) == 1:
        return np.diagonal(g, k).copy()
    return diagonal_back(g, v, k)


def linalg_trace_back(g, x, offset=0):
    return trace_back(g, x, offset, -2, -1)


def linalg_diagonal_back(g, x, offset=0):
    return diagonal_back(g, x, offset, -2, -1)


def vecdot_back(g, other, x, axis=-1):
    if _no_flow(g):
        return 0.0
    return unbroadcast(np.expand_dims(g, axis) * np.asarray(other), x)


# ---- norms --------------------------------------------------------------------------------------
def _norm_plan(x, ord, axis):
    """('vector' | 'matrix', reduced axes) the way np.linalg.norm decides."""
    nd = np.ndim(x)
    if axis is None:
        if ord is None or (ord in ("f", "fro") and nd == 2) or (ord == 2 and nd == 1):
            return "fro", tuple(range(nd))
        axis = tuple(range(nd))
    elif isinstance(axis, (int, np.integer)):
        axis = (axis,)
    axis = tuple(int(a) % nd for a in axis)
    if len(axis) == 1:
        return "vector", axis
    return "matrix", axis


def _safe_div(num, den):
    safe = np.where(den == 0, 1, den)
    return np.where(den == 0, 0, num / safe)


def _vector_weights(x, y, ord, axes):
    ftype = _ftype(x)
    if ord is None or ord == 2:
        w = _safe_div(x, y)
    elif ord == np.inf or ord == -np.inf:
        w = np.sign(x) * _tied(np.abs(x) == y, axes, ftype)
    elif ord == 0:
        w = np.zeros(np.shape(x))
    elif ord == 1:
        w = np.sign(x)
    else:
        ax = np.abs(x)
        w = np.sign(x) * _safe_div(ax ** (ord - 1), y ** (ord - 1))
    return np.asarray(w).astype(ftype, copy=False)


def _matrix_weights(x, y, ord, axes):
    row, col = axes
    ftype = _ftype(x)
    if ord in ("fro", "f", None):
        return _safe_div(x, y).astype(ftype, copy=False)
    if ord in (1, -1, np.inf, -np.inf):
        sums_over, pick_over = (row, col) if ord in (1, -1) else (col, row)
        sums = np.sum(np.abs(x), axis=sums_over, keepdims=True)
        return (np.sign(x) * _tied(sums == y, (pick_over,), ftype)).astype(ftype, copy=False)
    if ord in (2, -2, "nuc"):
        xm = np.moveaxis(x, (row, col), (-2, -1))
        u, s, vt = np.linalg.svd(xm, full_matrices=False)
        if ord == "nuc":
            w = u @ vt
        else:
            k = 0 if ord == 2 else -1
            w = u[..., :, k, None] * vt[..., k, None, :]
        return np.moveaxis(w, (-2, -1), (row, col)).astype(ftype, copy=False)
    raise NoRule(f"np.linalg.norm(ord={ord!r}) has no derivative rule")


def _norm_weights(x, y, axes, ord, kind):
    if kind == "matrix":
        return _matrix_weights(x, y, ord, axes)
    if kind == "fro":
        return _safe_div(x, y).astype(_ftype(x), copy=False)
    return _vector_weights(x, y, ord, axes)


def norm_back(g, x, y, ord=None, axis=None, keepdims=False):
    if _no_flow(g):
        return 0.0
    x = np.asarray(x, dtype=_ftype(np.asarray(x)))
    kind, axes = _norm_plan(x, ord, axis)
    ye = _unreduce(y, x, axes, keepdims)
    return _unreduce(g, x, axes, keepdims) * _norm_weights(x, ye, axes, ord, kind)


def norm_tangent(dx, x, y, ord=None, axis=None, keepdims=False):
    x = np.asarray(x, dtype=_ftype(np.asarray(x)))
    kind, axes = _norm_plan(x, ord, axis)
    ye = _unreduce(y, x, axes, keepdims)
    w = _norm_weights(x, ye, axes, ord, kind)
    out = np.sum(w * dx, axis=axes, keepdims=bool(keepdims))
    return out if np.ndim(out) else out[()]


def _norm_weight_derivatives(x, y, ord, axes, kind):
    """(dW/dx applied elementwise, dW/dy) for the smooth norms, W = the weights above; zeros
    for the norms whose weights are piecewise constant."""
    if kind == "fro" or (kind == "matrix" and ord in ("fro", "f", None)) or (
            kind == "vector" and ord in (None, 2)):
        safe = np.where(y == 0, np.inf, y)
        return 1.0 / safe, -x / (safe * safe)
    if kind == "vector" and ord not in (0, 1, np.inf, -np.inf):
        safe = np.where(y == 0, np.inf, y)
        ax = np.abs(x)
        return ((ord - 1) * ax ** (ord - 2) / safe ** (ord - 1),
                -(ord - 1) * np.sign(x) * ax ** (ord - 1) / safe ** ord)
    if kind == "matrix" and ord in (2, -2, "nuc"):
        raise NoRule(f"second derivatives of np.linalg.norm(ord={ord!r}) (a singular "
                              "value norm) have no rule")
    return 0.0, 0.0


def _norm_back_along(g, x, y, d, ord, kind, axes, keepdims, which):
    if _no_flow(g) or _no_flow(d):
        return 0.0
    wx, wy = _norm_weight_derivatives(x, _unreduce(y, x, axes, keepdims), ord, axes, kind)
    if which == "x":
        return _unreduce(g, x, axes, keepdims) * wx * d
    return _unreduce(g, x, axes, keepdims) * wy * _unreduce(d, x, axes, keepdims)


def norm_back_along(g, x, y, d, which, ord=None, axis=None, keepdims=False):
    """The derivative of `norm_back(g, x, y, ...)` along the tangent `d` of x (which='x',
    y held fixed) or of y (which='y')."""
    x = np.asarray(x, dtype=_ftype(np.asarray(x)))
    kind, axes = _norm_plan(x, ord, axis)
    return _norm_back_along(g, x, y, d, ord, kind, axes, keepdims, which)


def vector_norm_back_along(g, x, y, d, which, axis=None, keepdims=False, ord=2):
    x = np.asarray(x, dtype=_ftype(np.asarray(x)))
    return _norm_back_along(g, x, y, d, ord, "vector", _axis_tuple(axis, x.ndim), keepdims,
                            which)


def matrix_norm_back_along(g, x, y, d, which, keepdims=False, ord="fro"):
    nd = np.ndim(x)
    return norm_back_along(g, x, y, d, which, ord, (nd - 2, nd - 1), keepdims)


def vector_norm_back(g, x, y, axis=None, keepdims=False, ord=2):
    if _no_flow(g):
        return 0.0
    x = np.asarray(x, dtype=_ftype(np.asarray(x)))
    axes = _axis_tuple(axis, x.ndim)
    ye = _unreduce(y, x, axes, keepdims)
    return _unreduce(g, x, axes, keepdims) * _vector_weights(x, ye, ord, axes)


def vector_norm_tangent(dx, x, y, axis=None, keepdims=False, ord=2):
    x = np.asarray(x, dtype=_ftype(np.asarray(x)))
    axes = _axis_tuple(axis, x.ndim)
    w = _vector_weights(x, _unreduce(y, x, axes, keepdims), ord, axes)
    out = np.sum(w * dx, axis=axes, keepdims=bool(keepdims))
    return out if np.ndim(out) else out[()]


def matrix_norm_back(g, x, y, keepdims=False, ord="fro"):
    nd = np.ndim(x)
    return norm_back(g, x, y, ord, (nd - 2, nd - 1), keepdims)


def matrix_norm_tangent(dx, x, y, keepdims=False, ord="fro"):
    nd = np.ndim(x)
    return norm_tangent(dx, x, y, ord, (nd - 2, nd - 1), keepdims)


# ---- einsum -------------------------------------------------------------------------------------
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_operands(subscripts, optimize, operands):
    if not isinstance(subscripts, str):
        raise NoRule("np.einsum has a derivative rule only for the subscripts-string "
                              "form, np.einsum('ij,jk->ik', a, b)")
    if not isinstance(optimize, (bool, str, list, tuple)):
        raise NoRule("np.einsum with more than 8 operands has no derivative rule")
    ops = list(operands)
    while ops and ops[-1] is None:
        ops.pop()
    return ops


def _einsum_parse(subscripts, ops):
    """Input subscripts and the output subscript, with `...` spelled out as letters."""
    subs = subscripts.replace(" ", "")
    ins, _, out = subs.partition("->")
    explicit = "->" in subs
    ins = ins.split(",")
    used = set(subs) - set(".,->")
    free = [c for c in _LETTERS if c not in used]
    widths = [np.ndim(op) - len(s.replace("...", "")) for s, op in zip(ins, ops, strict=True)
              if "..." in s]
    width = max(widths, default=0)
    ell = "".join(free[:width])
    spelled = []
    for s, op in zip(ins, ops, strict=True):
        if "..." in s:
            k = np.ndim(op) - len(s.replace("...", ""))
            s = s.replace("...", ell[width - k:])
        spelled.append(s)
    if explicit:
        out = out.replace("...", ell)
    else:
        letters = "".join(spelled)
        out = ell + "".join(sorted(c for c in set(letters) - set(ell)
                                   if letters.count(c) == 1))
    return spelled, out


def einsum_back(g, k, subscripts, optimize, *operands):
    ops = _einsum_operands(subscripts, optimize, operands)
    if _no_flow(g):
        return 0.0
    ins, out = _einsum_parse(subscripts, ops)
    target, x = ins[k], np.asarray(ops[k])
    others = [(s, op) for j, (s, op) in enumerate(zip(ins, ops, strict=True)) if j != k]
    uniq = "".join(dict.fromkeys(target))
    have = set(out).union(*[set(s) for s, _ in others])
    present = "".join(c for c in uniq if c in have)
    expr = ",".join([out] + [s for s, _ in others]) + "->" + present
    r = np.einsum(expr, g, *[op for _, op in others], optimize=optimize)
    # letters only `x` has: its derivative is constant along them
    sizes = {c: x.shape[target.index(c)] for c in uniq}
    r = np.expand_dims(r, tuple(i for i, c in enumerate(uniq) if c not in have))
    # sum over the axes that broadcasting stretched (size 1 in x)
    stretched = tuple(i for i, c in enumerate(uniq) if sizes[c] == 1 and r.shape[i] != 1)
    if stretched:
        r = np.sum(r, axis=stretched, keepdims=True)
    r = np.broadcast_to(r, tuple(sizes[c] for c in uniq))
    if len(uniq) == len(target):
        return np.array(r, dtype=_ftype(r, x))
    full = np.zeros(x.shape, dtype=_ftype(r, x))
    np.einsum(target + "->" + uniq, full)[...] = r     # a writable view of the diagonal
    return full


def einsum_back_along(g, k, subscripts, optimize, j, dj, *operands):
    """The derivative of `einsum_back(g, k, ...)` along operand j's tangent `dj`: the adjoint
    is linear in every operand but the k-th (whose shape alone it reads)."""
    if j == k or _no_flow(dj):
        return 0.0
    ops = list(operands)
    ops[j] = np.broadcast_to(dj, np.shape(ops[j]))
    return einsum_back(g, k, subscripts, optimize, *ops)


def einsum_tangent(k, dk, subscripts, optimize, *operands):
    ops = _einsum_operands(subscripts, optimize, operands)
    ops[k] = np.broadcast_to(dk, np.shape(ops[k]))
    return np.einsum(subscripts, *ops, optimize=optimize)


# ---- second derivatives of np.prod --------------------------------------------------------------
def prod_others(x, axis=None):
    """For each element of `x`, the product of the other elements of its slice along `axis`
    (np.prod's partial derivatives, exact where `x` has zeros)."""
    x = np.asarray(x)
    return _prod_others(x, _axis_tuple(axis, x.ndim))


def prod_others_tangent(dx, x, axis=None):
    """The tangent of `prod_others(x, axis)`: each product of others, differentiated, is the
    sum over the other elements k of dx_k times the product of the rest (one pass per k)."""
    x = np.asarray(x, dtype=_ftype(x))
    out = np.zeros(x.shape, dtype=_ftype(x, dx))
    if _no_flow(dx) or x.ndim == 0:
        return out
    axes = _axis_tuple(axis, x.ndim)
    dx = np.broadcast_to(dx, x.shape)
    rest = [i for i in range(x.ndim) if i not in axes]
    order = rest + list(axes)
    xt, dt = np.transpose(x, order), np.transpose(dx, order)
    shape = xt.shape
    flat = xt.reshape(shape[:len(rest)] + (-1,))
    dflat = dt.reshape(flat.shape)
    total = np.zeros(flat.shape, dtype=out.dtype)
    for k in range(flat.shape[-1]):
        without = flat.copy()
        without[..., k] = 1.0
        part = _prod_others(without, (without.ndim - 1,)) * dflat[..., k:k + 1]
        part[..., k] = 0.0
        total += part
    return np.transpose(total.reshape(shape), np.argsort(order))
