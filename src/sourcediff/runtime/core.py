"""The runtime core: what every generated derivative function may call (as `_sd.<name>`).

Broadcasting, containers and records, the tape, composition and the outputs (the in-place
semantics are in `inplace`). NumPy only.

Zero derivatives are the float `0.0` until something gives them a shape; `gradient_like` turns a
final derivative into the type, shape and dtype of the argument it belongs to.
"""

from __future__ import annotations

import threading

import numpy as np

_float = float
_float64 = np.float64
_ndarray = np.ndarray
_vdot = np.vdot


def stop_gradient(x):
    """Return `x` unchanged; derivatives do not flow through it."""
    return x


class Refused(Exception):
    """Raised by generated code for a construct only recognizable at run time; the API turns it
    into an UnsupportedSyntaxError naming the user's line."""


class NoRule(Refused):
    """Raised by a rule helper for a case its rule does not cover (an option, a mode); the API
    turns it into a MissingRuleError naming the user's line."""


LIST_ARITHMETIC = ("`+` or `*` on lists joins or repeats them, which sourcediff does not "
                   "differentiate; build the list with .append(...) in a loop, or use NumPy "
                   "arrays (np.concatenate)")


# ---- broadcasting
def unbroadcast(g, x):
    """Sum `g` over the axes broadcasting added, so it has the shape of `x`.

    A `g` smaller than `x` (a zero or a scalar adjoint) is spread over `x`'s shape instead."""
    if type(g) is _ndarray and type(x) is _ndarray and g.shape == x.shape:
        return g
    if isinstance(x, (list, tuple)) and isinstance(g, (list, tuple)):
        if len(g) != len(x):
            raise Refused(LIST_ARITHMETIC)
        return g      # a container's derivative has its structure already
    if isinstance(x, dict) or isinstance(g, dict):
        return g
    gshape = np.shape(g)
    xshape = np.shape(x)
    if gshape == xshape or _is_zero(g):
        return g
    if not xshape:
        return np.sum(g)
    g = np.asarray(g)
    extra = g.ndim - len(xshape)
    if extra > 0:
        g = np.sum(g, axis=tuple(range(extra)))
    elif extra < 0:
        g = g.reshape((1,) * -extra + g.shape)
    axes = tuple(i for i, n in enumerate(xshape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    if g.shape != xshape:   # g had size 1 where x has more (a zero or scalar adjoint)
        g = np.broadcast_to(g, xshape)
    return g


def unbroadcast_to(g, shape):
    """`unbroadcast(g, x)` when only `x`'s shape was kept."""
    if np.shape(g) == shape or _is_zero(g):
        return g
    return unbroadcast(g, np.broadcast_to(0.0, shape))


shape = np.shape


# ---- reductions
def _normalize_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim for a in axis)


def sum_back(g, x, axis=None, keepdims=False):
    """Spread the adjoint of `np.sum(x, axis, keepdims)` back over `x`'s shape."""
    if _is_zero(g):
        return g
    if axis is None and type(x) is _ndarray:
        return np.full(x.shape, g, dtype=np.result_type(x.dtype, np.float64)
                       if x.dtype.kind in "biu" else x.dtype)
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
def _nan_free(r):
    """Whether `r` (a number or an array) holds no nan: one fast pass."""
    if type(r) is _ndarray:
        if r.dtype.kind not in "fc":
            return True
        flat = r.ravel(order="K")
        s = _vdot(flat, flat)
        return s == s
    return r == r


def zero_wins_linear(back, g, *args):
    """`back(g, *args)` for a `back` linear in the derivative `g` (a product's adjoint),
    where an exact zero factor wins over an infinite entry of `g`, as in `times`: each
    infinite entry contributes its sign times the finite factors it meets, so zeros drop
    out instead of making nan (0 * inf)."""
    r = back(g, *args)
    if _nan_free(r):
        return r
    g = np.asarray(g)
    if g.dtype.kind not in "fc":
        return r
    infinite = np.isinf(g)
    if not infinite.any():
        return r
    finite = back(np.where(infinite, 0.0, g), *args)
    signs = back(np.where(infinite, np.sign(g), 0.0), *args)
    with np.errstate(invalid="ignore"):
        return finite + np.where(signs != 0, np.inf * np.sign(signs), 0.0)


def dot_back_a(g, a, b):
    """d[a] for y = np.dot(a, b), for every combination of dimensions NumPy allows (an exact
    zero wins over an infinite g: `zero_wins_linear`)."""
    return zero_wins_linear(_dot_back_a, g, a, b)


def dot_back_b(g, a, b):
    """d[b] for y = np.dot(a, b)."""
    return zero_wins_linear(_dot_back_b, g, a, b)


def matmul_back_a(g, a, b):
    """d[a] for y = a @ b (vectors, matrices and broadcast stacks of matrices)."""
    return zero_wins_linear(_matmul_back_a, g, a, b)


def matmul_back_b(g, a, b):
    """d[b] for y = a @ b."""
    return zero_wins_linear(_matmul_back_b, g, a, b)


def _dot_back_a(g, a, b):
    """d[a] for y = np.dot(a, b), for every combination of dimensions NumPy allows."""
    if _is_zero(g):
        return g
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return unbroadcast(g * b, a)
    if b_nd == 1:
        return np.multiply.outer(g, b)
    # contract g (a_dims[:-1] + b_dims without its second-to-last) with b
    g_axes = tuple(range(a_nd - 1, np.ndim(g)))
    b_axes = tuple(i for i in range(b_nd) if i != b_nd - 2)
    return np.tensordot(g, b, (g_axes, b_axes))


def _dot_back_b(g, a, b):
    """d[b] for y = np.dot(a, b)."""
    if _is_zero(g):
        return g
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return unbroadcast(g * a, b)
    if b_nd == 1:
        return np.tensordot(a, g, (tuple(range(a_nd - 1)), tuple(range(a_nd - 1))))
    ga = np.tensordot(a, g, (tuple(range(a_nd - 1)), tuple(range(a_nd - 1))))
    return np.moveaxis(ga, 0, b_nd - 2)


def _matmul_back_a(g, a, b):
    """d[a] for y = a @ b (vectors, matrices and broadcast stacks of matrices)."""
    if _is_zero(g):
        return g
    if type(a) is _ndarray and type(b) is _ndarray and a.ndim == 2:
        if b.ndim == 1:
            return np.outer(g, b)
        if b.ndim == 2:
            return g @ b.T
    if np.ndim(b) == 1:
        ga = g[..., None] * b if np.ndim(a) > 1 else g * b
        return unbroadcast(ga, a)
    if np.ndim(a) == 1:
        return unbroadcast(np.matmul(g[..., None, :], np.swapaxes(b, -1, -2))[..., 0, :], a)
    return unbroadcast(np.matmul(g, np.swapaxes(b, -1, -2)), a)


def _matmul_back_b(g, a, b):
    """d[b] for y = a @ b."""
    if _is_zero(g):
        return g
    if type(a) is _ndarray and type(b) is _ndarray and a.ndim == 2 and b.ndim <= 2:
        return a.T @ g
    if np.ndim(a) == 1:
        if np.ndim(b) == 1:
            return unbroadcast(g * a, b)
        return unbroadcast(a[:, None] * g[..., None, :], b)
    if np.ndim(b) == 1:
        return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g[..., None])[..., 0], b)
    return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g), b)


def transpose_normalized_back(g, axes=None):
    if _is_zero(g):
        return g
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, np.argsort([a % np.ndim(g) for a in axes]))


# ---- elementwise helpers
def sign(x):
    """The derivative of |x| (0 at 0)."""
    if type(x) is _float:
        return (x > 0.0) - (x < 0.0)
    return np.sign(x)


def times(g, p):
    """`g * p` for a derivative `g` and a partial `p`, where an exact zero factor wins over an
    infinite other one: 0, not nan. Such zeros come from elements that do not move (masked,
    padded, clipped, never written), whose derivative is 0 however steep the function they pass
    through (sqrt, a power below 1, arcsin... at their singular points)."""
    r = g * p
    if type(r) is _ndarray:
        if r.dtype.kind not in "fc":
            return r
        flat = r.ravel(order="K")   # a view of the fresh product
        s = _vdot(flat, flat)       # nan exactly when an element is nan: one fast pass
        if s == s:
            return r
        return np.where((np.asarray(g) == 0) | (np.asarray(p) == 0), 0.0, r)
    if r == r or (g != 0 and p != 0):
        return r
    return 0.0


def over(g, q):
    """`g / q` for a derivative `g`, where an exact zero `g` wins over a zero `q`: 0, not nan
    (the twin of `times` for the quotient rule's `d[b] * y / b`)."""
    try:
        r = g / q
    except ZeroDivisionError:
        if g == 0:
            return 0.0
        raise
    if type(r) is _ndarray:
        if r.dtype.kind not in "fc":
            return r
        flat = r.ravel(order="K")
        s = _vdot(flat, flat)
        if s == s:
            return r
        return np.where(np.asarray(g) == 0, 0.0, r)
    if r == r or g != 0:
        return r
    return 0.0


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


# ---- containers and records
class Fields(dict):
    """The derivative (or tangent) of an object that is not a list, tuple or dict: attribute
    name -> derivative of that attribute (attributes not listed have derivative zero)."""


class Attr(str):
    """A path step that reads an object's attribute (`leaves`, `get_path`, `set_path`)."""


_ATOMS = (int, float, complex, str, bytes, bool, type(None), np.ndarray, np.generic,
          list, tuple, dict, range, slice, type(Ellipsis), type, np.ufunc)


def _is_function_like(x):
    """Functions, methods, builtins, partials and modules (duck-typed: an export of this module
    imports nothing but numpy)."""
    return (hasattr(x, "__code__") or hasattr(x, "__self__") and callable(x)
            or type(x).__name__ in ("builtin_function_or_method", "module", "partial",
                                    "method-wrapper", "wrapper_descriptor"))


def record_fields(x):
    """{attribute: value} of an object whose attributes are its data (a dataclass instance or
    a plain instance), or None for anything else (numbers, arrays, containers, functions,
    modules, classes, ...)."""
    if isinstance(x, _ATOMS) or _is_function_like(x) or \
            type(x).__module__ in ("builtins", "numpy", "functools"):
        return None
    fields = _dataclass_fields(x)
    if fields is not None:
        return {name: getattr(x, name) for name in fields}
    data = getattr(x, "__dict__", None)
    return dict(data) if isinstance(data, dict) else None


def _dataclass_fields(x):
    """The names of a dataclass instance's fields (those `__init__` takes), or None."""
    fields = getattr(type(x), "__dataclass_fields__", None)
    if fields is None:
        return None
    return [name for name, f in fields.items()
            if getattr(f, "init", True) and repr(getattr(f, "_field_type", "_FIELD")) in (
                "_FIELD", "'_FIELD'")]


def _rebuild(x, items):
    """A list or tuple of `x`'s type (named tuples included) holding `items`."""
    if isinstance(x, tuple):
        return type(x)(*items) if hasattr(x, "_fields") else type(x)(items)
    return list(items)


def _replaced(x, name, value):
    """A shallow copy of the object `x` with its attribute `name` set to `value`."""
    fields = _dataclass_fields(x)
    if fields is not None:
        values = {f: getattr(x, f) for f in fields}
        values[name] = value
        return type(x)(**values)
    out = object.__new__(type(x))
    out.__dict__.update(x.__dict__)
    out.__dict__[name] = value
    return out


def add(a, b):
    """a + b for derivatives that may be containers (tuples and lists add elementwise)."""
    if isinstance(a, dict) or isinstance(b, dict):
        if _is_zero(a):
            return b
        if _is_zero(b):
            return a
        if not isinstance(a, dict) or not isinstance(b, dict):
            raise Refused("a derivative of a dict or an object met one of another structure")
        out = type(a)(a)
        for k, v in b.items():
            out[k] = add(out[k], v) if k in out else v
        return out
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return _rebuild(a, [add(x, y) for x, y in zip(a, b, strict=True)])
    if isinstance(a, (tuple, list)):
        return a if _is_zero(b) else _rebuild(a, [add(x, b) for x in a])
    if isinstance(b, (tuple, list)):
        return b if _is_zero(a) else _rebuild(b, [add(a, y) for y in b])
    return a + b


def _is_zero(x):
    """Whether `x` is the zero that stands for a zero of any shape: 0.0, or the NumPy scalar
    the zero becomes once multiplied by one (`0.0 * np.float64(c)`)."""
    return (type(x) is _float or type(x) is _float64) and x == 0.0


def getitem(g, index):
    """g[index] for a container derivative that may still be the zero `0.0`."""
    if _is_zero(g):
        return 0.0
    if isinstance(g, dict):
        return g.get(index, 0.0)
    if index is Ellipsis and isinstance(g, (_float, np.generic)):
        return g   # the adjoint of a 0-d array, kept as a number
    return g[index]


def unsubscript(g, x, index):
    """The adjoint of `y = x[index]`: a zero of `x`'s structure holding `g` at `index`."""
    if _is_zero(g) and not isinstance(x, np.ndarray):
        return 0.0
    if isinstance(x, dict):
        return {index: g}
    if isinstance(x, (tuple, list)):
        out = [0.0] * len(x)
        if isinstance(index, slice):
            for i, gi in zip(range(*index.indices(len(x))), g, strict=False):
                out[i] = add(out[i], gi)
        else:
            out[index] = g
        if hasattr(x, "_fields"):     # a named tuple (e.g. slogdet's result)
            return type(x)(*out)
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


def unpack_back(parts, x):
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
        return _rebuild(x, [zero_like(v) for v in x])
    if isinstance(x, dict):
        return {k: zero_like(v) for k, v in x.items()}
    fields = record_fields(x)
    if fields is not None:
        return Fields({k: zero_like(v) for k, v in fields.items()})
    return 0.0


# ---- the tape
_tracking = threading.local()


class _MeasuredTape(list):
    """A tape that records how many bytes of values it held at its fullest."""

    def __init__(self):
        super().__init__()
        self.bytes = 0
        self.peak = 0

    def append(self, value):
        super().append(value)
        self.bytes += value_bytes(value)
        self.peak = max(self.peak, self.bytes)

    def pop(self):
        value = super().pop()
        self.bytes -= value_bytes(value)
        return value


def measured_tape():
    """A tape that records its peak size (used by `Derivative.tape_bytes` only)."""
    measured = _MeasuredTape()
    tapes = getattr(_tracking, "tapes", None)
    if tapes is not None:
        tapes.append(measured)
    return measured


def value_bytes(value):
    """The bytes of data a saved value holds: 8 a float, nbytes an array, containers summed."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (tuple, list)):
        return sum(value_bytes(v) for v in value)
    if isinstance(value, dict):
        return sum(value_bytes(v) for v in value.values())
    if isinstance(value, (float, int, np.generic)) and not isinstance(value, bool):
        return 8
    return 0


def measure_tape(fn, *args):
    """Call `fn(*args)` and return the peak bytes its tapes held."""
    _tracking.tapes = []
    try:
        fn(*args)
        return sum(t.peak for t in _tracking.tapes)
    finally:
        _tracking.tapes = None


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
            flat[j] = inner(out_dot, g)
        out.append(grad if shape else _float(flat[0]))
    return tuple(out)


def inner(a, b):
    """The inner product of two derivatives of one value (numbers, arrays, containers and
    records, either possibly the zero 0.0)."""
    if _is_zero(a) or _is_zero(b) or a is None or b is None:
        return 0.0
    if isinstance(a, dict) or isinstance(b, dict):
        return sum(inner(v, b.get(k, 0.0)) for k, v in a.items())
    if isinstance(a, (list, tuple)):
        return sum(inner(x, y) for x, y in zip(a, b, strict=True))
    if record_fields(a) is not None:
        return sum(inner(v, getattr(b, k, 0.0)) for k, v in record_fields(a).items())
    return float(np.sum(np.asarray(a) * np.asarray(b)))


def broadcast_like(g, x):
    """The adjoint of `unbroadcast(x, ...)`: `g` spread back over `x`'s shape. An `x` that is
    the zero `0.0` stands for zeros of any shape (a derivative nothing flowed into yet): a
    larger `g` keeps its own shape."""
    shape = np.shape(x)
    if shape == np.shape(g) or _is_zero(x):
        return g
    if isinstance(x, (list, tuple)):
        raise Refused(LIST_ARITHMETIC)
    dtype = np.result_type(g, x.dtype) if isinstance(x, np.ndarray) and \
        x.dtype.kind == "f" and not isinstance(g, np.ndarray) else None
    if dtype is not None and x.dtype == np.float32:
        dtype = np.float32
    return np.array(np.broadcast_to(g, shape), dtype=dtype)


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
                seq = [zero_like(e) for e in x]
                seq[i] = v
                return fn(*args[:index], _rebuild(x, seq), *args[index + 1:])
            parts.append(transpose_linear(part, (x[i],), 0, g))
        return _rebuild(x, parts)
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


# ---- forward-mode gradients
def forward_gradient(jvp, args, wrt_index, wrt_tuple):
    """The gradient of a scalar function by forward mode: `jvp(*args, *tangents)` once per
    element of each `wrt` argument (floats, arrays, and lists/tuples/dicts of them).
    Returns (value, gradient or tuple of gradients)."""
    if all(type(args[i]) is _float for i in wrt_index):   # the common scalar case
        grads = []
        for i in wrt_index:
            value, out_dot = jvp(*args, *[1.0 if k == i else 0.0 for k in wrt_index])
            check_scalar(value)
            grads.append(gradient_like(out_dot, 0.0))
        return value, (tuple(grads) if wrt_tuple else grads[0])
    grads = []
    value = None
    for i in wrt_index:
        x = args[i]
        grad = gradient_like(0.0, x)
        for path, leaf in leaves(x):
            size = np.size(leaf)
            for j in range(size):
                unit = np.zeros(np.shape(leaf))
                unit.reshape(-1)[j] = 1.0
                tangent = set_path(zero_like(x), path, unit if np.ndim(leaf) else 1.0)
                tangents = [tangent if k == i else zero_like(args[k]) for k in wrt_index]
                value, out_dot = jvp(*args, *tangents)
                check_scalar(value)
                out_dot = np.reshape(out_dot, ()) if np.size(out_dot) == 1 else out_dot
                if np.ndim(leaf):
                    get_path(grad, path).reshape(-1)[j] = out_dot
                else:
                    grad = set_path(grad, path, gradient_like(out_dot, leaf))
        grads.append(grad)
    return value, (tuple(grads) if wrt_tuple else grads[0])


def leaves(x, path=()):
    """(path, leaf) for every number or array inside nested lists, tuples, dicts and records
    (the attributes of dataclass and plain instances, as `Attr` steps)."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from leaves(v, path + ((Attr(k) if isinstance(x, Fields) else k),))
    elif isinstance(x, (list, tuple)):
        for k, v in enumerate(x):
            yield from leaves(v, path + (k,))
    else:
        fields = record_fields(x)
        if fields is None:
            yield path, x
            return
        for k, v in fields.items():
            if isinstance(v, (float, int, np.ndarray, np.floating, list, tuple, dict)) and \
                    not isinstance(v, bool) or record_fields(v) is not None:
                yield from leaves(v, path + (Attr(k),))


def get_path(x, path):
    for k in path:
        if isinstance(k, Attr) and not isinstance(x, dict):
            x = getattr(x, k)
        else:
            x = x[k]
    return x


def set_path(x, path, value):
    """A copy of the container or record `x` with `value` at `path` (the leaf for `()`)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, Attr) and not isinstance(x, dict):
        return _replaced(x, str(head), set_path(getattr(x, head), rest, value))
    if isinstance(x, dict):
        out = type(x)(x)
        out[head] = set_path(x[head], rest, value)
        return out
    out = list(x)
    out[head] = set_path(x[head], rest, value)
    return _rebuild(x, out)


def _differentiable(value):
    return (isinstance(value, (float, np.ndarray, np.floating, list, tuple, dict))
            or record_fields(value) is not None)


def record_gradient(g, x, fields):
    """The gradient with respect to the object `x`: a dataclass gives an instance of its class
    (its numeric fields holding gradients, the others as in `x`); any other object a dict of
    attribute -> gradient for its numeric attributes."""
    g = {} if _is_zero(g) else g
    grads = {k: gradient_like(g.get(k, 0.0), v) for k, v in fields.items()
             if _differentiable(v)}
    names = _dataclass_fields(x)
    if names is not None:
        return type(x)(**{f: grads.get(f, getattr(x, f)) for f in names})
    return grads


def attribute(x, name):
    """`x.name` as generated code reads it (named tuples, dataclasses, plain objects)."""
    return getattr(x, name)


def attribute_back(g, x, name):
    """The adjoint of `y = x.name`: the derivative of `x` holding `g` at that attribute."""
    if _is_zero(g):
        return 0.0
    if isinstance(x, (np.ndarray, np.generic)):
        raise NoRule(f"no derivative rule for the array attribute .{name}")
    if isinstance(x, tuple) and name in getattr(x, "_fields", ()):
        out = [0.0] * len(x)
        out[x._fields.index(name)] = g
        return type(x)(*out)
    return Fields({name: g})


def attribute_tangent(t, x, name):
    """The tangent of `y = x.name` given the tangent `t` of `x` (a record of tangents, the
    named tuple of tangents, or the zero 0.0)."""
    if isinstance(x, (np.ndarray, np.generic)):
        raise NoRule(f"no derivative rule for the array attribute .{name}")
    value = getattr(x, name)
    if _is_zero(t):
        return zero_like(value)
    if isinstance(t, dict):
        return t.get(name, zero_like(value))
    if isinstance(t, tuple) and isinstance(x, tuple) and name in getattr(x, "_fields", ()):
        return t[x._fields.index(name)]
    return getattr(t, name)


def as_tuple(seq):
    """`tuple(seq)` of a list."""
    return tuple(seq)


def as_tuple_back(g, seq):
    return 0.0 if _is_zero(g) else list(g)


def unzip(pairs):
    """`list(zip(*pairs))`: the transpose of a sequence of equally long sequences."""
    return list(zip(*pairs))


def unzip_back(g, pairs):
    """The adjoint of `unzip(pairs)`: `g` (a list of tuples, maybe partly 0.0) transposed back
    into the structure of `pairs`."""
    if _is_zero(g):
        return 0.0
    width = len(g)
    rows = []
    for row in pairs:
        parts = [0.0 if _is_zero(g[i]) else g[i][len(rows)] for i in range(width)]
        rows.append(_rebuild(row, parts) if isinstance(row, (list, tuple)) else parts)
    return _rebuild(pairs, rows) if isinstance(pairs, (list, tuple)) else rows


def unzip_tangent(t, pairs):
    return 0.0 if _is_zero(t) else unzip([zero_like(p) if _is_zero(p) else p for p in t])


def field_of(g, name):
    """The part of a record's derivative `g` (Fields, a named tuple, a dataclass gradient, or
    the zero 0.0) that belongs to its field `name`."""
    if _is_zero(g):
        return 0.0
    if isinstance(g, dict):
        return g.get(name, 0.0)
    return getattr(g, name)


def record_tangent(cls, fields):
    """The tangent of `cls(**fields)` (a named tuple of tangents; Fields for a dataclass)."""
    if issubclass(cls, tuple):
        return cls(*[fields.get(f, 0.0) for f in cls._fields])
    return Fields(fields)


# ---- outputs
class NotScalarError(Exception):
    """Raised by `seed` so the API can turn it into a NonScalarOutputError at the user's line."""


def check_scalar(y):
    """A scalar output: a number, or an array of one element (shape (), (1,), (1, 1), ...)."""
    if type(y) is _float:
        return
    if isinstance(y, (np.ndarray, np.generic)) and y.size == 1:
        return
    if isinstance(y, (int, np.integer)) and not isinstance(y, bool):
        return
    raise NotScalarError(y)


def gradient_like(g, x):
    """`g` with the type, shape and dtype of the argument `x`."""
    if type(x) is _float and type(g) is _float:
        return g
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
        return _rebuild(x, [gradient_like(gi, xi) for gi, xi in zip(g, x, strict=True)])
    if isinstance(x, dict):
        if _is_zero(g):
            g = dict.fromkeys(x, 0.0)
        return {k: gradient_like(g.get(k, 0.0), v) for k, v in x.items()}
    fields = record_fields(x)
    if fields is not None:
        return record_gradient(g, x, fields)
    if isinstance(x, np.floating):
        return type(x)(g)
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return 0.0   # an integer inside a container: never differentiated
    if np.ndim(g) != 0:
        g = np.sum(g)
    return _float(g)
