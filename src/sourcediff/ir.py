"""The tree helpers every pass shares: a function's parameters, the one walk over nested
blocks, renaming and substituting names. Nodes are built by `nodes` only.

>>> import gast
>>> fn = gast.parse("def f(x, y=1.0):\\n    if x:\\n        y = x + y\\n    return y").body[0]
>>> param_names(fn)
['x', 'y']
>>> [type(s).__name__ for s in walk_statements(fn.body)]
['If', 'Assign', 'Return']
>>> rename(fn, {"y": "z"}, loads_only=True)
True
>>> import ast; print(ast.unparse(gast.gast_to_ast(fn)))
def f(x, y=1.0):
    if x:
        y = x + z
    return z
"""

from __future__ import annotations

import copy

import gast

from . import nodes as N


def param_names(fn):
    """The names a call binds in `fn` (positional-only, ordinary, keyword-only), in order."""
    a = fn.args
    return [p.id for p in a.posonlyargs + a.args + a.kwonlyargs]


def blocks(stmt):
    """The statement lists nested directly in `stmt` (`body`, then `orelse`)."""
    return [part for part in (getattr(stmt, "body", None), getattr(stmt, "orelse", None))
            if isinstance(part, list)]


def walk_statements(stmts):
    """Every statement of a block, nested blocks included, in order."""
    for stmt in stmts:
        yield stmt
        for block in blocks(stmt):
            yield from walk_statements(block)


class Rename(gast.NodeTransformer):
    """Renames `Name` nodes by `mapping` (reads only with `loads_only`); `changed` tells
    whether any was."""

    def __init__(self, mapping, loads_only=False):
        self.mapping = mapping
        self.loads_only = loads_only
        self.changed = False

    def visit_Name(self, node):
        if node.id in self.mapping and not (self.loads_only
                                            and not isinstance(node.ctx, gast.Load)):
            self.changed = True
            return N.name(self.mapping[node.id], node.ctx)
        return node


def rename(tree, mapping, loads_only=False):
    """Rename names in `tree` in place; returns whether any was renamed."""
    renamer = Rename(mapping, loads_only)
    renamer.visit(tree)
    return renamer.changed


class Substitute(gast.NodeTransformer):
    """Replaces each read of a name in `values` by a copy of its expression."""

    def __init__(self, values):
        self.values = values

    def visit_Name(self, node):
        if node.id in self.values and isinstance(node.ctx, gast.Load):
            return copy.deepcopy(self.values[node.id])
        return node


def substitute(tree, values):
    """`tree` with reads of `values`' names replaced by their expressions (in place where
    `tree` is not itself such a name)."""
    return Substitute(values).visit(tree)
