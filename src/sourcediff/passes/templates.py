"""Instantiate rule templates: substitute the call's operands for the rule's parameters and the
derivative names for `d[...]`, then fold the constants that substitution exposes.

>>> from sourcediff.codegen import to_source
>>> from sourcediff import nodes as N
>>> t = N.parse_expr("d[y] * (b * a ** (b - 1))")
>>> print(to_source(instantiate(t, {"a": N.name("x"), "b": N.const(2)}, lambda n: N.name("dt1"))))
dt1 * (2 * x)
"""

from __future__ import annotations

import operator

import gast

from .. import ir
from .. import nodes as N


def instantiate(template, values, derivative, zero_wins=False):
    """A copy of `template` with parameters replaced by `values[name]` and `d[name]` by
    `derivative(name)` (which may return None for a zero derivative: the 0.0 constant).

    With `zero_wins` (derivatives may be infinite in this function: see
    `Analysis.steep`), every product of a derivative is `_sd.times`, where an exact zero
    factor wins over an infinite one: a masked element's 0 stops an infinite adjoint."""
    substitute = _Substitute(values, derivative)
    tree = substitute.visit(ir.copy_tree(template))
    tree = _Fold(substitute.derived, keep_times=zero_wins).visit(tree)
    if zero_wins:
        tree = _ZeroWins(substitute.roots).visit(tree)
    return tree


def is_steep(template, values):
    """Whether `template`, for these operands, multiplies a derivative by a partial that may
    be infinite where the value is finite (it keeps a `_sd.times`: sqrt, not `x ** 2`)."""
    tree = instantiate(template, values, lambda name: N.name("_g"))
    return any(_is_times(n) for n in ir.walk(tree))


def _is_times(node):
    func = getattr(node, "func", None)
    return (isinstance(node, gast.Call) and isinstance(func, gast.Attribute)
            and func.attr == "times" and isinstance(func.value, gast.Name)
            and func.value.id == "_sd")


class _Substitute(ir.Substitute):
    """Parameters by their values, and `d[name]` by the derivative of `name`."""

    def __init__(self, values, derivative):
        super().__init__(values)
        self.derivative = derivative
        self.derived = set()   # ids of the derivative expressions put in, and their parts
        self.roots = set()     # ids of the derivative expressions put in

    def visit_Subscript(self, node):
        if isinstance(node.value, gast.Name) and node.value.id == "d":
            name = node.slice.id
            result = self.derivative(name)
            result = N.const(0.0) if result is None else result
            self.derived.update(id(n) for n in ir.walk(result))
            if not _number(result):
                self.roots.add(id(result))
            return result
        return self.generic_visit(node)


_FOLD = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
         gast.Pow: operator.pow}


def _number(node):
    return (isinstance(node, gast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool))


def _is(node, value):
    return _number(node) and node.value == value and type(node.value) is type(value)


class _Fold(gast.NodeTransformer):
    def __init__(self, derived, keep_times=False):
        self.derived = derived
        self.keep_times = keep_times

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

    def visit_Call(self, node):
        """`_sd.times(g, p)` (0 where g is 0, even where p is infinite) is `g * p` when the
        partial p is a number or a polynomial in the rule's operands (`2 * x` from `x ** 2`):
        finite wherever the operands, so wherever the rule's value is. A bare name (the
        operand of `times` itself, which may be infinite where its value is 0) and a
        derivative put in for `d[...]` are not."""
        self.generic_visit(node)
        if (_is_times(node) and not self.keep_times and len(node.args) == 2
                and not node.keywords and not isinstance(node.args[1], gast.Name)
                and self._finite(node.args[1])):
            return self.visit_BinOp(N.binop(node.args[0], gast.Mult(), node.args[1]))
        return node

    def _finite(self, node):
        if id(node) in self.derived:
            return False
        if _number(node) or isinstance(node, gast.Name):
            return True
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
            return self._finite(node.operand)
        if isinstance(node, gast.BinOp):
            if isinstance(node.op, (gast.Add, gast.Sub, gast.Mult)):
                return self._finite(node.left) and self._finite(node.right)
            if isinstance(node.op, gast.Pow):
                e = node.right
                return (self._finite(node.left) and _number(e) and e.value >= 0
                        and float(e.value).is_integer())
        return False


class _ZeroWins(gast.NodeTransformer):
    """`a * b` -> `_sd.times(a, b)` where a factor is a derivative (or a product of one),
    `a / b` -> `_sd.over(a, b)` where the dividend is."""

    def __init__(self, roots):
        self.roots = set(roots)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.Mult) and (self._derived(node.left)
                                               or self._derived(node.right)):
            node = N.call("_sd.times", [node.left, node.right])
            self.roots.add(id(node))
        elif isinstance(node.op, gast.Div) and self._derived(node.left):
            node = N.call("_sd.over", [node.left, node.right])
            self.roots.add(id(node))
        return node

    def _derived(self, node):
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
            node = node.operand
        return id(node) in self.roots or _is_times(node)
