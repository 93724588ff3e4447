"""Loops: ``for`` over ranges, lists, arrays, ``enumerate``, ``zip``, ``reversed``, and
bounded ``while`` loops, each carrying an accumulator defined before the loop.

Names defined inside a loop body stay inside (the body may run zero times after a
``break``); the accumulator is updated with a bounded expression so values stay small.
"""

from __future__ import annotations

from .program import Expr, For, Line, While, leaf
from .typesys import FLOAT, Ty, arr, integer

UNKNOWN_BOUND = 99   # an int whose range is not known: usable in arithmetic, not as an index


class LoopMaker:
    """Builds one loop statement (plus the accumulator's definition before it)."""

    def __init__(self, g, scope):
        self.g = g
        self.scope = scope

    def statement(self):
        g = self.g
        pre = self._accumulator()
        loop = g.weighted([
            (3, self.for_range),
            (2, self.for_sequence),
            (1.5, self.for_enumerate),
            (1, self.for_zip),
            (1.5, self.while_loop),
            (0.5 * g.on("containers"), self.for_range_len),
        ])
        return pre + [loop] if loop is not None else None

    def _accumulator(self):
        """Define ``acc`` before the loop; the body will update it."""
        g, scope = self.g, self.scope
        pre = g.assign_new(scope, g.new_type(scope), prefix="acc")
        self.acc = scope.defined[-1]
        return pre

    def _body(self, inner, header_lines=()):
        """A loop body: a few statements, then the accumulator update."""
        g = self.g
        guard = g.break_continue(inner)[0] if g.chance(0.3) else None   # before the body:
        body = list(header_lines) + g.body(inner, g.rng.randint(1, 2))  # it may go anywhere
        body.append(self._update(inner))
        if guard is not None:
            body.insert(g.rng.randrange(len(header_lines), len(body) + 1), guard)
        return body

    def _update(self, inner):
        """``acc = 0.5 * acc + 0.5 * e`` (or ``acc += 0.3 * e`` for a float)."""
        g, name = self.g, self.acc
        ty = inner.vars[name].ty
        if ty == FLOAT and g.chance(0.4):
            e = g.expr(inner, FLOAT, 2)
            return Line(f"{name} += 0.3 * {{0}}", [e], ["loops:acc-aug"])
        if ty.kind == "arr" and inner.vars[name].owned and g.on("inplace") and g.chance(0.4):
            e = g.expr(inner, ty, 2)
            return Line(f"{name} += 0.3 * {{0}}", [e], ["inplace:array-aug"])
        e = g.update_expr(inner, name)
        inner.escape(e.view_of)
        return Line(f"{name} = {{0:b}}", [e])

    def _count(self):
        """A trip count: a literal or the int parameter."""
        counts = [n for n, v in self.scope.vars.items() if v.ty.kind == "count"]
        if counts and self.g.chance(0.5):
            name = self.g.pick(counts)
            return name, self.scope.vars[name].ty.length
        n = self.g.rng.randint(1, 4)
        return str(n), n

    def _inner(self, *iterated):
        """The body's scope; the iterated sequences must not grow inside it."""
        inner = self.scope.child(in_loop=True)
        for e in iterated:
            inner.frozen |= e.view_of
        return inner

    def for_range(self):
        g = self.g
        text, n = self._count()
        header, bound = g.pick([(f"range({text})", n), (f"range(1, {text})", n),
                                (f"range({text} - 1, -1, -1)", n)])
        inner = self.scope.child(in_loop=True)
        i = inner.names.fresh("i")
        inner.add(i, integer(bound))
        return For(f"for {i} in {header}:", [], self._body(inner), ["loops:for-range"])

    def _sequences(self):
        """(expression, element type) pairs a ``for`` may iterate over."""
        scope, out = self.scope, []
        for name, var in scope.vars.items():
            if var.ty.kind == "list" and var.ty.elem.numeric:
                out.append((leaf(name, var.ty, view_of=frozenset({name})), var.ty.elem,
                            var.ty.length if var.exact else None))
            elif var.ty.kind == "arr":
                shape = var.ty.shape
                elem = FLOAT if len(shape) == 1 else arr(*shape[1:])
                out.append((leaf(name, var.ty, view_of=frozenset({name})), elem, shape[0]))
        return out

    def for_sequence(self):
        g, scope = self.g, self.scope
        seqs = self._sequences()
        if not seqs:
            return None
        seq, elem, _ = g.pick(seqs)
        scope.escape(seq.view_of)
        if g.chance(0.25):
            seq = Expr("reversed({0:b})", [seq], seq.ty, ["loops:reversed"])
        inner = self._inner(seq)
        v = inner.names.fresh("v")
        inner.add(v, elem)
        tag = "loops:for-list" if seq.ty.kind == "list" else "loops:for-array"
        return For(f"for {v} in {{0:b}}:", [seq], self._body(inner), [tag])

    def for_enumerate(self):
        g, scope = self.g, self.scope
        seqs = self._sequences()
        if not seqs:
            return None
        seq, elem, length = g.pick(seqs)
        scope.escape(seq.view_of)
        inner = self._inner(seq)
        i, v = inner.names.fresh("i"), inner.names.fresh("v")
        inner.add(i, integer(length or UNKNOWN_BOUND))
        inner.add(v, elem)
        return For(f"for {i}, {v} in enumerate({{0:b}}):", [seq], self._body(inner),
                   ["loops:enumerate"])

    def for_zip(self):
        g, scope = self.g, self.scope
        seqs = self._sequences()
        if not seqs:
            return None
        (a, ta, _), (b, tb, _) = g.pick(seqs), g.pick(seqs)
        scope.escape(a.view_of | b.view_of)
        inner = self._inner(a, b)
        u, w = inner.names.fresh("u"), inner.names.fresh("w")
        inner.add(u, ta)
        inner.add(w, tb)
        return For(f"for {u}, {w} in zip({{0:b}}, {{1:b}}):", [a, b], self._body(inner),
                   ["loops:zip"])

    def for_range_len(self):
        g, scope = self.g, self.scope
        lists = [n for n in scope.lists() if scope.vars[n].ty.elem.numeric]
        if not lists:
            return None
        name = g.pick(lists)
        elem = scope.vars[name].ty.elem
        inner = self._inner(leaf(name, view_of=frozenset({name})))
        k, v = inner.names.fresh("k"), inner.names.fresh("v")
        inner.add(k, integer(UNKNOWN_BOUND))
        inner.add(v, elem)
        scope.escape({name})
        first = Line(f"{v} = {name}[{k}]", [], ["containers:read"])
        return For(f"for {k} in range(len({name})):", [], self._body(inner, [first]),
                   ["loops:range-len"])

    def while_loop(self):
        g, scope = self.g, self.scope
        limit = g.rng.randint(1, 4)
        inner = scope.child(in_loop=True)
        counter = inner.names.fresh("k")
        inner.add(counter, Ty("int", length=limit + 1))
        cond = None
        if g.chance(0.5):
            acc_ty = scope.vars[self.acc].ty
            value = leaf(self.acc) if acc_ty == FLOAT else Expr(f"np.sum({self.acc})", [])
            cond = Expr("{0} " + g.pick([">", "<"]) + " {1}", [value, leaf(g.pick(
                ["-2.5", "2.5", "1.5", "-1.5"]))], None, ["loops:while-value-cond"])
        scope.vars[counter] = inner.vars[counter]   # the counter survives the loop
        return While(counter, limit, cond, self._body(inner), ["loops:while"])
