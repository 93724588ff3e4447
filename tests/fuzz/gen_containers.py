"""Containers as local values: list literals, ``append``, list comprehensions (with and
without ``if``), dict literals and ``d[k] = v``, tuples and their unpacking, unpacking a list
parameter, ``for k, v in d.items()``."""

from __future__ import annotations

from .program import For, Line, leaf
from .scope import Var
from .typesys import FLOAT, Ty, dict_of, list_of, tuple_of


class ContainerMaker:
    """Builds one container statement."""

    def __init__(self, g, scope):
        self.g = g
        self.scope = scope

    def statement(self):
        return self.g.weighted([
            (2, self.list_literal),
            (2, self.append),
            (2, self.comprehension),
            (1.5, self.dict_literal),
            (1, self.dict_set),
            (1.5, self.tuple_pack_unpack),
            (1, self.unpack_list),
            (0.7, self.dict_items_loop),
        ])

    def _elem_type(self):
        return self.g.new_type(self.scope)

    def list_literal(self):
        g, scope = self.g, self.scope
        ty = self._elem_type()
        items = [g.expr(scope, ty, 2) for _ in range(g.rng.randint(1, 3))]
        for e in items:
            scope.escape(e.view_of)
        name = scope.names.fresh("lst")
        scope.add(name, list_of(ty, len(items)), owned=True)
        slots = ", ".join(f"{{{k}:b}}" for k in range(len(items)))
        return [Line(f"{name} = [{slots}]", items, ["containers:list"])]

    def append(self):
        g, scope = self.g, self.scope
        names = [n for n in scope.lists() if scope.vars[n].owned and n not in scope.frozen]
        if not names:
            return None
        name = g.pick(names)
        ty = scope.vars[name].ty
        e = g.expr(scope, ty.elem, 2)
        scope.escape(e.view_of)
        scope.retype(name, list_of(ty.elem, ty.length + 1))
        return [Line(f"{name}.append({{0:b}})", [e], ["containers:append"])]

    def comprehension(self):
        """``[e(v) for v in seq]``, ``[e(i) for i in range(n)]``, ``[e(v) for v in seq if c]``."""
        g, scope = self.g, self.scope
        inner = scope.child()
        v = inner.names.fresh("v")
        source, length, elem = self._comprehension_source(v, inner)
        ty = self._elem_type()
        body = g.expr(inner, ty, 2)
        name = scope.names.fresh("lst")
        tags = ["containers:comprehension"]
        cond = ""
        args = [body] + ([source] if source is not None else [])
        if ty == FLOAT and elem == FLOAT and g.chance(0.3):
            cond = f" if {{{len(args)}}} > 0.0"
            args.append(leaf(v))
            length = 0
            tags.append("containers:comprehension-if")
        src_slot = "{1:b}" if source is not None else f"range({length or 3})"
        text = f"{name} = [{{0:b}} for {v} in {src_slot}{cond}]"
        scope.add(name, list_of(ty, length), owned=True)
        return [Line(text, args, tags)]

    def _comprehension_source(self, v, inner):
        g, scope = self.g, self.scope
        seqs = [(n, var) for n, var in scope.vars.items()
                if (var.ty.kind == "list" and var.ty.elem.numeric and var.exact)
                or (var.ty.kind == "arr" and len(var.ty.shape) == 1)]
        if seqs and g.chance(0.7):
            name, var = g.pick(seqs)
            scope.escape({name})
            elem = var.ty.elem if var.ty.kind == "list" else FLOAT
            length = var.ty.length if var.ty.kind == "list" else var.ty.shape[0]
            inner.add(v, elem)
            return leaf(name, var.ty), length, elem
        inner.add(v, Ty("int", length=3))
        return None, 3, None

    def dict_literal(self):
        g, scope = self.g, self.scope
        keys = g.rng.sample(["a", "b", "w", "bias"], g.rng.randint(1, 3))
        items = {k: self._elem_type() for k in keys}
        exprs = [g.expr(scope, t, 2) for t in items.values()]
        for e in exprs:
            scope.escape(e.view_of)
        name = scope.names.fresh("dd")
        scope.add(name, dict_of(**items), owned=True)
        body = ", ".join(f"{k!r}: {{{n}:b}}" for n, k in enumerate(keys))
        return [Line(f"{name} = {{{{{body}}}}}", exprs, ["containers:dict"])]

    def dict_set(self):
        g, scope = self.g, self.scope
        names = [n for n, v in scope.vars.items() if v.ty.kind == "dict" and v.owned]
        if not names:
            return None
        name = g.pick(names)
        items = dict(scope.vars[name].ty.items)
        key = g.pick(["a", "c", "extra"])
        ty = items.get(key) or self._elem_type()
        e = g.expr(scope, ty, 2)
        scope.escape(e.view_of)
        if key not in items and scope.depth == 0:
            items[key] = ty
            scope.vars[name] = Var(dict_of(**items), owned=True)
        return [Line(f"{name}[{key!r}] = {{0:b}}", [e], ["containers:dict-set"])]

    def tuple_pack_unpack(self):
        g, scope = self.g, self.scope
        types = [self._elem_type() for _ in range(g.rng.randint(2, 3))]
        exprs = [g.expr(scope, t, 2) for t in types]
        for e in exprs:
            scope.escape(e.view_of)
        name = scope.names.fresh("tp")
        slots = ", ".join(f"{{{k}:b}}" for k in range(len(exprs)))
        out = [Line(f"{name} = ({slots})", exprs, ["containers:tuple"])]
        scope.add(name, tuple_of(*types))
        if g.chance(0.6):
            targets = [scope.names.fresh("u") for _ in types]
            for t, ty in zip(targets, types):
                scope.add(t, ty)
            out.append(Line(f"{', '.join(targets)} = {name}", [], ["containers:unpack"]))
        return out

    def unpack_list(self):
        """``a, b = seq`` for a list of known length, a tuple or a named tuple."""
        g, scope = self.g, self.scope
        names = [n for n, v in scope.vars.items()
                 if (v.ty.kind == "list" and v.exact and 2 <= v.ty.length <= 3)
                 or v.ty.kind in ("tuple", "named")]
        if not names:
            return None
        name = g.pick(names)
        ty = scope.vars[name].ty
        if ty.kind == "list":
            types = [ty.elem] * ty.length
        else:
            types = [t[1] if ty.kind == "named" else t for t in ty.items]
        if any(t.kind != "float" for t in types):
            scope.escape({name})
        targets = [scope.names.fresh("u") for _ in types]
        for t, item in zip(targets, types):
            scope.add(t, item)
        return [Line(f"{', '.join(targets)} = {name}", [], [f"containers:unpack-{ty.kind}"])]

    def dict_items_loop(self):
        """``for key, v in d.items(): acc = acc + 0.5 * np.sum(v)``."""
        g, scope = self.g, self.scope
        names = [n for n, v in scope.vars.items() if v.ty.kind == "dict"]
        floats = [n for n in scope.of_type(FLOAT) if not scope.vars[n].param]
        if not names or not floats:
            return None
        name, acc = g.pick(names), g.pick(floats)
        key, v = scope.names.fresh("key"), scope.names.fresh("v")
        update = Line(f"{acc} = 0.5 * {acc} + 0.3 * np.tanh(np.sum({v}))", [],
                      ["containers:items"])
        return [For(f"for {key}, {v} in {name}.items():", [], [update], ["containers:for-dict"])]

