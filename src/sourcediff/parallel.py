"""Derivatives in other processes: pickling support.

Derivatives pickle by reference: what travels is the user's function (by name, as pickle sends
functions), the transform and its options; generated code never does. Each worker process
compiles the derivative on its first call there and reuses it for later tasks. The functions a
derivative differentiates must be importable by the workers, or copied there by cloudpickle (as
Dask does for functions of `__main__` and local ones): a copied function travels with the text
of its file, which cloudpickle drops and sourcediff needs.
"""

from __future__ import annotations

import linecache
import sys
import threading
import types
import uuid
import weakref

from . import api

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
