"""Nested functions: `def g(...)` and `h = lambda ...` inside the function are inlined where
they are called.

Two passes. `extract` (right after fence) takes each nested `def` and each lambda bound to a
name out of the body, and prepares it like a function of its own (comprehensions, mutations,
desugar, normalize; its own nested functions included). `inline` (after normalize) replaces
each call `t = g(a, b)` by g's normalized body, its parameters bound to the arguments and its
locals renamed afresh for that call, ending with `t = <g's result>`. A nested function reads
the enclosing function's variables when it runs (Python's late binding), and so does its
inlined body: closures over differentiated values need nothing more.

A nested function used as a value (passed to another function, stored, returned) or calling
itself is refused with the user's line; so is a lambda that is neither bound to a name nor
called on the spot.

Before::

    def f(x):
        def g(v):
            return v * v + x
        return g(x) + g(2.0 * x)

After `inline` (normalized)::

    def f(x):
        v_1 = x
        t1 = v_1 * v_1
        t2 = t1 + x
        t3 = 2.0 * x
        v_2 = t3
        ...
"""

from __future__ import annotations

import copy
import functools
import types

import gast

from .. import ir
from .. import nodes as N
from ..errors import UnsupportedSyntaxError


class Nested:
    """One nested function: its definition, and its normalized form once prepared."""

    def __init__(self, name, tree, lineno):
        self.name = name
        self.tree = tree
        self.lineno = lineno
        self.prepared = None


def _lambda_def(name, node, lineno):
    body = [N.return_(node.body, lineno)]
    fn = N.function_def(name, [], body)
    fn.args = node.args
    fn.lineno = lineno
    fn.col_offset = node.col_offset
    return fn


def _take(src, stmts, found):
    """`stmts` without their nested definitions, which go into `found` (recursively)."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, gast.FunctionDef):
            if stmt.decorator_list:
                raise src.error(UnsupportedSyntaxError, "a decorated nested function is not "
                                "supported", stmt, hint="define it at module level")
            found[stmt.name] = Nested(stmt.name, stmt, stmt.lineno)
            continue
        if (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)
                and isinstance(stmt.value, gast.Lambda)):
            name = stmt.targets[0].id
            found[name] = Nested(name, _lambda_def(name, stmt.value, stmt.lineno), stmt.lineno)
            continue
        ir.map_blocks(stmt, lambda block: _take(src, block, found))
        out.append(stmt)
    return out


class _CalledLambdas(gast.NodeTransformer):
    """`(lambda v: e)(x)` -> a nested function with a fresh name, called."""

    def __init__(self, namer, found):
        self.namer = namer
        self.found = found
        self.line = None

    def visit(self, node):
        if isinstance(node, gast.stmt):
            self.line = getattr(node, "lineno", self.line)
        return super().visit(node)

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, gast.Lambda):
            name = self.namer.fresh("lambda_")
            line = getattr(node, "lineno", None) or self.line
            self.found[name] = Nested(name, _lambda_def(name, node.func, line), line)
            node.func = N.name(name)
        return node


class _Partials(gast.NodeTransformer):
    """`p = functools.partial(g, a, k=b)` made in the function and only called: its bound
    values are taken when it is made (`p_1 = a`), and each call `p(x)` becomes
    `g(p_1, x, k=p_2)`."""

    def __init__(self, src, namer):
        self.src = src
        self.namer = namer
        self.partials = {}   # name -> (function expression, [bound names], {keyword: name})

    def is_partial(self, stmt):
        value = getattr(stmt, "value", None)
        return (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name) and isinstance(value, gast.Call)
                and value.args and not any(isinstance(a, gast.Starred) for a in value.args)
                and all(kw.arg for kw in value.keywords)
                and self.src.resolve(value.func) is functools.partial)

    def block(self, stmts):
        out = []
        for stmt in stmts:
            if self.is_partial(stmt):
                out += self.take(stmt)
                continue
            ir.map_blocks(stmt, self.block)
            out.append(self.visit(stmt))
        return out

    def take(self, stmt):
        name, call = stmt.targets[0].id, stmt.value
        line = stmt.lineno
        bound, keywords, out = [], {}, []
        for arg in call.args[1:]:
            temp = self.namer.fresh(f"{name}_arg")
            out.append(N.assign(temp, self.visit(arg), line))
            bound.append(temp)
        for kw in call.keywords:
            temp = self.namer.fresh(f"{name}_{kw.arg}")
            out.append(N.assign(temp, self.visit(kw.value), line))
            keywords[kw.arg] = temp
        self.partials[name] = (call.args[0], bound, keywords)
        return out

    def visit_Call(self, node):
        if not (isinstance(node.func, gast.Name) and node.func.id in self.partials):
            return self.generic_visit(node)
        node.args = [self.visit(a) for a in node.args]
        node.keywords = [self.visit(kw) for kw in node.keywords]
        func, bound, keywords = self.partials[node.func.id]
        given = {kw.arg for kw in node.keywords}
        node.keywords = [N.keyword(k, N.name(v)) for k, v in keywords.items()
                         if k not in given] + node.keywords
        node.args = [N.name(b) for b in bound] + node.args
        node.func = copy.deepcopy(func)
        return node

    def visit_Name(self, node):
        if node.id in self.partials and isinstance(node.ctx, gast.Load):
            raise self.src.error(UnsupportedSyntaxError, f"the partial `{node.id}` made in "
                                 "the function is used as a value (only calls to it are "
                                 "supported)", node,
                                 hint="call it here, or make the partial outside the function")
        return node


def extract(src, namer):
    """Take the nested functions out of `src.tree` into `src.nested` (see the module doc)."""
    found = {}
    tree = src.tree
    tree.body = _Partials(src, namer).block(tree.body)
    for stmt in tree.body:
        _CalledLambdas(namer, found).visit(stmt)
    tree.body = _take(src, tree.body, found)
    for node in ir.walk(tree):
        if isinstance(node, gast.Lambda):
            raise src.error(UnsupportedSyntaxError, "a lambda passed as a value inside the "
                            "function is not supported", node,
                            hint="bind it to a name and call it here (`h = lambda v: ...; "
                                 "h(x)`), or define it at module level")
    assigned = {n.id for n in ir.walk(tree) if isinstance(n, gast.Name)
                and isinstance(n.ctx, gast.Store)}
    for name, nested in found.items():
        if name in assigned:
            raise src.error(UnsupportedSyntaxError, f"the name of the nested function "
                            f"`{name}` is also assigned in the function", nested.tree,
                            hint="give the nested function a name of its own")
    # a nested function may call the ones the enclosing function defines
    src.nested = {**getattr(src, "enclosing", {}), **found}
    return src


def prepare(src, namer, nested, passes):
    """Run `passes` (the prepare stages from `iterators` through normalize) on one nested
    function, as a function of its own that reads the enclosing one's names."""
    if nested.prepared is not None:
        return nested.prepared
    view = copy.copy(src)
    view.tree = copy.deepcopy(nested.tree)
    view.enclosing = src.nested
    for run in passes:   # iterators, nested (its own nested functions), ..., normalize
        run(view, namer)
    nested.prepared = view
    return view


def _locals(tree):
    params = ir.param_names(tree)
    stored = [n.id for n in ir.walk(tree) if isinstance(n, gast.Name)
              and isinstance(n.ctx, gast.Store)]
    return list(dict.fromkeys(params + stored))


class Inliner:
    def __init__(self, src, namer, passes):
        self.src = src
        self.namer = namer
        self.passes = passes
        self.active = []   # nested functions being inlined (a call to one of them: recursion)

    def block(self, stmts):
        out = []
        for stmt in stmts:
            ir.map_blocks(stmt, self.block)
            out += self.statement(stmt)
        return out

    def statement(self, stmt):
        nested = self.src.nested
        if (isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Call)
                and isinstance(stmt.value.func, gast.Name) and stmt.value.func.id in nested):
            return self.inline(stmt, nested[stmt.value.func.id])
        callee = self.receiver_of_nested(stmt)
        if callee is not None:
            return self.inline(stmt, callee)
        for node in ir.walk(stmt):
            if isinstance(node, gast.Name) and node.id in nested:
                raise self.src.error(
                    UnsupportedSyntaxError, f"the nested function `{node.id}` is used as a "
                    "value (only calls to it are supported)", stmt,
                    hint="call it here, or define it at module level and pass the values it "
                         "reads as arguments")
        return [stmt]

    def receiver_of_nested(self, stmt):
        """`t = h(g, x)` where `g` is a nested function and `h` a plain function of this
        module: `h` is inlined too (its parameter stands for `g`, so `g`'s closure over this
        function's values is differentiated), as a Nested made from its source."""
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Call)
                and isinstance(stmt.value.func, gast.Name)):
            return None
        call = stmt.value
        values = list(call.args) + [kw.value for kw in call.keywords]
        if not any(isinstance(v, gast.Name) and v.id in self.src.nested for v in values):
            return None
        from ..frontend import parse_function
        func = self.src.resolve(call.func)
        if not (isinstance(func, types.FunctionType) and func.__closure__ is None
                and func.__globals__ is self.src.func.__globals__):
            return None
        tree = parse_function(func).tree
        return Nested(f"{func.__name__}", tree, stmt.lineno)

    def inline(self, stmt, nested):
        if nested.name in self.active:
            raise self.src.error(UnsupportedSyntaxError, f"the nested function "
                                 f"`{nested.name}` calls itself", stmt,
                                 hint="define a recursive function at module level")
        prepared = prepare(self.src, self.namer, nested, self.passes)
        tree = prepared.tree
        mapping = {name: self.namer.fresh(name + "_") for name in _locals(tree)}
        line = stmt.lineno
        out = self.bind(stmt, tree, mapping, line)
        body = [copy.deepcopy(s) for s in tree.body]
        renamer = ir.Rename(mapping)
        body = [renamer.visit(s) for s in body]
        result = body.pop()   # normalized: a single `return atom` at the end
        self.active.append(nested.name)
        inner = Inliner(prepared, self.namer, self.passes)
        inner.active = self.active
        body = inner.block(body)
        self.active.pop()
        out += body
        out.append(N.assign(stmt.targets[0], result.value, line))
        return out

    def bind(self, stmt, tree, mapping, line):
        """`param = argument` for every parameter of the inlined function."""
        call = stmt.value
        args = tree.args
        params = ir.param_names(tree)
        positional = args.posonlyargs + args.args
        defaults = dict(zip([a.id for a in positional[len(positional) - len(args.defaults):]],
                            args.defaults, strict=True))
        defaults.update({a.id: d for a, d in zip(args.kwonlyargs, args.kw_defaults,
                                                  strict=True) if d is not None})
        given = dict(zip(params, call.args))
        if len(call.args) > len(positional) or args.vararg or args.kwarg:
            raise self.src.error(UnsupportedSyntaxError, "this call does not fit the nested "
                                 "function's parameters", stmt)
        for kw in call.keywords:
            if kw.arg not in params or kw.arg in given:
                raise self.src.error(UnsupportedSyntaxError, f"the nested function has no "
                                     f"parameter `{kw.arg}` to pass here", stmt)
            given[kw.arg] = kw.value
        out = []
        for param in params:
            value = given.get(param, defaults.get(param))
            if isinstance(value, gast.Name) and value.id in self.src.nested:
                mapping[param] = value.id   # the parameter stands for the nested function
                continue
            if value is None:
                raise self.src.error(UnsupportedSyntaxError, f"the call gives no value for "
                                     f"the parameter `{param}`", stmt)
            if param in defaults and param not in given and not isinstance(
                    value, (gast.Constant, gast.Name)):
                raise self.src.error(UnsupportedSyntaxError, "a nested function's default "
                                     "value must be a constant or a name", stmt,
                                     hint="pass the argument explicitly")
            out.append(N.assign(mapping[param], copy.deepcopy(value), line))
        return out


def inline(src, namer, passes):
    """Replace every call of a nested function by its body (see the module doc)."""
    if not getattr(src, "nested", None):
        return src
    src.tree.body = Inliner(src, namer, passes).block(src.tree.body)
    return src
