"""The tree helpers every pass shares: a function's parameters, the one walk over nested
blocks, the names a statement reads and binds, renaming and substituting names. Nodes are
built by `nodes` only.

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
from collections import deque

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


def map_blocks(stmt, rewrite):
    """Replace each statement list nested directly in `stmt` by `rewrite(that list)`."""
    for part in ("body", "orelse"):
        if isinstance(getattr(stmt, part, None), list):
            setattr(stmt, part, rewrite(getattr(stmt, part)))


def walk_statements(stmts):
    """Every statement of a block, nested blocks included, in order."""
    for stmt in stmts:
        yield stmt
        for block in blocks(stmt):
            yield from walk_statements(block)


def walk(node):
    """Every node of the tree under `node`, `node` first, breadth first: `ast.walk`'s nodes
    in `ast.walk`'s order, without its two layers of generators (the compiler walks trees
    millions of times)."""
    todo = deque((node,))
    take, put, put_all = todo.popleft, todo.append, todo.extend
    while todo:
        node = take()
        yield node
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, list):
                put_all([item for item in value if isinstance(item, _AST)])
            elif isinstance(value, _AST):
                put(value)


_AST = gast.AST
_ATOMIC = frozenset((str, int, float, bool, complex, bytes, type(None)))


def copy_tree(node, memo=None):
    """A deep copy of the tree `node` (what `copy.deepcopy` gives, nodes shared inside it
    shared in the copy too, in a third of its time): AST nodes and lists are copied here,
    anything else hanging on a node by `copy.deepcopy`."""
    if memo is None:
        memo = {}
    done = memo.get(id(node))
    if done is not None:
        return done
    cls = node.__class__
    if cls is list:
        out = [item if item.__class__ in _ATOMIC else copy_tree(item, memo) for item in node]
    elif isinstance(node, _AST):
        out = cls.__new__(cls)
        out.__dict__.update({key: value if value.__class__ in _ATOMIC
                             else copy_tree(value, memo)
                             for key, value in node.__dict__.items()})
    elif cls in _ATOMIC:
        return node
    else:
        return copy.deepcopy(node, memo)
    memo[id(node)] = out
    return out


def names_in(node):
    """Every name `node` (an expression or a statement) mentions."""
    return {n.id for n in walk(node) if isinstance(n, gast.Name)}


def assigned_names(stmts):
    """Names bound anywhere in `stmts` (assignment targets and loop targets)."""
    return {node.id for stmt in stmts for node in walk(stmt)
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store)}


def reads_of(stmt):
    """Names a (normalized, simple) statement reads; an element write reads its target too;
    a compound statement, its test or iterable."""
    if isinstance(stmt, gast.Assign):
        found = names_in(stmt.value)
        if isinstance(stmt.targets[0], gast.Subscript):
            found |= names_in(stmt.targets[0])
        return found
    if isinstance(stmt, (gast.If, gast.While)):
        return names_in(stmt.test)
    if isinstance(stmt, gast.For):
        return names_in(stmt.iter)
    return {n.id for n in walk(stmt) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load)}


def defs_of(stmt):
    """Names a normalized assignment binds (none for an element write)."""
    if isinstance(stmt, gast.Assign):
        target = stmt.targets[0]
        if isinstance(target, gast.Name):
            return {target.id}
        if isinstance(target, gast.Tuple):
            return {e.id for e in target.elts}
    return set()


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
    if not mapping:
        return False
    renamer = Rename(mapping, loads_only)
    renamer.visit(tree)
    return renamer.changed


class Substitute(gast.NodeTransformer):
    """Replaces each read of a name in `values` by a copy of its expression."""

    def __init__(self, values):
        self.values = values

    def visit_Name(self, node):
        if node.id in self.values and isinstance(node.ctx, gast.Load):
            return copy_tree(self.values[node.id])
        return node


def substitute(tree, values):
    """`tree` with reads of `values`' names replaced by their expressions (in place where
    `tree` is not itself such a name)."""
    return Substitute(values).visit(tree)
