"""Mutations: give in-place updates a form the derivative passes understand, and refuse the
aliasing that would make a derivative silently wrong.

* `lst.append(v)` becomes `lst = _sd.append(lst, v)` (a new list: appends are differentiable);
* `x[i] = v` stays an in-place write: the forward sweep saves the overwritten elements and the
  adjoint sweep restores them;
* the policy: sourcediff tracks values by name. An array or list that is written in place
  (`x[i] = v`, `x[i] += v`, `x.append(v)`) must not be reachable under another name,
  or a write through one name would change the other behind the derivative's back. So such a
  name may not be bound by a plain copy (`x = y`), by indexing (`x = y[0]`, a view), or by a
  view-returning attribute (`x = y.T`); and a slice read from it (`s = x[1:3]`, a view) may not
  be used after a later write to `x`. Each case raises `UnsupportedSyntaxError` naming the line
  and suggesting `.copy()`. Augmented assignment to a name (`z += v`) rebinds it, which is
  exact for numbers; when `z` shares its value with another name and may be an array, the
  analysis refuses it (see `augmented_aliases`).

Before::

    out.append(x * w)

After::

    out = _sd.append(out, x * w)
"""

from __future__ import annotations

import gast

from .. import nodes as N
from ..errors import UnsupportedSyntaxError

VIEW_METHODS = {"reshape", "transpose", "ravel", "squeeze", "swapaxes", "view", "T",
                "diagonal", "real", "imag", "flat"}


def _is_append(stmt):
    return (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call)
            and isinstance(stmt.value.func, gast.Attribute)
            and stmt.value.func.attr == "append"
            and isinstance(stmt.value.func.value, gast.Name)
            and len(stmt.value.args) == 1 and not stmt.value.keywords)


def _rewrite(stmts):
    out = []
    for stmt in stmts:
        if _is_append(stmt):
            seq = stmt.value.func.value.id
            stmt = N.assign(seq, N.call("_sd.append", [N.name(seq), stmt.value.args[0]]),
                            stmt.lineno)
        for field in ("body", "orelse"):
            if isinstance(getattr(stmt, field, None), list):
                setattr(stmt, field, _rewrite(getattr(stmt, field)))
        out.append(stmt)
    return out


def written_in_place(tree, augmented=False):
    """Names written in place: subscript targets and appended lists; with `augmented`, the
    targets of augmented assignments (`x += v`) instead."""
    names = {}
    for node in gast.walk(tree):
        if augmented:
            if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
                names.setdefault(node.target.id, node)
            continue
        if isinstance(node, (gast.Assign, gast.AugAssign)):
            targets = node.targets if isinstance(node, gast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
                    names.setdefault(target.value.id, node)
        if _is_append(node):
            names.setdefault(node.value.func.value.id, node)
    return names


def augmented_aliases(tree):
    """(name, other, node) where `name` is augmented (`name += v`) and a plain copy binds it to
    or from `other`. NumPy updates an array in place, so the other name would change too; for
    numbers it does not. The analysis, which knows the kinds, decides."""
    augmented = written_in_place(tree, augmented=True)
    found = []
    for node, target, value in _bindings(tree):
        if not isinstance(value, gast.Name) or target.id == value.id:
            continue
        for name, other in ((target.id, value.id), (value.id, target.id)):
            if name in augmented:
                found.append((name, other, node))
    return found


def check_aliasing(src):
    tree = src.tree
    src.augmented_aliases = augmented_aliases(tree)
    written = written_in_place(tree)
    if not written:
        return
    _check_stored_in_containers(src, tree, written)
    for node, target, value in _bindings(tree):
        if isinstance(value, gast.Name) and (target.id in written or value.id in written) \
                and target.id != value.id:
            name = target.id if target.id in written else value.id
            raise src.error(
                UnsupportedSyntaxError,
                f"`{target.id} = {value.id}` makes two names for one value, and "
                f"`{name}` is modified in place", node,
                hint=f"copy it: `{target.id} = {value.id}.copy()` (or build a new value "
                     f"instead of modifying `{name}`)")
        if target.id in written and _is_view(value):
            raise src.error(
                UnsupportedSyntaxError,
                f"`{target.id}` is a view into another array and is modified in place",
                node, hint=f"copy it first: `{target.id} = (...).copy()`")
    _check_stale_views(src, tree, written)


def _bindings(tree):
    """(statement, target name node, value) for plain and parallel tuple assignments."""
    for node in gast.walk(tree):
        if not isinstance(node, gast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, gast.Name):
                yield node, target, node.value
            elif isinstance(target, (gast.Tuple, gast.List)) and isinstance(
                    node.value, (gast.Tuple, gast.List)) and len(target.elts) == len(
                    node.value.elts):
                for t, v in zip(target.elts, node.value.elts, strict=True):
                    if isinstance(t, gast.Name):
                        yield node, t, v


def _check_stored_in_containers(src, tree, written):
    """An array written in place may not also sit in a list, tuple or dict: the container
    would change behind the derivative's back (returning it at the end is fine)."""
    returned = {id(n) for node in gast.walk(tree) if isinstance(node, gast.Return)
                for n in gast.walk(node)}
    for node in gast.walk(tree):
        elements = []
        if isinstance(node, (gast.List, gast.Tuple, gast.Set)) and isinstance(
                getattr(node, "ctx", gast.Load()), gast.Load):
            elements = node.elts
        elif isinstance(node, gast.Dict):
            elements = node.values
        elif _is_append(node):
            elements = node.value.args
        for elt in elements:
            if isinstance(elt, gast.Name) and elt.id in written and id(elt) not in returned:
                raise src.error(
                    UnsupportedSyntaxError,
                    f"`{elt.id}` is stored in a container and also modified in place",
                    elt, hint=f"store a copy: `{elt.id}.copy()`")


def _is_view(value):
    if isinstance(value, gast.Subscript):
        return True
    if isinstance(value, gast.Attribute) and value.attr in VIEW_METHODS:
        return True
    return (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute)
            and value.func.attr in VIEW_METHODS)


def _check_stale_views(src, tree, written):
    """A slice of a written array, bound to a name, must not be used after a later write."""
    views = {}   # view name -> (array name, line bound)
    for node in gast.walk(tree):
        if (isinstance(node, gast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], gast.Name)
                and isinstance(node.value, gast.Subscript)
                and isinstance(node.value.value, gast.Name)
                and node.value.value.id in written):
            views[node.targets[0].id] = (node.value.value.id, node.lineno)
    if not views:
        return
    writes = {}
    for node in gast.walk(tree):
        if isinstance(node, (gast.Assign, gast.AugAssign)):
            targets = node.targets if isinstance(node, gast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
                    writes.setdefault(target.value.id, []).append(node.lineno)
    loops = [(n.lineno, max(getattr(m, "lineno", n.lineno) for m in gast.walk(n)))
             for n in gast.walk(tree) if isinstance(n, (gast.For, gast.While))]

    def same_loop(a, b):
        return any(lo <= a <= hi and lo <= b <= hi for lo, hi in loops)

    for node in gast.walk(tree):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and \
                node.id in views:
            array, bound = views[node.id]
            if any(bound < w < node.lineno or (w != bound and same_loop(w, node.lineno))
                   for w in writes.get(array, [])):
                raise src.error(
                    UnsupportedSyntaxError,
                    f"`{node.id}` is a slice (a view) of `{array}`, which is written in place "
                    f"before `{node.id}` is used here", node,
                    hint=f"copy the slice when you take it: `{node.id} = {array}[...].copy()`")


def rewrite_mutations(src, namer):
    """Rewrite appends and check the aliasing policy (see the module doc)."""
    check_aliasing(src)
    src.tree.body = _rewrite(src.tree.body)
    return src
