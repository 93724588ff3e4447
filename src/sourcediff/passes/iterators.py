"""Iterators: the builtins that build sequences become forms the compiler differentiates.

* `zip(a, b)`, `enumerate(a)` and `map(f, a, b)` used as values (not as a `for` loop's iterable,
  which desugar lowers directly) become list comprehensions over the same iteration:
  `[(u, v) for u, v in zip(a, b)]`, `[f(u, v) for u, v in zip(a, b)]`;
* `list(x)` becomes `[v for v in x]`, `tuple(x)` becomes `_sd.as_tuple([v for v in x])`;
* `dict(a=x, b=y)` becomes `{"a": x, "b": y}`;
* `zip(*pairs)` becomes `_sd.unzip(pairs)` (a list of tuples, transposed).

A lambda given to `map` becomes a lambda called on the spot, which the nested pass inlines.

Before::

    pairs = list(zip(xs, ys))

After::

    pairs = [v1 for v1 in [(u1, u2) for u1, u2 in zip(xs, ys)]]
"""

from __future__ import annotations

import builtins

import gast

from .. import nodes as N


def _comprehension(elt, targets, iterable):
    target = N.store(targets[0]) if len(targets) == 1 else N.store_tuple(targets)
    gen = gast.comprehension(target=target, iter=iterable, ifs=[], is_async=0)
    return gast.ListComp(elt=elt, generators=[gen])


class _Rewrite(gast.NodeTransformer):
    def __init__(self, src, namer, local_names):
        self.src = src
        self.namer = namer
        self.locals = local_names

    def builtin(self, node):
        """The builtin a call's function names (when it is not shadowed), else None."""
        func = node.func
        if not isinstance(func, gast.Name) or func.id in self.locals:
            return None
        obj = self.src.resolve(func)
        for name in ("zip", "enumerate", "map", "list", "tuple", "dict"):
            if obj is getattr(builtins, name):
                return name
        return None

    def visit_For(self, node):
        # the iterable of a loop is lowered by desugar: only its arguments are rewritten
        if isinstance(node.iter, gast.Call) and self.builtin(node.iter) in ("zip", "enumerate"):
            node.iter.args = [self.visit(a) for a in node.iter.args]
        else:
            node.iter = self.visit(node.iter)
        node.body = [self.visit(s) for s in node.body]
        node.orelse = [self.visit(s) for s in node.orelse]
        return node

    def visit_comprehension(self, node):
        if isinstance(node.iter, gast.Call) and self.builtin(node.iter) in ("zip", "enumerate"):
            node.iter.args = [self.visit(a) for a in node.iter.args]
        else:
            node.iter = self.visit(node.iter)
        node.ifs = [self.visit(i) for i in node.ifs]
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        kind = self.builtin(node)
        starred = [a for a in node.args if isinstance(a, gast.Starred)]
        if kind is None or node.keywords and kind != "dict":
            return node
        if kind == "zip" and len(node.args) == 1 and starred:
            return N.call("_sd.unzip", [starred[0].value])
        if starred:
            return node
        if kind in ("zip", "enumerate") and node.args:
            names = [self.namer.fresh("u") for _ in range(2 if kind == "enumerate" else
                                                          len(node.args))]
            elt = N.tuple_(N.name(n) for n in names)
            return _comprehension(elt, names, node)
        if kind == "map" and len(node.args) >= 2:
            fn, *iterables = node.args
            names = [self.namer.fresh("u") for _ in iterables]
            elt = gast.Call(func=fn, args=[N.name(n) for n in names], keywords=[])
            source = iterables[0] if len(iterables) == 1 else N.call("zip", iterables)
            return _comprehension(elt, names, source)
        if kind in ("list", "tuple") and len(node.args) == 1:
            items = node.args[0]
            if not isinstance(items, gast.ListComp):   # a list made here is not copied again
                name = self.namer.fresh("u")
                items = _comprehension(N.name(name), [name], items)
            return items if kind == "list" else N.call("_sd.as_tuple", [items])
        if kind == "dict" and not node.args and all(kw.arg for kw in node.keywords):
            return gast.Dict(keys=[N.const(kw.arg) for kw in node.keywords],
                             values=[kw.value for kw in node.keywords])
        return node


def rewrite_iterators(src, namer):
    """Rewrite the sequence-building builtins of `src.tree` (see the module doc)."""
    from .desugar import assigned_names
    tree = src.tree
    params = {a.id for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs}
    rewrite = _Rewrite(src, namer, params | assigned_names(tree.body))
    tree.body = [rewrite.visit(stmt) for stmt in tree.body]
    return src
