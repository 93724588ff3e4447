"""Forward mode: each primal statement is followed by its tangent statement (`x_dot`).

No tape is needed: control flow is the primal's own. Calls to the user's functions go through
their own generated tangent functions.

Before (normalized)::

    t1 = x ** 2
    y = np.sin(t1)

After::

    t1 = x ** 2
    t1_dot = x_dot * (2 * x)
    y = np.sin(t1)
    y_dot = t1_dot * np.cos(t1)
"""

from __future__ import annotations

import gast

from .. import ir, runtime, tape
from .. import nodes as N
from ..errors import MissingRuleError, VectorModeError
from ..naming import DerivativeNames
from .activity import ARRAY, CONTAINER, SCALAR
from .analysis import dynamic_call, dynamic_parts, missing_rule, slice_expr
from .templates import instantiate


class Forward:
    def __init__(self, an, unit):
        self.an = an
        self.unit = unit
        self.namer = unit.namer_for(an)
        self.dot = DerivativeNames(self.namer, "tangent")
        self.modules = unit.module_names(an.fs)
        self.written = {s.targets[0].value.id for s in ir.walk_statements(an.body)
                        if isinstance(s, gast.Assign) and isinstance(s.targets[0],
                                                                     gast.Subscript)}
        # vector mode (`Unit.batched`): every tangent has a leading axis of directions, whose
        # length this parameter of each tangent function holds (see runtime/batch.py)
        self.batch = self.namer.fresh("n_directions") if unit.batched else None
        self.direction = None   # the loop variable of a rule run once per direction

    def batched(self, name, *args):
        """A call of the vector-mode helper `_sd.name(*args, n_directions)`."""
        return N.call(f"_sd.{name}", [*args, N.name(self.batch)])

    def refuse_batched(self, stmt, what):
        if self.batch:
            raise self.an.error(VectorModeError, f"the vector forward mode does not carry {what}",
                                stmt, hint="jacobian runs one tangent pass per column instead")

    def owned(self, tangent, value):
        """A tangent of `value` that may be written in place."""
        if self.batch:
            return self.batched("batch_owned", tangent, value)
        return N.call("_sd.owned", [tangent, value])

    def zero(self, atom):
        if self.batch:
            return self.batched("batch_zero", atom)
        if self.an.kind(atom) == SCALAR:
            return N.const(0.0)
        return N.call("_sd.zero_like", [atom])

    def tangent_of(self, atom):
        """The tangent of an operand (a name node), or None when it is zero; inside a
        vector-mode loop over directions (`per_direction`), its row for that direction."""
        if not self.an.is_active(atom):
            return None
        tangent = N.name(self.dot[atom.id])
        if self.direction is not None:
            return N.call("_sd.direction", [tangent, N.name(self.direction)])
        return tangent

    def block(self, stmts):
        out = []
        for stmt in stmts:
            out += self.statement(stmt)
        return out

    def statement(self, stmt):
        if isinstance(stmt, gast.Assign):
            if isinstance(stmt.targets[0], gast.Tuple):
                return self.unpack(stmt)
            if isinstance(stmt.targets[0], gast.Subscript):
                return self.setitem(stmt)
            return self.assign(stmt)
        if isinstance(stmt, gast.If):
            return [N.if_(stmt.test, self.block(stmt.body), self.block(stmt.orelse),
                          stmt.lineno)]
        if isinstance(stmt, gast.For):
            return [N.for_(stmt.target, stmt.iter, self.block(stmt.body), stmt.lineno)]
        if isinstance(stmt, gast.While):
            return [N.while_(stmt.test, self.block(stmt.body), stmt.lineno)]
        if tape.is_push(stmt):
            value = stmt.value.args[0]
            tangent = self.tangent_of(value) or self.zero(value)
            return [stmt, tape.push(tangent, stmt.lineno)]
        return [stmt]

    def assign(self, stmt):
        target = stmt.targets[0].id
        op = self.an.classify(stmt.value)
        line = stmt.lineno
        if op.kind == "pop":
            # tape code (a derivative differentiated again): the tangent was pushed last
            first = (N.assign(self.dot[target], tape.pop(), line)
                     if target in self.an.active else N.expr(tape.pop(), line))
            return [first, stmt]
        generated = op.kind == "call" and getattr(op.func, "__sourcediff_generated__", False)
        if target not in self.an.active and not generated:
            return [self.unit.plain_call(self.an, stmt)]
        if op.kind in ("call", "derivative"):
            if op.kind == "derivative":
                self.refuse_batched(stmt, "a call to a derivative")
            call = self.unit.forward_call(self.an, stmt, op, force=generated)
            if call is not None:
                tangents = [self.tangent_of(a) for _, a in call.active]
                if self.batch:
                    tangents.append(N.name(self.batch))
                dname = self.dot[target] if target in self.an.active else \
                    self.namer.fresh(f"{target}_dot")
                out = [N.assign(N.store_tuple([target, dname]),
                                N.call(call.name, call.args + tangents), line)]
                if target in self.written or any(
                        isinstance(a, gast.Name) and a.id in self.written
                        for _, a in call.active):
                    # the callee's tangent may be (a view of) an argument's tangent: one
                    # written in place (or whose argument's is) must be an array of its own
                    out.append(N.assign(dname, self.owned(N.name(dname), N.name(target)),
                                        line))
                return out
        dname = self.dot[target]
        expr = self.tangent(stmt, op, target)
        if isinstance(expr, list):   # vector mode: a loop over the directions
            return [stmt] + expr
        if expr is None:
            expr = self.zero(N.name(target))
        elif target in self.written or self.shares_written(expr):
            # a tangent written in place must be an array of its own, and no other tangent
            # may be one that is written in place
            expr = self.owned(expr, N.name(target))
        return [stmt, N.assign(dname, expr, line)]

    def shares_written(self, expr):
        """Whether `expr` may return (a view of) the tangent of a name written in place:
        anything but arithmetic, which always makes a new value."""
        if isinstance(expr, (gast.BinOp, gast.UnaryOp, gast.Compare, gast.Constant)):
            return False
        tangents = {t: p for p, t in self.dot.names.items()}
        return any(isinstance(n, gast.Name) and tangents.get(n.id) in self.written
                   for n in ir.walk(expr))

    def tangent(self, stmt, op, target):
        if op.kind == "copy":
            return self.tangent_of(op.args["x"])
        if op.kind == "rule":
            return self.rule_tangent(stmt, op, target)
        if op.kind == "subscript":
            base = self.tangent_of(stmt.value.value)
            if base is None:
                return None
            if self.batch:
                return self.batch_subscript(base, stmt.value.value, stmt.value.slice, target)
            if self.an.kind(stmt.value.value) == "array":
                return N.subscript(base, stmt.value.slice)
            return N.call("_sd.getitem", [base, slice_expr(stmt.value.slice)])
        if op.kind in ("pack", "dict"):
            if not any(self.an.is_active(a) for a in op.args.values()):
                return None
            parts = [self.tangent_of(a) or self.zero(a) for a in op.args.values()]
            if op.kind == "dict":
                return N.dict_(stmt.value.keys, parts)
            if isinstance(stmt.value, gast.List):
                return N.gast_list(parts)
            return N.tuple_(parts)
        if op.kind in ("attribute", "construct", "dynamic") and any(
                self.an.is_active(a) for a in op.args.values()):
            self.refuse_batched(stmt, {"attribute": "an attribute of a record",
                                       "construct": "a record",
                                       "dynamic": "a call to a function held in a value"}[
                                           op.kind])
        if op.kind == "attribute":
            tangent = self.tangent_of(op.args["x"])
            if tangent is None:
                return None
            return N.call("_sd.attribute_tangent", [tangent, op.args["x"], N.const(op.label)])
        if op.kind == "construct":
            if not any(self.an.is_active(a) for a in op.args.values()):
                return None
            fields = N.dict_([N.const(k) for k in op.args],
                             [self.tangent_of(a) or N.const(0.0) for a in op.args.values()])
            return N.call("_sd.record_tangent", [stmt.value.func, fields])
        if op.kind == "dynamic":
            callee, args, keywords = dynamic_parts(self.an, stmt, op)
            _, atoms = dynamic_call("dynamic_jvp", op, callee, args, keywords, None)
            tangents = [(self.tangent_of(a) if a is not None else None) or N.const(None)
                        for a in atoms]
            call, _ = dynamic_call("dynamic_jvp", op, callee, args, keywords,
                                   N.tuple_(tangents))
            return call
        if op.kind == "unknown" and any(self.an.is_active(a) for a in op.args.values()):
            raise missing_rule(self.an, stmt, op)
        return None

    def shifted_index(self, value, index):
        """`index` past the direction axis, written out (`t[:, i, 1:]`) where `value` is an
        array and the index is basic (no array in it, whose axes NumPy may move); else None
        (`_sd.batch_index` decides at run time)."""
        if self.an.kind(value) != ARRAY or isinstance(index, gast.Name):
            return None
        elts = index.elts if isinstance(index, gast.Tuple) else [index]
        for e in elts:
            basic = isinstance(e, gast.Slice) or (
                isinstance(e, gast.Constant) and (e.value is None or e.value is Ellipsis
                                                  or type(e.value) is int)) or (
                isinstance(e, gast.Name) and self.an.kind(e) == SCALAR)
            if not basic:
                return None
        return N.tuple_([N.slice_()] + [ir.copy_tree(e) for e in elts])

    def batch_subscript(self, base, value, index, target):
        """The tangent of `target = value[index]` in vector mode: the index shifted past the
        direction axis (for an array); an item that is a number has a tangent of its own
        (not a view of the array's)."""
        shifted = self.shifted_index(value, index)
        if shifted is not None:
            item = N.subscript(base, shifted)
            if self.an.kind(N.name(target)) == ARRAY:
                return item
            return N.call("_sd.batch_item", [item, N.name(target)])
        return N.call("_sd.batch_getitem", [base, value, slice_expr(ir.copy_tree(index))])

    def batch_lower(self, atom, target):
        """Whether the operand `atom` of an elementwise operation may have a lower rank than
        its result `target` (any operand broadcasts it, a condition of np.where too)."""
        mine = self.an.shape_class(atom)
        return mine is None or mine != self.an.shape_class(N.name(target))

    def rule_tangent(self, stmt, op, target):
        rule = op.rule
        batched = self.batch and runtime.TANGENTS.get(rule.func)
        if self.batch and not batched and (None in rule.tangent or not rule.elementwise):
            return self.per_direction(stmt, op, target)
        values = dict(op.args)
        values["y"] = N.name(target)
        values.update(self.modules)
        if batched:   # a helper of reverse-mode code with a batched tangent
            values["n_directions"] = N.name(self.batch)
            return instantiate(rule.template(batched), values, lambda name: (
                self.tangent_of(op.args[name]) or N.const(0.0)))

        def derivative(name):
            atom = op.args.get(name)
            tangent = self.tangent_of(atom) if atom is not None else None
            if tangent is not None and self.batch and self.batch_lower(atom, target):
                # an operand of lower rank: its axes line up with the value's
                return N.call("_sd.lift", [tangent, atom, N.name(target)])
            return tangent

        zero_wins = self.an.zero_wins(op)
        if None in rule.tangent:   # one user template over all inputs
            return instantiate(rule.template(rule.tangent[None]), values, derivative,
                               zero_wins=zero_wins)
        terms, lower = [], False
        for param, atom in op.args.items():
            if not self.an.is_active(atom) or param in rule.static:
                continue
            template = rule.tangent.get(param)
            if template is None:
                raise self.an.error(
                    MissingRuleError,
                    f"{rule.name} has no forward-mode rule for its argument {param!r}",
                    stmt, hint=f"register one with @sourcediff.tangent({rule.name})")
            term = instantiate(rule.template(template), values, derivative,
                               zero_wins=zero_wins)
            if self.batch:
                lower = lower or self.batch_lower(atom, target)
            elif rule.elementwise and self.an.may_broadcast(op, param):
                term = N.call("_sd.broadcast_like", [term, N.name(target)])
            terms.append(term)
        if not terms:
            return None
        if lower and len(terms) > 1:
            # the sum of lifted terms (of any ranks where the value is the zero 0.0, which
            # stands for any shape), spread over the value's shape
            return self.batched("batch_sum", N.name(target), *terms)
        expr = terms[0]
        for term in terms[1:]:
            expr = N.add(expr, term)
        if lower:   # the lifted term, spread over the value's shape
            expr = self.batched("batch_broadcast", expr, N.name(target))
        return expr

    def per_direction(self, stmt, op, target):
        """Vector mode for a rule with no batched form: its tangent one direction at a time,
        `y_dot[i] = <tangent with x_dot[i]>` for each of the n_directions."""
        i = self.namer.fresh("direction")
        batch, self.batch, self.direction = self.batch, None, i
        try:
            expr = self.rule_tangent(stmt, op, target)
        finally:
            self.batch, self.direction = batch, None
        if expr is None:
            return None
        dname = self.dot[target]
        line = stmt.lineno
        return [N.assign(dname, self.batched("batch_empty", N.name(target)), line),
                N.for_(N.store(i), N.call("range", [N.name(self.batch)]),
                       [N.assign(N.store_subscript(N.name(dname), N.name(i)), expr, line)],
                       line),
                N.assign(dname, N.call("_sd.batch_stack", [N.name(dname), N.name(target)]),
                         line)]

    def setitem(self, stmt):
        """`x[i] = v` -> `x_dot[i] = v_dot` (x_dot is a fresh array: see `assign`)."""
        target = stmt.targets[0]
        name = target.value.id
        if name not in self.an.active:
            return [stmt]
        value = self.tangent_of(stmt.value) or self.zero(stmt.value)
        index = target.slice
        if self.batch:
            # the value's axes line up with those of x[i]; the index skips the directions
            value = N.call("_sd.lift", [value, stmt.value,
                                        N.subscript(N.name(name), ir.copy_tree(index))])
            shifted = self.shifted_index(target.value, index)
            index = shifted if shifted is not None else N.call("_sd.batch_index", [
                N.name(name), slice_expr(ir.copy_tree(index))])
        store = N.store_subscript(N.name(self.dot[name]), index)
        return [stmt, N.assign(store, value, stmt.lineno)]

    def unpack(self, stmt):
        targets = [e.id for e in stmt.targets[0].elts]
        if not any(t in self.an.active for t in targets):
            return [stmt]
        source = self.tangent_of(stmt.value)
        if source is not None:
            if self.batch and self.an.kind(stmt.value) != CONTAINER:
                source = N.call("_sd.batch_unpack", [source, stmt.value])   # rows of an array
            dots = [self.dot[t] for t in targets]
            out = [stmt, N.assign(N.store_tuple(dots), source, stmt.lineno)]
            out += [N.assign(self.dot[t], self.owned(N.name(self.dot[t]), N.name(t)),
                             stmt.lineno) for t in targets if t in self.written]
            return out
        return [stmt] + [N.assign(self.dot[t], self.zero(N.name(t)), stmt.lineno)
                         for t in targets if t in self.an.active]

    def jvp_function(self, fname, wrt):
        """`fname(*params, *tangents of wrt) -> (value, tangent of value)`."""
        an = self.an
        wrt = [an.renames.get(w, w) for w in wrt]
        tangents = [self.dot[p] for p in wrt]
        head = []
        mutable = set(an.written_params())
        for p in an.params:
            if p in self.written or p in mutable:
                # written in place: work on copies, so the caller's values (and the next
                # tangent pass) see the arguments unchanged; a callee writes into its
                # caller's values, as NumPy does (the caller rebinds them from its results)
                if not an.callee:
                    head.append(N.assign(p, N.call("_sd.copy_value", [N.name(p)])))
                if p in wrt and p in an.active:
                    head.append(N.assign(self.dot[p], self.owned(N.name(self.dot[p]),
                                                                 N.name(p))))
        head += [N.assign(self.dot[p], self.zero(N.name(p)))
                 for p in an.params if p in an.active and p not in wrt]
        body = head + self.block(an.body)
        out = an.tree.body[-1].value
        out_dot = self.tangent_of(out) if isinstance(out, gast.Name) else None
        if self.batch:
            out_dot = self.batched("batch_out", out_dot or N.const(0.0), out)
            tangents.append(self.batch)
        elif out_dot is None:
            out_dot = N.call("_sd.zero_like", [out])
        body.append(N.return_(N.tuple_([out, out_dot])))
        return N.function_def(fname, list(an.params) + tangents, body)
