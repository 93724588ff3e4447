"""The runtime's in-place semantics (see passes/aliasing.py): what generated code calls to
write into arrays, lists and dicts and to undo those writes in the adjoint sweep (`snapshot`,
`add_at`, `zero_at`, `contents`, `put_back`), to keep every name that shares a written
buffer up to date (`alias_update` and its derivatives, which find at run time which elements
really overlap), to copy values the caller must not see change (`copy_value`), and the list
helpers (`append`, `sequence`, `max_of`, ...). NumPy and the core only.
"""

from __future__ import annotations

import copy
import sys

import numpy as np

from .core import (
    Attr,
    Fields,
    Refused,
    _is_basic_index,
    _is_zero,
    _ndarray,
    _rebuild,
    add,
    getitem,
    record_fields,
    unbroadcast,
    unsubscript,
    zero_like,
)


# ---- in-place writes and lists
def snapshot(x, index):
    """What `x[index] = ...` is about to overwrite: a copy of an array's elements (not a
    view); for a list or a dict, the objects in those slots themselves (their own contents
    are restored by their own writes)."""
    if index is None and not isinstance(x, np.ndarray):   # all of a dict, or a number
        return dict(x) if isinstance(x, dict) else x
    if isinstance(x, dict):
        return x.get(index)
    old = x[index]
    if isinstance(x, list):
        return old if not isinstance(index, slice) else list(old)
    return old.copy() if isinstance(old, np.ndarray) else old


_getrefcount = sys.getrefcount


def _references(g, a=None, b=None, c=None):
    return _getrefcount(g)


def _one_local_holds():
    g = np.zeros(1)
    return _references(g)


# How many references an array has inside `add_at` or `zero_at` when one local variable of the
# calling function is all that holds it (measured, so it follows the interpreter).
_SOLE = _one_local_holds()


def _sole(g, count, dtype):
    """Whether the adjoint array `g` (with `count` references, as counted by the caller) may be
    changed in place: held by the calling function's one variable only (no other name,
    container, view or tape holds it), owning its data, of the dtype the result would have."""
    return (count <= _SOLE and type(g) is _ndarray and g.base is None
            and g.flags.writeable and g.dtype == dtype)


def add_at(dx, g, x, index):
    """`dx + unsubscript(g, x, index)`, the adjoint of `x` after a read of `x[index]`. Made in
    place in `dx` when only the caller's variable holds it, so that a loop reading elements
    costs O(1) per element instead of a full-size array."""
    count = _getrefcount(dx)   # (first: an argument being passed is one more reference)
    if type(x) is _ndarray and not _is_zero(g) and not isinstance(g, (list, tuple, dict)):
        if type(dx) is _ndarray and dx.shape == x.shape and _sole(
                dx, count, np.result_type(dx.dtype, _back_dtype(x), g)):
            if type(index) is int or _is_basic_index(index):
                dx[index] += g
            else:
                np.add.at(dx, index, g)
            return dx
    return add(dx, unsubscript(g, x, index))


def _back_dtype(x):
    return np.result_type(x.dtype, np.float64) if x.dtype.kind in "biu" else x.dtype


def zero_at(g, index):
    """The derivative `g` with zeros at `index` (the overwritten elements): `g` itself, changed
    in place, when only the caller's variable holds it, else a copy."""
    count = _getrefcount(g)
    if _is_zero(g) or index is Ellipsis or (isinstance(index, slice) and index == slice(None)):
        return 0.0   # the whole value is overwritten (a list may even change its length)
    if type(g) is _ndarray and g.ndim and _sole(g, count, np.result_type(g, np.float64)):
        g[index] = 0.0
        return g
    if isinstance(g, dict):
        out = dict(g)
        out[index] = 0.0
        return out
    if isinstance(g, (tuple, list)):
        out = list(g)
        if isinstance(index, slice):
            for i in range(*index.indices(len(out))):
                out[i] = 0.0
        else:
            out[index] = 0.0
        return _rebuild(g, out)
    out = np.array(g, dtype=np.result_type(g, np.float64) if np.ndim(g) else float, copy=True)
    out[index] = 0.0
    return out


def assigned(g, index):
    """The adjoint of `v` in `x[index] = v`: `g[index]`, except that where a fancy index repeats
    an element only the write NumPy keeps (the one it performs last) gets the adjoint."""
    if _is_zero(g) or not isinstance(g, np.ndarray) or _is_basic_index(index):
        return getitem(g, index)
    picked = g[index]
    ids = np.arange(picked.size).reshape(picked.shape)
    owner = np.full(g.shape, -1, dtype=np.intp)
    owner[index] = ids        # the same assignment the primal made decides who is kept
    return np.where(owner[index] == ids, picked, 0.0)


# ---- in-place semantics (see passes/aliasing.py)
def augmented(value, container=None):
    """The marker the desugar pass leaves for `x op= e`; the aliasing pass replaces it."""
    return value


def is_mutable(x):
    """Whether `x op= e` changes `x` itself (an ndarray or a list) rather than rebinding."""
    if isinstance(x, (np.ndarray, list)):
        return True
    if isinstance(x, (dict, set, bytearray)):
        raise Refused(f"an augmented assignment to a {type(x).__name__} that another name "
                      "also refers to changes both; build a new value instead")
    return False


def whole_index(x):
    """The index that writes all of `x`: `...` for an ndarray, `:` for a list, None for
    anything else (a dict, or a number: nothing writes into it in place)."""
    if isinstance(x, np.ndarray):
        return Ellipsis
    return slice(None) if isinstance(x, list) else None


def writes_arguments(fn):
    """Mark a helper that changes an argument in place and whose result means nothing: the
    optimizer must neither drop a call to it nor move a read of that argument (or a view of
    it) past the call."""
    fn.writes_arguments = True
    return fn


def contents(x, memo=None):
    """Everything a plain call (no derivative flows through it) may change in place in its
    argument `x`, for `put_back`: an array's elements; a list's or a dict's slots (the objects
    themselves) and, recursively, those objects' contents; a tuple's items' contents; a
    record's fields. None for what cannot change (numbers, strings)."""
    memo = {} if memo is None else memo
    if id(x) in memo:
        return memo[id(x)]
    if isinstance(x, np.ndarray):
        return x.copy()
    memo[id(x)] = None   # (a cycle back to `x` restores nothing more)
    if isinstance(x, list):
        return _Saved(list(x), [contents(v, memo) for v in x])
    if isinstance(x, dict):
        return _Saved(dict(x), {k: contents(v, memo) for k, v in x.items()})
    if isinstance(x, tuple):
        return _Saved(None, [contents(v, memo) for v in x])
    fields = record_fields(x)
    if fields:
        return _Saved(fields, {k: contents(v, memo) for k, v in fields.items()})
    return None


class _Saved:
    """A container's slots (None for a tuple, which has no slots to write) and the contents
    of the objects in them, as `contents` found them."""

    __slots__ = ("slots", "inner")

    def __init__(self, slots, inner):
        self.slots, self.inner = slots, inner


@writes_arguments
def put_back(x, saved):
    """Write back into `x`, in place, what `contents(x)` saved: every object that shares a
    buffer or is held by `x` sees its old value again."""
    if saved is None:
        return
    if isinstance(x, np.ndarray):
        x[...] = saved
        return
    slots = saved.slots
    if isinstance(x, list):
        x[:] = slots
        items = zip(slots, saved.inner, strict=True)
    elif isinstance(x, dict):
        x.clear()
        x.update(slots)
        items = ((slots[k], c) for k, c in saved.inner.items())
    elif isinstance(x, tuple):
        items = zip(x, saved.inner, strict=True)
    else:
        for name, value in slots.items():
            object.__setattr__(x, name, value)   # frozen dataclasses too
        items = ((slots[k], c) for k, c in saved.inner.items())
    for item, inner in items:
        put_back(item, inner)


def alias_update(a, n):
    """`a` after a write through `n`, which may share memory with it. NumPy has already changed
    `a`, so this returns it; the rules say how its derivative follows `n`'s (see `_overlaps`)."""
    return a


def _addresses(x):
    """The memory address of every element of the ndarray `x`, in C order."""
    addr = np.full(x.shape, x.__array_interface__["data"][0], dtype=np.int64)
    for axis, (n, stride) in enumerate(zip(x.shape, x.strides, strict=True)):
        shape = [1] * x.ndim
        shape[axis] = n
        addr = addr + (np.arange(n, dtype=np.int64) * stride).reshape(shape)
    return addr.reshape(-1)


def _array_overlap(a, n):
    """(positions in a.flat, positions in n.flat) of the elements `a` and `n` share, or None."""
    if not np.may_share_memory(a, n):
        return None
    if a.dtype.itemsize != n.dtype.itemsize:
        raise Refused("two arrays of different element sizes share memory (a `.view(dtype)`); "
                      "sourcediff cannot follow writes through one into the other: copy one")
    addr_a, addr_n = _addresses(a), _addresses(n)
    order = np.argsort(addr_n, kind="stable")
    sorted_n = addr_n[order]
    if np.any(sorted_n[1:] == sorted_n[:-1]):
        raise Refused("an array written in place covers some memory more than once (a "
                      "broadcast or strided view); copy it before writing into it")
    pos = np.minimum(np.searchsorted(sorted_n, addr_a), sorted_n.size - 1)
    hit = sorted_n[pos] == addr_a
    if not hit.any():
        return None
    return np.nonzero(hit)[0], order[pos[hit]]


def _overlaps(a, n):
    """[(path, ia, in_)]: the parts of `a` (by container path) a write through `n` changed. `ia`
    is None where the part is `n` itself, else (positions in the part, positions in `n`)."""
    if a is n:
        return [((), None, None)]
    if isinstance(a, np.ndarray):
        if isinstance(n, np.ndarray):
            found = _array_overlap(a, n)
            if found is not None:
                return [((), found[0], found[1])]
        return []
    if isinstance(a, (list, tuple)):
        items = enumerate(a)
    elif isinstance(a, dict):
        items = a.items()
    else:
        fields = record_fields(a)
        if fields is None:
            return []
        items = [(Attr(k), v) for k, v in fields.items()]
    out = []
    for key, part in items:
        out += [((key,) + path, ia, in_) for path, ia, in_ in _overlaps(part, n)]
    return out


def _part(g, path):
    """The part of the (possibly zero, possibly partly zero) derivative `g` at `path`."""
    for key in path:
        if _is_zero(g):
            return 0.0
        if isinstance(g, dict):
            g = g.get(key, 0.0)
        elif isinstance(key, Attr):
            g = getattr(g, key)
        else:
            g = g[key]
    return g


def _with_part(g, like, path, value):
    """`g` (a derivative shaped like `like`, maybe the zero 0.0) with `value` at `path`."""
    if not path:
        return value
    head = path[0]
    if isinstance(head, Attr):   # a record: its derivative is Fields
        if isinstance(g, dict):
            out = Fields(g)
        else:   # the zero, or a tangent given as a record of `like`'s type
            out = Fields(record_fields(g) or {}) if not _is_zero(g) else Fields()
        out[str(head)] = _with_part(out.get(str(head), 0.0), getattr(like, head), path[1:],
                                    value)
        return out
    if _is_zero(g):
        g = zero_like(like) if isinstance(like, (list, tuple, dict)) else g
    if isinstance(like, dict):
        out = dict(g)
        out[head] = _with_part(out.get(head, 0.0), like[head], path[1:], value)
        return out
    out = list(g)
    out[head] = _with_part(out[head], like[head], path[1:], value)
    return _rebuild(g, out)


def _flat_dense(g, like):
    """A fresh flat float array of `like`'s size holding the derivative `g` (maybe 0.0)."""
    out = np.zeros(np.size(like), dtype=np.result_type(np.asarray(like).dtype, np.float64)
                   if np.asarray(like).dtype.kind in "biu" else np.asarray(like).dtype)
    if not _is_zero(g):
        out[...] = np.broadcast_to(g, np.shape(like)).reshape(-1)
    return out


def alias_update_back_a(g, a, n):
    """The adjoint of `a` in `alias_update(a, n)`: `g` with the shared elements zeroed."""
    if _is_zero(g):
        return g
    for path, ia, _ in _overlaps(a, n):
        if ia is None:
            g = _with_part(g, a, path, 0.0)
            continue
        part = _part(g, path)
        if _is_zero(part):
            continue
        leaf = _part(a, path)
        flat = _flat_dense(part, leaf)
        flat[ia] = 0.0
        g = _with_part(g, a, path, flat.reshape(np.shape(leaf)))
    return g


def alias_update_back_n(g, a, n):
    """The adjoint of `n` in `alias_update(a, n)`: what `g` holds at the shared elements."""
    out = 0.0
    if _is_zero(g):
        return out
    for path, ia, in_ in _overlaps(a, n):
        part = _part(g, path)
        if _is_zero(part):
            continue
        if ia is None:
            out = add(out, part)
            continue
        flat = _flat_dense(0.0, n)
        np.add.at(flat, in_, np.broadcast_to(part, np.shape(_part(a, path))).reshape(-1)[ia])
        out = add(out, flat.reshape(np.shape(n)))
    return out


def alias_update_tangent(ta, tn, a, n):
    """The tangent of `alias_update(a, n)`: `ta` with the shared elements taken from `tn`."""
    for path, ia, in_ in _overlaps(a, n):
        if ia is None:
            ta = _with_part(ta, a, path, owned(tn, n))
            continue
        leaf = _part(a, path)
        flat = _flat_dense(_part(ta, path), leaf)
        flat[ia] = _flat_dense(tn, n)[in_]
        ta = _with_part(ta, a, path, flat.reshape(np.shape(leaf)))
    return ta


def copy_value(x, memo=None):
    """A copy of an argument that the function writes into (arrays, lists, dicts, named
    tuples, dataclass instances and other records, nested); objects met twice are copied once."""
    if isinstance(x, np.ndarray):
        return x.copy()
    if memo is None:
        memo = {}
    if id(x) in memo:
        return memo[id(x)]
    if isinstance(x, list):
        out = memo[id(x)] = []
        out.extend(copy_value(v, memo) for v in x)
        return out
    if isinstance(x, dict):
        out = memo[id(x)] = {}
        out.update((k, copy_value(v, memo)) for k, v in x.items())
        return out
    if isinstance(x, tuple):
        items = [copy_value(v, memo) for v in x]
        return type(x)(*items) if hasattr(x, "_fields") else tuple(items)
    fields = record_fields(x)
    if not fields:
        return x
    out = memo[id(x)] = copy.copy(x)
    for name, value in fields.items():
        object.__setattr__(out, name, copy_value(value, memo))   # frozen dataclasses too
    return out


def owned(t, x):
    """A tangent for `x` that may be written in place: a fresh copy, never shared."""
    if _is_zero(t):
        return zero_like(x)
    if isinstance(t, np.ndarray):
        return t.copy()
    if isinstance(t, (list, dict)):
        return copy_value(t)
    return t


def append(seq, item):
    """`seq.append(item)` as a value: a new list (so every earlier list stays intact)."""
    return list(seq) + [item]


def append_tangent(seq, seq_dot, item_dot):
    if _is_zero(seq_dot):
        seq_dot = [0.0] * len(seq)
    return list(seq_dot) + [item_dot]


def append_back_seq(g, seq):
    if _is_zero(g):
        return 0.0
    return list(g[:len(seq)])


def append_back_item(g):
    if _is_zero(g):
        return 0.0
    return g[-1]


def sum_back_list(g, seq):
    """The adjoint of the builtin `sum(seq, start)` with respect to `seq`: each element gets
    `g` summed back to its own shape."""
    if _is_zero(g):
        return 0.0
    return [unbroadcast(g, item) for item in seq]


def sum_tangent_list(seq_dot, start_dot):
    total = start_dot
    if _is_zero(seq_dot):
        return total
    for t in seq_dot:
        total = total + t
    return total


def sequence(x):
    """`x` as something indexable by position, for `for v in x`: dicts give their keys,
    other iterables without `len` a list; lists, tuples, arrays and ranges stay as they are."""
    if isinstance(x, (list, tuple, np.ndarray, range, str)):
        return x
    if isinstance(x, dict):
        return list(x)
    return list(x)


def keys(mapping):
    """The keys of a dict, in order (for `for k, v in d.items()`)."""
    return list(mapping)


def sequence_back(g, x):
    if isinstance(x, dict) or _is_zero(g):
        return 0.0
    if isinstance(x, (list, tuple, np.ndarray)):
        return g
    return 0.0


def sequence_tangent(t, x):
    if isinstance(x, dict):
        return 0.0
    if isinstance(x, (list, tuple, np.ndarray)):
        return t
    return 0.0


def max_of(seq):
    """The builtin `max(seq)` (first of equal largest elements)."""
    return max(seq)


def min_of(seq):
    """The builtin `min(seq)` (first of equal smallest elements)."""
    return min(seq)


def _pick_back(g, seq, pick):
    if _is_zero(g):
        return 0.0
    items = list(seq)
    best = items.index(pick(items))
    out = [0.0] * len(items)
    out[best] = g
    return out if not isinstance(seq, np.ndarray) else np.array(out)


def max_of_back(g, seq):
    return _pick_back(g, seq, max)


def min_of_back(g, seq):
    return _pick_back(g, seq, min)


def max_of_tangent(t, seq):
    return 0.0 if _is_zero(t) else t[list(seq).index(max(seq))]


def min_of_tangent(t, seq):
    return 0.0 if _is_zero(t) else t[list(seq).index(min(seq))]
