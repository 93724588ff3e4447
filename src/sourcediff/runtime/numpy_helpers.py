"""Helpers for the NumPy rule table (rules/numpy.py): the adjoints and tangents too long to
write inline in a template. Generated code calls them as `_sd.<name>`; they depend only on
numpy, math and the runtime core.

This module holds the conventions below, the small private helpers the others share, and the
reductions and cumulative operations; `numpy_shapes`, `numpy_selection`, `numpy_linalg` and
`numpy_decompositions` hold the rest, each importing only from here and from one another.
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

    adjoint.__name__ = adjoint.__qualname__ = f"{name}_back"
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


max_back, max_tangent = _reduce_pair(_extremum_weights, "max")
nanmax_back, nanmax_tangent = _reduce_pair(_nanextremum_weights, "nanmax")


def _ptp_weights(x, y, axes):
    hi = _tied(x == np.max(x, axis=axes, keepdims=True), axes, _ftype(x))
    lo = _tied(x == np.min(x, axis=axes, keepdims=True), axes, _ftype(x))
    return hi - lo


ptp_back, ptp_tangent = _reduce_pair(_ptp_weights, "ptp")


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


prod_back, prod_tangent = _reduce_pair(_prod_weights, "prod")
nanprod_back, nanprod_tangent = _reduce_pair(_nanprod_weights, "nanprod")


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


median_back, median_tangent = _reduce_pair(_median_weights, "median")


def nansum_back(g, x, axis=None, keepdims=False):
    if _no_flow(g):
        return 0.0
    return np.where(np.isnan(x), 0, _unreduce(g, x, axis, keepdims)).astype(_ftype(g, x))


def nansum_tangent(dx, x, axis=None, keepdims=False):
    return np.sum(np.where(np.isnan(x), 0, dx), axis=axis, keepdims=bool(keepdims))


def nanmean_back(g, x, axis=None, keepdims=False):
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


def average_back_a(g, a, y, axis=None, weights=None, returned=False, keepdims=False):
    _no_returned(returned)
    if _no_flow(g):
        return 0.0
    w, total = average_weights(a, axis, weights)
    return _unreduce(g, a, axis, keepdims) * (w / total)


def average_back_weights(g, a, y, axis=None, weights=None, returned=False, keepdims=False):
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


def cumsum_back(g, x, axis=None):
    if _no_flow(g):
        return 0.0
    if axis is None:
        return np.reshape(_rev_cumsum(np.ravel(g), 0), np.shape(x))
    return _rev_cumsum(g, axis)


def cumulative_sum_back(g, x, axis=None, include_initial=False):
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


def cumprod_back(g, x, y, axis=None):
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


def _cumprod_back_parts(g, x, y, t, axis, wrt):
    """The tangent of cumprod_back(g, x, y, axis) along the tangent `t` of x (wrt="x") or
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


def cumprod_back_dx(g, x, y, dx, axis=None):
    """The tangent of `cumprod_back(g, x, y, axis)` along the tangent `dx` of `x`."""
    if _no_flow(g) or _no_flow(dx):
        return 0.0
    return _cumprod_back_parts(g, x, y, dx, axis, "x")


def cumprod_back_dy(g, x, y, dy, axis=None):
    """The tangent of `cumprod_back(g, x, y, axis)` along the tangent `dy` of `y`."""
    if _no_flow(g) or _no_flow(dy):
        return 0.0
    return _cumprod_back_parts(g, x, y, dy, axis, "y")


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


def diff_back(g, x, n=1, axis=-1):
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


def trapezoid_back_f(g, f, x=None, dx=1.0, axis=-1):
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


def trapezoid_back_x(g, f, x, axis=-1):
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
