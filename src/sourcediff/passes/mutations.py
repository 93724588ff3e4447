"""Mutations: give the calls that change a value in place the form of an assignment.

* `lst.append(v)` becomes `lst = _sd.augmented(_sd.append(lst, v))`: a new list, or the old one
  extended in place when another name shares it (the aliasing pass decides);
* `x.fill(v)` and `np.copyto(x, v)` become the in-place write `x[...] = v`, and
  `np.add.at(x, i, v)` (`np.subtract.at`) the write `x[...] = _sd.scatter_add(x, i, v)` (`-v`);
  the other `ufunc.at` calls are refused;
* `out=c` in a call becomes the call without it followed by `c[...] = result`;
* the other calls that change their receiver or argument in place (`lst.pop()`, `x.sort()`,
  `d.update(...)`, `np.random.shuffle(x)`, ...) are refused with the user's line: their
  derivative would be silently wrong.

In-place writes `x[i] = v` stay as they are: the forward sweep saves the overwritten elements
and the adjoint sweep restores them; `passes/aliasing.py` follows them into every name that
shares the buffer.

Before::

    out.append(x * w)
    np.add(a, b, out=c)

After::

    out = _sd.augmented(_sd.append(out, x * w))
    c[...] = np.add(a, b)
"""

from __future__ import annotations

import ast
import types

import gast
import numpy as np

from .. import ir, rules
from .. import nodes as N
from ..errors import UnsupportedSyntaxError

# methods of lists, dicts, sets and arrays that change the receiver (and how to write them)
MUTATING_METHODS = {
    "extend": "build a new list: `lst = lst + other` is not differentiated; append in a loop",
    "insert": "build a new list with the element in place",
    "pop": "index the element and build the rest with a slice (`last = lst[-1]; "
           "lst = lst[:-1]`)",
    "remove": "build a new list without the element",
    "clear": "start a new empty list",
    "reverse": "use `lst[::-1]` (or np.flip) to build the reversed value",
    "sort": "use `np.sort(x)` or `sorted(lst)` to build the sorted value",
    "update": "build a new dict",
    "setdefault": "test `key in d` and assign the entry",
    "popitem": "build a new dict",
    "resize": "use `np.resize(x, shape)` to build the resized value",
    "put": "write the elements with `x[indices] = values`",
    "itemset": "write the element with `x[i] = value`",
    "partition": "use `np.partition(x, k)` to build the partitioned value",
    "byteswap": "use `x.byteswap()` on a copy",
    "setfield": "write the field with an assignment",
    "shuffle": "index with a permutation: `x = x[rng.permutation(len(x))]`",
}
ARGUMENT_METHODS = {"shuffle"}   # (which change their argument, not their receiver)
# `x.__imul__(v)` and the other in-place operator methods, called by name
MUTATING_METHODS.update({
    f"__i{name}__": f"write the augmented assignment `x {symbol}= v`, which sourcediff follows"
    for name, symbol in (("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"),
                         ("floordiv", "//"), ("mod", "%"), ("pow", "**"), ("matmul", "@"),
                         ("and", "&"), ("or", "|"), ("xor", "^"), ("lshift", "<<"),
                         ("rshift", ">>"))})
MUTATING_FUNCTIONS = {
    id(np.random.shuffle): "np.random.shuffle(x)",
    id(np.put): "np.put(x, ...)",
    id(np.place): "np.place(x, ...)",
    id(np.putmask): "np.putmask(x, ...)",
}


_REPORTING = ("assert", "print", "save", "set", "get", "show", "info", "disp", "who")


def _ufunc_at(func):
    """The ufunc whose `.at` method `func` is (`np.add` for `np.add.at`), else None."""
    owner = getattr(func, "__self__", None)
    return owner if isinstance(owner, np.ufunc) and func.__name__ == "at" else None


def _call_statement(stmt):
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call)


def _method_call(call):
    """(receiver name, method name) for `name.method(...)`, else (None, None)."""
    func = call.func
    if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name):
        return func.value.id, func.attr
    return None, None


def _whole(name):
    return gast.Subscript(value=N.name(name), slice=N.const(Ellipsis), ctx=gast.Store())


class Mutations:
    def __init__(self, src, namer, local_names):
        self.src = src
        self.namer = namer
        self.locals = local_names

    def block(self, stmts):
        out = []
        for stmt in stmts:
            ir.map_blocks(stmt, self.block)
            out += self.statement(stmt)
        return out

    def statement(self, stmt):
        line = getattr(stmt, "lineno", None)
        for node in ir.walk(stmt):
            if isinstance(node, gast.Call):
                self.check_call(node, stmt)
        if _call_statement(stmt):
            call = stmt.value
            receiver, method = _method_call(call)
            if receiver in self.locals and method == "append" and len(call.args) == 1 \
                    and not call.keywords:
                value = N.call("_sd.append", [N.name(receiver), call.args[0]])
                return [N.assign(receiver, N.call("_sd.augmented", [value]), line)]
            if receiver in self.locals and method == "fill" and len(call.args) == 1 \
                    and not call.keywords:
                return [N.assign(_whole(receiver), call.args[0], line)]
            if self.resolve(call.func) is np.copyto and len(call.args) == 2 \
                    and not call.keywords and isinstance(call.args[0], gast.Name):
                return [N.assign(_whole(call.args[0].id), call.args[1], line)]
            ufunc = self.scatter(call)
            if ufunc is not None:
                a, index, v = call.args
                v = v if ufunc is np.add else N.neg(v)
                return [N.assign(_whole(a.id), N.call("_sd.scatter_add", [
                    N.name(a.id), index, v]), line)]
            if not any(kw.arg == "out" for kw in call.keywords):
                self.effect_only(stmt)
        return self.out_argument(stmt)

    def scatter(self, call):
        """np.add or np.subtract, for the call `np.add.at(x, index, v)` (`np.subtract.at`) of
        a local `x`, which the pass rewrites; else None."""
        ufunc = _ufunc_at(self.resolve(call.func))
        if ufunc in (np.add, np.subtract) and len(call.args) == 3 and not call.keywords \
                and isinstance(call.args[0], gast.Name) and call.args[0].id in self.locals:
            return ufunc
        return None

    def resolve(self, func):
        if isinstance(func, gast.Name) and func.id in self.locals:
            return None
        root = func
        while isinstance(root, gast.Attribute):
            root = root.value
        if isinstance(root, gast.Name) and root.id in self.locals:
            return None
        return self.src.resolve(func)

    def check_call(self, call, stmt):
        receiver, method = _method_call(call)
        func = call.func
        if receiver is None and isinstance(func, gast.Attribute) and \
                not isinstance(self.resolve(func.value), types.ModuleType):
            # `make().shuffle(y)`, `x.T.sort()`: a receiver that is an expression
            receiver, method = ast.unparse(gast.gast_to_ast(func.value)), func.attr
        elif receiver not in self.locals:
            receiver = None
        if receiver is not None and method in MUTATING_METHODS:
            changed = "its argument" if method in ARGUMENT_METHODS else f"`{receiver}`"
            raise self.src.error(
                UnsupportedSyntaxError,
                f"`{receiver}.{method}(...)` changes {changed} in place, which sourcediff "
                "does not differentiate", call, hint=MUTATING_METHODS[method])
        func = self.resolve(call.func)
        self.positional_out(call, func)
        what = MUTATING_FUNCTIONS.get(id(func))
        if _ufunc_at(func) is not None and not (getattr(stmt, "value", None) is call
                                                and _call_statement(stmt) and self.scatter(call)):
            what = f"np.{func.__self__.__name__}.at(x, ...)"
        if what is not None:
            raise self.src.error(
                UnsupportedSyntaxError, f"`{what}` changes its argument in place, which "
                "sourcediff does not differentiate", call,
                hint="build a new value (index with a permutation, np.where, ...)")

    def positional_out(self, call, func):
        """`np.sin(y, y)`: a ufunc's output given positionally becomes `out=y`, which
        `out_argument` rewrites (more than one output is refused)."""
        if not isinstance(func, np.ufunc) or len(call.args) <= func.nin:
            return
        if func.nout != 1 or len(call.args) > func.nin + 1 or \
                any(kw.arg == "out" for kw in call.keywords):
            raise self.src.error(UnsupportedSyntaxError, f"np.{func.__name__} is given output "
                                 "arrays positionally", call,
                                 hint="assign the results instead of passing outputs")
        call.keywords.append(gast.keyword(arg="out", value=call.args[func.nin]))
        call.args = call.args[:func.nin]

    def effect_only(self, stmt):
        """A NumPy or SciPy call whose result is not used, without a derivative rule, given a
        local value (`np.fill_diagonal(A, 0.0)`): made for what it changes in place, which
        sourcediff cannot follow, so refused."""
        call = stmt.value
        func = self.resolve(call.func)
        module = getattr(func, "__module__", None) or ""
        if module.split(".")[0] not in ("numpy", "scipy") and not isinstance(func, np.ufunc):
            return
        if module.startswith("numpy.testing") or \
                getattr(func, "__name__", "").startswith(_REPORTING):
            return   # checks, printing, saving and settings change no argument
        if rules.lookup(func) is not None or rules.is_nondifferentiable(func):
            return
        args = list(call.args) + [kw.value for kw in call.keywords]
        named = [a.id for a in args if isinstance(a, gast.Name) and a.id in self.locals]
        if named:
            name = getattr(func, "__name__", "this function")
            raise self.src.error(
                UnsupportedSyntaxError, f"the result of {name}(...) is not used: a call made "
                f"for what it changes in place (here possibly `{named[0]}`) is not "
                "differentiated", call,
                hint="compute the new value and assign it (`A = A * mask`, `y[i] = v`, ...)")

    def out_argument(self, stmt):
        """`y = f(a, out=c)` -> `t = f(a); c[...] = t; y = c` (and without `y = `)."""
        value = stmt.value if isinstance(stmt, (gast.Assign, gast.Expr)) else None
        if not isinstance(value, gast.Call):
            return [stmt]
        out = [kw for kw in value.keywords if kw.arg == "out"]
        if not out or (isinstance(out[0].value, gast.Constant) and out[0].value.value is None):
            return [stmt]
        buffer = out[0].value
        if not (isinstance(buffer, gast.Name) and buffer.id in self.locals):
            raise self.src.error(UnsupportedSyntaxError, "`out=` must name a local array",
                                 buffer, hint="drop `out=` and assign the result")
        line = getattr(stmt, "lineno", None)
        value.keywords = [kw for kw in value.keywords if kw.arg != "out"]
        temp = self.namer.fresh("t")
        new = [N.assign(temp, value, line), N.assign(_whole(buffer.id), N.name(temp), line)]
        if isinstance(stmt, gast.Assign):
            new.append(N.assign(stmt.targets[0], N.name(buffer.id), line))
        return new


def rewrite_mutations(src, namer):
    """Rewrite the in-place calls of `src.tree` (see the module doc)."""
    tree = src.tree
    params = set(ir.param_names(tree))
    src.tree.body = Mutations(src, namer, params | ir.assigned_names(tree.body)).block(tree.body)
    return src
