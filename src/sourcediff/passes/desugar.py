"""Desugar: give control flow one canonical shape that the derivative passes can reverse.

* `x += e` becomes `x = _sd.augmented(x + e)` (in place or not: the aliasing pass decides);
  annotated assignments become plain ones; `pass` and docstrings go.
* `return` anywhere becomes an assignment to one result variable and a single exit at the end; the
  statements a jump skips move into the other branch of its `if` (or under a flag when nested).
* `break` and `continue` become flags, so a loop body only ever leaves through a final
  `if stop: break`; the adjoint sweep can then replay each iteration with the same guards.
* `while cond:` becomes `c = cond; while c: ...; c = cond`.
* `for v in seq` (lists, arrays, dicts, `enumerate`, `zip`, `reversed`, `d.items()`) becomes
  a loop over `range(len(seq))` that reads `v = seq[k]`, so every loop in the program iterates
  over a `range`.

Before::

    def f(x):
        for v in x:
            if v > 1.0:
                break
            s = s + v
        return s

After::

    def f(x):
        seq1 = _sd.sequence(x)
        stop1 = False
        for k1 in range(len(seq1)):
            v = seq1[k1]
            if v > 1.0:
                stop1 = True
            else:
                s = s + v
            if stop1:
                break
        return s
"""

from __future__ import annotations

import builtins
import copy
from dataclasses import dataclass, field

import gast

from .. import ir
from .. import nodes as N

JUMPS = (gast.Return, gast.Break, gast.Continue)


def contains(stmts, types, into_loops=True):
    """Whether a statement of `types` occurs in `stmts` (optionally not looking inside loops)."""
    for stmt in stmts:
        if isinstance(stmt, types):
            return True
        if isinstance(stmt, gast.If):
            if contains(stmt.body, types, into_loops) or contains(stmt.orelse, types, into_loops):
                return True
        elif isinstance(stmt, (gast.For, gast.While)) and into_loops:
            if contains(stmt.body, types, into_loops):
                return True
    return False


@dataclass
class Loop:
    """Jump bookkeeping for one loop being lowered."""

    stop: str | None = None          # flag set by break/return, tested at the end of the body


@dataclass
class Lowering:
    src: object
    namer: object
    result: str | None = None        # the single result variable, when there are several returns
    retflag: str | None = None       # set when a return happens inside a loop
    marker: set = field(default_factory=set)

    # -- statements ------------------------------------------------------------------------------
    def block(self, stmts, loop, flags):
        """Lower `stmts`; returns (new statements, whether every path through them jumps)."""
        out = []
        for i, stmt in enumerate(stmts):
            rest = stmts[i + 1:]
            if isinstance(stmt, JUMPS):
                out += self.jump(stmt, loop, flags)
                return out, True
            if isinstance(stmt, gast.If) and self.may_jump(stmt, loop):
                more, jumps = self.branch(stmt, rest, loop, flags)
                return out + more, jumps
            lowered = self.simple(stmt, loop)
            if isinstance(stmt, (gast.For, gast.While)) and self.retflag and contains(
                    stmt.body, gast.Return):
                # a return inside the loop: leave the enclosing blocks too
                marker = N.return_(None, stmt.lineno)
                self.marker.add(id(marker))
                check = N.if_(N.name(self.retflag), [marker], lineno=stmt.lineno)
                more, jumps = self.block([check] + rest, loop, flags)
                return out + lowered + more, jumps
            out += lowered
        return out, False

    def may_jump(self, stmt, loop):
        if contains([stmt], gast.Return):
            return True
        return loop is not None and contains([stmt], (gast.Break, gast.Continue),
                                             into_loops=False)

    def branch(self, stmt, rest, loop, flags):
        body, body_jumps = self.block(stmt.body, loop, flags)
        orelse, else_jumps = self.block(stmt.orelse, loop, flags)
        if body_jumps and else_jumps:
            return [N.if_(stmt.test, body, orelse, stmt.lineno)], True
        if body_jumps:
            orelse, jumps = self.block(stmt.orelse + rest, loop, flags)
            return [N.if_(stmt.test, body, orelse, stmt.lineno)], jumps
        if else_jumps:
            body, jumps = self.block(stmt.body + rest, loop, flags)
            return [N.if_(stmt.test, body, orelse, stmt.lineno)], jumps
        # a jump nested deeper: the rest runs under a flag the jump sets
        skip = self.namer.fresh("skip")
        body, _ = self.block(stmt.body, loop, flags + [skip])
        orelse, _ = self.block(stmt.orelse, loop, flags + [skip])
        out = [N.assign(skip, N.const(False), stmt.lineno),
               N.if_(stmt.test, body, orelse, stmt.lineno)]
        if rest:
            more, _ = self.block(rest, loop, flags)
            out.append(N.if_(N.not_(N.name(skip)), more, lineno=stmt.lineno))
        return out, False

    def jump(self, stmt, loop, flags):
        line = stmt.lineno
        out = []
        if isinstance(stmt, gast.Return):
            if id(stmt) not in self.marker:
                value = stmt.value if stmt.value is not None else N.const(None)
                out.append(N.assign(self.result, value, line))
                if loop is not None:
                    out.append(N.assign(self.retflag, N.const(True), line))
        if loop is not None and isinstance(stmt, (gast.Return, gast.Break)):
            loop.stop = loop.stop or self.namer.fresh("stop")
            out.append(N.assign(loop.stop, N.const(True), line))
        out += [N.assign(flag, N.const(True), line) for flag in flags]
        return out

    def simple(self, stmt, loop):
        line = getattr(stmt, "lineno", None)
        if isinstance(stmt, gast.AugAssign):
            return self.augmented(stmt)
        if isinstance(stmt, gast.AnnAssign):
            return [N.assign(stmt.target, stmt.value, line)] if stmt.value is not None else []
        if isinstance(stmt, gast.Pass):
            return []
        if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant):
            return []  # docstrings and bare constants
        if isinstance(stmt, gast.If):
            body, _ = self.block(stmt.body, loop, [])
            orelse, _ = self.block(stmt.orelse, loop, [])
            return [N.if_(stmt.test, body, orelse, line)]
        if isinstance(stmt, gast.For):
            return self.for_loop(stmt)
        if isinstance(stmt, gast.While):
            return self.while_loop(stmt)
        return [stmt]

    def augmented(self, stmt):
        """`x op= e` -> `x = _sd.augmented(x op e)`: NumPy writes an ndarray (and Python a list)
        in place, which the aliasing pass decides once kinds are known. `c[i] op= e` follows
        Python's protocol: `t = c[i]; t op= e; c[i] = t` (an array element of a list is
        written in place too)."""
        line = stmt.lineno
        target = stmt.target
        if isinstance(target, gast.Name):
            value = N.binop(N.name(target.id), stmt.op, stmt.value)
            return [N.assign(target.id, N.call("_sd.augmented", [value]), line)]
        item = self.namer.fresh("item")
        read = copy.deepcopy(target)
        read.ctx = gast.Load()
        container = read.value
        value = N.binop(N.name(item), stmt.op, stmt.value)
        return [N.assign(item, read, line),
                N.assign(item, N.call("_sd.augmented", [value, copy.deepcopy(container)]), line),
                N.assign(target, N.name(item), line)]

    # -- loops -----------------------------------------------------------------------------------
    def loop_body(self, stmts, tail=()):
        loop = Loop()
        body, _ = self.block(stmts, loop, [])
        before = []
        if loop.stop is not None:
            before.append(N.assign(loop.stop, N.const(False)))
            body.append(N.if_(N.name(loop.stop), [N.break_()]))
        return before, body + list(tail)

    def while_loop(self, stmt):
        line = stmt.lineno
        if isinstance(stmt.test, gast.Name):
            before, body = self.loop_body(stmt.body)
            return before + [N.while_(stmt.test, body, line)]
        cond = self.namer.fresh("cond")
        before, body = self.loop_body(
            stmt.body, [N.assign(cond, copy.deepcopy(stmt.test), line)])
        for node in before:
            N.at(node, line)
        return ([N.assign(cond, stmt.test, line)] + before
                + [N.while_(N.name(cond), body, line)])

    def for_loop(self, stmt):
        line = stmt.lineno
        head, target, iterable, reads = self.iteration(stmt)
        before, body = self.loop_body(reads + stmt.body)
        for node in before:
            N.at(node, line)
        return head + before + [N.for_(target, iterable, body, line)]

    def iteration(self, stmt):
        """(statements before the loop, loop index, the range it runs over, statements
        reading the element)."""
        line = stmt.lineno
        it = stmt.iter
        if self.builtin_call(it) == "range" and isinstance(stmt.target, gast.Name):
            return [], stmt.target, it, []
        index = self.namer.fresh("k")
        head, length, element = self.elements(it, N.name(index), line)
        return head, N.store(index), N.call("range", [length]), [
            N.assign(stmt.target, element, line)]

    def elements(self, it, index, line):
        """(statements, length, element at `index`) for iterating over `it` by position:
        `enumerate`, `zip`, `reversed`, dict `.items()/.keys()/.values()` and sequences."""
        kind = self.builtin_call(it)
        if kind == "enumerate" and len(it.args) in (1, 2) and not it.keywords:
            head, length, inner = self.elements(it.args[0], index, line)
            count = index if len(it.args) == 1 else N.add(index, it.args[1])
            return head, length, N.tuple_([count, inner])
        if kind == "zip" and it.args and not it.keywords:
            head, lengths, parts = [], [], []
            for arg in it.args:
                more, length, part = self.elements(arg, index, line)
                head += more
                lengths.append(length)
                parts.append(part)
            size = lengths[0] if len(lengths) == 1 else N.call("min", lengths)
            return head, size, N.tuple_(parts)
        if kind == "reversed" and len(it.args) == 1 and not it.keywords:
            seq, head = self.bind(it.args[0], line)
            size = N.call("len", [N.name(seq)])
            last = N.sub(N.sub(size, N.const(1)), index)
            return head, N.call("len", [N.name(seq)]), N.subscript(N.name(seq), last)
        view = _dict_view(it)
        if view is not None:
            mapping, head = self.bind(it.func.value, line)
            keys, more = self.bind(N.call("_sd.keys", [N.name(mapping)]), line)
            key = N.subscript(N.name(keys), index)
            value = N.subscript(N.name(mapping), N.subscript(N.name(keys), index))
            element = {"keys": key, "values": value, "items": N.tuple_([key, value])}[view]
            return head + more, N.call("len", [N.name(keys)]), element
        if kind == "range":
            seq, head = self.bind(it, line)
        else:
            seq, head = self.bind(N.call("_sd.sequence", [it]), line)
        return head, N.call("len", [N.name(seq)]), N.subscript(N.name(seq), index)

    def bind(self, expr, line):
        seq = self.namer.fresh("seq")
        return seq, [N.assign(seq, expr, line)]

    def builtin_call(self, node):
        if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)):
            return None
        if node.func.id in self.locals:
            return None
        obj = self.src.resolve(node.func)
        for kind in ("range", "enumerate", "zip", "reversed"):
            if obj is getattr(builtins, kind):
                return kind
        return None


def _dict_view(node):
    """'items' / 'keys' / 'values' for `d.items()` and the like, else None."""
    if (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
            and node.func.attr in ("items", "keys", "values") and not node.args
            and not node.keywords):
        return node.func.attr
    return None


def count_returns(stmts):
    return sum(isinstance(n, gast.Return) for s in stmts for n in ir.walk(s))


def desugar(src, namer):
    """Rewrite `src.tree.body` into the canonical control-flow form (see the module doc)."""
    tree = src.tree
    body = tree.body
    low = Lowering(src, namer)
    params = ir.param_names(tree)
    low.locals = set(params) | ir.assigned_names(body)
    returns = count_returns(body)
    if returns == 1 and isinstance(body[-1], gast.Return):
        single = body[-1]
        lowered, _ = low.block(body[:-1], None, [])
        value = single.value if single.value is not None else N.const(None)
        tree.body = lowered + [N.return_(value, single.lineno)]
        return src
    if returns == 0:   # returns None (a helper called for its effect); `build` refuses
        # a function to differentiate that returns nothing
        lowered, _ = low.block(body, None, [])
        last = max((getattr(s, "lineno", tree.lineno) for s in body), default=tree.lineno)
        tree.body = lowered + [N.return_(N.const(None), last)]
        return src
    low.result = namer.exact_or_fresh("result")
    in_loop = any(contains([s], gast.Return) for s in body
                  if isinstance(s, (gast.For, gast.While)))
    in_loop = in_loop or any(
        isinstance(n, (gast.For, gast.While)) and contains(n.body, gast.Return)
        for s in body for n in ir.walk(s))
    if in_loop:
        low.retflag = namer.fresh("returned")
    lowered, always = low.block(body, None, [])
    head = []
    if low.retflag:
        head.append(N.assign(low.retflag, N.const(False), tree.lineno))
    if not always:
        head.append(N.assign(low.result, N.const(None), tree.lineno))
    last = max(n.lineno for s in body for n in ir.walk(s) if isinstance(n, gast.Return))
    tree.body = head + lowered + [N.return_(N.name(low.result), last)]
    return src
