"""The transforms: grad, value_and_grad, jvp, vjp; `source` (jacobian, hessian and hvp, built
on them, are in `jacobians`; check_grads in `checking`).

Each returns a `Derivative`: a callable that compiles on first use (so a decorator can refer to
functions defined later in the module), specializes on whether each argument is a scalar or an
array, and caches the result. A later `grad(f)` with the same options returns the same object.
"""

from __future__ import annotations

import functools
import inspect
import linecache
import re
import threading
import types
import weakref

import gast
import numpy as np

from . import codegen, runtime
from .errors import (
    DomainError,
    MissingRuleError,
    NonScalarOutputError,
    SourceDiffError,
    UnsupportedSyntaxError,
    VectorModeError,
    WrtError,
)
from .frontend import parse_function, register_source, unwrapped
from .naming import identifier
from .passes.activity import kind_of_value
from .passes.checkpoint import mark_outermost
from .passes.forward import Forward
from .passes.reverse import Reverse
from .rules import registry
from .unit import NameClash, SteepUnit, Unit

_lock = threading.RLock()
_cache = weakref.WeakKeyDictionary()


class Compiled:
    """One specialization: the generated text and the function to call."""

    def __init__(self, text, fn, unit, return_line):
        self.text = text
        self.fn = fn
        # (scope, name, object), once each: checked on every call
        self.deps = list({(id(g), name): (g, name, obj) for g, name, obj in unit.deps}.values())
        self.return_line = return_line
        self.rules_version = registry.VERSION[0]
        # the derivative also goes stale when a function's code is replaced in place
        # (IPython's autoreload does that)
        self.codes = [(f, f.__code__) for f in dict.fromkeys(unit.owners.values())
                      if isinstance(f, types.FunctionType)]
        self.unit = unit
        self.filename = fn.__code__.co_filename

    def stale(self):
        """Whether a rule, a callee or the code of a function changed since compiling."""
        if self.rules_version != registry.VERSION[0]:
            return True
        for f, code in self.codes:
            if f.__code__ is not code:
                return True
        for g, name, obj in self.deps:
            if g.get(name) is not obj:
                return True
        return False


class Derivative:
    """A compiled, cached derivative of `func`. Call it like `func`."""

    __sourcediff_transform__ = True
    checkpoint = None   # grad(f, checkpoint=K): K snapshots for f's outermost loops
    batched = False     # a vector-mode jvp: tangents (k,) + shape, then k (runtime/batch.py)

    def __init__(self, func, kind, wrt, mode, optimize, preserve_result):
        if mode not in ("reverse", "forward"):
            raise ValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")
        if not isinstance(func, (types.FunctionType, Derivative)):
            parse_function(func)   # raises a NoSourceError that says what to do
        if isinstance(func, Derivative):
            # a derivative of a derivative: forward mode over the generated reverse-mode code
            if kind == "vjp":
                raise SourceDiffError(
                    f"vjp of {func.__name__} (itself a derivative) is not supported",
                    hint="use jvp, hessian or hvp for higher-order derivatives")
            if func.kind not in ("grad", "value_and_grad", "jvp"):
                raise SourceDiffError(f"cannot differentiate a `{func.kind}` derivative again")
            if func.mode == "forward" and func.kind != "jvp":
                if isinstance(func.func, Derivative):
                    raise SourceDiffError(
                        "third and higher derivatives are not supported",
                        hint="sourcediff differentiates a reverse-mode derivative once more "
                             "(grad(grad(f)), hessian, hvp)")
                func = _transform(func.kind, func.func, func.wrt_arg, mode="reverse",
                                  optimize=func.optimize)
            mode = "forward"
        self.func = func
        self.kind = kind
        # a derivative of a reverse-mode gradient (hessian, hvp, jvp of grad): its result is
        # checked for a nan the gradient does not have (_undefined_second_order)
        self.second_order = isinstance(func, Derivative) and func.kind in ("grad",
                                                                          "value_and_grad")
        self.mode = mode
        self.optimize = optimize
        self.preserve_result = preserve_result
        self.params, self.signature = _params(func)
        if isinstance(func, Derivative) and func.kind == "jvp":
            # a jvp's generated code takes the tangents after the arguments
            self.params = self.params + [f"{p}_dot" for p in func.wrt_names]
            self.signature = inspect.Signature(
                [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                 for p in self.params])
        self.wrt_names, self.wrt_tuple = _normalize_wrt(func, self.params, wrt)
        self.wrt_arg = wrt
        self.wrt_index = [self.params.index(w) for w in self.wrt_names]
        self.specs = {}       # argument kinds -> Compiled
        self.by_types = {}    # argument types -> (Compiled, wrt indices holding arrays)
        extra = len(self.wrt_names) if kind == "jvp" else int(kind == "vjp")
        self.nargs = len(self.params) + extra
        functools.update_wrapper(self, func, updated=())
        self.__name__ = f"{kind}_{func.__name__}"
        self.__qualname__ = self.__name__

    # ---- calling
    def __call__(self, *args, **kwargs):
        if kwargs or len(args) != self.nargs:
            args = self._bind(args, kwargs)
        # fast path: one dict lookup on the argument types, one staleness check
        entry = self.by_types.get(tuple(map(type, args)))
        if entry is None or entry[0].stale():
            entry = self._specialize(args)
        spec, array_wrt = entry
        for i in array_wrt:
            if args[i].dtype.kind != "f":
                _check_wrt_value(self, i, args[i])
        try:
            out = spec.call(*args)
        except runtime.NotScalarError as exc:
            raise self._non_scalar(exc.args[0], spec) from None
        except runtime.Refused as exc:
            origin = _origin(exc, spec)
            cls = MissingRuleError if isinstance(exc, runtime.NoRule) else UnsupportedSyntaxError
            raise cls(
                exc.args[0], filename=origin and origin[0], lineno=origin and origin[1],
                line=origin and linecache.getline(*origin),
                hint="rewrite this line as the message says") from None
        except (ZeroDivisionError, OverflowError) as exc:
            if self._primal_raises(args, type(exc)):
                _annotate(exc, spec)
                raise
            origin = _origin(exc, spec)
            _annotate(exc, spec)
            raise DomainError(
                f"the derivative is not finite at this input ({exc} in the derivative of this "
                "line)", filename=origin and origin[0], lineno=origin and origin[1],
                line=origin and linecache.getline(*origin),
                hint="evaluate the derivative away from this point (e.g. sqrt, log, or a "
                     "power below 1 at 0), or pass NumPy floats (np.float64) to get inf or "
                     "nan instead") from exc
        except Exception as exc:
            _annotate(exc, spec)
            raise
        if self.second_order and _has_nan(out):
            self._undefined_second_order(args)
        return out


    def _undefined_second_order(self, args):
        """A nan in a second derivative where the gradient has none: an infinite partial
        (sqrt, cbrt, a power below 1 at 0) met an exact zero. The gradient resolves that (the
        zero wins: `runtime.times`), but sums of such infinite terms in its derivative are
        undefined, and the result would be nan where the true value is a number."""
        gradient = self.func(*args[:self.func.nargs])
        if _has_nan(gradient):
            return   # nan already in the gradient (and the function): not ours to explain
        user = self.func.func
        while isinstance(user, Derivative):
            user = user.func
        src = parse_function(user)
        raise src.error(
            DomainError,
            f"the second derivative of {src.name} is not defined by sourcediff at this input "
            "(nan): an infinite partial (sqrt, cbrt, arcsin, a power below 1 at a singular "
            "point) meets an exact zero (a clipped, masked or constant value), which the "
            "gradient resolves but its derivative cannot",
            hint="evaluate the second derivative away from this point, or keep values off "
                 "the singular point (e.g. np.sqrt(np.maximum(u, 1e-300)))")

    def _primal_raises(self, args, kind):
        """Whether the function itself raises `kind` on these arguments (then so may we)."""
        try:
            self.func(*runtime.copy_value(list(args[:len(self.params)])))
        except kind:
            return True
        except Exception:   # noqa: BLE001  (any other failure: not ours to explain)
            return False
        return False

    def _specialize(self, args):
        """Compile (or find) the version for these argument kinds; validate `wrt` once."""
        n = len(self.params)
        for i in self.wrt_index:
            _check_wrt_value(self, i, args[i])
        spec = self.specs.get(tuple(map(kind_of_value, args[:n])))
        if spec is None or spec.stale():
            spec = self._compile(tuple(map(kind_of_value, args[:n])))
        if self.mode == "forward" and self.kind in ("grad", "value_and_grad"):
            if len(self.wrt_index) == 1 and type(args[self.wrt_index[0]]) is float:
                spec.call = self._one_float_forward(spec.fn)   # one pass, no basis loop
            else:
                spec.call = functools.partial(self._forward_grad, spec.fn)
        else:
            spec.call = spec.fn
        array_wrt = tuple(i for i in self.wrt_index if isinstance(args[i], np.ndarray))
        entry = (spec, array_wrt)
        self.by_types[tuple(map(type, args))] = entry
        return entry

    def tape_bytes(self, *args, **kwargs):
        """Peak bytes of values the forward sweep saves for the adjoint on these arguments
        (the snapshots of checkpointed loops included).

        Runs a copy of the derivative whose tapes count what they hold."""
        if kwargs or len(args) != self.nargs:
            args = self._bind(args, kwargs)
        spec, _ = self.by_types.get(tuple(map(type, args))) or self._specialize(args)
        measuring = getattr(spec, "measuring", None)
        if measuring is None:
            text = spec.text.replace("_tape = []", "_tape = _sd.measured_tape()")
            bindings = dict(spec.unit.bindings)
            made = codegen.compile_module(text, "tape measurement", bindings, spec.unit.owners)
            measuring = spec.measuring = made[spec.fn.__name__]
        call = measuring
        if self.mode == "forward" and self.kind in ("grad", "value_and_grad"):
            call = functools.partial(self._forward_grad, measuring)
        return runtime.measure_tape(call, *args)

    def _one_float_forward(self, jvp):
        """The gradient with respect to one float argument: a single tangent pass."""
        check = runtime.check_scalar
        keep_value = self.kind == "value_and_grad" or self.preserve_result
        wrap = (lambda g: (g,)) if self.wrt_tuple else (lambda g: g)

        def call(*args):
            value, out_dot = jvp(*args, 1.0)
            if type(value) is not float:
                check(value)
            grad = wrap(out_dot if type(out_dot) is float else float(np.reshape(out_dot, ())))
            return (value, grad) if keep_value else grad
        return call

    def _forward_grad(self, fn, *args):
        return self._forward_gradient(fn, args)

    def _non_scalar(self, value, spec):
        src = parse_function(self.func)
        return src.error(
            NonScalarOutputError,
            f"{self.kind} needs a scalar output, but {self.func.__name__} returned "
            f"{_describe(value)}", lineno=spec.return_line,
            hint="reduce the output (e.g. np.sum) or use sourcediff.vjp / "
                 "sourcediff.jacobian for non-scalar outputs")

    def _bind(self, args, kwargs):
        extra = ()
        if self.kind in ("jvp", "vjp"):
            n = len(self.wrt_names) + self.batched if self.kind == "jvp" else 1
            if len(args) < n:
                raise TypeError(f"{self.__name__}() takes {func_args(self)} followed by "
                                f"{n} {'tangent(s)' if self.kind == 'jvp' else 'cotangent'}")
            extra = args[len(args) - n:]
            args = args[:len(args) - n]
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.__name__}(): {exc}") from None
        bound.apply_defaults()
        return tuple(bound.arguments[p] for p in self.params) + tuple(extra)

    def _forward_gradient(self, fn, args):
        """Gradient by forward mode: one pass of the vector forward mode with a direction per
        input element (one tangent pass per element where it cannot follow the code, or for
        inputs in containers)."""
        if not self.wrt_index:
            return self.func(*args)
        result = None
        if self._vector is not None and all(
                type(args[i]) is float or type(args[i]) is np.ndarray for i in self.wrt_index
        ) and runtime.vector_pays(args, self.wrt_index):
            ok, out = attempt_vector(self._vector_gradient, args)
            if ok:
                value, result = out
            else:
                self._vector = None
        if result is None:
            value, result = runtime.forward_gradient(fn, args, self.wrt_index,
                                                     self.wrt_tuple)
        if self.kind == "value_and_grad" or self.preserve_result:
            return value, result
        return result

    @property
    def _vector(self):
        """The vector-mode jvp this forward-mode gradient runs (None: one pass per element)."""
        if "_vector_jvp" not in self.__dict__:
            plain = isinstance(self.func, types.FunctionType)
            self._vector_jvp = _transform("jvp", self.func, self.wrt_arg, optimize=self.optimize,
                                          batched=True) if plain else None
        return self._vector_jvp

    @_vector.setter
    def _vector(self, value):
        self._vector_jvp = value

    def _vector_gradient(self, args):
        value, columns, inputs, starts = runtime.vector_columns(
            self._vector, args, self.wrt_index)
        runtime.check_scalar(value)
        if columns.shape[1] != 1:
            raise runtime.Unbatchable("an output of several elements")
        grads = [runtime.gradient_like(columns[start:start + x.size, 0].reshape(x.shape),
                                       args[i])
                 for i, x, start in zip(self.wrt_index, inputs, starts, strict=True)]
        return value, (tuple(grads) if self.wrt_tuple else grads[0])

    # ---- compiling
    def _compile(self, key):
        with _lock:
            spec = self.specs.get(key)
            if spec is not None and not spec.stale():
                return spec
            spec = build(self, dict(zip(self.params, key, strict=True)))
            self.specs[key] = spec
            return spec

    @property
    def source(self):
        """The generated Python source (for arguments of unknown kinds)."""
        key = (None,) * len(self.params)
        spec = self.specs.get(key)
        if spec is None:
            spec = self._compile(key)
        return spec.text

    def __repr__(self):
        return f"<sourcediff {self.kind} of {self.func.__qualname__} ({self.mode} mode)>"

    def __reduce__(self):
        """Pickle by reference: the user's function, the transform and its options. Unpickling
        calls the transform again, which gives the cached derivative of that function (in a new
        process a new one, compiled on its first call). Generated code is never pickled."""
        name = _global_name(self)
        if name is not None:
            return name
        kind, func, *options = _transform_args(self)
        # functions that cloudpickle copies need their source sent along
        from .parallel import _reduce_copied
        return _reduce_copied(kind, func, options) or (_transform, (kind, func, *options))


def attempt_vector(call, *args):
    """(True, call(*args)) for a call of the vector forward mode, or (False, None) where it
    cannot carry the code or failed otherwise (`runtime.vector_failed`): the caller then runs
    one pass per direction."""
    try:
        return True, call(*args)
    except (VectorModeError, runtime.Unbatchable):
        return False, None
    except Exception as exc:   # noqa: BLE001  (see runtime.vector_failed)
        if not runtime.vector_failed(exc):
            raise
        return False, None


def _has_nan(value):
    """Whether a derivative's result (numbers, arrays, tuples and lists of them) has a nan."""
    if isinstance(value, (tuple, list)):
        return any(_has_nan(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    if isinstance(value, (float, np.floating, np.complexfloating, np.ndarray)):
        return not runtime.core._nan_free(value)
    return False


def _origin(exc, spec):
    """(user file, user line) behind the generated line where `exc` was raised, or None."""
    tb = exc.__traceback__
    found = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == spec.filename:
            found = tb.tb_lineno
        tb = tb.tb_next
    return spec.unit.user_line(found) if found is not None else None


def _annotate(exc, spec):
    """Add a note naming the generated line and the user's line it came from."""
    if not hasattr(exc, "add_note") or getattr(exc, "_sourcediff_noted", False):
        return
    tb = exc.__traceback__
    frame_line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith("<sourcediff"):
            frame_line = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    if frame_line is None:
        return
    filename, line = frame_line
    text = linecache.getline(filename, line).strip()
    note = f"sourcediff: raised in the generated derivative, line {line}: {text}"
    origin = None
    for compiled in (spec,):
        if compiled.filename == filename:
            origin = compiled.unit.user_line(line)
    if origin is not None:
        user_file, user_line = origin
        user_text = linecache.getline(user_file, user_line).strip()
        note += f"\n  generated from {user_file}:{user_line}: {user_text}"
    exc.add_note(note)
    exc._sourcediff_noted = True


def func_args(d):
    return ", ".join(d.params) or "no arguments"


def build(d, param_kinds):
    """Generate and compile the derivative `d` describes for the given argument kinds."""
    func = d.func
    inner = None
    if isinstance(func, Derivative):
        key = tuple(param_kinds.get(p) for p in func.params)
        inner = func.specs.get(key)
        if inner is None or inner.stale():
            inner = func._compile(key)
        if inner.unit.mutating_callees:
            raise inner.unit.mutating_callees[0]
        if getattr(inner.unit, "checkpointed", False):
            # forward mode over reverse-mode code runs without checkpoints
            inner = _transform(*_transform_args(func)[:6], checkpoint=0)._compile(key)
        func = inner.fn
    try:
        return _generate(d, func, param_kinds)
    except SourceDiffError as exc:
        if inner is None or not str(exc.filename or "").startswith("<sourcediff"):
            raise
        raise _in_user_terms(d, exc, inner) from None


def _in_user_terms(d, exc, inner):
    """An error about generated derivative code (differentiated again for a higher order),
    restated at the user's line and in terms of the user's functions."""
    origin = inner.unit.user_line(exc.lineno)
    reason = exc.reason
    hint = ("compute this derivative with a first-order transform only, or register rules "
            "for the helper with @sourcediff.adjoint/@sourcediff.tangent")
    calls = [h for h in ("derivative_vjp", "dynamic_vjp", "dynamic_jvp") if f"_sd.{h}" in reason]
    if calls:
        reason = ("this call (to a derivative, or to a function held in a value) is "
                  "differentiated here a second time, which sourcediff does not support: "
                  "such calls are differentiated once, in the outermost grad, jvp or vjp")
        hint = "differentiate the function that makes this call once (grad, jvp or vjp)"
    for helper, public in ([] if calls else _helper_owners().items()):
        if f"_sd.{helper}" in reason:
            reason = (f"this higher-order derivative needs the second derivative of {public}, "
                      f"which sourcediff does not have (no rule for its helper _sd.{helper})")
            break
    return type(exc)(reason, filename=origin and origin[0], lineno=origin and origin[1],
                     line=origin and linecache.getline(*origin), hint=hint)


def _helper_owners():
    """{runtime helper name: the public function whose rule calls it}."""
    out = {}
    for rule_ in registry.RULES.values():
        for template in list(rule_.adjoint.values()) + list(rule_.tangent.values()):
            for helper in re.findall(r"_sd\.(\w+)\(", template):
                if not rule_.name.startswith("sourcediff."):
                    out.setdefault(helper, rule_.name)
    return out


def _returns_something(func):
    """Refuse to differentiate a function with no `return` (a helper it calls may have none);
    a generator is left to the pass that refuses `yield` with its own message."""
    if not isinstance(func, types.FunctionType) or getattr(
            func, "__sourcediff_generated__", False):
        return
    src = parse_function(func)
    nested = (gast.FunctionDef, gast.Lambda)
    todo, found = list(src.tree.body), False
    while todo and not found:
        node = todo.pop()
        found = isinstance(node, (gast.Return, gast.Yield, gast.YieldFrom))
        if not isinstance(node, nested):
            todo.extend(gast.iter_child_nodes(node))
    if not found and src.tree.name != "<lambda>":
        raise src.error(UnsupportedSyntaxError, f"{src.name} has no return statement",
                        src.tree, hint="return the value to differentiate")


def _generate(d, func, param_kinds):
    _returns_something(func)
    reserved = set()
    steep = False
    while True:
        try:
            return _generate_unit(d, func, param_kinds, reserved, steep)
        except NameClash as clash:
            if clash.names <= reserved:
                raise
            reserved |= clash.names
        except SteepUnit:
            steep = True


def _generate_unit(d, func, param_kinds, reserved, steep=False):
    fname = f"{d.kind}_{identifier(d.func)}"
    unit = Unit(f"{fname} ({d.mode})", reserved, steep)
    unit.checkpoints_off = d.checkpoint == 0   # grad(f, checkpoint=0): pragmas ignored
    unit.batched = d.batched
    wrt_names, param_kinds = _as_named_in(func, d, param_kinds)
    an = unit.analysis(func, wrt_names, param_kinds)
    if d.checkpoint and d.mode == "reverse" and d.kind != "jvp":
        mark_outermost(an, d.checkpoint)
    wrt = tuple(wrt_names) if d.wrt_tuple else wrt_names
    if d.mode == "forward" or d.kind == "jvp":
        fn_ast = Forward(an, unit).jvp_function(
            unit.names.fresh_exact(f"jvp_{identifier(d.func)}"), wrt_names)
    else:
        seed = None
        preserve = d.preserve_result or d.kind == "value_and_grad"
        if d.kind == "vjp":
            seed = an.namer.exact_or_fresh("cotangent")
            preserve = True
        fn_ast = Reverse(an, unit).gradient_function(unit.names.fresh_exact(fname), wrt,
                                                     preserve, seed)
    unit.functions.insert(0, fn_ast)
    unit.owners[fn_ast.name] = func
    unit.drain()
    unit.check_steep()
    if d.optimize:
        unit.optimize()
    text, made = unit.compile()
    return Compiled(text, made[fn_ast.name], unit, an.return_line)


def _as_named_in(func, d, param_kinds):
    """`d`'s wrt names and argument kinds under the parameter names of `func`: a derivative's
    generated code may name a parameter differently from the user (`_pop` is `_pop_1` there)."""
    if not getattr(func, "__sourcediff_generated__", False):
        return list(d.wrt_names), param_kinds
    actual = list(inspect.signature(func).parameters)
    if len(actual) != len(d.params):
        return list(d.wrt_names), param_kinds
    rename = dict(zip(d.params, actual, strict=True))
    return ([rename[w] for w in d.wrt_names],
            {rename.get(p, p): k for p, k in param_kinds.items()})


# ---- helpers
def _params(func):
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        parse_function(func)   # raises the NoSourceError that explains it
        raise
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            src = parse_function(func)
            from .passes.fence import fence
            fence(src)
    return [p for p in sig.parameters], sig


def _normalize_wrt(func, params, wrt):
    items = wrt if isinstance(wrt, tuple) else (wrt,)
    names = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise _wrt_error(func, f"wrt must be a parameter index or name, not {item!r}")
        if isinstance(item, int):
            if not -len(params) <= item < len(params):
                raise _wrt_error(func, f"wrt={item} but {func.__name__} has "
                                       f"{len(params)} parameter(s): {', '.join(params)}")
            names.append(params[item])
        else:
            if item not in params:
                raise _wrt_error(func, f"wrt={item!r} is not a parameter of {func.__name__} "
                                       f"(its parameters: {', '.join(params) or 'none'})")
            names.append(item)
    if len(set(names)) != len(names):
        raise _wrt_error(func, f"wrt names a parameter twice: {wrt!r}")
    return names, isinstance(wrt, tuple)


def _wrt_error(func, message):
    code = getattr(func, "__code__", None)
    line = linecache.getline(code.co_filename, code.co_firstlineno) if code else None
    return WrtError(message, filename=code.co_filename if code else None,
                    lineno=code.co_firstlineno if code else None, line=line or None,
                    hint="pass wrt= an index, a parameter name, or a tuple of them")


def _check_wrt_value(d, i, value):
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer))):
        raise _wrt_error(d.func, f"cannot differentiate with respect to {d.params[i]!r}: it is "
                                 f"an integer ({value!r})")
    if isinstance(value, np.ndarray) and value.dtype.kind not in "f":
        kind = {"c": "complex"}.get(value.dtype.kind, str(value.dtype))
        raise _wrt_error(d.func, f"cannot differentiate with respect to {d.params[i]!r}: its "
                                 f"dtype is {kind}; pass a float array")
    if isinstance(value, complex):
        raise _wrt_error(d.func, f"cannot differentiate with respect to {d.params[i]!r}: "
                                 "complex numbers are not supported")


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


def _transform(kind, func, wrt, mode="reverse", optimize=True, preserve_result=False,
               checkpoint=None, batched=False):
    differentiate = getattr(type(func), "_sd_differentiate", None)
    if differentiate is not None:   # a transform that is not a Derivative (hvp, a 3rd one)
        return differentiate(func, kind, wrt)
    if (kind == "grad" and isinstance(func, Derivative) and func.mode == "forward"
            and func.kind == "grad" and isinstance(func.func, Derivative)):
        return GradOfSecond(func, wrt)   # a third derivative
    func = unwrapped(func)
    if isinstance(func, types.MethodType):
        return BoundDerivative(kind, func, wrt, mode, optimize, preserve_result)
    key = (kind, wrt, mode, optimize, preserve_result)
    if checkpoint is not None:
        if isinstance(checkpoint, bool) or not isinstance(checkpoint, int) or checkpoint < 0:
            raise ValueError(f"checkpoint must be a number of snapshots, not {checkpoint!r}")
        key += (checkpoint,)
    if batched:
        key += ("batched",)
    with _lock:
        try:
            per_func = _cache.setdefault(func, {})
        except TypeError:
            per_func = {}
        d = per_func.get(key)
        if d is None:
            d = per_func[key] = Derivative(func, kind, wrt, mode, optimize, preserve_result)
            d.checkpoint = checkpoint
            if batched:
                d.batched = True
                d.nargs += 1
        return d


class BoundDerivative:
    """A transform of a bound method (`grad(model.loss)`): the transform of the function with
    the object as its first argument; `wrt` counts the method's own parameters."""

    __sourcediff_transform__ = True

    def __init__(self, kind, method, wrt, mode, optimize, preserve_result):
        self.method = method
        self.obj = method.__self__
        self.kind = kind
        self.mode = mode
        shifted = tuple(_shift(w) for w in wrt) if isinstance(wrt, tuple) else _shift(wrt)
        self.inner = _transform(kind, method.__func__, shifted, mode=mode, optimize=optimize,
                                preserve_result=preserve_result)
        self.wrt_arg = wrt
        self.options = (mode, optimize, preserve_result)
        functools.update_wrapper(self, method, updated=())
        self.__name__ = f"{kind}_{identifier(method)}"

    def __call__(self, *args, **kwargs):
        return self.inner(self.obj, *args, **kwargs)

    @property
    def source(self):
        return self.inner.source

    def tape_bytes(self, *args, **kwargs):
        return self.inner.tape_bytes(self.obj, *args, **kwargs)

    def __reduce__(self):
        return (_transform, (self.kind, self.method, self.wrt_arg, *self.options))

    def __repr__(self):
        return f"<sourcediff {self.kind} of the method {self.method.__qualname__}>"


def _shift(wrt):
    """`wrt` of a method's own parameters, counted in the function's (self comes first)."""
    if isinstance(wrt, bool) or not isinstance(wrt, int):
        return wrt
    return wrt + 1 if wrt >= 0 else wrt


def _decorator(kind, func, source=None, **opts):
    if func is None:
        return lambda f: _decorator(kind, f, source=source, **opts)
    if not callable(func):
        raise TypeError(f"{kind}() takes a function, got {func!r}")
    if source is not None:
        register_source(func, source)
    return _transform(kind, func, **opts)


def grad(func=None, wrt=0, *, mode="reverse", optimize=True, preserve_result=False,
         source=None, checkpoint=None):
    """The gradient of `func`'s scalar output with respect to the argument(s) `wrt`.

    `wrt` is an index, a parameter name, or a tuple of them (a tuple gives a tuple of
    gradients). Each gradient has the type and shape of its argument. `mode="forward"` computes
    it with forward mode; `preserve_result=True` returns `(value, gradient)`. `source` is the
    text of `func`'s `def`, for a function with no source file (typed at the prompt, exec).
    `checkpoint=K` keeps at most K snapshots for each outermost loop of `func` instead of a
    tape entry per step, as `with sourcediff.checkpoint(snapshots=K):` does (`checkpoint=0`
    ignores those pragmas).
    """
    return _decorator("grad", func, source, wrt=wrt, mode=mode, optimize=optimize,
                      preserve_result=preserve_result, checkpoint=checkpoint)


def value_and_grad(func=None, wrt=0, *, mode="reverse", optimize=True, source=None,
                   checkpoint=None):
    """`(value, gradient)`: the same as `grad(func, wrt, preserve_result=True)`."""
    return _decorator("value_and_grad", func, source, wrt=wrt, mode=mode, optimize=optimize,
                      preserve_result=True, checkpoint=checkpoint)


def jvp(func=None, wrt=0, *, optimize=True, source=None):
    """Takes `func`'s arguments then one tangent per `wrt` argument; returns
    `(value, tangent of the output)`."""
    return _decorator("jvp", func, source, wrt=wrt, mode="forward", optimize=optimize)


def vjp(func=None, wrt=0, *, optimize=True, source=None, checkpoint=None):
    """Takes `func`'s arguments then a cotangent shaped like the output; returns
    `(value, gradient)`. `checkpoint=K`: as for `grad`."""
    return _decorator("vjp", func, source, wrt=wrt, mode="reverse", optimize=optimize,
                      checkpoint=checkpoint)


class ThirdDerivative:
    """A third derivative: the float tangent of `self.outer`, a jvp over second-derivative
    code, which is made of and pickles as `grad` of what it wraps (`__wrapped__`)."""

    def _sd_differentiate(self, kind, wrt):
        raise SourceDiffError("fourth and higher derivatives are not supported",
                              hint="sourcediff goes up to third derivatives of one float "
                                   "argument: grad(grad(grad(f))) and grad(hvp(f))")

    def _value(self, tangents):
        value = tangents[1]
        runtime.check_scalar(value)
        return runtime.gradient_like(value, 0.0)

    def __reduce__(self):
        return _global_name(self) or (_transform, ("grad", self.__wrapped__,
                                                   self.outer.wrt_arg))


class GradOfSecond(ThirdDerivative):
    """`grad(grad(grad(f)))` for one float argument: forward mode over the forward-over-reverse
    code of the second derivative."""

    def __init__(self, second, wrt):
        if len(second.wrt_index) != 1:
            raise WrtError("a third derivative takes a single wrt argument")
        inner = _transform("jvp", second.func, second.wrt_arg)
        self.outer = _transform("jvp", inner, wrt)
        if self.outer.wrt_index != inner.wrt_index:
            raise WrtError("differentiate each level with respect to the same argument")
        functools.update_wrapper(self, second, updated=())

    def __call__(self, *args):
        if len(args) <= self.outer.wrt_index[0] or type(args[self.outer.wrt_index[0]]) \
                is not float:
            raise SourceDiffError("third derivatives are supported for one float argument")
        _, tangents = self.outer(*args, 1.0, 1.0)
        return self._value(tangents)


def adjoint(func):
    """Register a reverse-mode rule for `func`, written as a template with `d[x]`::

        @sourcediff.adjoint(np.tanh)
        def _(y, x):
            d[x] = d[y] * (1.0 - y * y)

    The template's first parameter is the output, the others are `func`'s inputs.
    """
    def register(template):
        registry.register_user_adjoint(func, template)
        return template
    return register


def tangent(func):
    """Register a forward-mode rule for `func`: one statement `d[y] = ...` in terms of the
    inputs' tangents `d[x]`::

        @sourcediff.tangent(np.tanh)
        def _(y, x):
            d[y] = d[x] * (1.0 - y * y)
    """
    def register(template):
        registry.register_user_tangent(func, template)
        return template
    return register


def nondifferentiable(*funcs):
    """Declare functions whose outputs carry no derivative (argmax, a random draw, ...)."""
    registry.nondifferentiable(*funcs)
    return funcs[0] if len(funcs) == 1 else funcs


def source(derivative):
    """The generated Python source of a derivative returned by a transform."""
    if not isinstance(derivative, Derivative):
        raise TypeError("source() takes a function returned by a sourcediff transform")
    return derivative.source


# ---- pickling: by reference to the user's function, re-created through the transforms
def _lookup(module_name, qualname):
    """The object `module.qualname` names among the imported modules, or None."""
    import sys

    target = sys.modules.get(module_name)
    if target is None or "<locals>" in qualname:
        return None
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return target


def _global_name(obj):
    """The name under which `obj` itself is a module attribute (a transform used as a
    decorator: the module's `df` is the derivative, not the function), or None. Pickle then
    saves it as that global, as it does a function."""
    qualname = getattr(inspect.unwrap(obj), "__qualname__", "")
    found = _lookup(getattr(obj, "__module__", None), qualname)
    return qualname if found is obj else None


def _transform_args(d):
    """The arguments of the `_transform` call that made (and cached) the Derivative `d`."""
    with _lock:
        # usually cached under d.func; a derivative of a forward-mode gradient is cached under
        # the gradient it was asked for, which it replaced by the reverse-mode one
        places = [(d.func, _cache.get(d.func, {}))]
        for func, per_func in [*places, *_cache.items()]:
            for key, cached in per_func.items():
                if cached is d:
                    kind, *options = key
                    return (kind, func, *options)
    return (d.kind, d.func, d.wrt_arg, d.mode, d.optimize, d.preserve_result)


__all__ = ["Derivative", "SourceDiffError", "adjoint", "grad", "jvp", "nondifferentiable",
           "source", "tangent", "value_and_grad", "vjp"]


# A derivative made inside a differentiated function is a value no derivative flows into (its
# calls are differentiated where they happen).
registry.nondifferentiable(grad, value_and_grad, jvp, vjp)
