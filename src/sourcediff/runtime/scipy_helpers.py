"""Helpers for the SciPy rule table (rules/scipy.py): what its templates call as `_sd.<name>`.

Imported by the runtime only when SciPy imports; depends only on numpy, math, scipy and the
runtime core. Besides its own helpers it makes a few SciPy functions available to templates
(`_sd.digamma`, `_sd.cho_solve`, ...): they are SciPy's own objects, so a derivative of
generated code that calls them uses their rules (second derivatives).

Conventions as in numpy_helpers: an adjoint `g` may be the float 0.0 (nothing flowed into it);
linear helpers return 0.0 for it.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.special

from .core import NoRule, _is_zero

__all__ = [
    "expit", "digamma", "polygamma", "cho_solve", "solve_triangular",
    "or_one", "or_zero", "lse_like",
    "mvn_dim", "mvn_cov", "mvn_cov_back",
    "dirichlet_x", "dirichlet_dx", "dirichlet_dx_back", "dirichlet_ashape",
    "dirichlet_point_axes",
    "solve_matrix", "solve_matrix_back",
    "tri_factor", "tri_factor_back", "other_part", "not_flag", "cho_factor_tangent",
    "cho_pair",
    "flip_trans", "tri_op_linear", "tri_op_back",
    "expm_frechet", "expm_frechet2",
    "eigh_input", "eigh_signs", "eigh_part", "eigh_unpart", "scipy_eigh_tangent",
]

# SciPy functions the templates call (their rules are in rules/scipy.py)
expit = scipy.special.expit
digamma = scipy.special.digamma
polygamma = scipy.special.polygamma
cho_solve = scipy.linalg.cho_solve
solve_triangular = scipy.linalg.solve_triangular


def _swap(m):
    return np.swapaxes(m, -1, -2)


def _zero(g):
    """Whether `g` is the zero 0.0 (or a 0-d zero made of it)."""
    if _is_zero(g):
        return True
    return isinstance(g, (np.ndarray, np.generic)) and np.ndim(g) == 0 and not g


# ---- optional arguments
def or_one(b):
    """`b`, or 1.0 when it is None (logsumexp's weights); the identity where it matters."""
    return 1.0 if b is None else b


def or_zero(mean):
    """`mean`, or 0.0 when it is None (multivariate_normal's mean)."""
    return 0.0 if mean is None else mean


def lse_like(a, b):
    """A zero array of the shape logsumexp(a, b=b) reduces."""
    shape = np.shape(a) if b is None else np.broadcast_shapes(np.shape(a), np.shape(b))
    return np.broadcast_to(0.0, shape)


# ---- multivariate_normal: scipy's own reading of mean and cov
def mvn_dim(x, mean, cov):
    """The dimension multivariate_normal infers: from mean, else from cov, else 1."""
    if mean is not None:
        return int(np.size(mean))
    if cov is not None and np.ndim(cov) >= 2:
        return int(np.shape(cov)[0])
    return 1


def mvn_cov(cov, dim):
    """The covariance matrix multivariate_normal uses: c * I for a number, diag(c) for a
    vector, and for a matrix the symmetric matrix of its lower triangle (scipy reads only that
    triangle). Linear in cov (a zero gives a zero matrix)."""
    if _zero(cov):
        return np.zeros((dim, dim))
    cov = np.asarray(cov)
    if cov.dtype.kind not in "biuf":
        raise NoRule("multivariate_normal: the derivative rule needs cov as an array (not a "
                     "scipy.stats.Covariance object)")
    if cov.ndim == 0:
        return cov * np.eye(dim)
    if cov.ndim == 1:
        return np.diag(cov)
    if cov.ndim != 2:
        raise NoRule("multivariate_normal: cov must be a number, a vector or a matrix")
    return np.tril(cov) + _swap(np.tril(cov, -1))


def mvn_cov_back(g, cov, dim):
    """The transpose of `mvn_cov`: the gradient with respect to cov as scipy reads it."""
    if _zero(g):
        return 0.0
    g = np.asarray(g)
    ndim = np.ndim(cov)
    if ndim == 0:
        return np.trace(g)
    if ndim == 1:
        return np.diagonal(g).copy()
    out = np.tril(g + _swap(g), -1)
    idx = np.arange(g.shape[-1])
    out[idx, idx] = g[idx, idx]
    return out


# ---- dirichlet: x with K entries, or K - 1 (the last one is 1 - their sum), along axis 0
def _dirichlet_short(x, alpha):
    return np.shape(x)[0] + 1 == np.shape(alpha)[0]


def dirichlet_x(x, alpha):
    """The full point(s) dirichlet.logpdf evaluates (affine in x)."""
    x = np.asarray(x)
    if _dirichlet_short(x, alpha):
        return np.concatenate([x, 1.0 - np.sum(x, axis=0, keepdims=True)], axis=0)
    return x


def dirichlet_dx(t, x, alpha):
    """The tangent of `dirichlet_x` (linear in t)."""
    if _zero(t):
        return 0.0
    t = np.broadcast_to(t, np.shape(x))
    if _dirichlet_short(x, alpha):
        return np.concatenate([t, -np.sum(t, axis=0, keepdims=True)], axis=0)
    return t


def dirichlet_dx_back(g, x, alpha):
    """The transpose of `dirichlet_dx`."""
    if _zero(g):
        return 0.0
    g = np.broadcast_to(g, (np.shape(alpha)[0],) + np.shape(x)[1:])
    if _dirichlet_short(x, alpha):
        return g[:-1] - g[-1:]
    return np.array(g)


def dirichlet_ashape(alpha, x):
    """alpha's shape with an axis of length 1 for each axis of x after the first."""
    return (np.shape(alpha)[0],) + (1,) * (np.ndim(x) - 1)


def dirichlet_point_axes(x):
    return tuple(range(1, np.ndim(x)))


# ---- scipy.linalg.solve: the matrix its assume_a reads
_GENERAL = (None, "gen", "general")
_SYMMETRIC = ("sym", "symmetric", "her", "hermitian", "pos", "positive definite")


def _symmetric(assume_a):
    if assume_a in _GENERAL:
        return False
    if assume_a in _SYMMETRIC:
        return True
    raise NoRule(f"scipy.linalg.solve(..., assume_a={assume_a!r}) has no derivative rule "
                 "(supported: general, and the symmetric kinds 'sym', 'her', 'pos')")


def solve_matrix(a, b, lower=False, assume_a=None, transposed=False):
    """The matrix M that scipy.linalg.solve(a, b, ...) solves M x = b with: `a`, or for the
    symmetric kinds of assume_a the symmetric matrix of the triangle it reads; transposed for
    transposed=True. Linear in a; 0.0 stays 0.0."""
    symmetric = _symmetric(assume_a)
    if np.ndim(b) > 2:
        raise NoRule("scipy.linalg.solve: the derivative rule needs b with 1 or 2 dimensions")
    if _zero(a):
        return 0.0
    a = np.asarray(a)
    if a.ndim != 2:
        raise NoRule("scipy.linalg.solve: the derivative rule needs a 2-d matrix a")
    if symmetric:
        a = np.tril(a) + _swap(np.tril(a, -1)) if lower else np.triu(a) + _swap(np.triu(a, 1))
    return _swap(a) if transposed else a


def solve_matrix_back(g, a, lower=False, assume_a=None, transposed=False):
    """The transpose of `solve_matrix` in a."""
    if _zero(g):
        return 0.0
    symmetric = _symmetric(assume_a)
    g = np.asarray(g)
    if transposed:
        g = _swap(g)
    if not symmetric:
        return g
    both = g + _swap(g)
    out = np.tril(both, -1) if lower else np.triu(both, 1)
    idx = np.arange(g.shape[-1])
    out[idx, idx] = g[idx, idx]
    return out


# ---- cho_factor / cho_solve: c holds the factor in one triangle and a's entries in the other
def tri_factor(c, lower):
    """The lower-triangular factor L (c = L or L^T in its triangle) of a cho_factor result
    (linear in c; 0.0 stays 0.0)."""
    if _zero(c):
        return 0.0
    c = np.asarray(c)
    return np.tril(c) if lower else _swap(np.triu(c))


def tri_factor_back(g, lower):
    """The transpose of `tri_factor`: a gradient with respect to L put into c's triangle."""
    if _zero(g):
        return 0.0
    g = np.asarray(g)
    return np.tril(g) if lower else np.triu(_swap(g))


_KEEPS_OTHER = []


def _cho_factor_keeps_other():
    """Whether this SciPy's cho_factor leaves a's entries in c's other triangle (SciPy 1.17
    and earlier) rather than zeros (1.18 on): decided once, on a 2 x 2 example."""
    if not _KEEPS_OTHER:
        import scipy.linalg
        c, _ = scipy.linalg.cho_factor(np.array([[2.0, 0.5], [0.5, 2.0]]))
        _KEEPS_OTHER.append(bool(c[1, 0] != 0.0))
    return _KEEPS_OTHER[0]


def other_part(g, lower):
    """The triangle of c that cho_factor leaves as a's entries (a mask: its own transpose), or
    zero where this SciPy zeroes that triangle."""
    if _zero(g):
        return 0.0
    if not _cho_factor_keeps_other():
        return np.zeros_like(np.asarray(g))
    g = np.asarray(g)
    return np.triu(g, 1) if lower else np.tril(g, -1)


def not_flag(flag):
    return not flag


def _phi(m):
    out = np.tril(m)
    idx = np.arange(m.shape[-1])
    out[..., idx, idx] *= 0.5
    return out


def cho_factor_tangent(da, y, lower=False):
    """The tangent of cho_factor(a, lower) = (c, lower): the factor moves as the Cholesky
    factor of the triangle read, the other triangle as a."""
    c = y[0]
    da = np.broadcast_to(da, np.shape(c))
    factor = tri_factor(c, lower)
    dsym = np.tril(da) + _swap(np.tril(da, -1)) if lower else \
        np.triu(da) + _swap(np.triu(da, 1))
    inv = np.linalg.inv(factor)
    dl = factor @ _phi(inv @ dsym @ _swap(inv))
    return (tri_factor_back(dl, lower) + other_part(da, lower), 0.0)


def cho_pair(g, c_and_lower):
    """The adjoint of the pair (c, lower) from the adjoint g of c."""
    if _zero(g):
        return 0.0
    return (g, 0.0)


# ---- solve_triangular
def flip_trans(trans):
    """The `trans` that solves with the transpose of the matrix `trans` solves with."""
    if trans in (0, "N"):
        return 1
    if trans in (1, "T", 2, "C"):
        return 0
    raise NoRule(f"scipy.linalg.solve_triangular(..., trans={trans!r}) has no derivative rule")


def _tri_mask(m, lower, unit_diagonal):
    out = np.tril(m) if lower else np.triu(m)
    if unit_diagonal:
        out = out - np.diag(np.diagonal(out))
    return out


def tri_op_linear(t, trans=0, lower=False, unit_diagonal=False):
    """How the matrix solve_triangular solves with moves when a moves by t."""
    if _zero(t):
        return 0.0
    t = np.asarray(t)
    if t.ndim != 2:
        raise NoRule("scipy.linalg.solve_triangular: the derivative rule needs a 2-d a")
    m = _tri_mask(t, lower, unit_diagonal)
    return m if flip_trans(trans) == 1 else _swap(m)


def tri_op_back(g, trans=0, lower=False, unit_diagonal=False):
    """The transpose of `tri_op_linear`."""
    if _zero(g):
        return 0.0
    g = np.asarray(g)
    if g.ndim != 2:
        raise NoRule("scipy.linalg.solve_triangular: the derivative rule needs a 2-d a")
    return _tri_mask(g if flip_trans(trans) == 1 else _swap(g), lower, unit_diagonal)


# ---- expm: Frechet derivatives by block-triangular exponentials
def _blocks(rows):
    return np.concatenate([np.concatenate(row, axis=-1) for row in rows], axis=-2)


def expm_frechet(a, e):
    """L(a, e), the derivative of expm at a in the direction e: the upper right block of
    expm([[a, e], [0, a]]) (Najfeld and Havel). Linear in e; 0.0 stays 0.0."""
    if _zero(e):
        return 0.0
    a = np.asarray(a)
    e = np.broadcast_to(e, a.shape)
    n = a.shape[-1]
    z = np.zeros_like(a, dtype=np.result_type(a, e))
    return scipy.linalg.expm(_blocks([[a, e], [z, a]]))[..., :n, n:]


def expm_frechet2(a, e, f):
    """The derivative of L(a, e) with respect to a in the direction f: the upper right
    blocks of expm([[a, e, 0], [0, a, f], [0, 0, a]]) and of the same with e and f swapped."""
    if _zero(e) or _zero(f):
        return 0.0
    a = np.asarray(a)
    e, f = np.broadcast_to(e, a.shape), np.broadcast_to(f, a.shape)
    n = a.shape[-1]
    z = np.zeros_like(a, dtype=np.result_type(a, e, f))
    one = scipy.linalg.expm(_blocks([[a, e, z], [z, a, f], [z, z, a]]))[..., :n, 2 * n:]
    two = scipy.linalg.expm(_blocks([[a, f, z], [z, a, e], [z, z, a]]))[..., :n, 2 * n:]
    return one + two


# ---- eigh and eigvalsh
def eigh_input(a, lower=True, b=None, type=1, subset_by_index=None, subset_by_value=None):
    """The symmetric matrix scipy.linalg.eigh(a, lower=...) decomposes (one triangle of a,
    mirrored); the options without a derivative rule are refused. Linear in a."""
    if b is not None:
        raise NoRule("scipy.linalg.eigh: the generalized problem (b=...) has no derivative rule")
    if type != 1 or subset_by_index is not None or subset_by_value is not None:
        raise NoRule("scipy.linalg.eigh: type=, subset_by_index= and subset_by_value= have no "
                     "derivative rule")
    if _zero(a):
        return 0.0
    a = np.asarray(a)
    if lower:
        return np.tril(a) + _swap(np.tril(a, -1))
    return np.triu(a) + _swap(np.triu(a, 1))


def eigh_signs(v, y, eigvals_only=False):
    """+-1 per eigenvector, so that `v * eigh_signs(v, y)` are the eigenvectors of the result
    `y` (LAPACK drivers may choose different signs); 1.0 when y has no eigenvectors."""
    if eigvals_only:
        return 1.0
    s = np.sign(np.sum(v * y[1], axis=-2, keepdims=True))
    return np.where(s == 0, 1.0, s)


def eigh_part(g, i, eigvals_only=False):
    """The adjoint (or tangent) of the eigenvalues (i=0) or eigenvectors (i=1) in that of a
    scipy.linalg.eigh result (linear in g)."""
    if eigvals_only:
        return g if i == 0 else 0.0
    if _zero(g):
        return 0.0
    return g[i]


def eigh_unpart(g, i, eigvals_only=False):
    """The transpose of `eigh_part`."""
    if eigvals_only:
        return g if i == 0 else 0.0
    if _zero(g):
        return 0.0
    return (g, 0.0) if i == 0 else (0.0, g)


def scipy_eigh_tangent(da, a, y, lower=True, eigvals_only=False, b=None, type=1,
                       subset_by_index=None, subset_by_value=None):
    """The tangent of scipy.linalg.eigh(a, lower=..., eigvals_only=...)."""
    eigh_input(a, lower, b, type, subset_by_index, subset_by_value)   # refuses other options
    da = np.broadcast_to(da, np.shape(a))
    dsym = np.tril(da) + _swap(np.tril(da, -1)) if lower else \
        np.triu(da) + _swap(np.triu(da, 1))
    if eigvals_only:
        w, v = np.linalg.eigh(eigh_input(a, lower))
    else:
        w, v = y[0], y[1]
    p = _swap(v) @ dsym @ v
    dw = np.diagonal(p, axis1=-2, axis2=-1).copy()
    if eigvals_only:
        return dw
    mask = np.eye(w.shape[-1], dtype=bool)
    gaps = w[..., None, :] - w[..., :, None]
    f = np.where(mask, 0.0, 1.0 / np.where(mask, 1.0, gaps))
    return (dw, v @ (f * p))
