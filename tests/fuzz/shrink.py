"""Shrinking: reduce a failing program to a small one that fails the same way.

Works on the structured program (``program.py``), so every candidate is valid Python; a
candidate is kept only when the primal still runs (the oracle's ``invalid`` check) and the same
check fails with the same outcome (for a crash or a bad error: the same exception type and
message shape).  The passes, repeated until none makes progress or the budget is spent:

1. drop whole helper functions / module-level blocks;
2. delta debugging (ddmin) over each statement list, outermost first;
3. hoist a compound statement's body in its place (``if`` -> a branch, loop -> its body);
4. simplify expressions: an operand in place of its node, a constant in place of a float
   expression, ``True``/``False`` for a condition, a term dropped from the return's sum;
5. drop unused parameters of ``f`` (and their arguments);
6. round the inputs;
7. rename variables whose names collide with the compiler's own names (``_tape``, ``dx``,
   ``fwd_h1``, ...) to neutral ones, so the result shows whether the collision matters.
"""

from __future__ import annotations

import ast
import itertools
import re
import time

import numpy as np

from .oracles import SECOND_ORDER, run_program
from .program import Function, If, Line, Raw, While, iter_statements, leaf, sum_expr
from .templates import COLLIDING

_SUM = re.compile(r"\{0\}( \+ \{\d+\})+")


class Budget(Exception):
    """The shrinker ran out of tries or time."""


def reproducer(problem, api, workdir, timeout):
    """A predicate: does a candidate program fail like ``problem``?"""
    checks = {problem.check}
    if problem.check in SECOND_ORDER:
        checks.add("grad[reverse,opt]")
    needs_second = bool(checks & set(SECOND_ORDER))

    def same_failure(p):
        if p.check != problem.check or p.outcome != problem.outcome:
            return False
        if p.outcome in ("crash", "bad-error"):
            return p.signature() == problem.signature()
        return True

    def reproduce(candidate):
        result = run_program(candidate, api, workdir=workdir, timeout=timeout, checks=checks,
                             second_order=needs_second, redraws=0)
        return any(same_failure(p) for p in result.problems)
    return reproduce


class Shrinker:
    """Greedy structural reduction of ``prog`` under ``reproduce``."""

    def __init__(self, prog, reproduce, seconds=60.0, max_tries=1500):
        self.best = prog.copy()
        self.reproduce = reproduce
        self.deadline = time.monotonic() + seconds
        self.max_tries = max_tries
        self.tries = 0

    def test(self, candidate):
        if self.tries >= self.max_tries or time.monotonic() > self.deadline:
            raise Budget
        self.tries += 1
        if self.reproduce(candidate):
            self.best = candidate
            return True
        return False

    def run(self):
        """Structural passes until they stop helping, then the finer ones; repeat."""
        coarse = (self.drop_blocks, self.ddmin_bodies, self.hoist, self.drop_params)
        fine = (self.simplify_exprs, self.neutral_names, self.round_inputs)
        try:
            progress = True
            while progress:
                progress = any([step() for step in coarse])
                if not progress:
                    progress = any([step() for step in fine])
        except Budget:
            pass
        return self.best

    # ---- 1. blocks
    def drop_blocks(self):
        changed = False
        k = 0
        while k < len(self.best.blocks):
            block = self.best.blocks[k]
            if isinstance(block, Function) and block.name == "f":
                k += 1
                continue
            cand = self.best.copy()
            del cand.blocks[k]
            if self.test(cand):
                changed = True
            else:
                k += 1
        return changed

    # ---- 2. statement lists
    def ddmin_bodies(self):
        changed = False
        restart = True
        while restart:
            restart = False
            for path in body_paths(self.best):
                if self._ddmin(path):
                    changed = restart = True
                    break
        return changed

    def _ddmin(self, path):
        changed, n = False, 2
        while True:
            size = len(get_body(self.best, path))
            if size == 0:
                return changed
            chunk = max(1, size // n)
            removed = False
            for start in range(0, size, chunk):
                cand = self.best.copy()
                del get_body(cand, path)[start:start + chunk]
                if self.test(cand):
                    changed = removed = True
                    break
            if removed:
                n = max(n - 1, 2)
            elif chunk == 1:
                return changed
            else:
                n = min(size, n * 2)

    # ---- 3. hoisting
    def hoist(self):
        changed = False
        for path in body_paths(self.best):
            k = 0
            while k < len(get_body(self.best, path)):
                stmt = get_body(self.best, path)[k]
                hoisted = False
                for b in range(len(stmt.bodies())):
                    cand = self.best.copy()
                    body = get_body(cand, path)
                    body[k:k + 1] = list(body[k].bodies()[b])
                    if self.test(cand):
                        changed = hoisted = True
                        break
                if hoisted:
                    return True      # paths changed: start over next round
                k += 1
        return changed

    # ---- 4. expressions
    def simplify_exprs(self):
        changed = False
        for spot in expr_spots(self.best):
            for replacement in self._replacements(spot):
                cand = self.best.copy()
                if not set_expr(cand, spot, replacement):
                    continue
                if self.test(cand):
                    changed = True
                    break
        return changed

    def _replacements(self, spot):
        node = get_expr(self.best, spot)
        if node is None:
            return []
        out = []
        if _SUM.fullmatch(node.template) and len(node.args) > 1:
            for k in range(len(node.args)):
                rest = node.args[:k] + node.args[k + 1:]
                out.append(sum_expr(rest, node.ty))
        out += list(node.args)
        if node.ty is not None and node.ty.kind == "float" and node.template != "0.5":
            out.append(leaf("0.5", node.ty))
        if node.ty is None and spot[-1] == () and node.template not in ("True", "False"):
            out += [leaf("True"), leaf("False")]
        return out

    # ---- 5. parameters
    def drop_params(self):
        changed = False
        k = 0
        while k < len(self.best.params):
            cand = self.best.copy()
            name = cand.params[k][0]
            main = cand.main
            body_text = "\n".join(line for s in main.body for line in s.render(""))
            if re.search(rf"\b{re.escape(name)}\b", body_text):
                k += 1
                continue
            if name in cand.wrt and len(cand.wrt) == 1:
                k += 1
                continue
            del cand.params[k]
            del cand.args[k]
            main.params = [p for p in main.params if p.name != name]
            cand.wrt = tuple(w for w in cand.wrt if w != name)
            if self.test(cand):
                changed = True
            else:
                k += 1
        return changed

    # ---- 6. inputs
    def round_inputs(self):
        changed = False
        for digits in (1, 0):
            cand = self.best.copy()
            cand.args = [_rounded(a, digits) for a in cand.args]
            if _rounded_equal(cand.args, self.best.args):
                continue
            if self.test(cand):
                changed = True
        return changed


    # ---- 7. names
    def neutral_names(self):
        changed = False
        taken = identifiers(self.best)
        for name in sorted(taken):
            if not _colliding(name):
                continue
            new = next(f"n{k}" for k in itertools.count(1) if f"n{k}" not in taken)
            if self.test(rename(self.best.copy(), name, new)):
                taken = identifiers(self.best)
                changed = True
        return changed


def _colliding(name):
    return name in COLLIDING or name.split("_")[0] in ("fwd", "bwd", "jvp", "grad")


def identifiers(prog):
    """Every name bound or read in the program's source."""
    tree = ast.parse(prog.render())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
    return names


def rename(prog, old, new):
    """``prog`` (edited in place) with the identifier ``old`` spelled ``new`` everywhere."""
    pattern = re.compile(rf"\b{re.escape(old)}\b")

    def fix(text):
        return pattern.sub(new, text)

    for block in prog.blocks:
        if isinstance(block, Raw):
            block.text = fix(block.text)
            continue
        block.name = fix(block.name)
        for p in block.params:
            p.name = fix(p.name)
        for stmt in iter_statements(block.body):
            _rename_stmt(stmt, fix)
    prog.params = [(fix(n), ty) for n, ty in prog.params]
    prog.wrt = tuple(fix(w) for w in prog.wrt)
    return prog


def _rename_stmt(stmt, fix):
    for attr in ("template", "header", "counter"):
        if hasattr(stmt, attr):
            setattr(stmt, attr, fix(getattr(stmt, attr)))
    for root in stmt.exprs():
        for node in root.walk():
            node.template = fix(node.template)


def _rounded(x, digits):
    if isinstance(x, np.ndarray):
        return np.round(x, digits) + 0.0
    if isinstance(x, list):
        return [_rounded(v, digits) for v in x]
    if isinstance(x, tuple):
        return tuple(_rounded(v, digits) for v in x)
    if isinstance(x, dict):
        return {k: _rounded(v, digits) for k, v in x.items()}
    if isinstance(x, float):
        return round(x, digits) + 0.0
    return x


def _rounded_equal(a, b):
    return repr(a) == repr(b)


# --------------------------------------------------------------------------------------------
# Addressing statement lists and expressions inside a program
# --------------------------------------------------------------------------------------------


def body_paths(prog):
    """Paths ``(block index, ((stmt index, body index), ...))`` of every statement list,
    outermost first."""
    out = []
    for b, block in enumerate(prog.blocks):
        if isinstance(block, Function):
            _collect_paths(block.body, (b, ()), out)
    return out


def _collect_paths(body, path, out):
    out.append(path)
    block, steps = path
    for k, stmt in enumerate(body):
        for j, inner in enumerate(stmt.bodies()):
            _collect_paths(inner, (block, steps + ((k, j),)), out)


def get_body(prog, path):
    block, steps = path
    body = prog.blocks[block].body
    for k, j in steps:
        body = body[k].bodies()[j]
    return body


def expr_spots(prog):
    """Addresses ``(body path, stmt index, slot, arg path)`` of every expression node."""
    out = []
    for path in body_paths(prog):
        for k, stmt in enumerate(get_body(prog, path)):
            for slot, root in enumerate(stmt.exprs()):
                _collect_exprs(root, (path, k, slot), (), out)
    return out


def _collect_exprs(node, base, argpath, out):
    out.append(base + (argpath,))
    for i, a in enumerate(node.args):
        _collect_exprs(a, base, argpath + (i,), out)


def get_expr(prog, spot):
    path, k, slot, argpath = spot
    body = get_body(prog, path)
    if k >= len(body):
        return None
    roots = body[k].exprs()
    if slot >= len(roots):
        return None
    node = roots[slot]
    for i in argpath:
        if i >= len(node.args):
            return None
        node = node.args[i]
    return node


def set_expr(prog, spot, new):
    """Replace the node at ``spot`` (in a copy) by ``new``; False if the spot is gone."""
    path, k, slot, argpath = spot
    body = get_body(prog, path)
    if k >= len(body):
        return False
    stmt = body[k]
    if not argpath:
        return _set_root(stmt, slot, new)
    node = get_expr(prog, (path, k, slot, argpath[:-1]))
    if node is None or argpath[-1] >= len(node.args):
        return False
    node.args[argpath[-1]] = new
    return True


def _set_root(stmt, slot, new):
    if isinstance(stmt, While):
        stmt.cond = new
    elif isinstance(stmt, If):
        stmt.conds[slot] = new
    elif isinstance(stmt, Line) or hasattr(stmt, "args"):
        stmt.args[slot] = new
    else:
        return False
    return True


def shrink(prog, problem, args, api, workdir, timeout=20.0, seconds=60.0, max_tries=1500):
    """The smallest program found that fails like ``problem`` (run at the inputs ``args``
    where it failed)."""
    start = prog.copy()
    start.args = args
    reproduce = reproducer(problem, api, workdir, timeout)
    if not reproduce(start):
        return start, 0
    shrinker = Shrinker(start, reproduce, seconds=seconds, max_tries=max_tries)
    return shrinker.run(), shrinker.tries

