"""Instantiate rule templates: substitute the call's operands for the rule's parameters and the
derivative names for `d[...]`, then fold the constants that substitution exposes.

>>> from sourcediff.codegen import to_source
>>> from sourcediff import nodes as N
>>> t = N.parse_expr("d[y] * (b * a ** (b - 1))")
>>> print(to_source(instantiate(t, {"a": N.name("x"), "b": N.const(2)}, lambda n: N.name("dt1"))))
dt1 * (2 * x)
"""

from __future__ import annotations

import copy
import operator

import gast

from .. import ir
from .. import nodes as N


def instantiate(template, values, derivative):
    """A copy of `template` with parameters replaced by `values[name]` and `d[name]` by
    `derivative(name)` (which may return None for a zero derivative: the 0.0 constant)."""
    tree = _Substitute(values, derivative).visit(copy.deepcopy(template))
    return fold(tree)


class _Substitute(ir.Substitute):
    """Parameters by their values, and `d[name]` by the derivative of `name`."""

    def __init__(self, values, derivative):
        super().__init__(values)
        self.derivative = derivative

    def visit_Subscript(self, node):
        if isinstance(node.value, gast.Name) and node.value.id == "d":
            name = node.slice.id
            result = self.derivative(name)
            return N.const(0.0) if result is None else result
        return self.generic_visit(node)


_FOLD = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
         gast.Pow: operator.pow}


def _number(node):
    return (isinstance(node, gast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool))


def _is(node, value):
    return _number(node) and node.value == value and type(node.value) is type(value)


class _Fold(gast.NodeTransformer):
    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right, op = node.left, node.right, type(node.op)
        if _number(left) and _number(right) and op in _FOLD and abs(right.value) < 64:
            return N.const(_FOLD[op](left.value, right.value))
        if op is gast.Pow and _is(right, 1):
            return left
        if op is gast.Mult and (_is(right, 1) or _is(right, 1.0)):
            return left
        if op is gast.Mult and (_is(left, 1) or _is(left, 1.0)):
            return right
        if op is gast.Div and (_is(right, 1) or _is(right, 1.0)):
            return left
        return node


def fold(tree):
    return _Fold().visit(tree)
