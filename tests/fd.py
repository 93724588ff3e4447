"""Reference gradients by central finite differences, and a structure-aware closeness check.

``central_fd`` returns the same structure sourcediff.grad promises: a Python float for a float
argument, a float64 ndarray of the argument's shape for an ndarray argument, a list / tuple /
dict of the same structure (same length, same keys) for a list / tuple / dict argument of
floats and arrays (nested containers too), and a tuple of those when ``wrt`` is a tuple.
``assert_close`` checks that structure (container types, lengths, keys, array shapes) as well as
the values.
"""

import copy
import dataclasses
import inspect
import math
import types

import numpy as np


def resolve_wrt(f, args, wrt):
    """Return (indices, is_tuple) for ``wrt`` given as an index, a name, or a tuple of them."""
    params = list(inspect.signature(f).parameters)

    def one(w):
        if isinstance(w, str):
            if w not in params:
                raise ValueError(f"{f.__name__} has no parameter {w!r} (has {params})")
            index = params.index(w)
        elif isinstance(w, (int, np.integer)) and not isinstance(w, bool):
            index = int(w)
            if index < 0:
                index += len(args)
        else:
            raise TypeError(f"wrt entries must be int or str, got {w!r}")
        if not 0 <= index < len(args):
            raise ValueError(f"wrt {w!r} does not refer to a passed argument of {f.__name__}")
        return index

    if isinstance(wrt, tuple):
        return tuple(one(w) for w in wrt), True
    return (one(wrt),), False


def _record_fields(x):
    """{attribute: value} for a dataclass instance or a plain instance of a user class (whose
    attributes are its data), else None."""
    if isinstance(x, (np.ndarray, np.generic, list, tuple, dict, str, bytes, int, float,
                      type, types.FunctionType, types.MethodType, types.ModuleType)):
        return None
    if dataclasses.is_dataclass(x):
        return {f.name: getattr(x, f.name) for f in dataclasses.fields(x)}
    if type(x).__module__ in ("builtins", "numpy") or not hasattr(x, "__dict__"):
        return None
    return dict(vars(x))


def _carries_data(v):
    return isinstance(v, (float, np.floating, np.ndarray, list, tuple, dict)) and \
        not isinstance(v, bool) or _record_fields(v) is not None


def _copy_tree(x):
    """A copy of ``x`` with every ndarray and every list/tuple/dict inside it copied."""
    if _record_fields(x) is not None:
        return copy.deepcopy(x)
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, dict):
        return {k: _copy_tree(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_copy_tree(v) for v in x]
    if isinstance(x, tuple):
        items = [_copy_tree(v) for v in x]
        return type(x)(*items) if hasattr(x, "_fields") else type(x)(items)
    return x


def _fresh(args):
    """A copy of ``args`` with every ndarray and container copied, so a mutating f cannot
    corrupt FD."""
    return [_copy_tree(a) for a in args]


def _is_container(x):
    return isinstance(x, (list, tuple, dict)) or _record_fields(x) is not None


def _leaves(x, path=()):
    """(path, leaf) for every float or ndarray inside nested lists, tuples, dicts and records
    (an attribute is the path step ("attr", name))."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(x, (list, tuple)):
        for k, v in enumerate(x):
            yield from _leaves(v, path + (k,))
    elif _record_fields(x) is not None:
        for k, v in _record_fields(x).items():
            if _carries_data(v):
                yield from _leaves(v, path + (("attr", k),))
    else:
        yield path, x


def _get(x, path):
    for k in path:
        x = getattr(x, k[1]) if isinstance(k, tuple) and k[:1] == ("attr",) else x[k]
    return x


def _gradient_of_record(x, g):
    """The expected gradient with respect to a record: a dataclass of its class (the computed
    partials in its data fields), any other object a dict of attribute -> gradient."""
    if isinstance(x, dict):
        return {k: _gradient_of_record(v, g[k]) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        items = [_gradient_of_record(v, gv) for v, gv in zip(x, g)]
        return type(x)(*items) if hasattr(x, "_fields") else type(x)(items)
    fields = _record_fields(x)
    if fields is None:
        return g
    if dataclasses.is_dataclass(x):
        return g
    return {k: _gradient_of_record(v, getattr(g, k)) for k, v in fields.items()
            if _carries_data(v)}


def _replace(x, path, value):
    """``x`` (a fresh copy) with the leaf at ``path`` replaced by ``value``."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, tuple) and head[:1] == ("attr",):
        object.__setattr__(x, head[1], _replace(getattr(x, head[1]), rest, value))
        return x
    if isinstance(x, tuple):
        items = list(x)
        items[head] = _replace(items[head], rest, value)
        return type(x)(*items) if hasattr(x, "_fields") else type(x)(items)
    x[head] = _replace(x[head], rest, value)
    return x


def _scalar(value):
    out = float(np.asarray(value).reshape(()))
    return out


def _stencil(f, args, i, index, h, order, path=()):
    """Derivative of f w.r.t. args[i] (at the leaf ``path`` inside it when it is a container;
    at element ``index`` if that is an array) with step h."""
    x = _get(args[i], path)

    def at(delta):
        a = _fresh(args)
        if index is None:
            a[i] = _replace(a[i], path, float(x) + delta)
        else:
            _get(a[i], path)[index] = x[index] + delta
        return _scalar(f(*a))

    if order == 2:
        return (at(h) - at(-h)) / (2.0 * h)
    if order == 4:
        return (-at(2.0 * h) + 8.0 * at(h) - 8.0 * at(-h) + at(-2.0 * h)) / (12.0 * h)
    raise ValueError("order must be 2 or 4")


def _partial(f, args, i, step, order, path=()):
    x = _get(args[i], path)
    if _is_container(x):
        g = _copy_tree(x)
        for leaf_path, _ in _leaves(x):
            full = path + leaf_path
            g = _replace(g, leaf_path, _partial(f, args, i, step, order, full))
        return _gradient_of_record(x, g) if not path else g
    where = f"argument {i}" + "".join(f"[{k!r}]" for k in path)
    if isinstance(x, np.ndarray):
        x64 = np.asarray(x, dtype=np.float64)
        g = np.zeros(x64.shape, dtype=np.float64)
        for index in np.ndindex(x64.shape):
            xi = float(x64[index])
            # Use an exactly representable step: (x + h) - x.
            h = step * max(1.0, abs(xi))
            h = (xi + h) - xi
            g[index] = _stencil(f, args, i, index, h, order, path)
        return g
    if isinstance(x, (bool, int, np.integer)):
        raise TypeError(f"{where} is an int ({x!r}); ints are not differentiated")
    if not isinstance(x, (float, np.floating)):
        raise TypeError(f"{where} is a {type(x).__name__}, not a float, array or container")
    xf = float(x)
    h = step * max(1.0, abs(xf))
    h = (xf + h) - xf
    return float(_stencil(f, args, i, None, h, order, path))


def central_fd(f, args, wrt=0, step=1e-6, order=2):
    """Central finite-difference gradient of scalar ``f(*args)`` w.r.t. ``wrt``.

    A list / tuple / dict argument (of floats, arrays and nested containers) gets a gradient of
    the same structure, one partial per leaf element.

    ``step`` is relative: the actual step is ``step * max(1, |x|)`` per element.
    ``order=2`` is the usual two-point formula; ``order=4`` the five-point one (use it with a
    larger step, e.g. 1e-3).
    """
    args = tuple(args)
    indices, is_tuple = resolve_wrt(f, args, wrt)
    grads = tuple(_partial(f, args, i, step, order) for i in indices)
    return grads if is_tuple else grads[0]


def _describe(x):
    if isinstance(x, np.ndarray):
        return f"ndarray(shape={x.shape}, dtype={x.dtype})"
    return f"{type(x).__name__}({x!r})"


def assert_close(actual, expected, rtol=1e-6, atol=1e-6, path="grad"):
    """Assert ``actual`` matches ``expected`` in structure, type/shape, and value.

    The structure is taken from ``expected``: a tuple must be matched by a tuple of the same
    length, a list by a list of the same length, a dict by a dict with the same keys; an
    ndarray by an ndarray of the same shape with a floating dtype; a float by a
    Python float (``isinstance(g, float)``, which np.float64 also satisfies, but not 0-d
    arrays, ints or np.float32).  Values must satisfy |a - e| <= atol + rtol * |e|.
    """
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple), (
            f"{path}: expected a tuple of {len(expected)} gradients, got {_describe(actual)}"
        )
        assert len(actual) == len(expected), (
            f"{path}: expected {len(expected)} gradients, got {len(actual)}"
        )
        for k, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rtol=rtol, atol=atol, path=f"{path}[{k}]")
        return

    if isinstance(expected, list):
        assert isinstance(actual, list), (
            f"{path}: expected a list of {len(expected)} gradients, got {_describe(actual)}"
        )
        assert len(actual) == len(expected), (
            f"{path}: expected a list of {len(expected)} gradients, got {len(actual)}"
        )
        for k, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rtol=rtol, atol=atol, path=f"{path}[{k}]")
        return

    if isinstance(expected, dict):
        assert isinstance(actual, dict), (
            f"{path}: expected a dict with keys {list(expected)}, got {_describe(actual)}"
        )
        assert set(actual) == set(expected), (
            f"{path}: expected keys {sorted(map(repr, expected))}, got {sorted(map(repr, actual))}"
        )
        for k, e in expected.items():
            assert_close(actual[k], e, rtol=rtol, atol=atol, path=f"{path}[{k!r}]")
        return

    if _record_fields(expected) is not None and not isinstance(expected, type):
        # a dataclass (a gradient, or an argument compared after a call) or another record
        assert type(actual) is type(expected), (
            f"{path}: expected a {type(expected).__name__}, got {_describe(actual)}"
        )
        for k, e in _record_fields(expected).items():
            if _carries_data(e):
                assert_close(getattr(actual, k), e, rtol=rtol, atol=atol, path=f"{path}.{k}")
        return

    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), (
            f"{path}: expected ndarray of shape {expected.shape}, got {_describe(actual)}"
        )
        assert actual.shape == expected.shape, (
            f"{path}: expected shape {expected.shape}, got {actual.shape}"
        )
        assert np.issubdtype(actual.dtype, np.floating), (
            f"{path}: expected a floating dtype, got {actual.dtype}"
        )
        assert np.all(np.isfinite(actual)), f"{path}: non-finite entries in {actual!r}"
        err = np.abs(actual - expected)
        tol = atol + rtol * np.abs(expected)
        if not np.all(err <= tol):
            worst = np.unravel_index(int(np.argmax(err - tol)), err.shape) if err.ndim else ()
            raise AssertionError(
                f"{path}: mismatch (max abs err {err.max():.3e}; worst at {worst}: "
                f"got {actual[worst]!r}, expected {expected[worst]!r})\n"
                f"actual=\n{actual!r}\nexpected=\n{expected!r}"
            )
        return

    assert isinstance(expected, (float, int)), f"{path}: bad expected value {expected!r}"
    assert isinstance(actual, float) and not isinstance(actual, bool), (
        f"{path}: expected a Python float, got {_describe(actual)}"
    )
    assert math.isfinite(actual), f"{path}: non-finite value {actual!r}"
    err = abs(actual - expected)
    assert err <= atol + rtol * abs(expected), (
        f"{path}: got {actual!r}, expected {expected!r} (abs err {err:.3e})"
    )


def case_ids(cases):
    """Readable, unique test ids from the cases' names (`name`, `name-2`, ...)."""
    from collections import Counter
    seen = Counter()
    ids = []
    for case in cases:
        seen[case.name] += 1
        ids.append(case.name if seen[case.name] == 1 else f"{case.name}-{seen[case.name]}")
    return ids


_FD_CACHE = {}


def reference_gradient(case):
    """The central-FD gradient of a corpus case (computed once per case)."""
    key = id(case)
    if key not in _FD_CACHE:
        _FD_CACHE[key] = central_fd(case.fn, case.args, case.wrt)
    return _FD_CACHE[key]
