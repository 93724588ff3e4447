"""Calls whose callee is only known at run time: a function held in a parameter or a local
(`act(x)`, `gradf(x)`), a method of an object (`layer.forward(x)`), an object with `__call__`,
a lambda or a `functools.partial` taken from a list or a dict.

The primal calls the value as it is. The derivative asks sourcediff for the callee's own
derivative (compiled on first use and cached like any other) at the same arguments: the adjoint
sweep calls `dynamic_vjp`, which runs the callee's reverse-mode derivative on the restored
arguments (recomputing the callee's primal once), and forward mode calls `dynamic_jvp`.

Only the call's arguments and, for a method or a callable object, its receiver carry
derivatives; values a callee closes over are constants (a closure made inside the differentiated
function is inlined or refused by the compiler, so its captured values are never lost).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import linecache
import math
import sys
import types

import numpy as np

from .core import NoRule, _is_zero, record_fields, vjp_by_jvp, zero_like

_WRAPPERS = {}     # id(callable) -> (callable, a Python function calling it, readable source)


def _is_derivative(fn):
    return getattr(fn, "__sourcediff_transform__", False) and hasattr(fn, "wrt_index")


def _wrapper(fn, nargs, keywords=()):
    """A plain Python function `lambda a0, a1, ..., k: fn(a0, a1, ..., k=k)` with a readable
    source, for a callable sourcediff knows only by its rule (np.tanh, math.sin, a SciPy
    distribution's method, ...)."""
    key = (id(fn), nargs, tuple(keywords))
    found = _WRAPPERS.get(key)
    if found is not None and found[0] is fn:
        return found[1]
    names = [f"a{i}" for i in range(nargs)] + [f"k_{k}" for k in keywords]
    params = ", ".join(names)
    passed = ", ".join([f"a{i}" for i in range(nargs)] + [f"{k}=k_{k}" for k in keywords])
    name = getattr(fn, "__name__", "callable")
    name = name if name.isidentifier() else "callable"
    filename = f"<sourcediff call of {name} #{len(_WRAPPERS) + 1}>"
    text = f"def call_{name}({params}):\n    return FUNCTION({passed})\n"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {"FUNCTION": fn, "np": np, "math": math}
    exec(compile(text, filename, "exec"), namespace)
    wrapper = namespace[f"call_{name}"]
    _WRAPPERS[key] = (fn, wrapper)
    return wrapper


def _library(fn):
    """NumPy's, SciPy's and the standard library's callables: known by their rules only."""
    func = getattr(fn, "__func__", fn)
    module = getattr(func, "__module__", None) or getattr(type(fn), "__module__", "") or ""
    top = module.split(".")[0]
    return top in ("numpy", "scipy", "math", "builtins", "operator", "functools") or \
        top in getattr(sys, "stdlib_module_names", ())


def _target(fn, args, kwargs):
    """(function to differentiate, its positional arguments, its keyword arguments, the index
    of the receiver among those positional arguments or None, the index of the call's own
    first argument among them) for calling `fn(*args, **kwargs)`."""
    frozen = getattr(fn, "__self__", None)
    if isinstance(fn, types.MethodType) and hasattr(frozen, "dist") and \
            hasattr(frozen, "args") and hasattr(frozen, "kwds"):
        # a frozen SciPy distribution (`norm(0, 2).logpdf(x)`): the distribution's method,
        # the frozen parameters after the call's own arguments
        if kwargs:
            raise NoRule(f"keyword arguments to a frozen distribution's {fn.__name__}: pass "
                         "them by position, or call the distribution itself")
        dist = frozen.dist
        stats = sys.modules.get("scipy.stats")
        canonical = getattr(stats, getattr(dist, "name", ""), None) if stats else None
        if canonical is not None and type(canonical) is type(dist):
            dist = canonical   # the object the rule table knows (a frozen one holds a copy)
        inner = _target(getattr(dist, fn.__name__), (*args, *frozen.args),
                        {**frozen.kwds, **kwargs})
        return inner[0], inner[1], inner[2], None, inner[4]
    if _library(fn) and not isinstance(fn, functools.partial):
        # by its rule: the stand-in's compile finds it (or says there is none)
        return _wrapper(fn, len(args), list(kwargs)), (*args, *kwargs.values()), {}, None, 0
    if isinstance(fn, types.MethodType):
        return fn.__func__, (fn.__self__, *args), kwargs, 0, 1
    if isinstance(fn, functools.partial):
        inner = _target(fn.func, (*fn.args, *args), {**fn.keywords, **kwargs})
        return inner[0], inner[1], inner[2], None, inner[4] + len(fn.args)
    if isinstance(fn, types.FunctionType):
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is not None and _takes_star_args(fn):
            return _target(wrapped, args, kwargs)
        return fn, args, kwargs, None, 0
    if _is_derivative(fn):
        return fn, args, kwargs, None, 0
    if type(fn).__module__.startswith("sourcediff"):
        if kwargs:
            raise NoRule(f"keyword arguments to a {type(fn).__name__} called inside a "
                         "differentiated function: pass them by position")
        return _composite(fn, args), args, {}, None, 0
    if record_fields(fn) is not None and callable(fn):   # an object with __call__
        return type(fn).__call__, (fn, *args), kwargs, 0, 1
    return _wrapper(fn, len(args), list(kwargs)), (*args, *kwargs.values()), {}, None, 0


def _composite(fn, args):
    """A plain function, with a readable source, computing `fn(*args)` for a Hessian-vector
    product, a Jacobian or a Hessian from the jvp derivatives they are made of, so the call is
    differentiated through those (`hvp(f)(x, v)` is `jvp(grad(f))(x, v)[1]`; a Jacobian's
    columns are jvps along the unit vectors)."""
    from ..api import _transform
    from ..jacobians import HessianVectorProduct, Jacobian
    names = [f"a{i}" for i in range(len(args))]
    passed = ", ".join(names)
    namespace = {"np": np}
    kind = type(fn).__name__
    if isinstance(fn, HessianVectorProduct):
        namespace["JVP"] = fn.tangent
        body = f"    return JVP({passed})[1]\n"
    elif isinstance(fn, Jacobian) and not fn.wrt_tuple:
        namespace["JVP"] = fn.tangent or _transform("jvp", fn.func, fn.wrt)
        x = args[fn.wrt_index[0]]
        if not isinstance(x, np.ndarray) or x.ndim == 0:
            body = f"    return JVP({passed}, 1.0)[1]\n"
        else:
            n = x.size
            namespace["BASIS"] = np.eye(n).reshape((n,) + x.shape)
            namespace["SHAPE"] = x.shape
            body = (f"    cols = [JVP({passed}, BASIS[j])[1] for j in range({n})]\n"
                    "    stacked = np.stack(cols, axis=-1)\n")
            body += ("    return stacked\n" if x.ndim == 1 else
                     "    return np.reshape(stacked, np.shape(cols[0]) + SHAPE)\n")
    else:
        raise NoRule(f"differentiating through a call to {kind} with several wrt arguments is "
                     "not supported; take the Jacobian with respect to one argument at a time")
    key = ("composite", id(fn), len(args), body)
    found = _WRAPPERS.get(key)
    if found is not None and found[0] is fn:
        return found[1]
    name = kind.lower()
    filename = f"<sourcediff call of a {kind} #{len(_WRAPPERS) + 1}>"
    text = f"def {name}({passed}):\n" + body
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    exec(compile(text, filename, "exec"), namespace)
    made = namespace[name]
    _WRAPPERS[key] = (fn, made)
    return made


def _takes_star_args(fn):
    code = fn.__code__
    return bool(code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS))


def _differentiable(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, (float, np.floating)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "fc"
    if isinstance(value, (list, tuple, dict)):
        return True
    return record_fields(value) is not None


def _bound(target, args, kwargs):
    """The values of every parameter of `target`, in order (defaults filled in)."""
    if _is_derivative(target):
        values = list(args)
        if kwargs:
            values = list(target._bind(tuple(args), kwargs))
        return list(target.params), values
    sig = inspect.signature(target)
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    return list(bound.arguments), list(bound.arguments.values())


def _layout(fn, args, kwargs):
    """(target, parameter values, for each slot of the call (fn, *args, *kwargs) the index of
    the parameter it feeds or None)."""
    target, full_args, full_kw, receiver, first = _target(fn, args, kwargs)
    names, values = _bound(target, full_args, full_kw)
    slots = [receiver]
    slots += [first + i for i in range(len(args))]
    if full_kw or not kwargs:
        slots += [names.index(k) if k in names else None for k in kwargs]
    else:   # a stand-in took the keyword values as positional arguments after the others
        slots += [first + len(args) + i for i in range(len(kwargs))]
    return target, names, values, slots


def _plain_gradient(d):
    """Whether `d` is the gradient (or value and gradient) of a plain function: its adjoint
    is then a Hessian-vector product, one forward pass over its reverse-mode code."""
    return (getattr(d, "kind", None) in ("grad", "value_and_grad")
            and isinstance(getattr(d, "func", None), types.FunctionType))


def _jvp(fn, **options):
    """`sourcediff.jvp` (imported late: the API imports this module)."""
    from ..api import jvp
    return jvp(fn, **options)


def derivative_vjp(d, args, g, wrt):
    """The adjoints, with respect to the arguments at `wrt`, of `y = d(*args)` for a gradient
    `d = grad(f, wrt=W)` and the output adjoint `g`: by the symmetry of second derivatives,
    <d(∇_W f), g> is the derivative of ∇_A f in the direction g placed on W, one jvp of
    grad(f, wrt=A) (reverse over reverse, at the cost of forward over reverse). Other
    derivatives: one tangent pass per input element."""
    from ..api import grad as _grad
    wrt = tuple(wrt)
    if _is_zero(g):
        return (0.0,) * len(wrt)
    if not _plain_gradient(d):
        return vjp_by_jvp(_jvp(d, wrt=wrt), list(args), g)
    f = d.func
    value_part, grad_part = (g if d.kind == "value_and_grad" or d.preserve_result
                             else (0.0, g))
    W = tuple(d.wrt_index)
    tangents = grad_part if d.wrt_tuple else (grad_part,)
    if _is_zero(tangents):
        tangents = (0.0,) * len(W)
    tangents = [zero_like(args[i]) if _is_zero(t) else t for t, i in zip(tangents, W,
                                                                         strict=True)]
    inner = _grad(f, wrt=wrt)
    if all(_is_zero(t) or not np.any(t) for t in tangents):
        mixed = (0.0,) * len(wrt)
    else:
        _, mixed = _jvp(inner, wrt=W)(*args, *tangents)
    if _is_zero(value_part):
        return tuple(mixed)
    first = inner(*args)
    return tuple(m + value_part * v for m, v in zip(mixed, first, strict=True))


def _starred(results, star, nargs):
    """Results per argument with those of a star-argument (from position `star` on) as one
    list, in the starred sequence's place."""
    if star is None:
        return tuple(results)
    results = list(results)
    head, rest = results[:1 + star], results[1 + star:1 + nargs]
    return (*head, rest, *results[1 + nargs:])


def _nondifferentiable(fn):
    from ..rules import is_nondifferentiable
    return is_nondifferentiable(fn)


def dynamic_vjp(fn, args, kwargs, g, star=None):
    """The adjoints (of `fn` itself, then of each argument, then of each keyword value) of
    `fn(*args, **kwargs)` for the output adjoint `g`; with `star`, the arguments from that
    position on came from a star-argument and get one list of adjoints."""
    n = 1 + len(args) + len(kwargs)
    if _is_zero(g) or _nondifferentiable(fn):
        return _starred((0.0,) * n, star, len(args))
    from ..api import vjp as _vjp
    target, names, values, slots = _layout(fn, args, kwargs)
    wrt = tuple(i for i in dict.fromkeys(s for s in slots if s is not None)
                if _differentiable(values[i]))
    if not wrt:
        return _starred((0.0,) * n, star, len(args))
    if _is_derivative(target):
        grads = dict(zip(wrt, derivative_vjp(target, values, g, wrt), strict=True))
    else:
        with _explained(fn, target):
            _, found = _vjp(target, wrt=wrt)(*values, g)
        grads = dict(zip(wrt, found, strict=True))
    results = [grads.get(s, 0.0) if s is not None else 0.0 for s in slots]
    return _starred(results, star, len(args))


def dynamic_jvp(fn, args, kwargs, tangents, star=None):
    """The tangent of `fn(*args, **kwargs)` given the tangents (of `fn` itself, then of each
    argument, then of each keyword value; 0.0 or None for none; with `star`, the arguments
    from that position on came from a star-argument, whose tangent is one sequence)."""
    if _nondifferentiable(fn):
        return zero_like(fn(*args, **kwargs))
    if star is not None:
        seq = tangents[1 + star]
        count = len(args) - star
        parts = [None] * count if seq is None or _is_zero(seq) else list(seq)
        tangents = (*tangents[:1 + star], *parts, *tangents[2 + star:])
    target, names, values, slots = _layout(fn, args, kwargs)
    given = {}
    for slot, tangent in zip(slots, tangents, strict=True):
        if slot is not None and tangent is not None and not _is_zero(tangent) \
                and _differentiable(values[slot]):
            given[slot] = tangent
    wrt = tuple(sorted(given))
    if not wrt:
        return zero_like(fn(*args, **kwargs))
    with _explained(fn, target):
        _, out = _jvp(target, wrt=wrt)(*values, *[given[i] for i in wrt])
    return out


@contextlib.contextmanager
def _explained(fn, target):
    """A callable that only a stand-in function calls (one with no source and no rule): its
    missing rule is reported at the user's call, not at the stand-in's line."""
    from ..errors import MissingRuleError
    try:
        yield
    except MissingRuleError as exc:
        if target.__code__.co_filename.startswith("<sourcediff call of"):
            raise NoRule(f"no derivative rule for {_describe(fn)} (called through a "
                         "variable; register one with @sourcediff.adjoint)") from exc
        raise


def _describe(fn):
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    return name if isinstance(name, str) else repr(fn)


__all__ = ["derivative_vjp", "dynamic_jvp", "dynamic_vjp"]
