"""Analyses over the normalized program. They return data; they never rewrite the tree.

* `classify` says what one operation is: a copy, a constant, a rule application, a call to the
  user's own function, an indexing or packing operation, or something without a rule.
* `activity` finds the names that are *varied* (depend on a `wrt` input through differentiable
  operations) and *useful* (influence the output through them); only names that are both are
  active and get derivative code.
* `kinds` infers which names are surely scalars or surely arrays, so the generator can leave out
  broadcasting work it can prove unnecessary.

>>> print(Activity(varied={'x', 't1', 'n'}, useful={'x', 't1', 'out'}))
t1:active  x:active  n:varied  out:useful
"""

from __future__ import annotations

import builtins
import functools
import inspect
import operator
import types
from dataclasses import dataclass, field

import gast
import numpy as np

from .. import ir, rules, runtime, tape
from .. import nodes as N
from ..frontend import MISSING, unwrapped

BINOPS = {
    gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
    gast.Div: operator.truediv, gast.Pow: operator.pow, gast.Mod: operator.mod,
    gast.MatMult: operator.matmul, gast.FloorDiv: operator.floordiv,
}
UNARYOPS = {gast.USub: operator.neg, gast.UAdd: operator.pos}
NONDIFF_ATTRIBUTES = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes"}


@dataclass
class Op:
    """What the right-hand side of `target = value` does, and through which names it is
    differentiable."""

    # copy const rule call derivative dynamic attribute subscript pack dict nondiff unknown
    kind: str
    args: dict = field(default_factory=dict)   # param -> atom (rule, call) or index -> atom
    rule: object = None
    func: object = None  # the callee for 'call' and 'unknown'
    label: str = ""      # a readable name of the operation, for error messages
    problem: str = ""    # why a known function's rule does not fit this call
    method: str = ""     # 'dynamic': the method called on args["fn"] (`obj.method(...)`)

    @property
    def diff_names(self):
        """Names through which derivatives flow."""
        if self.kind in ("const", "nondiff", "pop"):
            return set()
        if self.kind == "rule":
            params = self.rule.differentiable
            atoms = [a for p, a in self.args.items() if p in params]
        elif self.kind == "subscript":
            atoms = [self.args["value"]]
        elif self.kind == "setitem":
            atoms = [self.args["x"], self.args["v"]]
        else:
            atoms = list(self.args.values())
        return {a.id for a in atoms if isinstance(a, gast.Name)}


class Classifier:
    """Classifies operations of one function; resolves global names through its source."""

    def __init__(self, src, local_names):
        self.src = src
        self.locals = local_names
        self.cache = {}

    def __call__(self, value):
        key = id(value)
        op = self.cache.get(key)
        if op is None:
            op = self.cache[key] = self.classify(value)
        return op

    def is_local(self, node):
        while isinstance(node, gast.Attribute):
            node = node.value
        return isinstance(node, gast.Name) and node.id in self.locals

    def classify(self, value):
        if isinstance(value, gast.Assign):   # x[i] = v
            target = value.targets[0]
            index = {f"i{i}": n for i, n in enumerate(_index_atoms(target.slice))}
            return Op("setitem", {"x": N.name(target.value.id), "v": value.value, **index})
        if isinstance(value, gast.Name) and value.id in self.locals:
            return Op("copy", {"x": value})
        if isinstance(value, (gast.Constant, gast.JoinedStr, gast.Name, gast.Attribute)) and \
                not self.is_local(value):
            return Op("const")
        if isinstance(value, gast.BinOp):
            return self.rule_op(BINOPS.get(type(value.op)), [value.left, value.right], [],
                                type(value.op).__name__)
        if isinstance(value, gast.UnaryOp):
            return self.rule_op(UNARYOPS.get(type(value.op)), [value.operand], [],
                                type(value.op).__name__)
        if isinstance(value, gast.Compare):
            return Op("nondiff")
        if isinstance(value, gast.Call):
            return self.call(value)
        if isinstance(value, gast.Attribute):
            if value.attr in NONDIFF_ATTRIBUTES:
                return Op("nondiff")
            rule = rules.lookup_method(value.attr)
            if rule is not None and rule.attribute:
                return self.bound(rule, [value.value], [], f".{value.attr}")
            # an attribute of a named tuple, a dataclass or an object (`self.w`, `p.a`)
            return Op("attribute", {"x": value.value}, label=value.attr)
        if isinstance(value, gast.Subscript):
            index = {f"i{i}": n for i, n in enumerate(_index_atoms(value.slice))}
            if not self.is_local(value.value):
                # `np.r_[a, b]`, `np.c_[...]`: a module-level object indexed with the data
                return Op("unknown", index, label=f"{_dotted(value.value)}[...]")
            return Op("subscript", {"value": value.value, **index})
        if isinstance(value, (gast.Tuple, gast.List)):
            return Op("pack", dict(enumerate(value.elts)))
        if isinstance(value, gast.Dict):
            return Op("dict", dict(enumerate(value.values)))
        return Op("unknown", label=type(value).__name__)

    def rule_op(self, func, args, keywords, label):
        if func is None or rules.is_nondifferentiable(func):
            return Op("nondiff")
        rule = rules.lookup(func)
        if rule is None:
            return Op("unknown", dict(enumerate(args)), func=func, label=label)
        return self.bound(rule, args, keywords, label)

    def bound(self, rule, args, keywords, label):
        try:
            mapping = rule.bind(args, keywords)
        except TypeError as exc:
            return Op("unknown", dict(enumerate(args)), label=label, problem=str(exc))
        return Op("rule", mapping, rule=rule, label=rule.name)

    def dynamic(self, receiver, value, label, method=""):
        """A call whose callee is a value: its derivative is the callee's own, at run time.
        A star-argument's sequence is the argument `*`."""
        args = {"fn": receiver} if receiver is not None else {}
        for i, arg in enumerate(value.args):
            if isinstance(arg, gast.Starred):
                args["*"] = arg.value
            else:
                args[i] = arg
        args.update({kw.arg: kw.value for kw in value.keywords})
        return Op("dynamic", args, label=label, method=method)

    def starred(self, value, label):
        """`f(a, *rest)`: nothing to differentiate for a function without derivatives
        (`np.random.randn(*shape)`), else the callee's derivative at run time."""
        func = value.func
        if not self.is_local(func):
            obj = self.src.resolve(func)
            if obj is not MISSING and rules.is_nondifferentiable(obj):
                return Op("nondiff")
        if self.is_local(func) and isinstance(func, gast.Attribute):
            return self.dynamic(func.value, value, f".{func.attr}()", func.attr)
        return self.dynamic(func if self.is_local(func) else None, value, label)

    def construct(self, cls, value, label):
        """`Params(w, b=1.0)`: a dataclass or a named tuple built from its fields."""
        try:
            bound = inspect.signature(cls).bind(*value.args, **{kw.arg: kw.value
                                                                for kw in value.keywords})
        except TypeError as exc:
            return Op("unknown", dict(enumerate(value.args)), label=label, problem=str(exc))
        return Op("construct", dict(bound.arguments), func=cls, label=label)

    def call(self, value):
        func = value.func
        label = _dotted(func)
        if any(isinstance(a, gast.Starred) for a in value.args):
            return self.starred(value, label)
        if tape.is_name(func, tape.POP) and func.id in self.locals:
            return Op("pop", label="tape pop")
        if self.is_local(func):
            if isinstance(func, gast.Attribute):  # a method of a local value
                rule = rules.lookup_method(func.attr)
                if rule is not None and not rule.attribute:
                    return self.bound(rule, [func.value] + value.args, value.keywords,
                                      f".{func.attr}()")
                return self.dynamic(func.value, value, f".{func.attr}()", func.attr)
            return self.dynamic(func, value, label)
        obj = unwrapped(self.src.resolve(func))
        if obj is MISSING:
            return Op("unknown", dict(enumerate(value.args)), label=label)
        if isinstance(obj, type) and _is_record_class(obj):
            return self.construct(obj, value, label)
        if isinstance(obj, type) and obj.__module__ not in ("builtins",) and \
                not _is_library(obj):
            return Op("unknown", dict(enumerate(value.args)), func=obj, label=label,
                      problem=f"an instance of {obj.__name__} is built here from "
                              "differentiated values, which sourcediff supports for "
                              "dataclasses and named tuples")
        if _called_at_run_time(obj):
            return self.dynamic(None, value, label)
        if getattr(obj, "__sourcediff_transform__", False):
            args = dict(enumerate(value.args))
            args.update({kw.arg: kw.value for kw in value.keywords})
            return Op("derivative", args, func=obj, label=label)
        if rules.is_nondifferentiable(obj):
            return Op("nondiff")
        rule = rules.lookup(obj)
        if rule is not None:
            return self.bound(rule, value.args, value.keywords, label)
        if isinstance(obj, types.FunctionType) and not _is_library(obj):
            args = dict(enumerate(value.args))
            args.update({kw.arg: kw.value for kw in value.keywords})
            return Op("call", args, func=obj, label=label)
        args = dict(enumerate(value.args))
        args.update({kw.arg: kw.value for kw in value.keywords})
        return Op("unknown", args, func=obj, label=label)


def _is_record_class(cls):
    """A dataclass, or a named tuple class: built from its fields, differentiated by them."""
    if hasattr(cls, "__dataclass_fields__"):
        return True
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def _called_at_run_time(obj):
    """Module-level callables that are values, not functions: a bound method of the user's
    object, an object with `__call__`, a functools.partial, a derivative of another kind than
    the ones composed statically."""
    if isinstance(obj, types.MethodType) and not _is_library(obj.__func__):
        return True
    if isinstance(obj, functools.partial):
        return True
    if getattr(obj, "__sourcediff_transform__", False):
        return getattr(obj, "kind", None) not in ("grad", "value_and_grad") or \
            getattr(obj, "mode", None) != "reverse"
    return runtime.record_fields(obj) is not None and callable(obj)


def _is_library(func):
    """NumPy, SciPy, the standard library and sourcediff's runtime: functions read by their
    rules (or refused), never by their source."""
    module = getattr(func, "__module__", "") or ""
    top = module.split(".")[0]
    return top in ("numpy", "scipy", "math", "builtins") or top in _STDLIB or \
        module.startswith("sourcediff.runtime")


_STDLIB = set(getattr(__import__("sys"), "stdlib_module_names", ())) | {
    "logging", "warnings", "functools", "itertools", "collections", "time", "random",
    "statistics", "os", "sys", "typing", "dataclasses", "copy", "json", "re"}


def _index_atoms(node):
    if isinstance(node, gast.Slice):
        return [p for p in (node.lower, node.upper, node.step) if p is not None]
    if isinstance(node, gast.Tuple):
        return [a for elt in node.elts for a in _index_atoms(elt)]
    return [node]


def _dotted(node):
    if isinstance(node, gast.Name):
        return node.id
    if isinstance(node, gast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return type(node).__name__


# -- statements the analyses walk over ------------------------------------------------------------
def assignments(stmts):
    """Every (targets, value node or None, statement) in `stmts`, recursively.

    For unpacking `a, b = t` the value is the name `t`; loop targets have value None.
    """
    for targets, value, stmt, _ in bindings_in_loops(stmts):
        yield targets, value, stmt


def bindings_in_loops(stmts, loop=None):
    """Like `assignments`, with the outermost loop around each binding (or None) added."""
    for stmt in stmts:
        if isinstance(stmt, gast.Assign):
            target = stmt.targets[0]
            if isinstance(target, gast.Name):
                yield [target.id], stmt.value, stmt, loop
            elif isinstance(target, gast.Subscript):
                yield [target.value.id], stmt, stmt, loop   # in-place write: value is stmt
            else:
                yield [e.id for e in target.elts], stmt.value, stmt, loop
        elif isinstance(stmt, gast.If):
            yield from bindings_in_loops(stmt.body, loop)
            yield from bindings_in_loops(stmt.orelse, loop)
        elif isinstance(stmt, (gast.For, gast.While)):
            outer = loop or stmt
            if isinstance(stmt, gast.For):
                yield [stmt.target.id], None, stmt, outer
            yield from bindings_in_loops(stmt.body, outer)


@dataclass
class Activity:
    varied: set
    useful: set

    @property
    def active(self):
        return self.varied & self.useful

    def __str__(self):
        names = sorted(self.varied | self.useful,
                       key=lambda n: (n not in self.active, n not in self.varied, n))
        labels = {True: "active"}
        return "  ".join(
            f"{n}:{labels.get(n in self.active) or ('varied' if n in self.varied else 'useful')}"
            for n in names)


TAPE = tape.TAPE


def activity(body, classify, wrt, output, params=()):
    """Varied and useful names of `body` for inputs `wrt` and the output name `output`.

    In generated derivative code (differentiated again for higher orders) the tape is a value
    like any other: `_push(x)` flows x into `_tape`, `x = _pop()` flows `_tape` into x, and the
    generated `fwd_g(_tape, ...)` / `bwd_g(_tape, ...)` write and read it. A `_tape` parameter
    is both an input and an output of the function.
    """
    edges = []   # (target, source) pairs through which derivatives flow
    sites = {}   # name -> kinds of its definitions, to find integer-valued names
    for targets, value, stmt in assignments(body):
        if value is None:
            for t in targets:
                sites.setdefault(t, set()).add("discrete")   # a range loop index
            continue
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Tuple):
            edges += [(t, value.id) for t in targets]
            for t in targets:
                sites.setdefault(t, set()).add("value")
            continue
        op = classify(value)
        target = targets[0]
        if op.kind == "pop":
            edges.append((target, TAPE))
            sites.setdefault(target, set()).add("pop")
            continue
        sites.setdefault(target, set()).add("discrete" if op.kind == "nondiff" else "value")
        sources = op.diff_names
        edges += [(target, src) for src in sources]
        if op.kind == "call" and TAPE in sources:   # fwd_g(_tape, ...) writes into the tape
            edges += [(TAPE, src) for src in sources if src != TAPE]
    edges += [(TAPE, name) for name in tape.pushed_names(body)]
    # names whose every definition is an integer/boolean/range value never carry derivatives
    discrete = {n for n, kinds_ in sites.items() if kinds_ <= {"discrete", "pop"}
                and "discrete" in kinds_}
    edges = [(t, src) for t, src in edges if t not in discrete and src not in discrete]
    varied = set(wrt)
    useful = {output} if output else set()
    if TAPE in params:
        varied.add(TAPE)
        useful.add(TAPE)
    changed = True
    while changed:
        changed = False
        for target, source in edges:
            if source in varied and target not in varied:
                varied.add(target)
                changed = True
            if target in useful and source not in useful:
                useful.add(source)
                changed = True
    return Activity(varied, useful)


# -- kinds
SCALAR, ARRAY, CONTAINER = "scalar", "array", "container"


def kind_of_value(x):
    """The kind of a runtime argument: 'scalar', 'array', 'container' (a list, tuple or dict)
    or None (anything else)."""
    if type(x) is float or type(x) is int or isinstance(x, (float, int, bool)):
        return SCALAR
    if isinstance(x, (__import__("numpy").floating, __import__("numpy").integer)):
        return SCALAR
    if type(x) is __import__("numpy").ndarray:
        return ARRAY
    if isinstance(x, (list, tuple, dict)):
        return CONTAINER
    return None


BOTTOM, TOP = "bottom", "top"   # not determined yet / differs between definitions


def _join_sites(values):
    """The kind of a name from the kinds its definitions give (undetermined ones skipped); a
    name that is a scalar at some definitions and an array at others counts as an array (what
    broadcasting decisions need)."""
    values = {v for v in values if v != BOTTOM}
    if not values:
        return BOTTOM
    if len(values) == 1 and values <= {SCALAR, CONTAINER}:
        return values.pop()
    if ARRAY in values and values <= {SCALAR, ARRAY}:
        return ARRAY
    return TOP


def _join_strictly(values):
    """The kind of a name only when every definition gives the same one."""
    values = {v for v in values if v != BOTTOM}
    if not values:
        return BOTTOM
    return values.pop() if len(values) == 1 else TOP


def _join_operands(values):
    """The kind of an elementwise result from its operands' kinds."""
    values = set(values)
    if BOTTOM in values:
        return BOTTOM
    return _join_sites(values)


# runtime helpers whose result is their first argument (or a value of its kind and shape)
_SAME_KIND = {id(f) for f in (runtime.alias_update, runtime.augmented, runtime.sequence,
                              runtime.stop_gradient, runtime.copy_value)}
_SCALAR_FUNCS = {id(f) for f in (builtins.len, builtins.int, builtins.float, builtins.round)}
# builtins whose result is of their arguments' kind: `abs` of an array is an array, and `max(a,
# b)` is `a` or `b` itself (a 0-d array stays one)
_OPERANDS_KIND = {id(f) for f in (builtins.abs, builtins.max, builtins.min)}
# reductions of a whole array (called with the array alone): a NumPy scalar, never written into
_WHOLE_REDUCTIONS = {id(f) for f in (np.sum, np.mean, np.prod, np.max, np.min, np.amax,
                                     np.amin, np.std, np.var)}


def _same(values):
    """One value when every determined site agrees, else TOP."""
    values = {v for v in values if v != BOTTOM}
    if not values:
        return BOTTOM
    return values.pop() if len(values) == 1 else TOP


def _fixpoint(sites, evaluate, known, join=_join_sites):
    """Iterate `known[name] = join of evaluate(site)` from the bottom up until stable."""
    for _ in range(4 * len(sites) + 4):
        changed = False
        for name, defs in sites.items():
            value = join(evaluate(name, d) for d in defs)
            if value != BOTTOM and known.get(name, BOTTOM) != value:
                known[name] = value
                changed = True
        if not changed:
            break
    return known


def kinds(body, classify, param_kinds, strict=False, rebinds=frozenset()):
    """name -> 'scalar' | 'array' | 'container' for names whose kind is known (with `strict`,
    the same at every definition; else a scalar-or-array name counts as an array). `rebinds`:
    ids of statements that rebind a name to the same object (after a call wrote into it)."""
    sites = {}
    for targets, value, stmt in assignments(body):
        for t in targets:
            sites.setdefault(t, []).append((value, stmt, len(targets) > 1))
    known = {}
    for name, kind in param_kinds.items():
        sites.setdefault(name, []).append(("param", kind, False))
    _fixpoint(sites, lambda name, d: BOTTOM if id(d[1]) in rebinds else
              _site_kind(d[0], d[1], d[2], classify, known), known,
              join=_join_strictly if strict else _join_sites)
    return {n: k for n, k in known.items() if k in (SCALAR, ARRAY, CONTAINER)}


def _site_kind(value, stmt, unpack, classify, known):
    if value == "param":
        return stmt or TOP
    if isinstance(value, gast.Assign):   # an in-place write keeps the kind
        return BOTTOM
    if value is None:
        return SCALAR   # a loop index over a range
    if unpack:
        return TOP
    op = classify(value)
    if op.kind == "copy":
        return known.get(op.args["x"].id, BOTTOM)
    if op.kind == "const":
        if isinstance(value, gast.Constant):
            return SCALAR if isinstance(value.value, (int, float)) else TOP
        return TOP
    if op.kind == "rule":
        rule = op.rule
        if getattr(rule.func, "__module__", None) == "math" or id(rule.func) in _SCALAR_FUNCS:
            return SCALAR
        if id(rule.func) in _WHOLE_REDUCTIONS and _whole(op, rule):
            return SCALAR
        if id(rule.func) in _SAME_KIND:   # the same object as (or like) its first argument
            return _atom_kind(op.args[rule.params[0]], known)
        if rule.func is runtime.append:
            return CONTAINER
        if rule.elementwise or id(rule.func) in _OPERANDS_KIND:
            # every operand but `out=` (np.where's condition gives its result its kind)
            return _join_operands(_atom_kind(a, known) for p, a in op.args.items()
                                  if p != "out")
        return TOP
    if op.kind in ("pack", "dict"):
        return CONTAINER
    if op.kind == "construct" and issubclass(op.func, tuple):
        return CONTAINER
    if op.kind == "nondiff" and isinstance(value, gast.Call) and isinstance(value.func,
                                                                          gast.Name):
        if value.func.id == "len":
            return SCALAR
    return TOP


def _whole(op, rule):
    """Whether a reduction's call reduces its whole array to one number: every argument after
    the array a constant, with no axis, no `out` and no `keepdims=True`."""
    rest = {p: a for p, a in op.args.items() if p != rule.params[0]}
    if not all(isinstance(a, gast.Constant) for a in rest.values()):
        return False
    return all(rest[p].value is None or rest[p].value is False
               for p in ("axis", "out", "keepdims") if p in rest)


def shape_classes(body, classify, params, known_kinds):
    """name -> a representative name with the same shape (or 'scalar').

    Elementwise operations whose non-scalar operands all share one class produce that class, so
    `t = x ** 2; u = t - 3 * x` puts `t` and `u` in the class of `x`: their adjoints need no
    unbroadcasting even when nothing is known about `x`.
    """
    sites = {}
    for targets, value, _ in assignments(body):
        for t in targets:
            sites.setdefault(t, []).append((value, len(targets) > 1))
    for p in params:
        sites.setdefault(p, []).append(("param", False))
    classes = {}
    _fixpoint(sites, lambda name, d: _site_class(name, d[0], d[1], classify, classes,
                                                 known_kinds), classes, join=_same)
    return {n: c for n, c in classes.items() if c not in (TOP, BOTTOM)}


def _site_class(name, value, unpack, classify, classes, known_kinds):
    if value == "param":
        return "scalar" if known_kinds.get(name) == SCALAR else name
    if isinstance(value, gast.Assign):   # an in-place write keeps the shape
        return BOTTOM
    if value is None:
        return "scalar"
    if unpack:
        return TOP
    op = classify(value)
    if op.kind == "copy":
        return classes.get(op.args["x"].id, BOTTOM)
    if op.kind == "const":
        if isinstance(value, gast.Constant) and isinstance(value.value, (int, float)):
            return "scalar"
        return TOP
    if op.kind == "rule" and id(op.rule.func) in _SAME_KIND:
        atom = op.args[op.rule.params[0]]
        return classes.get(atom.id, BOTTOM) if isinstance(atom, gast.Name) else TOP
    if op.kind == "rule" and op.rule.elementwise:
        found = set()
        for p, atom in op.args.items():
            if p == "out":
                continue
            if isinstance(atom, gast.Constant):
                if not isinstance(atom.value, (int, float)):
                    return TOP
                continue
            if not isinstance(atom, gast.Name):
                return TOP
            cls = classes.get(atom.id, BOTTOM)
            if cls in (TOP, BOTTOM):
                return cls
            if cls != "scalar":
                found.add(cls)
        if len(found) > 1:
            return TOP
        return found.pop() if found else "scalar"
    if _site_kind(value, None, False, classify, known_kinds) == SCALAR:
        return "scalar"
    return TOP


def _atom_kind(atom, known):
    if isinstance(atom, gast.Constant):
        return SCALAR if isinstance(atom.value, (int, float)) else TOP
    if isinstance(atom, gast.Name):
        return known.get(atom.id, BOTTOM)
    return TOP


def numeric_names(body, classify):
    """Names that are operands or results of elementwise arithmetic: numbers or arrays, never
    containers, so their derivatives add with `+`."""
    found = set()
    for targets, value, _ in assignments(body):
        if value is None or len(targets) != 1 or isinstance(value, gast.Assign):
            continue
        op = classify(value)
        if op.kind == "rule" and op.rule.elementwise:
            found.add(targets[0])
            found |= {a.id for a in op.args.values() if isinstance(a, gast.Name)}
    return found


def local_names(tree):
    params = ir.param_names(tree)
    return set(params) | ir.assigned_names(tree.body)


__all__ = ["Activity", "Classifier", "Op", "activity", "assignments", "kinds", "local_names"]
