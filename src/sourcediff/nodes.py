"""The one module that constructs gast nodes; passes call these small builders."""

from __future__ import annotations

import gast


def name(id_, ctx=None):
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def store(id_):
    return name(id_, gast.Store())


def const(value):
    return gast.Constant(value=value, kind=None)


def assign(target, value, lineno=None):
    """`target = value`; `target` is a name (str) or a node."""
    if isinstance(target, str):
        target = store(target)
    node = gast.Assign(targets=[target], value=value, type_comment=None)
    return at(node, lineno)


def tuple_(elts, ctx=None):
    return gast.Tuple(elts=list(elts), ctx=ctx or gast.Load())


def store_tuple(ids):
    return gast.Tuple(elts=[store(i) for i in ids], ctx=gast.Store())


def binop(left, op, right):
    return gast.BinOp(left=left, op=op, right=right)


def add(left, right):
    """`left + right`, written `left - x` when right is `-x`."""
    if isinstance(right, gast.UnaryOp) and isinstance(right.op, gast.USub):
        return binop(left, gast.Sub(), right.operand)
    return binop(left, gast.Add(), right)


def mul(left, right):
    return binop(left, gast.Mult(), right)


def neg(operand):
    return gast.UnaryOp(op=gast.USub(), operand=operand)


def not_(operand):
    return gast.UnaryOp(op=gast.Not(), operand=operand)


def attr(value, attr_name):
    return gast.Attribute(value=value, attr=attr_name, ctx=gast.Load())


def dotted(path):
    """`a.b.c` from the string 'a.b.c'."""
    parts = path.split(".")
    node = name(parts[0])
    for part in parts[1:]:
        node = attr(node, part)
    return node


def call(func, args=(), keywords=()):
    if isinstance(func, str):
        func = dotted(func)
    return gast.Call(func=func, args=list(args), keywords=list(keywords))


def keyword(arg, value):
    return gast.keyword(arg=arg, value=value)


def subscript(value, index):
    return gast.Subscript(value=value, slice=index, ctx=gast.Load())


def store_subscript(value, index):
    """`value[index]` as an assignment target."""
    return gast.Subscript(value=value, slice=index, ctx=gast.Store())


def slice_(lower=None, upper=None, step=None):
    return gast.Slice(lower=lower, upper=upper, step=step)


def compare(left, ops, comparators):
    return gast.Compare(left=left, ops=list(ops), comparators=list(comparators))


def unary(op, operand):
    return gast.UnaryOp(op=op, operand=operand)


def sub(left, right):
    return binop(left, gast.Sub(), right)


def starred(value):
    return gast.Starred(value=value, ctx=gast.Load())


def comprehension(target, iter_):
    return gast.comprehension(target=target, iter=iter_, ifs=[], is_async=0)


def dict_(keys, values):
    return gast.Dict(keys=list(keys), values=list(values))


def list_comp(elt, generators):
    return gast.ListComp(elt=elt, generators=list(generators))


def expr(value, lineno=None):
    return at(gast.Expr(value=value), lineno)


def if_(test, body, orelse=(), lineno=None):
    return at(gast.If(test=test, body=list(body) or [pass_()], orelse=list(orelse)), lineno)


def for_(target, iter_, body, lineno=None):
    if isinstance(target, str):
        target = store(target)
    node = gast.For(target=target, iter=iter_, body=list(body) or [pass_()], orelse=[],
                    type_comment=None)
    return at(node, lineno)


def while_(test, body, lineno=None):
    return at(gast.While(test=test, body=list(body) or [pass_()], orelse=[]), lineno)


def break_():
    return gast.Break()


def pass_():
    return gast.Pass()


def return_(value, lineno=None):
    return at(gast.Return(value=value), lineno)


def function_def(fname, params, body, defaults=()):
    args = gast.arguments(
        args=[gast.Name(id=p, ctx=gast.Param(), annotation=None, type_comment=None)
              for p in params],
        posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
        defaults=list(defaults))
    return gast.FunctionDef(name=fname, args=args, body=list(body) or [pass_()],
                            decorator_list=[], returns=None, type_comment=None,
                            type_params=[])


def module(body):
    return gast.Module(body=list(body), type_ignores=[])


def comment(text):
    """A pseudo-statement that codegen prints as `# text` (never compiled)."""
    node = gast.Expr(value=gast.Constant(value=text, kind="comment"))
    return node


def is_comment(node):
    return (isinstance(node, gast.Expr) and isinstance(node.value, gast.Constant)
            and node.value.kind == "comment")


def at(node, lineno):
    """Tag a statement with the user's absolute line number (used for comments and errors)."""
    if lineno is not None:
        node.lineno = lineno
        node.col_offset = getattr(node, "col_offset", 0)
    return node


def parse_expr(source):
    """A template expression, e.g. 'd[y] * np.cos(x)', as a gast node."""
    return gast.parse(source, mode="eval").body


def parse_stmts(source):
    return gast.parse(source).body


def gast_list(elts):
    return gast.List(elts=list(elts), ctx=gast.Load())
