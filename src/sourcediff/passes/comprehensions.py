"""Comprehensions: list comprehensions and generator expressions become explicit loops.

Before::

    s = sum([w * v for v in xs if v > 0])

After::

    comp1 = []
    for v1 in xs:
        if v1 > 0:
            comp1 = _sd.append(comp1, w * v1)
    s = sum(comp1)

The loop variables get fresh names, so they never clobber the function's own variables. A
generator expression is evaluated eagerly into a list (its consumer, `sum`, `np.array`, ...,
sees the same values).
"""

from __future__ import annotations

import copy

import gast

from .. import ir
from .. import nodes as N
from ..errors import UnsupportedSyntaxError

COMPREHENSIONS = (gast.ListComp, gast.GeneratorExp)


class _Hoist(gast.NodeTransformer):
    """Replaces comprehensions in one statement by names, collecting the loops that build
    them."""

    def __init__(self, src, namer, line):
        self.src = src
        self.namer = namer
        self.line = line
        self.before = []

    def visit_ListComp(self, node):
        return self.build(node)

    def visit_GeneratorExp(self, node):
        return self.build(node)

    def visit_DictComp(self, node):
        raise self.src.error(UnsupportedSyntaxError, "a dict comprehension is not supported",
                             node, hint="build the dict with a for loop")

    def visit_SetComp(self, node):
        raise self.src.error(UnsupportedSyntaxError, "a set comprehension is not supported",
                             node, hint="use a list comprehension")

    def build(self, node, result=None):
        """The loops that build `node`'s list into `result` (a fresh name by default).

        Comprehensions nested in the element, the conditions or a later generator's iterable
        are built inside the loop they depend on, not before the statement."""
        result = result or self.namer.fresh("comp")
        mapping = {}
        for gen in node.generators:
            for target in ir.walk(gen.target):
                if isinstance(target, gast.Name) and target.id not in mapping:
                    mapping[target.id] = self.namer.fresh(target.id)
        rename = ir.Rename(mapping)
        inner = self.nested()
        elt = inner.visit(rename.visit(copy.deepcopy(node.elt)))
        body = inner.before + [
            N.assign(result, N.call("_sd.append", [N.name(result), elt]), self.line)]
        for k in range(len(node.generators) - 1, -1, -1):
            gen = node.generators[k]
            for cond in reversed(gen.ifs):
                inner = self.nested()
                test = inner.visit(rename.visit(copy.deepcopy(cond)))
                body = inner.before + [N.if_(test, body, lineno=self.line)]
            target = rename.visit(copy.deepcopy(gen.target))
            if k == 0:   # the first iterable is evaluated in the enclosing scope
                body = [N.for_(target, self.visit(gen.iter), body, self.line)]
            else:
                inner = self.nested()
                iterable = inner.visit(rename.visit(copy.deepcopy(gen.iter)))
                body = inner.before + [N.for_(target, iterable, body, self.line)]
        self.before += [N.assign(result, N.gast_list([]), self.line)] + body
        return N.name(result)

    def nested(self):
        return _Hoist(self.src, self.namer, self.line)


def _hoist_block(src, namer, stmts):
    out = []
    for stmt in stmts:
        line = getattr(stmt, "lineno", None)
        if isinstance(stmt, gast.While) and any(isinstance(n, COMPREHENSIONS)
                                                for n in ir.walk(stmt.test)):
            raise src.error(UnsupportedSyntaxError, "a comprehension in a while condition is "
                            "not supported", stmt, hint="compute it in the loop body")
        hoist = _Hoist(src, namer, line)
        if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)
                and isinstance(stmt.value, COMPREHENSIONS)):
            # ys = [...]: build straight into ys (no second name for the list)
            hoist.build(stmt.value, stmt.targets[0].id)
            out += hoist.before
            continue
        for field in ("value", "test", "iter", "targets", "target"):
            part = getattr(stmt, field, None)
            if part is None or isinstance(stmt, gast.While) and field == "test":
                continue
            if isinstance(part, list):
                setattr(stmt, field, [hoist.visit(p) for p in part])
            else:
                setattr(stmt, field, hoist.visit(part))
        ir.map_blocks(stmt, lambda block: _hoist_block(src, namer, block))
        out += hoist.before + [stmt]
    return out


def expand_comprehensions(src, namer):
    """Turn every list comprehension and generator expression into a loop (see module doc)."""
    src.tree.body = _hoist_block(src, namer, src.tree.body)
    return src
