"""A compilation unit: the derivative of one function plus the derivatives of the user functions
it calls (each variant generated once, recursion included), printed and compiled together."""

from __future__ import annotations

import copy
import inspect
import math
import types
from dataclasses import dataclass

import gast
import numpy as np

from . import codegen, ir, runtime
from . import nodes as N
from .errors import SourceDiffError, UnsupportedSyntaxError
from .naming import Namer, identifier
from .passes import aliasing
from .passes.activity import CONTAINER, Classifier, kind_of_value, local_names
from .passes.analysis import Analysis
from .passes.forward import Forward
from .passes.optimize import optimize
from .passes.reverse import Reverse
from .pipeline import RESERVED, prepared

_SIMPLE = (int, float, bool, str, type(None))


@dataclass
class Callee:
    """How a call site reaches a user function's generated derivative."""

    fwd: str = ""          # reverse mode: forward-sweep function
    bwd: str = ""          # reverse mode: adjoint-sweep function
    name: str = ""         # forward mode: tangent function
    args: list = None      # the primal arguments, one per parameter, in order
    active: list = None    # [(param, atom)] of active parameters
    wrt: tuple = ()        # a derivative's active parameters, by position


class NameClash(Exception):
    """A user function read a global whose name an earlier generated function (or binding)
    already took; `api` generates the unit again with these names reserved."""

    def __init__(self, names):
        super().__init__(", ".join(sorted(names)))
        self.names = set(names)


class SteepUnit(Exception):
    """A function of the unit evaluates a steep operation (`Analysis.own_steep`) and the unit
    has several functions: `api` generates it again with every function steep."""


class Unit:
    batched = False   # vector forward mode: tangents carry a leading axis of directions

    def __init__(self, label, reserved=(), steep=False):
        self.steep = steep             # every function's derivative products are _sd.times
        self.any_steep = False         # some function evaluates a steep operation
        self.label = label
        self.functions = []            # generated gast FunctionDefs, in order
        self.owners = {}               # generated name -> user function
        # names of generated functions and bindings; they live in one scope with the globals
        # the user functions read, so those are never handed out
        self.names = Namer(set(RESERVED) | set(reserved))
        self.reserved = set(reserved)
        self.read = set()              # the globals the user functions read
        self.bindings = {"_sd": runtime}
        self.variants = {}
        self.queue = []
        self.deps = []                 # (globals, name, object) the derivative relies on
        self.prepared = {}
        self.mutated = {}              # user function -> parameters it may write into
        self.item_writes = {}          # (function, argument kinds) -> parameters into whose
                                       # items it may write
        self.mutating_callees = []     # errors for a derivative of this unit's code

    # ---- services for the generators
    def prepare(self, func):
        entry = self.prepared.get(func)
        if entry is None:
            entry = self.prepared[func] = prepared(func)
            self.reserve_reads(entry[0])
            self.depend_on_resolved(entry[0])
        src, namer = entry
        return ir.copy_tree(src.tree), src, namer

    def reserve_reads(self, src):
        """Keep the globals `src` reads out of the generated names; one already taken (by a
        function generated before `src` was read) means generating the unit again."""
        loads = {n.id for n in ir.walk(src.tree)
                 if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
        reads = loads - local_names(src.tree)
        clash = reads & (self.names.taken - self.read - set(RESERVED) - self.reserved)
        if clash:
            raise NameClash(clash)
        self.read |= reads
        for name in reads:
            self.names.reserve(name)

    def depend_on_resolved(self, src):
        """Preparing `src` resolved some names once (`max(a, b)` became `_sd.max_of`, an
        iterator a loop): the module rebinding one of them recompiles the derivative."""
        scope = src.func.__globals__
        cells = set(src.func.__code__.co_freevars)
        for first in dict.fromkeys(path[0] for path, _ in src.consulted or ()):
            if first not in cells and first != "_sd":
                self.deps.append((scope, first, scope.get(first)))

    def analysis(self, func, wrt, param_kinds, callee=False):
        """The analysis of `func` for these argument kinds; a `callee` returns the final values
        of the parameters it may write into besides its result (see `mutated_params`)."""
        tree, src, namer = self.prepare(func)
        view = copy.copy(src)
        view.tree = tree
        extra = self.mutated_params(func) if callee else ()
        an = Analysis(view, wrt, param_kinds, namer=self.namer_copy(namer), calls=self,
                      extra_outputs=extra, callee=callee, steep_unit=self.steep)
        self.any_steep |= an.own_steep
        return an

    def check_steep(self):
        """After `drain`: raise SteepUnit when one function's derivatives may be infinite and
        the others were generated without zero-wins products."""
        if self.any_steep and not self.steep and len(self.functions) > 1:
            raise SteepUnit()

    def namer_copy(self, namer):
        out = Namer(namer.taken)
        out.counters = dict(namer.counters)
        return out

    def mutated_params(self, func):
        """The parameters of the user function `func` that it may write into (through any name
        sharing their buffers, or by passing them on to a function that does). Recursion is
        solved by iterating from "none" until the answer stops growing."""
        found = self.mutated.get(func)
        if found is not None:
            return found
        self.mutated[func] = []
        while True:
            try:
                tree, src, _ = self.prepare(func)
            except SourceDiffError:
                # not a function sourcediff can read: if it is ever differentiated, that
                # compile says so; called plainly, it may write into any argument
                self.mutated[func] = list(inspect.signature(func).parameters)
                return self.mutated[func]
            classify = Classifier(src, local_names(tree))
            found = aliasing.mutated_params(src, tree, classify, self.mutated_args)
            back = {here: user for user, here in getattr(src, "renames", {}).items()}
            found = [back.get(p, p) for p in found]   # the user's names for the parameters
            if found == self.mutated[func]:
                return found
            self.mutated[func] = found

    def item_written_args(self, stmt, op, kind):
        """The argument atoms of the call `stmt` bound to parameters into whose items (what a
        container holds) the callee may write in place; `kind(name)`: the caller's kinds."""
        func = op.func
        try:
            params, args = self.call_atoms(op)
        except TypeError:
            return []
        # an argument of unknown kind (an element of a nested list) may be a container: its
        # items may be written then (were it an array, it holds no items)
        kinds = tuple((kind(a.id) or CONTAINER) if isinstance(a, gast.Name) else None
                      for a in args)
        found = self.item_writes.get((func, kinds))
        if found is None:
            try:
                tree, src, _ = self.prepare(func)
            except SourceDiffError:
                found = params
            else:
                here = getattr(src, "renames", {})
                classify = Classifier(src, local_names(tree))
                found = aliasing.mutated_params(
                    src, tree, classify, self.mutated_args, items_only=True,
                    param_kinds={here.get(p, p): k for p, k in zip(params, kinds, strict=True)
                                 if k is not None})
                back = {h: user for user, h in here.items()}
                found = [back.get(p, p) for p in found]
            self.item_writes[(func, kinds)] = found
        return [a for p, a in zip(params, args, strict=True) if p in found]

    def plain_call(self, an, stmt):
        """`stmt` as the primal runs it. A call to a user function that may write into its
        arguments returns them too (the aliasing pass rebinds them from its results); called
        plainly, it returns only its value, so the statement becomes `t = (h(a), a)` (the
        argument is the same object, written in place)."""
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Call)):
            return stmt
        op = an.classify(stmt.value)
        if op.kind != "call":
            return stmt
        mutated = self.mutated_args(stmt, op)
        if not mutated:
            return stmt
        value = N.tuple_([stmt.value] + [copy.deepcopy(a) for a in mutated])
        return N.assign(stmt.targets[0], value, getattr(stmt, "lineno", None))

    def mutated_args(self, stmt, op):
        """The argument atoms of the call `stmt` bound to parameters the callee may write into
        (in the callee's parameter order), or [] when it writes into none."""
        mutated = self.mutated_params(op.func)
        if not mutated:
            return []
        try:
            params, args = self.call_atoms(op)
        except TypeError:
            return []
        return [a for p, a in zip(params, args, strict=True) if p in mutated]

    def namer_for(self, an):
        namer = Namer(an.namer.taken)
        namer.counters = dict(an.namer.counters)
        return namer

    def module_names(self, fs):
        """Template names `np` and `math` as this function's module can read them."""
        out = {}
        for name, module, alias in (("np", np, "_np"), ("math", math, "_math")):
            if fs.func.__globals__.get(name) is module and name not in fs.closure_vars():
                out[name] = N.name(name)
            else:
                out[name] = N.name(alias)
                self.bindings[alias] = module
        return out

    def describe_line(self, fs, line):
        text = (fs.line_text(line) or "").strip()
        return f"{fs.short_filename}:{line}: {text}"

    # ---- calls to the user's functions
    def derivative_call(self, an, stmt, op, mode):
        """A call to a function a sourcediff transform returned (composition): its forward-mode
        derivative gives the tangent, and the adjoint too (one tangent per input element)."""
        from .api import _transform
        d = op.func
        if getattr(d, "kind", None) not in ("grad", "value_and_grad") or d.mode != "reverse":
            what = getattr(d, "kind", type(d).__name__)
            raise an.error(SourceDiffError, f"differentiating through a call to a `{what}` "
                           "derivative is not supported", stmt,
                           hint="call a reverse-mode sourcediff.grad(...) here, or compute "
                                "this value outside the differentiated function")
        positional = [op.args[i] for i in sorted(k for k in op.args if isinstance(k, int))]
        keywords = {k: v for k, v in op.args.items() if isinstance(k, str)}
        try:
            bound = d.signature.bind(*positional, **keywords)
        except TypeError as exc:
            raise an.error(SourceDiffError, f"cannot call {d.__name__} this way: {exc}",
                           stmt) from None
        args = [bound.arguments.get(p) for p in d.params]
        if any(a is None for a in args):
            raise an.error(SourceDiffError, f"pass every argument of {d.__name__} explicitly "
                           "when differentiating through it", stmt)
        active = [(p, a) for p, a in zip(d.params, args, strict=True) if an.is_active(a)]
        if not active:
            return None
        wrt = tuple(d.params.index(p) for p, _ in active)
        if mode == "reverse":   # the adjoint: a Hessian-vector product (_sd.derivative_vjp)
            name = self.constant(d, f"{identifier(d)}")
            return Callee(name=name.id, args=args, active=active, wrt=wrt)
        jvp_fn = _transform("jvp", d, wrt)
        name = self.constant(jvp_fn, f"jvp_{identifier(d)}")
        return Callee(name=name.id, args=args, active=active, wrt=wrt)

    def call_atoms(self, op):
        """(callee parameters, one atom per parameter) of a call to a user function; defaults
        become constants. Raises TypeError when the call does not fit the signature."""
        func = op.func
        positional = [op.args[i] for i in sorted(k for k in op.args if isinstance(k, int))]
        keywords = {k: v for k, v in op.args.items() if isinstance(k, str)}
        signature = inspect.signature(func)
        bound = signature.bind(*positional, **keywords)
        params = [p.name for p in signature.parameters.values()
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        defaults = _defaults(func)
        args = [bound.arguments[p] if p in bound.arguments else
                self.constant(defaults[p], f"{identifier(func)}_{p}") for p in params]
        return params, args

    def bind_call(self, an, stmt, op):
        func = op.func
        self.record(an, stmt.value.func, func)
        try:
            params, args = self.call_atoms(op)
        except TypeError as exc:
            raise an.error(SourceDiffError, f"cannot call {func.__name__} this way: {exc}",
                           stmt.value) from None
        active = [(p, a) for p, a in zip(params, args, strict=True) if an.is_active(a)]
        kinds = tuple(an.kind(a) for a in args)
        return params, args, active, kinds

    def constant(self, value, hint):
        if isinstance(value, _SIMPLE) and (not isinstance(value, float) or math.isfinite(value)):
            return N.const(value)
        name = self.names.fresh(f"{hint}_default")
        self.bindings[name] = value
        return N.name(name)

    def record(self, an, node, func):
        """Remember where a callee was found, so a redefinition recompiles the derivative."""
        if isinstance(node, gast.Name) and node.id in an.fs.func.__globals__:
            # the object the name holds (a decorated function: its wrapper)
            self.deps.append((an.fs.func.__globals__, node.id,
                              an.fs.func.__globals__[node.id]))
        elif isinstance(node, gast.Attribute):
            base = an.fs.resolve(node.value)
            if isinstance(base, types.ModuleType):   # helpers.h(x): reloading helpers counts
                self.deps.append((base.__dict__, node.attr, base.__dict__.get(node.attr)))
                self.record(an, node.value, base)

    def reverse_call(self, an, stmt, op):
        params, args, active, kinds = self.bind_call(an, stmt, op)
        func = op.func
        if self.mutated_params(func) and not getattr(func, "__sourcediff_generated__", False):
            # its adjoint sweep puts back, in place, what it overwrote in the caller's array:
            # forward mode over this code (a second derivative) cannot follow that
            self.refuse_higher_order(an, stmt, func)
        key = ("reverse", func, tuple(p for p, _ in active), kinds)
        callee = self.variants.get(key)
        if callee is None:
            base = identifier(func)
            callee = Callee(fwd=self.names.fresh_exact(f"fwd_{base}"),
                            bwd=self.names.fresh_exact(f"bwd_{base}"))
            self.variants[key] = callee
            self.queue.append((key, callee, params, kinds))
        return Callee(fwd=callee.fwd, bwd=callee.bwd, args=args, active=active)

    def refuse_higher_order(self, an, stmt, func):
        """Differentiating this unit's code again must refuse: at `stmt`, `func` writes into
        an argument in place and the adjoint sweep puts it back in a way forward mode cannot
        follow."""
        self.mutating_callees.append(an.error(
            UnsupportedSyntaxError,
            f"a second derivative through {func.__name__}, which writes into its "
            "argument in place, is not supported", stmt,
            hint=f"let {func.__name__} build a new value (`a = a * s` instead of "
                 "`a *= s`) to take higher derivatives"))

    def forward_call(self, an, stmt, op, force=False):
        if op.kind == "derivative":
            return self.derivative_call(an, stmt, op, "forward")
        params, args, active, kinds = self.bind_call(an, stmt, op)
        if not active and not force:
            return None
        func = op.func
        key = ("forward", func, tuple(p for p, _ in active), kinds)
        callee = self.variants.get(key)
        if callee is None:
            callee = Callee(name=self.names.fresh_exact(f"jvp_{identifier(func)}"))
            self.variants[key] = callee
            self.queue.append((key, callee, params, kinds))
        return Callee(name=callee.name, args=args, active=active)

    def drain(self):
        """Generate every callee variant requested so far (and those they request)."""
        while self.queue:
            key, callee, params, kinds = self.queue.pop(0)
            mode, func, active, _ = key
            an = self.analysis(func, active, dict(zip(params, kinds, strict=True)),
                               callee=True)
            if mode == "reverse":
                fwd, bwd = Reverse(an, self).split_functions(callee.fwd, callee.bwd, active)
                self.add(fwd, func)
                self.add(bwd, func)
            else:
                self.add(Forward(an, self).jvp_function(callee.name, list(active)), func)

    def add(self, fn, owner):
        self.functions.append(fn)
        self.owners[fn.name] = owner

    # ---- output
    def optimize(self):
        for fn in self.functions:
            optimize(fn)

    def text(self):
        self.origins = {}
        return codegen.render_module(self.functions, origins=self.origins)

    def compile(self):
        text = self.text()
        used = {b: v for b, v in self.bindings.items()}
        made = codegen.compile_module(text, self.label, used, self.owners)
        return text, made

    def user_line(self, generated_line):
        """(file name, line number) of the user's line behind a generated line, or None."""
        origin = self.origins.get(generated_line)
        if origin is None:
            return None
        name, line = origin
        owner = self.owners.get(name)
        if owner is None:
            return None
        return owner.__code__.co_filename, line


def _defaults(func):
    out = {}
    sig = inspect.signature(func)
    for name, param in sig.parameters.items():
        if param.default is not inspect.Parameter.empty:
            out[name] = param.default
    return out


def param_kinds(func_params, args):
    return {p: kind_of_value(a) for p, a in zip(func_params, args, strict=False)}


__all__ = ["Callee", "Unit", "UnsupportedSyntaxError", "param_kinds"]
