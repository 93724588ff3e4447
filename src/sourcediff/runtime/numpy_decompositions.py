"""Helpers for the NumPy rule table (rules/numpy.py): the adjoints and tangents of eigh,
eigvalsh, svd, qr and lstsq. Conventions as in `numpy_helpers`.
"""

from __future__ import annotations

import numpy as np

from .core import NoRule, _float, unbroadcast
from .numpy_helpers import _dense, _ftype, _no_flow
from .numpy_linalg import _swap
from .numpy_shapes import _like_container


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
