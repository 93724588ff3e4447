"""Normalize: one operation per statement, each operand a name or a constant.

After this pass every statement is one of:

* `x = <op>` where `<op>` is a name, a constant, a global reference (`np.pi`), `a + b`, `-a`,
  `a < b`, `f(a, k=b)`, `a.attr`, `a[i, 1:n]`, `(a, b)`, `[a, b]` or `{k: a}`
* `a, b = t` (unpacking a name)
* `x[i, 1:n] = a` (an in-place write into a named array, list or dict)
* `if c:` / `for i in r:` / `while c:` with a name as condition or iterable
* `if stop: break` as the last statement of a loop body
* `return a`, `assert ...`, `raise ...`, `print(...)`

Boolean operators, chained comparisons and conditional expressions become `if` statements, so
short-circuiting is kept. A statement never reads the name it assigns (`x = x * 2` becomes
`t1 = x * 2; x = t1`), so the adjoint can read operands and result side by side.

Before::

    y = x ** 2 - 3 * x - 2

After::

    t1 = x ** 2
    t2 = 3 * x
    t3 = t1 - t2
    y = t3 - 2
"""

from __future__ import annotations

import builtins

import gast

from .. import ir, tape
from .. import nodes as N
from ..errors import UnsupportedSyntaxError


def is_atom(node):
    return isinstance(node, (gast.Name, gast.Constant))


class Normalizer:
    def __init__(self, src, namer, local_names):
        self.src = src
        self.namer = namer
        self.locals = local_names
        self.line = None

    # -- expressions -----------------------------------------------------------------------------
    def is_global_ref(self, node):
        """`np`, `np.pi`, `math.tau`: names (and attribute chains) that are not local."""
        while isinstance(node, gast.Attribute):
            node = node.value
        return isinstance(node, gast.Name) and node.id not in self.locals

    def atom(self, expr, out):
        if is_atom(expr) or self.is_global_ref(expr):
            return expr
        if isinstance(expr, (gast.IfExp, gast.BoolOp)) or (
                isinstance(expr, gast.Compare) and len(expr.ops) > 1):
            temp = self.namer.fresh("t")
            self.assign_to(temp, expr, out)
            return N.name(temp)
        value = self.op(expr, out)
        temp = self.namer.fresh("t")
        out.append(N.assign(temp, value, self.line))
        return N.name(temp)

    def op(self, expr, out):
        """`expr` as a single operation over atoms; may emit statements into `out`."""
        if is_atom(expr) or self.is_global_ref(expr):
            return expr
        method = getattr(self, "op_" + type(expr).__name__, None)
        if method is None:
            raise self.src.error(UnsupportedSyntaxError,
                                 f"the expression `{_show(expr)}` is not supported", expr,
                                 hint="rewrite it with simpler operations on separate lines")
        return method(expr, out)

    def op_BinOp(self, e, out):
        return N.binop(self.atom(e.left, out), e.op, self.atom(e.right, out))

    def op_UnaryOp(self, e, out):
        operand = self.atom(e.operand, out)
        if isinstance(e.op, gast.UAdd):
            return operand
        return N.unary(e.op, operand)

    def op_Compare(self, e, out):
        if len(e.ops) == 1:
            return N.compare(self.atom(e.left, out), e.ops, [self.atom(e.comparators[0], out)])
        temp = self.namer.fresh("t")
        self.assign_to(temp, e, out)
        return N.name(temp)

    def op_Call(self, e, out):
        func = e.func
        if (len(e.args) == 1 and not e.keywords and self.is_global_ref(func)
                and self.src.resolve(func) in (builtins.max, builtins.min)):
            # max(seq): the largest element (its derivative goes to that element)
            which = "max_of" if self.src.resolve(func) is builtins.max else "min_of"
            return N.call(f"_sd.{which}", [self.atom(e.args[0], out)])
        if (len(e.args) > 2 and not e.keywords and self.is_global_ref(func)
                and self.src.resolve(func) in (builtins.max, builtins.min)):
            # max(a, b, c) -> max(max(a, b), c): the rule table has the two-argument form
            inner = N.call(func, e.args[:-1])
            return self.op_Call(N.call(func, [inner, e.args[-1]]), out)
        if not self.is_global_ref(func):
            if isinstance(func, gast.Attribute):
                func = N.attr(self.atom(func.value, out), func.attr)
            else:
                func = self.atom(func, out)
        args = [N.starred(self.atom(a.value, out)) if isinstance(a, gast.Starred)
                else self.atom(a, out) for a in e.args]
        keywords = []
        for kw in e.keywords:
            if kw.arg is None:
                raise self.src.error(UnsupportedSyntaxError,
                                     "`**kwargs` in a call is not supported", kw.value,
                                     hint="pass the keyword arguments one by one")
            keywords.append(N.keyword(kw.arg, self.atom(kw.value, out)))
        return N.call(func, args, keywords)

    def op_Attribute(self, e, out):
        return N.attr(self.atom(e.value, out), e.attr)

    def op_Subscript(self, e, out):
        return N.subscript(self.atom(e.value, out), self.index(e.slice, out))

    def index(self, node, out):
        if isinstance(node, gast.Slice):
            return N.slice_(*(None if part is None else self.atom(part, out)
                              for part in (node.lower, node.upper, node.step)))
        if isinstance(node, gast.Tuple):
            return N.tuple_(self.index(elt, out) for elt in node.elts)
        return self.atom(node, out)

    def op_Tuple(self, e, out):
        return N.tuple_(self.atom(elt, out) for elt in e.elts)

    def op_List(self, e, out):
        return N.gast_list(self.atom(elt, out) for elt in e.elts)

    def op_Dict(self, e, out):
        if any(k is None for k in e.keys):
            raise self.src.error(UnsupportedSyntaxError, "`**` in a dict literal is not "
                                 "supported", e, hint="list the entries one by one")
        return N.dict_([self.atom(k, out) for k in e.keys], [self.atom(v, out) for v in e.values])

    def op_JoinedStr(self, e, out):
        return e  # a string: never differentiated, evaluated as written

    def op_IfExp(self, e, out):
        temp = self.namer.fresh("t")
        self.assign_to(temp, e, out)
        return N.name(temp)

    op_BoolOp = op_IfExp

    # -- assignments -----------------------------------------------------------------------------
    def assign_to(self, target, expr, out):
        """Emit statements that leave the value of `expr` in the name `target`."""
        line = self.line
        if isinstance(expr, gast.IfExp):
            test = self.atom(expr.test, out)
            if isinstance(test, gast.Name) and test.id == target:
                test = self.copy_of(target, out)   # the branches rebind the test's name
            body, orelse = [], []
            self.assign_to(target, expr.body, body)
            self.assign_to(target, expr.orelse, orelse)
            out.append(N.if_(test, body, orelse, line))
            return
        if isinstance(expr, gast.BoolOp):
            # `a and b`: t = a; if t: t = b      `a or b`: t = a; if not t: t = b
            self.assign_to(target, expr.values[0], out)
            for value in expr.values[1:]:
                rest = []
                self.assign_to(target, value, rest)
                # the test gets a name of its own: the body rebinds `target`, and the adjoint
                # sweep must take the branch the forward sweep took
                test = N.name(target)
                if isinstance(expr.op, gast.Or):
                    test = self.atom(N.not_(test), out)
                else:
                    test = self.copy_of(target, out)
                out.append(N.if_(test, rest, [], line))
            return
        if isinstance(expr, gast.Compare) and len(expr.ops) > 1:
            # a < b < c: t = a < b; if t: t = b < c  (b evaluated once)
            left = self.atom(expr.left, out)
            right = self.atom(expr.comparators[0], out)
            out.append(N.assign(target, N.compare(left, expr.ops[:1], [right]), line))
            rest = N.compare(right, expr.ops[1:], expr.comparators[1:])
            more = []
            self.assign_to(target, rest, more)
            out.append(N.if_(self.copy_of(target, out), more, [], line))
            return
        value = self.op(expr, out)
        if isinstance(value, gast.Name) and value.id == target:
            return  # `x = x`
        if target in ir.names_in(value):
            temp = self.namer.fresh("t")
            out.append(N.assign(temp, value, line))
            value = N.name(temp)
        out.append(N.assign(target, value, line))

    def copy_of(self, name, out):
        """A fresh name holding the current value of `name`."""
        temp = self.namer.fresh("t")
        out.append(N.assign(temp, N.name(name), self.line))
        return N.name(temp)

    def unpack(self, target, expr, out):
        """`a, (b, c) = expr`."""
        line = self.line
        if isinstance(expr, (gast.Tuple, gast.List)) and len(expr.elts) == len(target.elts):
            # parallel assignment: evaluate every element before binding any name (a, b = b, a)
            bound = ir.assigned_names([N.assign(target, N.const(None))])
            values = []
            for elt in expr.elts:
                value = self.atom(elt, out)
                if isinstance(value, gast.Name) and value.id in bound:
                    temp = self.namer.fresh("t")
                    out.append(N.assign(temp, value, line))
                    value = N.name(temp)
                values.append(value)
            for elt, value in zip(target.elts, values, strict=True):
                self.bind(elt, value, out)
            return
        source = self.atom(expr, out)
        if not isinstance(source, gast.Name):
            raise self.src.error(UnsupportedSyntaxError, "cannot unpack a constant", expr)
        names = []
        nested = []
        for elt in target.elts:
            if isinstance(elt, gast.Name):
                names.append(elt.id)
            else:
                temp = self.namer.fresh("t")
                names.append(temp)
                nested.append((elt, N.name(temp)))
        out.append(N.assign(N.store_tuple(names), source, line))
        for elt, value in nested:
            self.bind(elt, value, out)

    def bind(self, target, expr, out):
        if isinstance(target, gast.Name):
            self.assign_to(target.id, expr, out)
        elif isinstance(target, gast.Subscript):
            # x[i] = v: an in-place write, kept as one statement over atoms
            value = self.atom(expr, out)
            index = self.index(target.slice, out)
            store = N.store_subscript(N.name(target.value.id), index)
            out.append(N.assign(store, value, self.line))
        elif isinstance(target, (gast.Tuple, gast.List)):
            if any(isinstance(e, gast.Starred) for e in target.elts):
                raise self.src.error(UnsupportedSyntaxError, "starred unpacking is not "
                                     "supported", target, hint="index the sequence instead")
            self.unpack(target, expr, out)
        else:  # fence already refused the other targets
            raise self.src.error(UnsupportedSyntaxError, "unsupported assignment target",
                                 target)

    # -- statements ------------------------------------------------------------------------------
    def block(self, stmts):
        out = []
        for stmt in stmts:
            self.line = getattr(stmt, "lineno", self.line)
            self.statement(stmt, out)
        return out

    def statement(self, stmt, out):
        line = self.line
        if isinstance(stmt, gast.Assign):
            if len(stmt.targets) == 1:
                self.bind(stmt.targets[0], stmt.value, out)
                return
            value = self.atom(stmt.value, out)
            for target in stmt.targets:
                self.bind(target, value, out)
            return
        if isinstance(stmt, gast.If):
            test = self.atom(stmt.test, out)
            if isinstance(test, gast.Name) and test.id in ir.assigned_names(stmt.body +
                                                                         stmt.orelse):
                temp = self.namer.fresh("t")
                out.append(N.assign(temp, test, line))
                test = N.name(temp)
            body = self.block(stmt.body)
            orelse = self.block(stmt.orelse)
            out.append(N.if_(test, body, orelse, line))
            return
        if isinstance(stmt, gast.For):
            iterable = self.atom(stmt.iter, out)
            out.append(N.for_(stmt.target, iterable, self.block(stmt.body), line))
            return
        if isinstance(stmt, gast.While):
            out.append(N.while_(stmt.test, self.block(stmt.body), line))
            return
        if isinstance(stmt, gast.Return):
            value = stmt.value if stmt.value is not None else N.const(None)
            out.append(N.return_(self.atom(value, out), line))
            return
        if isinstance(stmt, gast.Pass):
            return
        if isinstance(stmt, (gast.Break, gast.Assert, gast.Raise)):
            out.append(stmt)
            return
        if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
            func = stmt.value.func
            if _allowed_statement_call(func, self.locals):
                out.append(N.expr(self.op(stmt.value, out), line))
                return
            # a call made for its effect (a hook, a plot, a helper that writes into its
            # argument): keep it, with its result in a name nothing reads
            self.assign_to(self.namer.fresh("t"), stmt.value, out)
            return
        raise self.src.error(
            UnsupportedSyntaxError, f"the statement `{_show(stmt)}` is not supported", stmt,
            hint="assign the result to a variable (calls made only for their side effects, "
                 "such as appending to a list, are not differentiated)")


def _allowed_statement_call(func, local_names):
    """Calls kept as statements: `print(...)`, and in generated code (differentiated again for
    higher-order derivatives) the tape's `_push(...)` and `_sd.check_scalar(...)`."""
    if isinstance(func, gast.Name):
        if func.id == "print" and "print" not in local_names:
            return True
        return func.id == tape.PUSH and tape.PUSH in local_names
    return (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
            and func.value.id == "_sd" and func.attr == "check_scalar")


def _show(node):
    from ..codegen import to_source
    return to_source(node).strip().splitlines()[0]


def normalize(src, namer):
    """Rewrite `src.tree.body` so that each statement performs one operation."""
    tree = src.tree
    params = ir.param_names(tree)
    local_names = set(params) | ir.assigned_names(tree.body)
    tree.body = Normalizer(src, namer, local_names).block(tree.body)
    return src
