"""Helpers for the NumPy rule table (rules/numpy.py): products and linear algebra (dot, matmul,
tensordot, inverses, solves, determinants, Cholesky), norms and einsum. Conventions as in
`numpy_helpers`.
"""

from __future__ import annotations

import numpy as np

from .core import NoRule, unbroadcast, zero_wins_linear
from .numpy_helpers import _axis_tuple, _ftype, _no_flow, _tied, _unreduce, _zeros_for


# ---- products and linear algebra ----------------------------------------------------------------
# the products' adjoints, linear in g: an exact zero wins over an infinite g
def vdot_back(g, other, x):
    return zero_wins_linear(_vdot_back, g, other, x)


def inner_back_a(g, a, b):
    return zero_wins_linear(_inner_back_a, g, a, b)


def inner_back_b(g, a, b):
    return zero_wins_linear(_inner_back_b, g, a, b)


def outer_back_a(g, a, b):
    return zero_wins_linear(_outer_back_a, g, a, b)


def outer_back_b(g, a, b):
    return zero_wins_linear(_outer_back_b, g, a, b)


def tensordot_back_a(g, a, b, axes=2):
    return zero_wins_linear(_tensordot_back_a, g, a, b, axes)


def tensordot_back_b(g, a, b, axes=2):
    return zero_wins_linear(_tensordot_back_b, g, a, b, axes)


def _vdot_back(g, other, x):
    if _no_flow(g):
        return 0.0
    return np.reshape(g * np.asarray(other), np.shape(x))


def _inner_back_a(g, a, b):
    if _no_flow(g):
        return 0.0
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    na, nb = np.ndim(a), np.ndim(b)
    return np.tensordot(g, b, axes=(tuple(range(na - 1, na - 1 + nb - 1)),
                                    tuple(range(nb - 1))))


def _inner_back_b(g, a, b):
    if _no_flow(g):
        return 0.0
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    na = np.ndim(a)
    return np.tensordot(g, a, axes=(tuple(range(na - 1)), tuple(range(na - 1))))


def _outer_back_a(g, a, b):
    if _no_flow(g):
        return 0.0
    return np.reshape(np.dot(g, np.ravel(b)), np.shape(a))


def _outer_back_b(g, a, b):
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


def _tensordot_plan(a, b, axes):
    """(a's contracted axes, b's, a's free axes, b's)."""
    axa, axb = _tensordot_axes(a, b, axes)
    free_a = [i for i in range(np.ndim(a)) if i not in axa]
    free_b = [i for i in range(np.ndim(b)) if i not in axb]
    return axa, axb, free_a, free_b


def _tensordot_back_a(g, a, b, axes=2):
    if _no_flow(g):
        return 0.0
    axa, axb, free_a, free_b = _tensordot_plan(a, b, axes)
    g_axes = list(range(len(free_a), len(free_a) + len(free_b)))
    r = np.tensordot(g, b, axes=(g_axes, free_b))   # free_a, then b's contracted axes in order
    matched = [axa[axb.index(j)] for j in sorted(axb)]
    return np.transpose(r, np.argsort(free_a + matched))


def _tensordot_back_b(g, a, b, axes=2):
    if _no_flow(g):
        return 0.0
    axa, axb, free_a, free_b = _tensordot_plan(a, b, axes)
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
