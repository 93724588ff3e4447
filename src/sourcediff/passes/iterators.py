"""Iterators: the builtins that build sequences become forms the compiler differentiates.

* `zip(a, b)`, `enumerate(a)` and `map(f, a, b)` used as values (not as a `for` loop's iterable,
  which desugar lowers directly) become list comprehensions over the same iteration:
  `[(u, v) for u, v in zip(a, b)]`, `[f(u, v) for u, v in zip(a, b)]`;
* `list(x)` becomes `[v for v in x]`, `tuple(x)` becomes `_sd.as_tuple([v for v in x])`;
* `dict(a=x, b=y)` becomes `{"a": x, "b": y}`;
* `zip(*pairs)` becomes `_sd.unzip(pairs)` (a list of tuples, transposed);
* NumPy's index tricks and operand lists: `np.r_[a, b]` becomes a concatenation of
  `np.atleast_1d`s, `np.c_[a, b]` a `np.column_stack`, and `np.einsum(a, [0, 1], b, [1, 2])`
  (literal sublists) the subscripts form `np.einsum('ab,bc', a, b)`.

A lambda given to `map` becomes a lambda called on the spot, which the nested pass inlines.

Before::

    pairs = list(zip(xs, ys))

After::

    pairs = [v1 for v1 in [(u1, u2) for u1, u2 in zip(xs, ys)]]
"""

from __future__ import annotations

import builtins

import gast
import numpy as np

from .. import ir
from .. import nodes as N


def _comprehension(elt, targets, iterable):
    target = N.store(targets[0]) if len(targets) == 1 else N.store_tuple(targets)
    return N.list_comp(elt, [N.comprehension(target, iterable)])


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

    def numpy(self, node, name):
        """Whether `node` (not shadowed by a local) is `numpy.<name>`."""
        root = node
        while isinstance(root, gast.Attribute):
            root = root.value
        if isinstance(root, gast.Name) and root.id in self.locals:
            return False
        return self.src.resolve(node) is getattr(np, name, None)

    def visit_Subscript(self, node):
        """`np.r_[a, b]` -> `np.concatenate((np.atleast_1d(a), np.atleast_1d(b)))`;
        `np.c_[a, b]` -> `np.column_stack((a, b))` (for items that are not slices)."""
        self.generic_visit(node)
        for name, build in (("r_", self.r_), ("c_", self.c_)):
            if self.numpy(node.value, name):
                items = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
                if any(isinstance(i, gast.Slice) or isinstance(i, gast.Constant) and
                       isinstance(i.value, str) for i in items):
                    return node   # ranges and directives: refused with its name
                return build(node.value, items)
        return node

    def r_(self, base, items):
        numpy = base.value
        parts = [N.call(N.attr(numpy, "atleast_1d"), [i]) for i in items]
        return N.call(N.attr(numpy, "concatenate"), [N.tuple_(parts)])

    def c_(self, base, items):
        return N.call(N.attr(base.value, "column_stack"), [N.tuple_(items)])

    def einsum(self, node):
        """`np.einsum(a, [0, 1], b, [1, 2], [0, 2])` (literal sublists) -> the subscripts
        string form `np.einsum('ab,bc->ac', a, b)`."""
        args = node.args
        if not args or isinstance(args[0], gast.Constant) or node.keywords:
            return node
        lists = args[1::2]
        if not all(_int_list(a) for a in lists) or (len(args) % 2 and not _int_list(args[-1])):
            return node
        letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        operands = args[0:len(args) - len(args) % 2:2]
        sub = ",".join("".join(letters[v] for v in _ints(a)) for a in lists[:len(operands)])
        if len(args) % 2:
            sub += "->" + "".join(letters[v] for v in _ints(args[-1]))
        return N.call(node.func, [N.const(sub)] + operands)

    def visit_Call(self, node):
        self.generic_visit(node)
        if self.numpy(node.func, "einsum"):
            return self.einsum(node)
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
            elt = N.call(fn, [N.name(n) for n in names])
            source = iterables[0] if len(iterables) == 1 else N.call("zip", iterables)
            return _comprehension(elt, names, source)
        if kind in ("list", "tuple") and len(node.args) == 1:
            items = node.args[0]
            if not isinstance(items, gast.ListComp):   # a list made here is not copied again
                name = self.namer.fresh("u")
                items = _comprehension(N.name(name), [name], items)
            return items if kind == "list" else N.call("_sd.as_tuple", [items])
        if kind == "dict" and not node.args and all(kw.arg for kw in node.keywords):
            return N.dict_([N.const(kw.arg) for kw in node.keywords],
                           [kw.value for kw in node.keywords])
        return node


def _int_list(node):
    return isinstance(node, (gast.List, gast.Tuple)) and all(
        isinstance(e, gast.Constant) and type(e.value) is int and 0 <= e.value < 52
        for e in node.elts)


def _ints(node):
    return [e.value for e in node.elts]


def rewrite_iterators(src, namer):
    """Rewrite the sequence-building builtins of `src.tree` (see the module doc)."""
    tree = src.tree
    params = set(ir.param_names(tree))
    rewrite = _Rewrite(src, namer, params | ir.assigned_names(tree.body))
    tree.body = [rewrite.visit(stmt) for stmt in tree.body]
    return src
