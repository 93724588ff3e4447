"""In-place writes through views and aliases: the NumPy semantics sourcediff must follow.

Views share their base's buffer (``reshape``, ``.T``, ``np.transpose``, ``swapaxes``,
``np.atleast_2d``, basic indexing, ``x[:, None]``, rows of a ``for`` loop or of ``a, b = X``),
plain copies (``y = x``) share the object, ``+=`` on an ndarray writes in place (on a float it
rebinds), lists hold references, and a helper can write into the array it is given.  The
primal program is plain NumPy, so finite differences of it are always the right answer.
"""

from __future__ import annotations

import numpy as np

from .program import Expr, For, Line, leaf
from .typesys import FLOAT, SHAPES, arr, fits_into, integer, list_of


class AliasMaker:
    """Builds one aliasing pattern (a few statements) in ``scope``."""

    def __init__(self, g, scope):
        self.g = g
        self.scope = scope

    def statement(self):
        g = self.g
        mutating = [c for c in g.callees if c.mutates]
        return g.weighted([
            (3, self.view_write),
            (1.5, self.plain_copy),
            (1.5, self.stale_view),
            (1.5, self.rows_loop),
            (1, self.unpack_rows),
            (1.5, self.list_loop),
            (1, self.ifexp_alias),
            (1.5 * bool(mutating), lambda: self.helper_write(mutating)),
            (1, self.list_alias),
            (1, self.param_write),
            (1, self.element_aug),
            (0.7, self.element_view),
        ])

    # ---- helpers
    def _array(self, ndim=None, rows=None):
        """An array variable (optionally of ``ndim`` dims / ``rows`` rows), creating one when
        none is live; returns (name, statements that define it)."""
        scope = self.scope
        names = [n for n in scope.arrays()
                 if (ndim is None or len(scope.vars[n].ty.shape) == ndim)
                 and (rows is None or scope.vars[n].ty.shape[0] == rows)]
        if names:
            return self.g.pick(names), []
        shape = (rows or 2, 3) if ndim == 2 or rows else self.g.pick([(3,), (2, 3)])
        pre = self.g.assign_new(scope, arr(*shape), prefix="b")
        return scope.defined[-1], pre

    def _views(self, base):
        """(expression text, shape, tag) of views of the array variable ``base``."""
        g = self.g
        s = self.scope.vars[base].ty.shape
        size = int(np.prod(s))
        out = [(f"{base}.reshape({', '.join(map(str, s2))})", s2, "alias:reshape")
               for s2 in SHAPES if s2 and s2 != s and int(np.prod(s2)) == size]
        if len(s) == 2:
            out += [(f"{base}.T", s[::-1], "alias:T"),
                    (f"np.transpose({base})", s[::-1], "alias:transpose"),
                    (f"{base}.swapaxes(0, 1)", s[::-1], "alias:swapaxes"),
                    (f"{base}[{g.rng.randrange(s[0])}]", s[1:], "alias:row"),
                    (f"{base}[:, {g.rng.randrange(s[1])}]", (s[0],), "alias:column")]
        else:
            out += [(f"np.atleast_2d({base})", (1, s[0]), "alias:atleast_2d"),
                    (f"{base}[:, None]", (s[0], 1), "alias:newaxis"),
                    (f"{base}[::-1]", s, "alias:reverse-view")]
            if s[0] >= 2:
                out.append((f"{base}[1:]", (s[0] - 1,), "alias:slice"))
        out += [(f"{base}[:]", s, "alias:slice-all"), (base, s, "alias:copy")]
        return out

    def _write(self, scope, name, tag):
        """One in-place write into the array variable ``name``."""
        g = self.g
        shape = scope.vars[name].ty.shape
        kind = g.pick(["scale", "aug", "aug", "index", "self", "scatter", "ufunc-out"])
        if kind == "scatter":   # accumulates once per occurrence of an index
            idx = g.pick(["[0, 0]", "[-1, 0, -1]"])
            region = (idx.count(",") + 1,) + shape[1:]
            e = g.array_expr(scope, g.pick(fits_into(region) or [()]), 2)
            ufunc = g.pick(["add", "subtract"])
            return [Line(f"np.{ufunc}.at({name}, {idx}, {{0:b}})", [e], [tag, "alias:scatter"])]
        if kind == "ufunc-out":   # the output given positionally
            call = g.pick([f"np.tanh({name}, {name})", f"np.multiply({name}, 0.5, {name})"])
            return [Line(call, [], [tag, "alias:ufunc-out"])]
        if kind == "scale":
            return [Line(f"{name} *= {g.pick(['2.0', '0.5', '-1.5'])}", [], [tag])]
        if kind == "self":
            return [Line(f"{name} {g.pick(['-=', '+='])} 0.5 * {name}", [], [tag])]
        if kind == "index" and g._write_targets(scope, name, _SMALL_WRITES):
            return self._index_write(scope, name, tag)
        e = g.array_expr(scope, g.pick(fits_into(shape)), 2)
        return [Line(f"{name} {g.pick(['+=', '-='])} {{0:b}}", [e], [tag])]

    def _index_write(self, scope, name, tag):
        g = self.g
        idx, region, _ = g.pick(g._write_targets(scope, name, _SMALL_WRITES))
        e = g.array_expr(scope, g.pick(fits_into(region) or [()]), 2)
        return [Line(f"{name}{idx} {g.pick(['=', '+='])} {{0:b}}", [e], [tag])]

    def _new_view(self, base, tag_filter=None):
        options = [v for v in self._views(base) if tag_filter is None or tag_filter(v[2])]
        text, shape, tag = self.g.pick(options)
        name = self.scope.names.fresh("v")
        self.scope.add(name, arr(*shape))
        self.scope.escape({base})
        return name, [Line(f"{name} = {text}", [], [tag])], tag

    # ---- patterns
    def view_write(self):
        """``v = x.reshape(2, 3); v *= 2.0`` and the other views."""
        base, pre = self._array()
        v, stmts, tag = self._new_view(base, lambda t: t != "alias:copy")
        return pre + stmts + self._write(self.scope, v, tag)

    def plain_copy(self):
        """``y = x; y += 1.0`` (in place for an array, a rebinding for a float)."""
        g, scope = self.g, self.scope
        floats = scope.of_type(FLOAT)
        if floats and g.chance(0.3):
            src = g.pick(floats)
            y = scope.names.fresh("y")
            scope.add(y, FLOAT)
            return [Line(f"{y} = {src}", [], ["alias:copy-float"]),
                    Line(f"{y} += {{0}}", [g.float_expr(scope, 1)], ["alias:copy-float"])]
        base, pre = self._array()
        y = scope.names.fresh("y")
        scope.add(y, scope.vars[base].ty)
        scope.escape({base})
        return pre + [Line(f"{y} = {base}", [], ["alias:copy"])] + self._write(
            scope, y, "alias:copy")

    def stale_view(self):
        """``p = z.T; z[1] = ...; use p``: a view read after its base was written."""
        scope = self.scope
        base, pre = self._array()
        p, stmts, _ = self._new_view(base)
        stmts = [Line(s.template, s.args, ["alias:stale-view"]) for s in stmts]
        write = self._write(scope, base, "alias:stale-view")
        t = scope.names.fresh("t")
        scope.add(t, FLOAT)
        use = Line(f"{t} = np.sum(np.sin({p}))", [], ["alias:stale-view"])
        return pre + stmts + write + [use]

    def rows_loop(self):
        """``for r in X: r *= ...`` / ``for i, r in enumerate(X)`` / ``zip(X, Y)``."""
        g, scope = self.g, self.scope
        base, pre = self._array(ndim=2)
        shape = scope.vars[base].ty.shape
        inner = scope.child(in_loop=True)
        r = inner.names.fresh("r")
        kind = g.pick(["for", "enumerate", "zip"])
        if kind == "zip":
            other = g.pick([n for n in scope.arrays() if scope.vars[n].ty.shape[:1] ==
                            shape[:1] and len(scope.vars[n].ty.shape) == 2] or [base])
            w = inner.names.fresh("w")
            inner.add(r, arr(*shape[1:]))
            inner.add(w, arr(*scope.vars[other].ty.shape[1:]))
            header = f"for {r}, {w} in zip({base}, {other}):"
            body = self._write(inner, r, "alias:zip-rows")
        elif kind == "enumerate":
            i = inner.names.fresh("i")
            inner.add(i, integer(shape[0]))
            inner.add(r, arr(*shape[1:]))
            header = f"for {i}, {r} in enumerate({base}):"
            body = [Line(f"{r} += 0.1 * {i}", [], ["alias:enumerate-rows"])]
        else:
            inner.add(r, arr(*shape[1:]))
            header = f"for {r} in {base}:"
            body = self._write(inner, r, "alias:for-rows")
        scope.escape({base})
        return pre + [For(header, [], body, [f"alias:{kind}-rows"])]

    def unpack_rows(self):
        """``a, b = X`` for a two-row X, then writes through the rows."""
        g, scope = self.g, self.scope
        base, pre = self._array(ndim=2, rows=2)
        row = arr(*scope.vars[base].ty.shape[1:])
        a, b = scope.names.fresh("r"), scope.names.fresh("r")
        scope.add(a, row)
        scope.add(b, row)
        scope.escape({base})
        write = g.pick([f"{a} += {b}", f"{b} *= 0.5", f"{a} -= 0.5 * {b}"])
        return pre + [Line(f"{a}, {b} = {base}", [], ["alias:unpack-rows"]),
                      Line(write, [], ["alias:unpack-rows"])]

    def list_loop(self):
        """``for p in ws: p -= 0.5 * p`` over a list of arrays."""
        g, scope = self.g, self.scope
        lists = [n for n in scope.lists("arr")]
        pre = []
        if lists and g.chance(0.6):
            ws = g.pick(lists)
        else:
            arrays = scope.arrays()
            if not arrays:
                base, pre = self._array()
                arrays = [base]
            first = g.pick(arrays)
            ty = scope.vars[first].ty
            items = [first, g.pick([n for n in arrays if scope.vars[n].ty == ty])]
            ws = scope.names.fresh("ws")
            scope.escape(items)
            scope.add(ws, list_of(ty, 2))
            pre.append(Line(f"{ws} = [{', '.join(items)}]", [], ["alias:list-loop"]))
        p = scope.names.fresh("p")
        write = g.pick([f"{p} -= 0.5 * {p}", f"{p} *= 1.0 + 0.3 * np.tanh({p})",
                        f"{p} += np.sin({p})", f"{p}[...] = np.tanh({p})"])
        return pre + [For(f"for {p} in {ws}:", [], [Line(write, [], ["alias:list-loop"])],
                          ["alias:list-loop"])]

    def ifexp_alias(self):
        """``v = y if c else 2.0 * y; v += v``."""
        g, scope = self.g, self.scope
        base, pre = self._array()
        cond = g.cond(scope)
        v = scope.names.fresh("v")
        scope.add(v, scope.vars[base].ty)
        scope.escape({base})
        first = Line(f"{v} = {base} if {{0}} else 2.0 * {base}", [cond], ["alias:ifexp"])
        return pre + [first, Line(f"{v} += {v}", [], ["alias:ifexp"])]

    def helper_write(self, mutating):
        """``t = h(z)`` where ``h`` writes into its parameter."""
        g, scope = self.g, self.scope
        c = g.pick(mutating)
        ty = c.params[0][1]
        names = scope.of_type(ty)
        pre = []
        if not names and ty.kind == "list":
            pre = self._list_of_arrays(ty)
            names = [scope.defined[-1]]
        elif not names:
            pre = g.assign_new(scope, ty, prefix="b")
            names = [scope.defined[-1]]
        name = g.pick(names)
        scope.escape({name})
        if ty.kind == "list" and g.chance(0.6):   # a name for an array the helper may write
            p = scope.names.fresh("p")
            scope.add(p, ty.elem)
            scope.escape({p})
            pre.append(Line(f"{p} = {name}[{g.pick([0, -1])}]", [], ["alias:helper-write-items"]))
        call = g.call(scope, c, 1, args={0: leaf(name, ty)})
        t = scope.names.fresh("t")
        scope.add(t, c.ret)
        return pre + [Line(f"{t} = {{0:b}}", [call], ["alias:helper-write"])]

    def _list_of_arrays(self, ty):
        """``ws = [a, b]`` of arrays of ``ty``'s element type (made when none is live)."""
        g, scope = self.g, self.scope
        pre = []
        arrays = scope.of_type(ty.elem)
        if not arrays:
            pre = g.assign_new(scope, ty.elem, prefix="b")
            arrays = [scope.defined[-1]]
        items = [g.pick(arrays) for _ in range(ty.length)]
        ws = scope.names.fresh("ws")
        scope.escape(items)
        scope.add(ws, ty)
        return pre + [Line(f"{ws} = [{', '.join(items)}]", [], ["alias:helper-write-items"])]

    def list_alias(self):
        """``q = p; q.append(e)``: both names see the longer list."""
        g, scope = self.g, self.scope
        lists = [n for n in scope.lists() if n not in scope.frozen]
        pre = []
        if lists and g.chance(0.6):
            p = g.pick(lists)
        else:
            e = g.float_expr(scope, 1)
            p = scope.names.fresh("lst")
            scope.add(p, list_of(FLOAT, 1))
            pre.append(Line(f"{p} = [{{0:b}}]", [e], ["alias:list-alias"]))
        ty = scope.vars[p].ty
        q = scope.names.fresh("q")
        scope.add(q, ty)
        e = g.expr(scope, ty.elem, 2)
        scope.escape(e.view_of | {p})
        longer = list_of(ty.elem, ty.length + 1)
        scope.retype(p, longer)
        scope.retype(q, longer)
        return pre + [Line(f"{q} = {p}", [], ["alias:list-alias"]),
                      Line(f"{q}.append({{0:b}})", [e], ["alias:list-alias"])]

    def param_write(self):
        """``x += e`` / ``x[i] = e`` on an array parameter."""
        params = [n for n in self.scope.arrays() if self.scope.vars[n].param]
        if not params:
            return None
        return self._write(self.scope, self.g.pick(params), "alias:param-write")

    def _element_paths(self, want_kind):
        """``c[k]`` paths into list/dict variables whose element is of ``want_kind``."""
        out = []
        for name, var in self.scope.vars.items():
            ty = var.ty
            if ty.kind == "list" and ty.elem.kind == want_kind and ty.length:
                out += [(f"{name}[{k}]", ty.elem, name) for k in (0, -1)]
            elif ty.kind == "dict":
                out += [(f"{name}[{k!r}]", t, name) for k, t in ty.items if t.kind == want_kind]
        return out

    def element_aug(self):
        """``ws[0] += e`` / ``d['b'] *= f``: in place on the container's array; on a float
        element it rebinds the element."""
        g, scope = self.g, self.scope
        paths = self._element_paths("arr") + self._element_paths("float")
        if not paths:
            return None
        text, ty, owner = g.pick(paths)
        scope.escape({owner})
        op = g.pick(["+=", "-=", "*="])
        e = g.array_expr(scope, g.pick(fits_into(ty.shape)) if ty.kind == "arr" else (), 2)
        if op == "*=":
            e = Expr("1.0 + 0.3 * np.tanh({0:b})", [e], e.ty)
        return [Line(f"{text} {op} {{0:b}}", [e], ["alias:elem-aug"])]

    def element_view(self):
        """``p = ws[0]; p *= 2.0``: a name for a container's array, written through."""
        g, scope = self.g, self.scope
        paths = self._element_paths("arr")
        if not paths:
            return None
        text, ty, owner = g.pick(paths)
        scope.escape({owner})
        p = scope.names.fresh("p")
        scope.add(p, ty)
        return [Line(f"{p} = {text}", [], ["alias:elem-view"])] + self._write(
            scope, p, "alias:elem-view")


_SMALL_WRITES = [("[I]", "w"), ("[-1]", "w"), ("[1:]", "w"), ("[:, I]", "w"),
                 ("[[0, 0]]", "w"), ("[I, I]", "w")]
