"""Aliasing: make NumPy's in-place semantics explicit, so the derivative passes see every change.

NumPy names share buffers: views (basic indexing, `reshape`, `.T`, rows of a loop), plain copies
(`y = x`), container elements (`p = ws[k]`), arguments. A write through one name changes every
name that shares its buffer, and `x op= e` on an ndarray (or a list) writes in place. The
derivative passes track values by name, so this pass, which runs once the argument kinds are
known, rewrites the normalized program into one where every change of a value is a statement:

* `x = _sd.augmented(v)` (the desugar pass's marker for `x op= e`) becomes the rebinding
  `x = v` where that is exact (a scalar, or no other live name may share `x`'s buffer), the
  in-place write `x[...] = v` for an ndarray, and a run-time choice between the two where the
  kind is unknown;
* after each in-place write through `n`, every other live name `a` that may share `n`'s buffer
  gets `a = _sd.alias_update(a, n)`: the same object in the primal; its derivative rules find,
  at run time, which elements really are shared (`runtime.inplace._overlaps`);
* a call to a user function that may write into its parameters returns their final values as
  extra outputs (the callee side is rewritten by the same pass), and the caller rebinds its
  arguments to them.

Which names may share a buffer is a flow-insensitive over-approximation (one class per group
of names linked by copies, views, element reads, containers and calls); the run-time overlap
makes the derivative exact where the sharing is only possible.

Before (`v = x.reshape(2, 3); v *= 2.0; return np.sum(x * x)`, normalized)::

    v = x.reshape(2, 3)
    t1 = v * 2.0
    v = _sd.augmented(t1)
    t2 = x * x
    t3 = np.sum(t2)
    return t3

After (x an array)::

    v = x.reshape(2, 3)
    t1 = v * 2.0
    v[...] = t1
    t4 = _sd.alias_update(x, v)
    x = t4
    t2 = x * x
    ...
"""

from __future__ import annotations

import builtins
import copy
import re
from dataclasses import dataclass, field

import gast
import numpy as np

from .. import ir, runtime, tape
from .. import nodes as N
from ..errors import UnsupportedSyntaxError
from .activity import ARRAY, CONTAINER, SCALAR

TAPE = tape.TAPE


def _available(*names):
    found = []
    for name in names:
        obj = np
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if obj is not None:
            found.append(obj)
    return found


# functions whose result may share memory with (or be) an argument: everything else the rule
# table knows returns a new value
VIEWS = {id(f) for f in _available(
    "reshape", "ravel", "transpose", "matrix_transpose", "linalg.matrix_transpose", "swapaxes",
    "moveaxis", "rollaxis", "squeeze", "expand_dims", "atleast_1d", "atleast_2d", "atleast_3d",
    "broadcast_to", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray", "real",
    "imag", "diagonal", "diag", "flip", "fliplr", "flipud", "rot90", "split", "array_split",
    "hsplit", "vsplit", "dsplit")}
# ... the builtins that return one of their arguments, the same object (`max(a, b)` may be a
# 0-d view), and the ones whose result holds an argument (a list built by append, an element)
VIEWS |= {id(f) for f in (builtins.max, builtins.min, runtime.reshape_method,
                          runtime.transpose_method, runtime.sequence, runtime.astype,
                          runtime.stop_gradient, runtime.alias_update, runtime.append,
                          runtime.max_of, runtime.min_of, runtime.augmented)}


def _is_marker(value):
    return (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute)
            and isinstance(value.func.value, gast.Name) and value.func.value.id == "_sd"
            and value.func.attr == "augmented")


def _names(nodes):
    return [n.id for n in nodes if isinstance(n, gast.Name)]


def _dotted(node):
    if isinstance(node, gast.Name):
        return node.id
    if isinstance(node, gast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return None


# ---- which names may share a buffer ------------------------------------------------------------
class Classes:
    """Union-find over names (and `global:NAME` for module-level values read by name)."""

    def __init__(self):
        self.parent = {}

    def find(self, name):
        parent = self.parent.setdefault(name, name)
        if parent != name:
            parent = self.parent[name] = self.find(parent)
        return parent

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def members(self, name):
        root = self.find(name)
        return {n for n in list(self.parent) if self.find(n) == root}


@dataclass
class Sharing:
    """Which names may share a buffer (`classes`: views, copies, the same object), which may
    hold another's value as an element (`holds`: container -> item), and the names written
    through in place."""

    classes: Classes
    holds: set = field(default_factory=set)       # (container name, item name)
    includes: set = field(default_factory=set)    # (container, container whose items it has)
    written: set = field(default_factory=set)
    # names a user call may write into as items of a container argument (`h([x, y])` where h
    # does `items[0] += 1.0`): their buffers change although no name of theirs is written
    item_written: set = field(default_factory=set)
    # `x = t[k]` after a call `t = h(x)` that may write into x: the same object, its kind kept
    rebinds: set = field(default_factory=set)     # ids of those statements

    def same(self, name):
        return self.classes.members(name) if name in self.classes.parent else {name}

    def items(self, container):
        """The names that may be items of `container` (or of a name sharing its buffer)."""
        find = self.classes.find
        roots, found, todo = set(), set(), [find(container)]
        while todo:
            root = todo.pop()
            if root in roots:
                continue
            roots.add(root)
            found |= {item for c, item in self.holds if find(c) == root}
            todo += [find(d) for c, d in self.includes if find(c) == root]
        return found

    def of(self, name):
        """The names whose value a write through `name` may change: its buffer's names and
        the containers that may hold any of them (transitively)."""
        found = self.same(name)
        containers = {c for c, _ in self.holds | self.includes}
        changed = True
        while changed:
            changed = False
            for container in containers - found:
                if self.items(container) & found:
                    found |= self.same(container)
                    changed = True
        return found


def sharing(body, classify, kind, call_outputs, resolve):
    """The may-share classes of `body`'s names. `kind(name)` is a name's kind where every
    definition agrees ('scalar' names never share: numbers are immutable); `call_outputs(stmt,
    op)` the arguments a user call may write; `resolve(node)` the module-level object a global
    reference reads."""
    found = _SharingBuilder(classify, kind, call_outputs, resolve)
    for stmt in ir.walk_statements(body):
        if isinstance(stmt, gast.Assign):
            found.assignment(stmt)
    return found.close()


class _SharingBuilder:
    """`sharing`'s state: the classes so far, and the element reads to close over."""

    def __init__(self, classify, kind, call_outputs, resolve):
        self.classify, self.kind = classify, kind
        self.call_outputs, self.resolve = call_outputs, resolve
        self.classes = Classes()
        self.info = Sharing(self.classes)
        self.elements = []   # (container, target): target may be one of the container's items

    def usable(self, a, b):
        return (a and b and a != b and TAPE not in (a, b)
                and SCALAR not in (self.kind(a), self.kind(b)))

    def link(self, a, b):
        if self.usable(a, b):
            self.classes.union(a, b)

    def hold(self, container, item):
        if self.usable(container, item):
            self.info.holds.add((container, item))

    def element(self, target, container):
        """`target = container[...]` (or unpacked from it): a view of an array, or one of the
        items of a list, tuple or dict; either where the kind is unknown."""
        if not self.usable(target, container):
            return
        self.elements.append((container, target))
        self.hold(container, target)
        if self.kind(container) != CONTAINER:
            self.link(target, container)

    def assignment(self, stmt):
        target = stmt.targets[0]
        if isinstance(target, gast.Tuple):
            for elt in target.elts:
                self.element(elt.id, stmt.value.id)
        elif isinstance(target, gast.Subscript):
            self.info.written.add(target.value.id)
            if isinstance(stmt.value, gast.Name) and self.kind(target.value.id) != ARRAY:
                self.hold(target.value.id, stmt.value.id)   # a list or dict holds the value
        elif _is_marker(stmt.value):
            self.info.written.add(target.id)
            if isinstance(stmt.value.args[0], gast.Name):   # a rebinding takes this value
                self.link(target.id, stmt.value.args[0].id)
        else:
            self.binding(stmt, target.id, stmt.value)

    def binding(self, stmt, name, value):
        """`name = value`, an operation."""
        op = self.classify(value)
        local = isinstance(getattr(value, "value", None), gast.Name) \
            and value.value.id in self.classify.locals
        if op.kind in ("subscript", "attribute") and local:
            # an element, a view, or a field of a named tuple, dataclass or object
            self.element(name, value.value.id)
        elif op.kind in ("pack", "dict", "construct"):
            for item in _names(op.args.values()):
                self.hold(name, item)
        elif op.kind == "rule" and op.rule.func is runtime.append:
            # a new list with the old one's items and one more
            seq, item = op.args["seq"], op.args["item"]
            if isinstance(seq, gast.Name) and self.usable(name, seq.id):
                self.info.includes.add((name, seq.id))
            if isinstance(item, gast.Name):
                self.hold(name, item.id)
        elif op.kind == "rule" and op.rule.func in (runtime.max_of, runtime.min_of):
            for seq in _names(op.args.values()):
                self.element(name, seq)   # one of the sequence's elements
        else:
            if op.kind == "call":
                self.info.written.update(a.id for a in self.call_outputs(stmt, op)
                                         if isinstance(a, gast.Name))
            for other in _sources(value, op, self.resolve, self.classify):
                self.link(name, other)

    def close(self):
        """An element read from a container may be any item the container (or a container
        sharing its buffer) was given."""
        classes, info = self.classes, self.info
        changed = True
        while changed:
            changed = False
            for container, target in self.elements:
                for item in info.items(container):
                    if item != target and classes.find(item) != classes.find(target):
                        classes.union(item, target)
                        changed = True
        return info


def _global(node, resolve):
    """`global:NAME` for a module-level mutable value (an array, a list, a dict), else None."""
    dotted = _dotted(node)
    if dotted is None:
        return None
    if isinstance(resolve(node), (np.ndarray, list, dict)):
        return f"global:{dotted}"
    return None


def _sources(value, op, resolve, classify):
    """The names (or `global:...`) whose buffers the result of `value` may share."""
    if op.kind == "copy":
        return [value.id]
    if op.kind == "const":
        found = _global(value, resolve)
        return [found] if found else []
    if op.kind == "subscript":
        found = _global(value.value, resolve)
        return [found] if found else []
    if op.kind == "rule":
        if id(op.rule.func) in VIEWS or op.rule.user:
            return _names(a for p, a in op.args.items() if p not in op.rule.static)
        return []
    if op.kind in ("call", "unknown", "dynamic"):
        return _names(op.args.values())
    return []


# ---- liveness and definite binding --------------------------------------------------------------
def liveness(body, out):
    """{id(statement): names live right after it} (loops iterate to a fixed point)."""
    after = {}

    def block(stmts, live):
        live = set(live)
        for stmt in reversed(stmts):
            after[id(stmt)] = set(live)
            live = statement(stmt, live)
        return live

    def statement(stmt, live):
        if isinstance(stmt, gast.If):
            return ir.reads_of(stmt) | block(stmt.body, live) | block(stmt.orelse, live)
        if isinstance(stmt, (gast.For, gast.While)):
            head = set(live) | ir.reads_of(stmt)
            while True:
                inner = block(stmt.body, head)
                if isinstance(stmt, gast.For):
                    inner = inner - {stmt.target.id}
                new = head | inner
                if new == head:
                    return head
                head = new
        return (live - ir.defs_of(stmt)) | ir.reads_of(stmt)

    block(body, out)
    return after


def definitely_bound(body, params):
    """{id(statement): names surely bound when it starts}."""
    before = {}

    def block(stmts, bound):
        bound = set(bound)
        for stmt in stmts:
            before[id(stmt)] = set(bound)
            if isinstance(stmt, gast.If):
                bound |= block(stmt.body, bound) & block(stmt.orelse, bound)
            elif isinstance(stmt, gast.For):
                block(stmt.body, bound | {stmt.target.id})
            elif isinstance(stmt, gast.While):
                block(stmt.body, bound)
            else:
                bound |= ir.defs_of(stmt)
        return bound

    block(body, params)
    return before


# ---- the rewrite --------------------------------------------------------------------------------
@dataclass
class Rewrite:
    src: object
    namer: object
    classify: object
    kinds: dict
    info: Sharing
    live: dict
    bound: dict
    call_outputs: object
    item_writes: object = None   # (stmt, op, kind) -> arguments into whose items it may write
    inits: set = field(default_factory=set)

    def kind(self, name):
        return self.kinds.get(name)

    def block(self, stmts):
        out = []
        for stmt in stmts:
            out += self.statement(stmt)
        return out

    def statement(self, stmt):
        if isinstance(stmt, gast.If):
            stmt.body, stmt.orelse = self.block(stmt.body), self.block(stmt.orelse)
            return [stmt]
        if isinstance(stmt, (gast.For, gast.While)):
            stmt.body = self.block(stmt.body)
            return [stmt]
        if not isinstance(stmt, gast.Assign):
            return [stmt]
        target = stmt.targets[0]
        if isinstance(target, gast.Subscript):
            return [stmt] + self.updates(stmt, target.value.id)
        if isinstance(target, gast.Name) and _is_marker(stmt.value):
            return self.augmented(stmt, target.id)
        if isinstance(target, gast.Name):
            op = self.classify(stmt.value)
            if op.kind == "call":
                mutated = self.call_outputs(stmt, op)
                if mutated:
                    self.refuse_item_writes(stmt, op)
                    return self.mutating_call(stmt, target.id, mutated)
        return [stmt]

    def others(self, stmt, name, exclude=()):
        """Other names whose value a write through `name` may change, read after `stmt`."""
        live = self.live.get(id(stmt), set())
        found = []
        for other in sorted(self.info.of(name) - {name} - set(exclude)):
            if other.startswith("global:"):
                raise self.src.error(
                    UnsupportedSyntaxError,
                    f"this writes into the module-level value `{other[7:]}` (through "
                    f"`{name}`)", stmt, hint=f"copy it first: `{name} = {other[7:]}.copy()`")
            if other in live and other != TAPE:
                found.append(other)
        return found

    def updates(self, stmt, name, others=None):
        """`a = _sd.alias_update(a, name)` for every other live name `a` of `name`'s class."""
        out = []
        line = getattr(stmt, "lineno", None)
        for other in self.others(stmt, name) if others is None else others:
            if other not in self.bound.get(id(stmt), set()):
                self.inits.add(other)
            temp = self.namer.fresh("t")
            out.append(N.assign(temp, N.call("_sd.alias_update", [N.name(other), N.name(name)]),
                                line))
            out.append(N.assign(other, N.name(temp), line))
        return out

    def augmented(self, stmt, name):
        """`x = _sd.augmented(v[, container])`: rebinding, in-place write, or a choice."""
        value, *container = stmt.value.args
        line = stmt.lineno
        rebind = [N.assign(name, copy.deepcopy(value), line)]
        if self.kind(name) == SCALAR:
            return rebind
        if container and self.kind(container[0].id) == ARRAY:
            return rebind   # `c[i] op= e` on an ndarray: the write back into `c` is exact
        # (a list's other slots may hold the same array: its container counts like any
        # other holder)
        others = self.others(stmt, name)
        if not others:
            return rebind
        if self.kind(name) == ARRAY:
            write = N.assign(N.store_subscript(N.name(name), N.const(Ellipsis)), value, line)
            return [write] + self.updates(stmt, name, others)
        test, index = self.namer.fresh("t"), self.namer.fresh("t")
        write = N.assign(N.store_subscript(N.name(name), N.name(index)), value, line)
        inplace = [N.assign(index, N.call("_sd.whole_index", [N.name(name)]), line), write]
        inplace += self.updates(stmt, name, others)
        return [N.assign(test, N.call("_sd.is_mutable", [N.name(name)]), line),
                N.if_(N.name(test), inplace, rebind, line)]

    def refuse_item_writes(self, stmt, op):
        """A call that may write in place into what an argument holds (`items[0] *= 2.0` in
        the callee), while another name holding one of those items is read later: the alias
        updates follow writes into an argument's own buffer, not into its items, so refuse."""
        if self.item_writes is None:
            return
        live = self.live.get(id(stmt), set())
        for atom in self.item_writes(stmt, op, self.kind):
            if not isinstance(atom, gast.Name) or self.kind(atom.id) in (ARRAY, SCALAR):
                continue
            held, todo = set(), [atom.id]
            while todo:
                for item in self.info.items(todo.pop()) - held:
                    held |= self.info.same(item)
                    todo.append(item)
            self.info.item_written |= held
            # (every live name that may be one of those items: even one sharing the argument's
            # class, whose alias update follows the argument's own buffer only)
            target = stmt.targets[0].id
            readers = sorted((n for n in (held & live) - {atom.id, target, TAPE}
                              if self.kind(n) != SCALAR), key=_users_first)
            if readers:
                name = getattr(op.func, "__name__", "the function")
                raise self.src.error(
                    UnsupportedSyntaxError,
                    f"{name} may write in place into a value `{atom.id}` holds, and "
                    f"`{readers[0]}`, which may be that value, is read afterwards; sourcediff "
                    "follows writes into an argument, not into what it holds", stmt,
                    hint=f"pass a copy (`{readers[0]}.copy()` into `{atom.id}`), or let "
                         f"{name} return the new value instead of writing into it")

    def mutating_call(self, stmt, name, mutated):
        """`t = h(x)` where h may write into x: h returns (value, x's final value, ...)."""
        line = stmt.lineno
        results = self.namer.fresh("t")
        out = [N.assign(results, stmt.value, line),
               N.assign(name, N.subscript(N.name(results), N.const(0)), line)]
        for k, atom in enumerate(mutated, start=1):
            if not isinstance(atom, gast.Name):
                continue
            rebind = N.assign(atom.id, N.subscript(N.name(results), N.const(k)), line)
            self.info.rebinds.add(id(rebind))
            out.append(rebind)
            out += self.updates(stmt, atom.id)
        return out


def _users_first(name):
    """A sort key putting the user's names before compiler temporaries (`t3`)."""
    return (re.fullmatch(r"t\d+", name) is not None, name)


def rewrite(src, tree, namer, classify, kinds, params, call_outputs, mutated_params=(),
            item_writes=None):
    """Apply the pass to the normalized function `tree` (see the module doc); returns the
    `Sharing` it found. `mutated_params`: the parameters whose final values this function must
    return as extra outputs (it is a callee that may write into them); `item_writes(stmt, op)`:
    the arguments into whose items a user call may write in place."""
    body = tree.body[:-1]
    ret = tree.body[-1]
    head = []
    originals = []
    for p in mutated_params:
        original = namer.fresh(f"{p}_in")
        head.append(N.assign(original, N.name(p), ret.lineno))
        originals.append(original)
    body = head + body
    if mutated_params:
        result = namer.fresh("t")
        body.append(N.assign(result, N.tuple_([ret.value] + [N.name(o) for o in originals]),
                             ret.lineno))
        ret = N.return_(N.name(result), ret.lineno)

    info = sharing(body, classify, kinds.get, call_outputs, src.resolve)
    live = liveness(body, ir.reads_of(ret))
    bound = definitely_bound(body, set(params))
    pass_ = Rewrite(src, namer, classify, kinds, info, live, bound, call_outputs, item_writes)
    body = pass_.block(body)
    inits = [N.assign(n, N.const(None), tree.lineno) for n in sorted(pass_.inits)]
    tree.body = inits + body + [ret]
    return info


def mutated_params(src, tree, classify, call_outputs, items_only=False, param_kinds=None):
    """The parameters a function may write into (kind-blind: its callers' arguments are not
    known yet): those sharing a class with a name written in place or augmented. With
    `items_only`, those into whose items (the values a container holds) it may write, for the
    parameter kinds `param_kinds` ({parameter: kind}; a container's items are not views)."""
    params = ir.param_names(tree)
    info = sharing(tree.body[:-1], classify, (param_kinds or {}).get, call_outputs,
                   src.resolve)
    return [p for p in params if any(p in info.of(w) and not (items_only and p in info.same(w))
                                     for w in info.written)]
