"""Optimize the generated derivative code; each rewrite runs until nothing changes.

* copy propagation: `dt2 = dt3` followed by reads of `dt2` reads `dt3` instead, when both names
  are bound exactly once in the function (so they hold the same value wherever both exist), or,
  within one straight-line block, until either name is rebound;
* dead-code elimination: an assignment whose name is never read, and whose value has no side
  effects, goes (including primal values only the output needed, when the output is not
  returned);
* inlining: a compiler temporary used once, later in the same block, is folded into that
  expression when nothing in between rebinds what it reads (so `--no-optimize` shows one
  operation per line, and the optimized code reads like arithmetic).

Before::

    dt3 = dt4
    dt1 = dt3
    dt2 = -dt3
    t4 = t3 - 2

After (with `t4` unused)::

    dt2 = -dt4
    ... reads of dt1 read dt4 ...
"""

from __future__ import annotations

import re
from collections import Counter

import gast

from .. import ir, runtime, tape
from .. import nodes as N

PURE_ROOTS = {"_sd", "np", "_np", "math", "_math"}
PURE_BUILTINS = {"len", "range", "reversed", "slice", "abs", "float", "min", "max", "int",
                 "tuple", "list", "isinstance"}
KEEP = set(tape.NAMES)


class Counts:
    """How often each name of `fn` is bound (parameters and stores) and read, from one walk,
    kept until a pass changes `fn` (`optimize` then calls `forget`)."""

    def __init__(self, fn):
        self.fn = fn
        self._bound = self._reads = None

    def _count(self):
        bound = Counter(a.id for a in self.fn.args.args)
        reads = Counter()
        for node in ir.walk(self.fn):
            if isinstance(node, gast.Name):
                if isinstance(node.ctx, gast.Store):
                    bound[node.id] += 1
                elif isinstance(node.ctx, gast.Load):
                    reads[node.id] += 1
        self._bound, self._reads = bound, reads

    @property
    def bound(self):
        if self._bound is None:
            self._count()
        return self._bound

    @property
    def reads(self):
        if self._reads is None:
            self._count()
        return self._reads

    def forget(self):
        self._bound = self._reads = None


def _random(func):
    """`np.random.<...>` (a draw, or seeding: never dropped, never moved)."""
    while isinstance(func, gast.Attribute):
        if func.attr == "random":
            return True
        func = func.value
    return False


def _pure(value):
    for node in ir.walk(value):
        if isinstance(node, gast.Call):
            func = node.func
            if _random(func):
                return False
            root = func
            while isinstance(root, gast.Attribute):
                root = root.value
            if isinstance(func, gast.Name) and func.id in PURE_BUILTINS:
                continue
            if isinstance(func, gast.Attribute) and isinstance(root, gast.Name) and \
                    root.id in PURE_ROOTS and not _writes_arguments(root.id, func):
                continue
            return False
    return True


def _writes_arguments(root, func):
    """Whether `func` is a runtime helper that writes into its arguments (`_sd.put_back`)."""
    return root == "_sd" and getattr(getattr(runtime, func.attr, None), "writes_arguments",
                                     False)


def propagate_copies(fn, counts=None):
    """Replace reads of single-assignment copies by their single-assignment sources."""
    bound = (counts or Counts(fn)).bound
    mapping = {}
    for node in ir.walk(fn):
        if (isinstance(node, gast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], gast.Name)
                and isinstance(node.value, gast.Name)):
            target, source = node.targets[0].id, node.value.id
            if bound[target] == 1 and bound[source] <= 1 and target not in KEEP:
                mapping[target] = source
    # resolve chains a -> b -> c
    for key in list(mapping):
        seen = {key}
        value = mapping[key]
        while value in mapping and value not in seen:
            seen.add(value)
            value = mapping[value]
        mapping[key] = value
    return ir.rename(fn, mapping, loads_only=True)


def eliminate_dead_code(fn, counts=None):
    """Drop pure assignments to names nothing reads; returns whether anything changed."""
    reads = (counts or Counts(fn)).reads
    changed = False

    def block(stmts):
        nonlocal changed
        out = []
        for stmt in stmts:
            if isinstance(stmt, gast.Assign) and _dead(stmt, reads):
                changed = True
                continue
            for field in ("body", "orelse"):
                if isinstance(getattr(stmt, field, None), list) and not isinstance(
                        stmt, gast.FunctionDef):
                    setattr(stmt, field, block(getattr(stmt, field)))
            if isinstance(stmt, gast.If) and not stmt.body:
                stmt.body = [N.pass_()]
            if isinstance(stmt, gast.If) and _empty(stmt.body) and _empty(stmt.orelse) and \
                    _pure(stmt.test):
                changed = True   # `if flag: pass`
                continue
            out.append(stmt)
        return out

    fn.body = block(fn.body)
    return changed


def _empty(stmts):
    return all(isinstance(s, gast.Pass) for s in stmts)


def _dead(stmt, reads):
    targets = stmt.targets[0]
    names = [targets.id] if isinstance(targets, gast.Name) else [
        e.id for e in getattr(targets, "elts", []) if isinstance(e, gast.Name)]
    if not names or len(names) != len(getattr(targets, "elts", [targets])):
        return False
    if any(reads[n] or n in KEEP for n in names):
        return False
    return _pure(stmt.value)


def _stored(stmt):
    return {n.id for n in ir.walk(stmt) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Store)}


def propagate_local_copies(fn, counts=None):
    """Within each straight-line block: after `a = b`, reads of `a` read `b` until either is
    rebound; and `b = a` right after `a = b` (nothing rebound in between) is dropped."""
    changed = False
    copies = {}   # in the block being read, a -> b: a currently holds the same value as b

    def rename(node):
        nonlocal changed
        if not copies or not any(isinstance(n, gast.Name) and n.id in copies
                                 for n in ir.walk(node)):
            return node
        renamer = ir.Rename(copies, loads_only=True)
        node = renamer.visit(node)
        changed |= renamer.changed
        return node

    def block(stmts):
        """The block rewritten, and the names its statements store into."""
        nonlocal changed, copies
        outer, copies = copies, {}
        out, stored = [], set()
        for stmt in stmts:
            if isinstance(stmt, (gast.If, gast.For, gast.While)):
                killed = set()
                for field in ("test", "target", "iter"):
                    if getattr(stmt, field, None) is not None:
                        killed |= _stored(getattr(stmt, field))
                for field in ("body", "orelse"):
                    rewritten, inside = block(getattr(stmt, field))
                    setattr(stmt, field, rewritten)
                    killed |= inside
                stored |= killed
                copies = {a: b for a, b in copies.items()
                          if a not in killed and b not in killed}
                if isinstance(stmt, gast.If):
                    stmt.test = rename(stmt.test)
                out.append(stmt)
                continue
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and \
                    isinstance(stmt.value, gast.Name):
                target, source = stmt.targets[0].id, stmt.value.id
                if copies.get(source) == target or copies.get(target) == source:
                    changed = True     # `b = a` where a already equals b
                    continue
            if isinstance(stmt, gast.Assign):
                stmt.value = rename(stmt.value)
                for target in stmt.targets:
                    if isinstance(target, gast.Subscript):   # never the array written into
                        target.slice = rename(target.slice)
            else:
                rename(stmt)
            killed = _stored(stmt)
            stored |= killed
            copies = {a: b for a, b in copies.items() if a not in killed and b not in killed}
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and \
                    isinstance(stmt.value, gast.Name) and stmt.targets[0].id != stmt.value.id \
                    and stmt.targets[0].id not in KEEP:
                copies[stmt.targets[0].id] = stmt.value.id
            out.append(stmt)
        copies = outer
        return out, stored

    fn.body = block(fn.body)[0]
    return changed


_TEMP = re.compile(r"^d?t\d+(_dot)?$")
MAX_LINE = 80


def _text(stmt):
    from ..codegen import to_source
    return to_source(stmt) if not isinstance(stmt, gast.If) else to_source(stmt.test)


def inline_temporaries(fn, counts=None):
    """Fold a compiler temporary (`t3 = t2 * 0.25`) into its single use later in the same
    straight-line block, when nothing in between changes what it reads."""
    counts = counts or Counts(fn)
    bound, reads = counts.bound, counts.reads
    changed = False
    facts = _Facts()

    def block(stmts):
        nonlocal changed
        for stmt in stmts:
            ir.map_blocks(stmt, block)
        i = 0
        while i < len(stmts):
            stmt = stmts[i]
            name = _inlinable(stmt, bound, reads)
            if name is not None:
                value = stmt.value
                needs = ir.names_in(value) | {name}
                for j in range(i + 1, len(stmts)):
                    later = stmts[j]
                    loads, writes, writes_memory = facts.of(later)
                    uses = loads[name]
                    if uses:
                        if uses == 1 and _simple_use(later, name) and _fold(later, name,
                                                                             value):
                            facts.forget(later)
                            del stmts[i]
                            changed = True
                            i -= 1
                        break
                    if writes & needs or writes_memory:
                        break
            i += 1
        return stmts

    fn.body = block(fn.body)
    return changed


class _Facts:
    """Per statement, computed once in one walk: the names it reads (with counts), the names
    it may change (assignment targets, and arrays written in place), and whether it may
    change an array or a list in place (an element write, or a call that is not a pure
    helper, the tape's push aside): an expression reading a view of it must not move past
    it."""

    def __init__(self):
        self.known = {}

    def of(self, stmt):
        entry = self.known.get(id(stmt))
        if entry is None or entry[0] is not stmt:
            entry = self.known[id(stmt)] = (stmt, *_facts(stmt))
        return entry[1:]

    def forget(self, stmt):
        self.known.pop(id(stmt), None)


def _facts(stmt):
    loads, writes, memory = Counter(), set(), False
    for node in ir.walk(stmt):
        if isinstance(node, gast.Name):
            if isinstance(node.ctx, gast.Load):
                loads[node.id] += 1
            elif isinstance(node.ctx, gast.Store):
                writes.add(node.id)
        elif isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store):
            memory = True
            if isinstance(node.value, gast.Name):
                writes.add(node.value.id)
        elif isinstance(node, gast.Call) and not memory and not _pure(node) and not (
                isinstance(node.func, gast.Name) and node.func.id in KEEP):
            memory = True
    return loads, writes, memory


def _fold(stmt, name, value):
    """Put a copy of `value` in place of the one read of `name` in `stmt` when the line stays
    readable; returns whether it did. The read's ancestors are `stmt`'s own: a node shared
    with another statement would make the name read twice."""
    parent, field, index = _read_slot(stmt, name)
    holder = getattr(parent, field)
    old = holder[index] if index is not None else holder
    new = ir.copy_tree(value)
    _put(parent, field, index, new)
    if len(_text(stmt)) <= MAX_LINE:
        return True
    _put(parent, field, index, old)
    return False


def _read_slot(tree, name):
    for parent in ir.walk(tree):
        for field in parent._fields:
            value = getattr(parent, field, None)
            items = enumerate(value) if isinstance(value, list) else ((None, value),)
            for index, item in items:
                if isinstance(item, gast.Name) and item.id == name and isinstance(
                        item.ctx, gast.Load):
                    return parent, field, index
    raise AssertionError(f"no read of {name}")


def _put(parent, field, index, node):
    if index is None:
        setattr(parent, field, node)
    else:
        getattr(parent, field)[index] = node


def _inlinable(stmt, bound, reads):
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name)):
        return None
    name = stmt.targets[0].id
    if not _TEMP.match(name) or bound[name] != 1 or reads[name] != 1 or name in KEEP:
        return None
    return name if _pure(stmt.value) else None


def _simple_use(stmt, name):
    """The use may take an expression: not a loop's iterable or a compound's body, and not a
    `return` or a check (so the result keeps a name in the code people read)."""
    if isinstance(stmt, (gast.For, gast.While, gast.Return, gast.Expr)):
        return False
    if isinstance(stmt, gast.If):
        return any(isinstance(n, gast.Name) and n.id == name for n in ir.walk(stmt.test))
    return True


PASSES = (propagate_copies, propagate_local_copies, eliminate_dead_code, inline_temporaries)


def optimize(fn):
    """Run every pass on the generated function `fn` until none changes it."""
    changed = True
    rounds = 0
    counts = Counts(fn)
    while changed and rounds < 20:
        changed = False
        for run in PASSES:
            if run(fn, counts):
                changed = True
                counts.forget()
        rounds += 1
    return fn
