"""Helpers that generated derivative code calls (as `_sd.<name>`). NumPy only.

Zero derivatives are the float `0.0` until something gives them a shape; `gradient_like` turns a
final derivative into the type, shape and dtype of the argument it belongs to.
"""

from __future__ import annotations

import numpy as np

_float = float
_ndarray = np.ndarray


def stop_gradient(x):
    """Return `x` unchanged; derivatives do not flow through it."""
    return x


# ---- broadcasting
def unbroadcast(g, x):
    """Sum `g` over the axes broadcasting added, so it has the shape of `x`."""
    gshape = np.shape(g)
    xshape = np.shape(x)
    if gshape == xshape:
        return g
    if not xshape:
        return np.sum(g)
    extra = len(gshape) - len(xshape)
    if extra:
        g = np.sum(g, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(xshape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return g


# ---- reductions
def _normalize_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim for a in axis)


def sum_adjoint(g, x, axis=None, keepdims=False):
    """Spread the adjoint of `np.sum(x, axis, keepdims)` back over `x`'s shape."""
    shape = np.shape(x)
    if not keepdims and axis is not None:
        for a in sorted(_normalize_axes(axis, len(shape))):
            g = np.expand_dims(g, a)
    return np.broadcast_to(g, shape) if shape else g


def count(x, axis=None):
    """How many elements `np.mean(x, axis)` averages."""
    shape = np.shape(x)
    n = 1
    for a in _normalize_axes(axis, len(shape)):
        n *= shape[a]
    return n


# ---- products
def dot_adjoint_a(g, a, b):
    """d[a] for y = np.dot(a, b), for every combination of dimensions NumPy allows."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return unbroadcast(g * b, a)
    if b_nd == 1:
        return np.multiply.outer(g, b)
    # contract g (a_dims[:-1] + b_dims without its second-to-last) with b
    g_axes = tuple(range(a_nd - 1, np.ndim(g)))
    b_axes = tuple(i for i in range(b_nd) if i != b_nd - 2)
    return np.tensordot(g, b, (g_axes, b_axes))


def dot_adjoint_b(g, a, b):
    """d[b] for y = np.dot(a, b)."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return unbroadcast(g * a, b)
    if b_nd == 1:
        return np.tensordot(a, g, (tuple(range(a_nd - 1)), tuple(range(a_nd - 1))))
    ga = np.tensordot(a, g, (tuple(range(a_nd - 1)), tuple(range(a_nd - 1))))
    return np.moveaxis(ga, 0, b_nd - 2)


def matmul_adjoint_a(g, a, b):
    """d[a] for y = a @ b (vectors, matrices and broadcast stacks of matrices)."""
    if np.ndim(b) == 1:
        ga = g[..., None] * b if np.ndim(a) > 1 else g * b
        return unbroadcast(ga, a)
    if np.ndim(a) == 1:
        return unbroadcast(np.matmul(g[..., None, :], np.swapaxes(b, -1, -2))[..., 0, :], a)
    return unbroadcast(np.matmul(g, np.swapaxes(b, -1, -2)), a)


def matmul_adjoint_b(g, a, b):
    """d[b] for y = a @ b."""
    if np.ndim(a) == 1:
        if np.ndim(b) == 1:
            return unbroadcast(g * a, b)
        return unbroadcast(a[:, None] * g[..., None, :], b)
    if np.ndim(b) == 1:
        return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g[..., None])[..., 0], b)
    return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g), b)


def transpose_adjoint(g, axes=None):
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, np.argsort(axes))


# ---- elementwise helpers
def sign(x):
    """The derivative of |x| (0 at 0)."""
    if type(x) is _float:
        return (x > 0.0) - (x < 0.0)
    return np.sign(x)


def log_base(a):
    """log(a) as the exponent's partial of a ** b; 0 where a <= 0 (only integer powers exist)."""
    if type(a) is _float or type(a) is int:
        return np.log(a) if a > 0 else 0.0
    a = np.asarray(a, dtype=float)
    return np.log(np.where(a > 0, a, 1.0))


def sinc_derivative(x, y):
    x = np.asarray(x, dtype=float)
    safe = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 0.0, (np.cos(np.pi * safe) - y) / safe)


# ---- containers
def add(a, b):
    """a + b for derivatives that may be containers (tuples and lists add elementwise)."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a)(add(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (tuple, list)):
        return a if _is_zero(b) else type(a)(add(x, b) for x in a)
    if isinstance(b, (tuple, list)):
        return b if _is_zero(a) else type(b)(add(a, y) for y in b)
    return a + b


def _is_zero(x):
    return type(x) is _float and x == 0.0


def getitem(g, index):
    """g[index] for a container derivative that may still be the zero `0.0`."""
    if _is_zero(g):
        return 0.0
    return g[index]


def unsubscript(g, x, index):
    """The adjoint of `y = x[index]`: a zero of `x`'s structure holding `g` at `index`."""
    if isinstance(x, (tuple, list)):
        out = [0.0] * len(x)
        if isinstance(index, slice):
            for i, gi in zip(range(*index.indices(len(x))), g, strict=False):
                out[i] = add(out[i], gi)
        else:
            out[index] = g
        return type(x)(out) if isinstance(x, tuple) else out
    x = np.asarray(x)
    out = np.zeros(x.shape, dtype=np.result_type(x.dtype, np.float64)
                   if x.dtype.kind in "biu" else x.dtype)
    if _is_basic_index(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


def _is_basic_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis
               for p in parts)


def unpack_adjoint(parts, x):
    """The adjoint of `a, b, ... = x` as a structure like `x`."""
    if isinstance(x, list):
        return list(parts)
    if isinstance(x, tuple):
        return tuple(parts)
    return np.stack([np.broadcast_to(p, np.shape(x)[1:]) for p in parts])


def zero_like(x):
    """A zero tangent for the value `x` (forward mode)."""
    if isinstance(x, np.ndarray):
        return np.zeros_like(x, dtype=np.result_type(x.dtype, np.float32)
                             if x.dtype.kind in "biu" else x.dtype)
    if isinstance(x, (tuple, list)):
        return type(x)(zero_like(v) for v in x)
    if isinstance(x, dict):
        return {k: zero_like(v) for k, v in x.items()}
    return 0.0


# ---- composition
def vjp_by_jvp(jvp_fn, args, g):
    """The adjoints of a derivative function's active inputs, one tangent pass per element.

    `jvp_fn(*args, *tangents)` returns (value, tangent of the output) for the inputs at
    `jvp_fn.wrt_index`; the adjoint of input i, element j, is <jvp(e_ij), g>.
    """
    out = []
    active = jvp_fn.wrt_index
    for i in active:
        x = args[i]
        shape = np.shape(x)
        grad = np.zeros(shape, dtype=float)
        flat = grad.reshape(-1)
        for j in range(flat.size):
            tangents = []
            for k in active:
                t = np.zeros(np.shape(args[k]), dtype=float) if np.ndim(args[k]) else 0.0
                if k == i:
                    if shape:
                        t.reshape(-1)[j] = 1.0
                    else:
                        t = 1.0
                tangents.append(t)
            _, out_dot = jvp_fn(*args, *tangents)
            flat[j] = np.sum(np.asarray(out_dot) * g)
        out.append(grad if shape else _float(flat[0]))
    return tuple(out)


def broadcast_like(g, x):
    """The adjoint of `unbroadcast(x, ...)`: `g` spread back over `x`'s shape."""
    shape = np.shape(x)
    return np.broadcast_to(g, shape).copy() if shape != np.shape(g) else g


def log_base_derivative(a):
    """d/da of `log_base(a)`."""
    if type(a) is _float or type(a) is int:
        return 1.0 / a if a > 0 else 0.0
    a = np.asarray(a, dtype=float)
    return np.where(a > 0, 1.0 / np.where(a > 0, a, 1.0), 0.0)


def transpose_linear(fn, args, index, g):
    """The adjoint of `fn(*args)` with respect to `args[index]`, for `fn` linear in it:
    element j is <fn(..., e_j, ...), g>. Exact; one call per element."""
    x = args[index]
    if isinstance(x, (tuple, list)):
        parts = []
        for i in range(len(x)):
            def part(v, i=i):
                seq = list(x)
                seq[i] = v
                return fn(*args[:index], type(x)(seq), *args[index + 1:])
            parts.append(transpose_linear(part, (x[i],), 0, g))
        return type(x)(parts)
    shape = np.shape(x)
    out = np.zeros(shape, dtype=float)
    flat = out.reshape(-1)
    for j in range(flat.size):
        e = np.zeros(shape, dtype=float)
        e.reshape(-1)[j] = 1.0
        if not shape:
            e = 1.0
        flat[j] = np.sum(np.asarray(fn(*args[:index], e, *args[index + 1:])) * g)
    return out if shape else _float(flat[0])


# ---- outputs
class NotScalarError(Exception):
    """Raised by `seed` so the API can turn it into a NonScalarOutputError at the user's line."""


def check_scalar(y):
    if type(y) is _float:
        return
    if isinstance(y, (np.ndarray, np.generic)) and y.size == 1 and np.ndim(y) == 0:
        return
    if isinstance(y, (int, np.integer)) and not isinstance(y, bool):
        return
    raise NotScalarError(y)


def gradient_like(g, x):
    """`g` with the type, shape and dtype of the argument `x`."""
    if isinstance(x, np.ndarray):
        dtype = x.dtype if x.dtype.kind in "fc" else np.float64
        if type(g) is _ndarray and g.shape == x.shape:
            return g if g.dtype == dtype else g.astype(dtype)
        out = np.zeros(x.shape, dtype=dtype)
        out += g
        return out
    if isinstance(x, (tuple, list)):
        if _is_zero(g):
            g = [0.0] * len(x)
        return type(x)(gradient_like(gi, xi) for gi, xi in zip(g, x, strict=True))
    if isinstance(x, dict):
        if _is_zero(g):
            g = dict.fromkeys(x, 0.0)
        return {k: gradient_like(g[k], v) for k, v in x.items()}
    if isinstance(x, np.floating):
        return type(x)(g)
    if np.ndim(g) != 0:
        g = np.sum(g)
    return _float(g)
