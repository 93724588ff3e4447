"""Derivatives in other processes: data-parallel gradients, and pickling support.

`grad_sum(df, *params, shards=..., client=None, executor=None, mean=False)` calls
`df(*params, *shard)` once per data shard, on a Dask cluster (`client=`), in a
`concurrent.futures` executor or `multiprocessing` pool (`executor=`), or here in this process
(neither), and adds the results up structurally (floats, arrays, and tuples, lists and dicts of
them, item by item), in shard order::

    dloss = sourcediff.grad(loss)            # loss(w, X, y), a function of one shard's data
    g = grad_sum(dloss, w, shards=[(X1, y1), (X2, y2)], client=client)

Derivatives pickle by reference: what travels is the user's function (by name, as pickle sends
functions), the transform and its options; generated code never does. Each worker process
compiles the derivative on its first call there and reuses it for later tasks. The functions a
derivative differentiates must be importable by the workers, or copied there by cloudpickle (as
Dask does for functions of `__main__` and local ones): a copied function travels with the text
of its file, which cloudpickle drops and sourcediff needs.

Dask is optional: `import sourcediff.parallel` does not import it, and `local_client()` (the
one function here that needs it) says how to install it when it is missing.
"""

from __future__ import annotations

import functools
import linecache
import sys
import threading
import types
import uuid
import weakref

import numpy as np

from . import api

__all__ = ["grad_sum", "local_client"]

INSTALL_HINT = 'pip install "sourcediff[dask]"'


def grad_sum(df, /, *params, shards, client=None, executor=None, mean=False):
    """The sum over data shards of `df(*params, *shard)`, computed where the shards are.

    `df` is a derivative (`sourcediff.grad`, `value_and_grad`, ...) or any picklable function;
    `params` are its leading arguments, the same for every shard (one dict of parameters, an
    array, or several arguments for a tuple `wrt`). Each item of `shards` is a tuple of the
    arguments that follow (a shard that is not a tuple is one argument), or with a Dask client a
    future of one (`client.scatter(shards)` sends the data once instead of with every call).

    `client`: a `distributed.Client`; one task per shard. `executor`: a
    `concurrent.futures.Executor` (a `ProcessPoolExecutor` for processes) or a
    `multiprocessing.Pool`. With neither, the shards run here, one after the other.

    The results are added up in shard order, so the sum does not depend on which worker finishes
    first: numbers and arrays are added, tuples, lists and dicts item by item (the gradient for a
    tuple `wrt`; parameters in a dict or list; the `(value, gradient)` of `value_and_grad`).
    `mean=True` divides the sum by the number of shards.
    """
    shards = list(shards)
    if not shards:
        raise ValueError("grad_sum needs at least one shard")
    if client is not None and executor is not None:
        raise TypeError("grad_sum takes client= (Dask) or executor=, not both")
    if client is not None:
        if not (hasattr(client, "submit") and hasattr(client, "gather")):
            raise TypeError(f"client= takes a distributed.Client, not {client!r}")
        futures = [client.submit(_call, df, params, shard, pure=False) for shard in shards]
        results = client.gather(futures)
    elif executor is not None:
        results = _run_in(executor, df, params, shards)
    else:
        results = [_call(df, params, shard) for shard in shards]
    total = functools.reduce(_add, results)
    return _scale(total, 1.0 / len(results)) if mean else total


def local_client(n_workers=2, threads_per_worker=1, **kwargs):
    """A Dask `distributed.Client` on a new local cluster of `n_workers` processes, which closes
    with the client (`with local_client() as client: ...`). Other keyword arguments go to
    `distributed.Client` (and so to `LocalCluster`)."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError("a Dask client needs Dask's distributed scheduler, which is not "
                          f"installed: {INSTALL_HINT}") from exc
    kwargs.setdefault("processes", True)
    kwargs.setdefault("dashboard_address", None)
    return distributed.Client(n_workers=n_workers, threads_per_worker=threads_per_worker,
                              **kwargs)


def _call(df, params, shard):
    """One shard's result (this runs on the worker)."""
    return df(*params, *(shard if isinstance(shard, tuple) else (shard,)))


def _run_in(executor, df, params, shards):
    if hasattr(executor, "submit"):          # concurrent.futures
        futures = [executor.submit(_call, df, params, shard) for shard in shards]
        return [f.result() for f in futures]
    if hasattr(executor, "apply_async"):     # multiprocessing.Pool
        pending = [executor.apply_async(_call, (df, params, shard)) for shard in shards]
        return [p.get() for p in pending]
    raise TypeError("executor= takes a concurrent.futures.Executor or a multiprocessing.Pool, "
                    f"not {executor!r}")


# ---- adding results up, structure by structure
def _add(a, b, path=""):
    if isinstance(a, dict):
        if not isinstance(b, dict) or list(a) != list(b):
            raise _mismatch(path, a, b)
        return _like(a, [(k, _add(a[k], b[k], f"{path}[{k!r}]")) for k in a])
    if isinstance(a, (tuple, list)):
        if type(b) is not type(a) or len(a) != len(b):
            raise _mismatch(path, a, b)
        return _like(a, [_add(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b))])
    if isinstance(b, (dict, tuple, list)) or np.shape(a) != np.shape(b):
        raise _mismatch(path, a, b)
    return a + b


def _scale(x, c):
    if isinstance(x, dict):
        return _like(x, [(k, _scale(v, c)) for k, v in x.items()])
    if isinstance(x, (tuple, list)):
        return _like(x, [_scale(v, c) for v in x])
    return x * c


def _like(x, items):
    """A container of x's type (a dict, list, tuple or named tuple) holding `items`."""
    if type(x) in (dict, list, tuple):
        return type(x)(items)
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*items)
    try:
        return type(x)(items)
    except TypeError:
        return (dict if isinstance(x, dict) else list)(items)


def _mismatch(path, a, b):
    return ValueError(f"grad_sum: the shards' results differ in structure at result{path}: "
                      f"{_describe(a)} and {_describe(b)}")


def _describe(x):
    if isinstance(x, dict):
        return f"a dict with keys {list(x)}"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)}"
    return f"shape {np.shape(x)}" if np.shape(x) else f"a {type(x).__name__}"


# ---- pickling functions that cloudpickle copies instead of naming
# Derivative.__reduce__ (api.py) sends the user's function by reference. pickle names a function
# by its module and name; cloudpickle copies those of `__main__` (scripts, notebooks), local ones
# and those of modules registered to go by value, and the copy's code names the file
# "<dynamic-code>", so sourcediff could not read its source. Such a derivative also travels with
# the file names and lines of its functions and of the user functions they call, and with a
# token, so that each process makes one derivative per original function (and compiles it once)
# however many tasks bring a copy.
_lock = threading.Lock()
_tokens = weakref.WeakKeyDictionary()        # function -> token
_by_token = weakref.WeakValueDictionary()    # token -> the function it is in this process


def _reduce_copied(kind, func, options):
    """The pickle reduction of `_transform(kind, func, *options)` when pickle may copy `func`,
    else None."""
    if not _copied(func):
        return None
    return _unpickle_derivative, (kind, func, tuple(options), _token(func), _sources(func))


def _copied(func):
    if not isinstance(func, types.FunctionType):
        return False
    module = func.__module__
    if module == "__main__" or api._lookup(module, func.__qualname__) is not func:
        return True
    by_value = getattr(sys.modules.get("cloudpickle"), "list_registry_pickle_by_value", None)
    if by_value is not None:
        registered = by_value()
        parts = module.split(".")
        return any(".".join(parts[:n]) in registered for n in range(1, len(parts) + 1))
    return False


def _token(func):
    with _lock:
        token = _tokens.get(func)
        if token is None:
            token = _tokens[func] = uuid.uuid4().hex
            _by_token[token] = func
        return token


def _key(f):
    return f.__qualname__, f.__code__.co_firstlineno


def _sources(func):
    """({(qualname, first line): file name}, {file name: its lines}) for `func` and the user
    functions it reaches through its globals and closure that pickle may copy."""
    where, files, todo = {}, {}, [func]
    while todo:
        f = todo.pop()
        if _key(f) in where or not _copied(f):
            continue
        filename = where[_key(f)] = f.__code__.co_filename
        files.setdefault(filename, linecache.getlines(filename))
        todo += _functions_read(f)
    return where, files


def _functions_read(f):
    """The Python functions `f` reads from its globals and closure."""
    names, codes = set(), [f.__code__]
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    values = [f.__globals__.get(name) for name in names]
    for cell in f.__closure__ or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:   # an empty cell
            pass
    return [v for v in values if isinstance(v, types.FunctionType)]


def _unpickle_derivative(kind, func, options, token, sources):
    """The derivative `_transform(kind, func, *options)`, where `func` may be a copy: then of
    the function this process already knows under `token`, or of the copy once its functions
    have their file names (and, when this process cannot read those files, their lines) back."""
    with _lock:
        known = _by_token.get(token)
        if known is None:
            _restore_sources(func, *sources)
            known = _by_token[token] = func
            _tokens[func] = token
    return api._transform(kind, known, *options)


def _restore_sources(func, where, files):
    seen, todo = set(), [func]
    while todo:
        f = todo.pop()
        key = _key(f)
        if key in seen or key not in where:
            continue
        seen.add(key)
        filename = where[key]
        lines = files[filename]
        if lines and linecache.getlines(filename) != lines:
            linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)
        if f.__code__.co_filename != filename:
            f.__code__ = f.__code__.replace(co_filename=filename)
        todo += _functions_read(f)
