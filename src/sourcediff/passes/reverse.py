"""Reverse mode: a forward sweep that saves what the adjoint needs, then the adjoint sweep.

The adjoint sweep visits statements in reverse order and applies each one's rule template. Its
state mirrors the forward sweep's: before a statement that overwrites a value the adjoint will
read, the forward sweep pushes the old value on a tape, and the adjoint sweep pops it back right
after that statement's adjoint. Loops run backwards over the same `range` (sliced to the trip count
when the loop can `break`); `while` loops count their trips; branches test the same condition.

Derivatives known to be zero are never materialized: the first contribution to `dx` is an
assignment, later ones accumulate, and a statement whose result has a zero adjoint emits nothing.

Before (normalized)::

    def f(x):
        t1 = x ** 2
        t2 = 3 * x
        t3 = t1 - t2
        y = t3 - 2
        return y

After::

    def grad_f(x):
        t1 = x ** 2
        ...
        y = t3 - 2
        dy = 1.0
        # line 5: return x ** 2 - 3 * x - 2
        dt3 = dy
        dt1 = dt3
        dt2 = -dt3
        dx = dt2 * 3
        dx = dx + dt1 * (2 * x)
        return dx
"""

from __future__ import annotations

import operator

import gast

from .. import ir, tape
from .. import nodes as N
from ..errors import MissingRuleError, SourceDiffError
from ..naming import DerivativeNames
from . import aliasing, checkpoint
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
from .desugar import assigned_names
from .templates import instantiate


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
                 callee=False):
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
        self.sharing = aliasing.rewrite(fs, tree, namer, self.classify, before, self.params,
                                        call_outputs, extra_outputs)
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
        self.kinds = kinds(self.body, self.classify, known)
        self.reassigned = assigned_names(self.body)
        self.shapes = shape_classes(self.body, self.classify, self.params, self.kinds)
        self.numeric = numeric_names(self.body, self.classify)
        self.loop_arrays = numpy_valued_in_loops(self.body, self.classify)

    def shares_with(self, name):
        """Names that may share `name`'s buffer (itself included)."""
        return self.sharing.of(name)

    def written_params(self):
        """Parameters whose buffers a write in this function may change."""
        written = set()
        for name in self.sharing.written:
            written |= self.shares_with(name)
        for stmt in ir.walk_statements(self.body):
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript):
                written |= self.shares_with(stmt.targets[0].value.id)
        return [p for p in self.params if p in written]

    def may_broadcast(self, op, param):
        """Whether an elementwise result may be larger than its operand `param` (so adjoints
        must be summed back and tangents spread out): not when every other operand is a
        scalar, nor when all operands share a shape."""
        mine = self.shape_class(op.args[param])
        others = [self.shape_class(a) for p, a in op.args.items()
                  if p != param and p not in op.rule.static]
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


class Reverse:
    """Generates the reverse-mode derivative of one analyzed function."""

    def __init__(self, an, unit):
        self.an = an
        self.unit = unit
        self.namer = unit.namer_for(an)
        self.d = DerivativeNames(self.namer, "adjoint")
        self.modules = unit.module_names(an.fs)
        self.reads = set()
        self.sites = []            # restore markers, to be kept or dropped
        self.pushed = set()        # site keys whose old value the forward sweep pushes
        self.inits = set()         # names that need `x = None` before their first push
        self.uses_tape = False
        self.invariant = loop_invariants(an)
        self.live = None           # names the adjoint reads (known after a first pass)
        self.shape_vars = {}       # name -> variable holding its shape (see `unbroadcast`)
        # loops under `with sourcediff.checkpoint(...)`: generated by passes/checkpoint.py
        self.checkpoints = checkpoint.Checkpointing(self)

    # ---- the adjoint sweep
    def adj_block(self, stmts, zero):
        out = []
        last_line = None
        for stmt in reversed(stmts):
            code, zero = self.adj_stmt(stmt, zero)
            line = getattr(stmt, "lineno", None)
            if code and line is not None and line != last_line and not isinstance(
                    stmt, (gast.For, gast.While)) and _emits(code):
                out.append(N.at(N.comment(self.unit.describe_line(self.an.fs, line)), line))
                last_line = line
            out += code
        return out, zero

    def adj_stmt(self, stmt, zero):
        if isinstance(stmt, gast.Assign):
            if isinstance(stmt.targets[0], gast.Tuple):
                return self.adj_unpack(stmt, zero)
            if isinstance(stmt.targets[0], gast.Subscript):
                return self.adj_setitem(stmt, zero)
            return self.adj_assign(stmt, zero)
        if isinstance(stmt, gast.If):
            return self.adj_if(stmt, zero)
        if self.checkpoints.covers(stmt):   # a checkpointed loop (passes/checkpoint.py)
            return self.checkpoints.adjoint(stmt, zero)
        if isinstance(stmt, gast.For):
            return self.adj_for(stmt, zero)
        if isinstance(stmt, gast.While):
            return self.adj_while(stmt, zero)
        return [], zero   # break, print, assert, raise: no derivative

    def has_code(self, stmts):
        """Whether `stmts` do anything once restores of values nobody reads are dropped."""
        for stmt in stmts:
            site = getattr(stmt, "sd_site", None)
            name = site[1][1] if site is not None and isinstance(site[1], tuple) else \
                site and site[1]
            if site is None or self.live is None or name in self.live:
                return True
        return False

    def restore(self, stmt, name):
        marker = N.assign(name, tape.pop(), getattr(stmt, "lineno", None))
        marker.sd_site = (id(stmt), name)
        self.sites.append(marker)
        return marker

    def adj_assign(self, stmt, zero):
        target = stmt.targets[0].id
        code = []
        if target in self.an.active:
            op = self.an.classify(stmt.value)
            if op.kind == "call":
                code += self.adj_call(stmt, op, target, zero)
            elif op.kind == "pop":
                raise self.an.error(
                    SourceDiffError, "reverse mode cannot differentiate reverse-mode "
                    "derivative code again", stmt,
                    hint="higher derivatives run forward mode over the derivative: use "
                         "sourcediff.hessian, hvp, jvp, or grad of the derivative")
            elif op.kind == "derivative" and target not in zero:
                code += self.adj_derivative(stmt, op, target, zero)
            elif target not in zero:
                code += self.contributions(stmt, op, target, zero)
            zero.add(target)
        if target in self.shape_vars:   # saved after the value, so restored before it
            code.append(self.restore(stmt, self.shape_vars[target]))
        code.append(self.restore(stmt, target))
        for name in self.plain_writes(stmt):   # what a plain call wrote into, put back
            if self.an.kinds.get(name) == ARRAY:
                index = N.call("_sd.whole_index", [N.name(name)])
                marker = N.assign(gast.Subscript(value=N.name(name), slice=index,
                                                 ctx=gast.Store()), tape.pop(), stmt.lineno)
            else:   # a list, a dict, or (where the kind is unknown) a number
                marker = N.expr(N.call("_sd.put_back", [N.name(name), tape.pop()]),
                                stmt.lineno)
            marker.sd_site = (id(stmt), ("call", name))
            self.sites.append(marker)
            self.reads.add(name)
            code.append(marker)
        return code, zero

    def plain_writes(self, stmt):
        """The arguments a call of a user function, made plainly (no derivative flows
        through it), may write into, when the adjoint sweep must have them back."""
        target = stmt.targets[0]
        if not isinstance(target, gast.Name) or target.id in self.an.active:
            return []
        if not isinstance(stmt.value, gast.Call):
            return []
        op = self.an.classify(stmt.value)
        if op.kind != "call":
            return []
        atoms = self.unit.mutated_args(stmt, op)
        return [a.id for a in atoms if isinstance(a, gast.Name) and self.restores(a.id)
                and self.an.kinds.get(a.id) != SCALAR]   # numbers are never written into

    def contributions(self, stmt, op, target, zero):
        dy = N.name(self.d[target])
        code = []
        if op.kind == "copy":
            self.accumulate(op.args["x"], dy, zero, code)
        elif op.kind == "rule":
            self.rule_contributions(stmt, op, target, dy, zero, code)
        elif op.kind == "subscript":
            value = stmt.value
            index = slice_expr(value.slice)
            self.read(index)
            expr = N.call("_sd.unsubscript", [dy, value.value, index])
            self.read(value.value)
            self.accumulate(value.value, expr, zero, code, container=True,
                            at=(dy, value.value, index))
        elif op.kind in ("pack", "dict"):
            keys = (stmt.value.keys if op.kind == "dict"
                    else [N.const(i) for i in range(len(op.args))])
            for key, atom in zip(keys, op.args.values(), strict=True):
                self.accumulate(atom, N.call("_sd.getitem", [dy, key]), zero, code,
                                container=True)
        elif op.kind == "attribute":
            obj = op.args["x"]
            self.read(obj)
            self.accumulate(obj, N.call("_sd.attribute_adjoint", [dy, obj, N.const(op.label)]),
                            zero, code, container=True)
        elif op.kind == "dynamic":
            self.dynamic_contributions(stmt, op, dy, zero, code)
        elif op.kind == "construct":
            for field, atom in op.args.items():
                self.accumulate(atom, N.call("_sd.field_of", [dy, N.const(field)]), zero,
                                code, container=True)
        elif op.kind == "unknown":
            raise self.missing_rule(stmt, op)
        return code

    def dynamic_contributions(self, stmt, op, dy, zero, code):
        """`y = fn(a, k=b)` with `fn` a value: the callee's own vjp, at run time."""
        callee, args, keywords = dynamic_parts(self.an, stmt, op)
        call, atoms = dynamic_call("dynamic_vjp", op, callee, args, keywords, dy)
        self.read(call)
        results = [self.namer.fresh("dyn") for _ in atoms]
        code.append(N.assign(N.store_tuple(results), call))
        for name, atom in zip(results, atoms, strict=True):
            if atom is not None:
                self.accumulate(atom, N.name(name), zero, code, container=True)

    def missing_rule(self, stmt, op):
        return missing_rule(self.an, stmt, op)

    def rule_contributions(self, stmt, op, target, dy, zero, code):
        rule = op.rule
        values = dict(op.args)
        values["y"] = N.name(target)
        values.update(self.modules)
        pending = {}   # name -> [contribution expressions], summed per name below
        for param, atom in op.args.items():
            if not self.an.is_active(atom) or param in rule.static:
                continue
            template = rule.adjoint.get(param)
            if template is None:
                raise self.an.error(
                    MissingRuleError,
                    f"{rule.name} has no reverse-mode rule for its argument {param!r}",
                    stmt, hint=f"register one with @sourcediff.adjoint({rule.name})")
            expr = instantiate(rule.template(template), values,
                               lambda name: dy if name == "y" else None)
            if rule.elementwise and self.needs_unbroadcast(op, param):
                expr = self.unbroadcast(expr, atom)
            self.read(expr)
            pending.setdefault(atom.id, (atom, []))[1].append(expr)
        for atom, exprs in pending.values():
            self.accumulate(atom, _sum_terms(exprs), zero, code)

    def unbroadcast(self, expr, atom):
        """`_sd.unbroadcast(expr, atom)`. For a NumPy value rebound in a loop only its shape is
        needed, so the tape saves the shape (a few ints) instead of the whole array."""
        if isinstance(atom, gast.Name) and atom.id in self.an.loop_arrays:
            shape = self.shape_vars.get(atom.id)
            if shape is None:
                shape = self.shape_vars[atom.id] = self.namer.fresh(f"{atom.id}_shape")
            self.reads.add(shape)
            return N.call("_sd.unbroadcast_to", [expr, N.name(shape)])
        self.read(atom)
        return N.call("_sd.unbroadcast", [expr, atom])

    def needs_unbroadcast(self, op, param):
        return self.an.may_broadcast(op, param)

    def adj_call(self, stmt, op, target, zero):
        """`t = g(a, b)` calls the user's g: its own generated backward function."""
        call = self.unit.reverse_call(self.an, stmt, op)
        dy = N.const(0.0) if target in zero else N.name(self.d[target])
        results = [self.namer.fresh(f"{self.d[a.id]}_") for _, a in call.active]
        code = [N.assign(N.store_tuple(results), N.call(call.bwd, [N.name(tape.TAPE), dy]),
                         stmt.lineno)]
        for name, (_, atom) in zip(results, call.active, strict=True):
            self.accumulate(atom, N.name(name), zero, code, container=True)
        self.uses_tape = True
        return code

    def adj_derivative(self, stmt, op, target, zero):
        """`y = D(a, b)` where D is itself a derivative: its adjoint from forward mode."""
        call = self.unit.derivative_call(self.an, stmt, op, "reverse")
        if call is None:
            return []
        results = [self.namer.fresh(f"{self.d[a.id]}_") for _, a in call.active]
        args = N.tuple_(call.args)
        self.read(args)
        wrt = N.tuple_(N.const(i) for i in call.wrt)
        code = [N.assign(N.store_tuple(results),
                         N.call("_sd.derivative_vjp", [N.name(call.name), args,
                                                       N.name(self.d[target]), wrt]),
                         stmt.lineno)]
        for name, (_, atom) in zip(results, call.active, strict=True):
            self.accumulate(atom, N.name(name), zero, code, container=True)
        return code

    def accumulate(self, atom, expr, zero, code, container=False, at=None):
        """`d[atom] += expr` (`d[atom] = expr` while it is still zero). `at` = (g, x, index)
        says `expr` is `unsubscript(g, x, index)`: added with `_sd.add_at`, in place where it
        may (an element read in a loop costs O(1), not a full-size array)."""
        if not self.an.is_active(atom):
            return
        name = atom.id
        dname = self.d[name]
        if name in zero:
            code.append(N.assign(dname, expr))
            zero.discard(name)
            return
        if at is not None and self.an.kinds.get(name) == ARRAY:
            code.append(N.assign(dname, N.call("_sd.add_at", [N.name(dname), *at])))
            return
        if self.an.kinds.get(name) not in (SCALAR, ARRAY) and name not in self.an.numeric:
            # a list, tuple or dict derivative adds entry by entry
            code.append(N.assign(dname, N.call("_sd.add", [N.name(dname), expr])))
        else:
            code.append(N.assign(dname, N.add(N.name(dname), expr)))

    def adj_setitem(self, stmt, zero):
        """`x[i] = v`: v's adjoint is dx[i]; the overwritten elements' adjoint is zero."""
        target = stmt.targets[0]
        name = target.value.id
        index = slice_expr(target.slice)
        code = []
        if name in self.an.active and name not in zero:
            dx = N.name(self.d[name])
            self.read(index)
            value = stmt.value
            part = None
            if self.an.is_active(value):
                # taken before the elements are zeroed (`z[:] = z` reads what it overwrites)
                part = self.namer.fresh(f"{self.d[name]}_part")
                code.append(N.assign(part, N.call("_sd.assigned", [dx, index])))
            code.append(N.assign(self.d[name], N.call("_sd.zero_at", [dx, index])))
            if part is not None:
                # v may have been broadcast into the slice: sum back to v's shape
                expr = N.call("_sd.unbroadcast", [N.name(part), value])
                self.read(value)
                self.accumulate(value, expr, zero, code)
        if self.restores(name):
            # the restore writes through this name at this index: both must hold the values
            # they had at this statement (a loop may rebind them)
            self.reads.add(name)
            self.read(target.slice)
        marker = N.assign(gast.Subscript(value=N.name(name), slice=target.slice,
                                         ctx=gast.Store()), tape.pop(), stmt.lineno)
        marker.sd_site = (id(stmt), name)
        self.sites.append(marker)
        code.append(marker)
        return code, zero

    def adj_unpack(self, stmt, zero):
        targets = [e.id for e in stmt.targets[0].elts]
        source = stmt.value
        code = []
        live = [t for t in targets if t in self.an.active and t not in zero]
        if live and self.an.is_active(source):
            parts = [N.name(self.d[t]) if t in live else N.const(0.0) for t in targets]
            self.read(source)
            expr = N.call("_sd.unpack_adjoint", [N.tuple_(parts), source])
            self.accumulate(source, expr, zero, code, container=True)
        zero.update(t for t in targets if t in self.an.active)
        code += [self.restore(stmt, t) for t in reversed(targets)]
        return code, zero

    def adj_if(self, stmt, zero):
        body, zero_body = self.adj_block(stmt.body, set(zero))
        orelse, zero_else = self.adj_block(stmt.orelse, set(zero))
        after = zero_body & zero_else
        if not self.has_code(body) and not self.has_code(orelse) and zero_body == zero_else:
            return body + orelse, after   # e.g. `if stop: break`: nothing to undo
        self.read(stmt.test)
        body += self.materialize(zero_body - after)
        orelse += self.materialize(zero_else - after)
        return [N.if_(stmt.test, body, orelse, stmt.lineno)], after

    def loop_body(self, body, zero):
        head = set(zero)
        while True:
            code, end = self.adj_block(body, set(head))
            if head <= end:
                break
            head &= end
        code += self.materialize(end - head)
        return self.materialize(zero - head), code, head

    def materialize(self, names):
        return [N.assign(self.d[n], N.const(0.0)) for n in sorted(names)]

    def adj_for(self, stmt, zero):
        before, body, zero = self.loop_body(stmt.body, zero)
        iterable = stmt.iter
        if has_break(stmt.body):
            counter = self.counter_name(stmt)
            iterable = N.subscript(iterable, gast.Slice(lower=None, upper=N.name(counter),
                                                        step=None))
            self.reads.add(counter)
        self.read(stmt.iter)
        loop = N.for_(N.store(stmt.target.id), N.call("reversed", [iterable]), body,
                      stmt.lineno)
        code = before + [N.comment(self.unit.describe_line(self.an.fs, stmt.lineno)), loop]
        # the forward sweep saved the loop variable, then the trip counter: undo in reverse
        if has_break(stmt.body):
            code.append(self.restore(stmt, self.counter_name(stmt)))
        code.append(self.restore(stmt, stmt.target.id))
        return code, zero

    def adj_while(self, stmt, zero):
        before, body, zero = self.loop_body(stmt.body, zero)
        counter = self.counter_name(stmt)
        self.reads.add(counter)
        index = self.namer.exact_or_fresh("_") if "_" not in self.an.locals else \
            self.namer.fresh("_i")
        loop = N.for_(index, N.call("range", [N.name(counter)]), body, stmt.lineno)
        code = before + [N.comment(self.unit.describe_line(self.an.fs, stmt.lineno)), loop,
                         self.restore(stmt, counter)]
        return code, zero

    def counter_name(self, stmt):
        name = getattr(stmt, "sd_counter", None)
        if name is None:
            name = stmt.sd_counter = self.namer.fresh("trips")
        return name

    def read(self, node):
        for sub in gast.walk(node):
            if isinstance(sub, gast.Name) and sub.id in self.an.locals:
                self.reads.add(sub.id)

    # ---- the forward sweep
    def fwd_block(self, stmts, maybe, defined):
        out = []
        for stmt in stmts:
            out += self.fwd_stmt(stmt, maybe, defined)
        return out

    def restores(self, name):
        """Whether the adjoint sweep must put back what a write through `name` overwrites:
        when it reads a value that may share the buffer, or the buffer may be an argument's
        (the caller gets its arrays back unchanged)."""
        shared = self.an.shares_with(name)
        # (during the adjoint sweep, what the previous round found the sweep reads counts
        # too: the statements before this one are visited after it)
        reads = self.reads | (self.live or set())
        return bool(shared & reads) or bool(shared & set(self.an.params))

    def save(self, stmt, name, maybe, defined, out):
        """Push `name`'s old value before `stmt` overwrites it, if the adjoint needs it."""
        if name in self.invariant:
            return   # the same value on every trip through its loop: nothing to restore
        if name in self.reads and name in maybe:
            if name not in defined:
                self.inits.add(name)
            self.pushed.add((id(stmt), name))
            out.append(tape.push(N.name(name), getattr(stmt, "lineno", None)))

    def fwd_stmt(self, stmt, maybe, defined):
        out = []
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript):
            target = stmt.targets[0]
            name = target.value.id
            if self.restores(name):
                # save the elements this write overwrites; the adjoint sweep puts them back
                self.pushed.add((id(stmt), name))
                old = N.call("_sd.snapshot", [N.name(name), slice_expr(target.slice)])
                out.append(tape.push(old, stmt.lineno))
            out.append(stmt)
            return out
        if isinstance(stmt, gast.Assign):
            target = stmt.targets[0]
            names = [target.id] if isinstance(target, gast.Name) else [e.id for e in
                                                                        target.elts]
            for name in names:
                self.save(stmt, name, maybe, defined, out)
            for name in self.plain_writes(stmt):   # the adjoint sweep restores these
                self.pushed.add((id(stmt), ("call", name)))
                copy_of = N.call("_sd.snapshot", [N.name(name),
                                                  N.call("_sd.whole_index", [N.name(name)])])
                out.append(tape.push(copy_of, stmt.lineno))
            out.append(self.primal(stmt))
            maybe.update(names)
            defined.update(names)
            for name in names:
                if name in self.shape_vars:   # the adjoint needs only this value's shape
                    shape = self.shape_vars[name]
                    self.save(stmt, shape, maybe, defined, out)
                    out.append(N.assign(shape, N.call("_sd.shape", [N.name(name)]),
                                        stmt.lineno))
                    maybe.add(shape)
                    defined.add(shape)
            return out
        if isinstance(stmt, gast.If):
            maybe_else, defined_else = set(maybe), set(defined)
            body = self.fwd_block(stmt.body, maybe, defined)
            orelse = self.fwd_block(stmt.orelse, maybe_else, defined_else)
            maybe |= maybe_else
            defined &= defined_else
            return [N.if_(stmt.test, body, orelse, stmt.lineno)]
        if self.checkpoints.covers(stmt):   # a checkpointed loop (passes/checkpoint.py)
            return self.checkpoints.forward(stmt, maybe, defined)
        if isinstance(stmt, (gast.For, gast.While)):
            return self.fwd_loop(stmt, maybe, defined)
        return [stmt]

    def fwd_loop(self, stmt, maybe, defined):
        out = []
        line = stmt.lineno
        is_for = isinstance(stmt, gast.For)
        counted = not is_for or has_break(stmt.body)
        counter = self.counter_name(stmt) if counted else None
        if is_for:
            self.save(stmt, stmt.target.id, maybe, defined, out)
        if counted:
            self.save(stmt, counter, maybe, defined, out)
            out.append(N.assign(counter, N.const(0), line))
        inner_maybe = set(maybe) | assigned_names(stmt.body) | (
            {stmt.target.id} if is_for else set())
        # trip counters of loops nested in this one are rebound on every trip too
        inner_maybe |= {self.shape_vars[n] for n in assigned_names(stmt.body)
                        if n in self.shape_vars}
        inner_maybe |= {self.counter_name(s) for s in gast.walk(stmt) if s is not stmt
                        and (isinstance(s, gast.While)
                             or isinstance(s, gast.For) and has_break(s.body))}
        inner_defined = set(defined) | ({stmt.target.id} if is_for else set())
        if counted:
            inner_maybe.add(counter)
            inner_defined.add(counter)
        body = self.fwd_block(stmt.body, inner_maybe, inner_defined)
        if counted:
            body.insert(0, N.assign(counter, N.add(N.name(counter), N.const(1)), line))
        if is_for:
            out.append(N.for_(stmt.target, stmt.iter, body, line))
        else:
            out.append(N.while_(stmt.test, body, line))
        maybe |= inner_maybe
        if counted:
            defined.add(counter)
        return out

    def primal(self, stmt):
        """The primal statement; active calls to user functions go through their forward."""
        if isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id in self.an.active:
            op = self.an.classify(stmt.value)
            if op.kind == "call":
                call = self.unit.reverse_call(self.an, stmt, op)
                self.uses_tape = True
                return N.assign(stmt.targets[0].id,
                                N.call(call.fwd, [N.name(tape.TAPE)] + call.args), stmt.lineno)
        return self.unit.plain_call(self.an, stmt)

    # ---- assembling functions
    def sweeps(self, seed):
        """(forward statements, adjoint statements, zero set at the end)."""
        an = self.an
        out = an.output
        # Which values the adjoint reads decides which restores are real, and a branch whose
        # only code is restores needs its condition only if they are: iterate to agreement.
        for _ in range(4):
            self.reads, self.sites = set(), []
            zero = set(an.active)
            adjoint = []
            if out in an.active:
                zero.discard(out)
                adjoint.append(N.assign(self.d[out], seed, an.return_line))
            body_adj, zero = self.adj_block(an.body, zero)
            adjoint += body_adj
            if self.live == self.reads:
                break
            self.live = set(self.reads)
        forward = self.fwd_block(an.body, set(an.params), set(an.params))
        adjoint = finalize(adjoint, self.pushed)
        if self.pushed:
            self.uses_tape = True
        return forward, adjoint, zero

    def preamble(self, split):
        head = []
        if self.uses_tape:
            if not split:
                head.append(tape.new_tape())
            if self.pushed or split == "fwd":
                head.append(tape.bind_push())
            if self.pushed and split != "fwd":
                head.append(tape.bind_pop())
        for name in sorted(self.inits):
            head.append(N.assign(name, N.const(None)))
        return head

    def gradient_function(self, fname, wrt, preserve_result, seed_param=None):
        """The flat derivative: forward sweep, adjoint sweep, gradients of `wrt`."""
        an = self.an
        renamed = [an.renames.get(w, w) for w in wrt]
        wrt = tuple(renamed) if isinstance(wrt, tuple) else renamed
        originals = {}
        for p in wrt:
            if p in an.reassigned:
                originals[p] = self.namer.fresh(f"{p}_in")
        if seed_param is None and an.output is not None and an.kinds.get(an.output) != SCALAR:
            check = [N.expr(N.call("_sd.check_scalar", [N.name(an.output)]), an.return_line)]
        else:
            check = []
        seed = N.const(1.0) if seed_param is None else N.name(seed_param)
        forward, adjoint, zero = self.sweeps(seed)
        grads = []
        for p in wrt:
            value = N.const(0.0) if p in zero or p not in an.active else N.name(self.d[p])
            grads.append(N.call("_sd.gradient_like", [value, N.name(originals.get(p, p))]))
        result = grads[0] if len(grads) == 1 and not isinstance(wrt, tuple) else N.tuple_(grads)
        out_value = N.name(an.output) if an.output else an.tree.body[-1].value
        keep = []
        writes = any(isinstance(t, gast.Subscript) for stmt in adjoint for node in
                     gast.walk(stmt) if isinstance(node, gast.Assign) for t in node.targets)
        if preserve_result and (writes or any(name == an.output for _, name in self.pushed)
                                or self.checkpoints.clobbers(an.output)):
            # the adjoint sweep rolls the output variable back, or puts back in place what
            # the function overwrote (the output may be a view of it), or a checkpointed loop
            # recomputes it: keep its final value (a copy, if the sweep writes in place)
            value_name = self.namer.fresh("value")
            kept = N.call("_sd.copy_value", [out_value]) if writes else out_value
            keep = [N.assign(value_name, kept)]
            out_value = N.name(value_name)
        if preserve_result:
            result = N.tuple_([out_value, result])
        body = self.preamble(split=False)
        body += [N.assign(v, N.name(p)) for p, v in originals.items()]
        body += forward + check + keep + adjoint + [N.return_(result)]
        params = list(an.params) + ([seed_param] if seed_param else [])
        return N.function_def(fname, params, body)

    def split_functions(self, fwd_name, bwd_name, active):
        """`fwd(_tape, *params)` saves a snapshot on the caller's tape and returns the value;
        `bwd(_tape, d_out)` pops it and returns the adjoints of the `active` parameters."""
        an = self.an
        active = [an.renames.get(p, p) for p in active]
        seed = self.namer.exact_or_fresh(f"d{an.output}" if an.output else "dout")
        if an.output:
            self.d.names[an.output] = seed
        forward, adjoint, zero = self.sweeps(N.name(seed))
        if an.output in an.active:
            adjoint = adjoint[1:]   # the seed is the parameter itself
        snapshot = sorted(self.reads)
        # everything the snapshot holds must exist even on paths that never bound it
        defined = set(an.params) | _definitely_defined(an.body)
        self.inits |= {n for n in snapshot if n not in defined}
        out_value = N.name(an.output) if an.output else an.tree.body[-1].value
        fwd_body = self.preamble(split="fwd") + forward
        if snapshot:
            fwd_body.append(tape.push(N.tuple_(N.name(n) for n in snapshot)))
        fwd_body.append(N.return_(out_value))
        if not any(isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                   and s.targets[0].id == tape.PUSH for s in fwd_body[:2]):
            fwd_body.insert(0, tape.bind_push())
        bwd_body = [tape.bind_pop()]
        if self.checkpoints.loops:   # a checkpointed loop tapes its steps in the adjoint
            bwd_body.append(tape.bind_push())
        if snapshot:
            bwd_body.append(N.assign(N.store_tuple(snapshot), tape.pop()))
        results = [N.const(0.0) if p in zero or p not in an.active else N.name(self.d[p])
                   for p in active]
        bwd_body += adjoint + [N.return_(N.tuple_(results))]
        return (N.function_def(fwd_name, [tape.TAPE] + an.params, fwd_body),
                N.function_def(bwd_name, [tape.TAPE, seed], bwd_body))


def _sum_terms(exprs):
    """One expression for several contributions to one name (`x * x` gives `2 * (dy * x)`)."""
    from ..codegen import to_source
    texts = [to_source(e) for e in exprs]
    if len(set(texts)) == 1 and len(exprs) > 1:
        return N.mul(N.const(len(exprs)), exprs[0])
    total = exprs[0]
    for expr in exprs[1:]:
        total = N.add(total, expr)
    return total


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
    keywords = gast.Dict(keys=[N.const(k) for k in named], values=[op.args[k] for k in named])
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


def loop_invariants(an):
    """Names bound once, inside a loop, by a pure operation on values no enclosing loop
    changes: they hold the same value on every trip, so the tape need not save them."""
    sites = {}
    for targets, value, stmt, loop in bindings_in_loops(an.body):
        unpacking = isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Tuple)
        for t in targets:
            sites.setdefault(t, []).append((None if unpacking else value, loop))
    out = set()
    changed_in = {}
    for name, defs in sites.items():
        if len(defs) != 1 or name in an.params:
            continue
        value, loop = defs[0]
        if loop is None or value is None or isinstance(value, gast.Assign):
            continue
        op = an.classify(value)
        if op.kind not in ("rule", "copy", "const", "pack", "nondiff"):
            continue
        if id(loop) not in changed_in:
            changed_in[id(loop)] = assigned_names([loop]) | {
                s.targets[0].value.id for s in gast.walk(loop)
                                     if isinstance(s, gast.Assign)
                                     and isinstance(s.targets[0], gast.Subscript)}
        if not (operands_of(value) & changed_in[id(loop)]):
            out.add(name)
    return out


def operands_of(value):
    return {n.id for n in gast.walk(value) if isinstance(n, gast.Name)}


def _definitely_defined(stmts):
    defined = set()
    for stmt in stmts:
        if isinstance(stmt, gast.Assign):
            defined |= assigned_names([stmt])
        elif isinstance(stmt, gast.If):
            defined |= _definitely_defined(stmt.body) & _definitely_defined(stmt.orelse)
    return defined


def _emits(code):
    return any(not getattr(s, "sd_site", None) for s in code)


def finalize(stmts, pushed):
    """Keep the restore pops whose pushes the forward sweep made; drop empty blocks."""
    out = []
    for stmt in stmts:
        site = getattr(stmt, "sd_site", None)
        if site is not None:
            if site in pushed:
                out.append(stmt)
            continue
        if isinstance(stmt, gast.If):
            stmt.body = finalize(stmt.body, pushed)
            stmt.orelse = finalize(stmt.orelse, pushed)
            if not _has_code(stmt.body) and not _has_code(stmt.orelse):
                continue
            if not _has_code(stmt.body):
                stmt.body = [N.pass_()]
        elif isinstance(stmt, gast.For):
            stmt.body = finalize(stmt.body, pushed)
            if not _has_code(stmt.body):
                continue
        out.append(stmt)
    # drop comments that no longer precede any code
    cleaned = []
    for i, stmt in enumerate(out):
        if N.is_comment(stmt) and (i + 1 == len(out) or N.is_comment(out[i + 1])):
            continue
        cleaned.append(stmt)
    return cleaned


def _has_code(stmts):
    return any(not N.is_comment(s) and not isinstance(s, gast.Pass) for s in stmts)


__all__ = ["Analysis", "Reverse", "SourceDiffError", "slice_expr"]
