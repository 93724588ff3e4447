"""The analysis of one normalized function for one specialization (argument kinds), which
the reverse and forward generators read: the aliasing rewrite first (it needs the kinds),
then activity, kinds, shapes and the names that are numbers; and the small facts about
statements both generators share (slices as expressions, loops that break, calls known only
at run time, missing rules).
"""

from __future__ import annotations

import operator

import gast

from .. import ir, tape
from .. import nodes as N
from ..errors import MissingRuleError
from . import aliasing
from .activity import (
    ARRAY,
    SCALAR,
    Classifier,
    activity,
    bindings_in_loops,
    kinds,
    local_names,
    numeric_names,
    shape_classes,
)
from .templates import is_steep

_PYTHON_ARITHMETIC = ("_operator", "operator", "builtins", "math")


def slice_expr(node):
    """An index node (with `a:b` slices) as an ordinary expression (`slice(a, b, None)`)."""
    if isinstance(node, gast.Slice):
        parts = [p if p is not None else N.const(None)
                 for p in (node.lower, node.upper, node.step)]
        return N.call("slice", parts)
    if isinstance(node, gast.Tuple):
        return N.tuple_(slice_expr(e) for e in node.elts)
    return node


def has_break(body):
    return bool(body) and isinstance(body[-1], gast.If) and any(
        isinstance(s, gast.Break) for s in body[-1].body)


class Analysis:
    """Everything the generators need to know about one normalized function.

    `calls` (the compilation unit) says which arguments a call to a user function may write
    into; `extra_outputs` are this function's own parameters whose final values it returns
    besides its result (it is such a callee). The aliasing pass runs first (see
    passes/aliasing.py): it needs the argument kinds, which is why it runs here, per
    specialization."""

    def __init__(self, fs, wrt, param_kinds, namer=None, calls=None, extra_outputs=(),
                 callee=False, steep_unit=False):
        self.fs = fs
        self.callee = callee   # a user function's variant, called by generated code
        self.renames = getattr(fs, "renames", {})   # user parameter name -> its name here
        wrt = [self.renames.get(w, w) for w in wrt]
        param_kinds = {self.renames.get(p, p): k for p, k in param_kinds.items()}
        extra_outputs = [self.renames.get(p, p) for p in extra_outputs]
        tree = fs.tree
        self.tree = tree
        self.namer = namer
        self.params = ir.param_names(tree)
        self.locals = local_names(tree)
        self.classify = Classifier(fs, self.locals)
        known = {p: k for p, k in param_kinds.items() if k is not None}
        before = kinds(tree.body[:-1], self.classify, known, strict=True)
        call_outputs = calls.mutated_args if calls is not None else (lambda stmt, op: [])
        item_writes = calls.item_written_args if calls is not None else None
        self.sharing = aliasing.rewrite(fs, tree, namer, self.classify, before, self.params,
                                        call_outputs, extra_outputs, item_writes)
        self.locals = local_names(tree)
        self.classify = Classifier(fs, self.locals)
        ret = tree.body[-1]
        self.output = ret.value.id if isinstance(ret.value, gast.Name) else None
        self.body = tree.body[:-1]
        self.return_line = ret.lineno
        self.wrt = list(wrt)
        self.activity = activity(self.body, self.classify, self.wrt, self.output, self.params)
        # the tape carries tangents inside it; it never has a derivative of its own
        self.active = self.activity.active - {tape.TAPE}
        self.kinds = kinds(self.body, self.classify, known, rebinds=self.sharing.rebinds)
        self.reassigned = ir.assigned_names(self.body)
        self.shapes = shape_classes(self.body, self.classify, self.params, self.kinds)
        self.numeric = numeric_names(self.body, self.classify)
        self.loop_arrays = numpy_valued_in_loops(self.body, self.classify)
        # whether a derivative here may be infinite where the values are finite: this
        # function evaluates a steep operation, or another function of its compilation unit
        # does (`steep_unit`: it may pass this one an infinite adjoint or tangent, or get one
        # back). Every product of a derivative is `_sd.times` then (see `zero_wins`)
        self.own_steep = self._evaluates_steep()
        self.steep = steep_unit or self.own_steep
        self._numpy_scalars = None   # computed when a steep function needs it

    def _evaluates_steep(self):
        """Whether this function differentiates an operation whose partial can be infinite
        where its value is finite (sqrt at 0: a rule whose template keeps `_sd.times`), or a
        call whose derivatives come from outside the compilation unit (a derivative, a
        callable known only at run time)."""
        for _, value, _, _ in bindings_in_loops(self.body):
            if value is None or isinstance(value, gast.Assign):
                continue
            op = self.classify(value)
            if not any(self.is_active(a) for a in op.args.values()):
                continue
            if op.kind in ("derivative", "dynamic", "unknown"):
                return True
            if op.kind == "rule":
                values = dict(op.args, y=N.name("_y"))
                for param in op.args:
                    for templates in (op.rule.adjoint, op.rule.tangent):
                        source = templates.get(param, templates.get(None))
                        if source and "_sd.times" in source \
                                and is_steep(op.rule.template(source), values):
                            return True
        return False

    def zero_wins(self, op):
        """Whether the derivative products of rule `op` are `_sd.times`: in a steep function,
        unless the rule is Python's own arithmetic (an operator, a builtin, `math`) on Python
        floats: scalar code stays plain arithmetic, and there 0.0 ** -0.5 raises instead.
        NumPy floats (from NumPy functions, indexing, `maybe_numpy_scalars`) give infinities
        that do not raise: their products are zero-wins."""
        if not self.steep:
            return False
        operands = [a for p, a in op.args.items() if p not in op.rule.static]
        if not all(self.kind(a) == SCALAR for a in operands):
            return True
        if getattr(op.rule.func, "__module__", None) not in _PYTHON_ARITHMETIC:
            return True
        if self._numpy_scalars is None:
            # a callee's parameters are what its caller computed; the derivative's own
            # are taken for Python numbers (an np.float64 argument is not followed)
            seeds = self.params if self.callee else ()
            self._numpy_scalars = maybe_numpy_scalars(self.body, self.classify, seeds)
        return any(isinstance(a, gast.Name) and a.id in self._numpy_scalars for a in operands)

    def shares_with(self, name):
        """Names that may share `name`'s buffer (itself included)."""
        return self.sharing.of(name)

    def written_params(self):
        """Parameters whose buffers a write in this function may change."""
        written = set()
        for name in self.sharing.written | self.sharing.item_written:
            written |= self.shares_with(name)
        for stmt in ir.walk_statements(self.body):
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript):
                written |= self.shares_with(stmt.targets[0].value.id)
        return [p for p in self.params if p in written]

    def may_broadcast(self, op, param):
        """Whether an elementwise result may be larger than its operand `param` (so adjoints
        must be summed back and tangents spread out): not when every other operand is a
        scalar, nor when all operands share a shape. Operands with no derivative count too:
        np.where's condition gives a number branch its shape."""
        mine = self.shape_class(op.args[param])
        others = [self.shape_class(a) for p, a in op.args.items()
                  if p != param and p != "out"]
        if all(c == "scalar" for c in others):
            return False
        return mine is None or any(c not in ("scalar", mine) for c in others)

    def shape_class(self, atom):
        if isinstance(atom, gast.Constant):
            return "scalar" if isinstance(atom.value, (int, float)) else None
        if isinstance(atom, gast.Name):
            if self.kinds.get(atom.id) == SCALAR:
                return "scalar"
            return self.shapes.get(atom.id)
        return None

    def kind(self, atom):
        if isinstance(atom, gast.Constant):
            return SCALAR if isinstance(atom.value, (int, float)) else None
        if isinstance(atom, gast.Name):
            return self.kinds.get(atom.id)
        return None

    def is_active(self, atom):
        return isinstance(atom, gast.Name) and atom.id in self.active

    def error(self, cls, message, node, hint=None):
        return self.fs.error(cls, message, node, hint)




def dynamic_parts(an, stmt, op):
    """(the callee expression, positional atoms, a dict node of keyword atoms) of a dynamic
    call; a method of an array or a number has no derivative rule (`missing_rule`)."""
    receiver = op.args.get("fn")
    if receiver is not None and an.kind(receiver) in (SCALAR, ARRAY):
        raise missing_rule(an, stmt, op)
    callee = stmt.value.func
    if op.method:
        callee = N.attr(receiver, op.method)
    positional = [op.args[i] for i in sorted(k for k in op.args if isinstance(k, int))]
    named = [k for k in op.args if isinstance(k, str) and k not in ("fn", "*")]
    keywords = N.dict_([N.const(k) for k in named], [op.args[k] for k in named])
    return callee, positional, keywords


def dynamic_call(name, op, callee, positional, keywords, last):
    """`_sd.dynamic_vjp/jvp(callee, (a, *rest), {k: b}, last[, star=...])` and the atoms its
    results (or tangents) go with: the callee's receiver, each argument, the starred sequence
    (one derivative for all of it), each keyword value."""
    args = list(positional)
    star = op.args.get("*")
    if star is not None:
        args.append(gast.Starred(value=star, ctx=gast.Load()))
    extra = [N.keyword("star", N.const(len(positional)))] if star is not None else []
    call = N.call(f"_sd.{name}", [callee, N.tuple_(args), keywords, last], extra)
    atoms = [op.args.get("fn")] + list(positional) + ([star] if star is not None else [])
    return call, atoms + list(keywords.values)


def missing_rule(an, stmt, op):
    """The error for an operation on active values that has no usable derivative rule."""
    label = op.label or "this operation"
    if op.problem and isinstance(op.func, type):
        return an.error(MissingRuleError, op.problem, stmt,
                        hint=f"make {label} a @dataclass (its fields are then differentiated), "
                             "or build the object outside the function and pass it in")
    if op.problem:
        return an.error(MissingRuleError, f"the derivative rule for {label} does not fit this "
                        f"call: {op.problem}", stmt,
                        hint="call it the way the rule expects (`sourcediff rules` lists "
                             "them), or register your own with @sourcediff.adjoint")
    hint = (f"register a rule with @sourcediff.adjoint({label}) and "
            f"@sourcediff.tangent({label}), or wrap the value in sourcediff.stop_gradient")
    if label.endswith("[...]"):
        hint = (f"sourcediff has no rule for indexing {label[:-5]}; build the value with a "
                "function it knows (np.concatenate, np.stack, np.column_stack)")
    if label.startswith("."):
        hint = (f"sourcediff has no rule for the method {label}; rewrite it with a function "
                 "it knows (`sourcediff rules` lists them), e.g. a for loop over `d.items()` "
                 "instead of `sum(d.values())`")
    if op.func is None and label in an.locals:
        hint = (f"`{label}` is a local variable, so sourcediff cannot tell which function it "
                "holds; call the function by its module-level name (for a derivative, bind "
                "it once at module level: `dg = sourcediff.grad(g)`)")
    if op.func is not None and not callable(op.func):
        hint = f"{label} is not a function sourcediff can differentiate"
    return an.error(MissingRuleError, f"no derivative rule for {label}", stmt, hint)


def maybe_numpy_scalars(body, classify, seeds=()):
    """Names that may hold a NumPy scalar (whose 0.0 ** -0.5 is inf, not an error): `seeds`,
    what NumPy functions, indexing, calls and loops give, and Python arithmetic on such
    names. Constants and the other parameters count as Python numbers."""
    defs = list(bindings_in_loops(body))
    found = set(seeds)
    changed = True
    while changed:
        changed = False
        for targets, value, _, _ in defs:
            if all(t in found for t in targets):
                continue
            if value is None or isinstance(value, gast.Assign):
                numpy = True
            else:
                op = classify(value)
                func = getattr(op.rule, "func", None) if op.kind == "rule" else op.func
                if op.kind == "const":
                    numpy = False
                elif op.kind in ("rule", "nondiff", "copy") and (
                        op.kind == "copy"
                        or getattr(func, "__module__", None) in _PYTHON_ARITHMETIC):
                    numpy = any(isinstance(a, gast.Name) and a.id in found
                                for a in op.args.values())
                else:
                    numpy = True
            if numpy:
                found.update(targets)
                changed = True
    return found


def numpy_valued_in_loops(body, classify):
    """Names bound inside loops only by NumPy functions or `@`: always arrays or NumPy
    scalars, so `np.shape` describes them (never a list)."""
    sites = {}
    for targets, value, stmt, loop in bindings_in_loops(body):
        for t in targets:
            sites.setdefault(t, []).append((value, stmt, loop))
    out = set()
    for name, defs in sites.items():
        ok = True
        for value, stmt, loop in defs:
            if loop is None or value is None or isinstance(value, gast.Assign) or (
                    isinstance(stmt.targets[0], gast.Tuple)):
                ok = False
                break
            op = classify(value)
            func = getattr(op.rule, "func", None)
            module = getattr(func, "__module__", "") or ""
            if not (op.kind == "rule" and (module.startswith("numpy")
                                           or func is operator.matmul)):
                ok = False
                break
        if ok:
            out.add(name)
    return out


__all__ = ["Analysis", "slice_expr"]
