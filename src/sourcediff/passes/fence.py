"""Fence: reject what sourcediff does not differentiate, naming the user's line.

Before::

    def f(x):
        with open("log") as fh:      # rejected here, with file, line, caret and a hint
            ...

After: the tree is unchanged; the pass only raises `UnsupportedSyntaxError`. (The one `with` it
accepts, `with sourcediff.checkpoint(snapshots=K):` around a loop, becomes a marker at the top
of the loop's body: passes/checkpoint.py.)
"""

from __future__ import annotations

import gast

from ..errors import UnsupportedSyntaxError
from .checkpoint import lower_pragmas

# node type -> (what it is, what to do instead)
REFUSED = {
    gast.AsyncFunctionDef: ("an async function", "write a plain function"),
    gast.ClassDef: ("a class definition", "define the class outside the function"),
    gast.Yield: ("a generator (`yield`)", "return a list or an array instead"),
    gast.YieldFrom: ("a generator (`yield from`)", "return a list or an array instead"),
    gast.Await: ("`await`", "differentiate synchronous code"),
    gast.Try: ("try/except", "move the error handling outside the differentiated function"),
    gast.With: ("a `with` block", "move the context manager outside the function"),
    gast.AsyncWith: ("an `async with` block", "differentiate synchronous code"),
    gast.AsyncFor: ("an `async for` loop", "differentiate synchronous code"),
    gast.Global: ("a `global` statement",
                  "pass the value in as an argument and return the new value"),
    gast.Nonlocal: ("a `nonlocal` statement",
                    "pass the value in as an argument and return the new value"),
    gast.Delete: ("a `del` statement", "drop the `del`; sourcediff keeps values alive anyway"),
    gast.Import: ("an import inside the function", "import at module level"),
    gast.ImportFrom: ("an import inside the function", "import at module level"),
    gast.NamedExpr: ("an assignment expression (`:=`)", "assign on a separate line"),
    gast.SetComp: ("a set comprehension", "use a list"),
    gast.DictComp: ("a dict comprehension", "build the dict with a for loop"),
    gast.Set: ("a set literal", "use a list or a tuple"),
    gast.Starred: ("a star-argument (`*args`)", "pass the arguments one by one"),
}
if hasattr(gast, "TryStar"):
    REFUSED[gast.TryStar] = REFUSED[gast.Try]
if hasattr(gast, "Match"):
    REFUSED[gast.Match] = ("a `match` statement", "use if/elif/else")

# statements kept as they are in the primal code and given no derivative
OPAQUE = (gast.Assert, gast.Raise)


class Fence(gast.NodeVisitor):
    def __init__(self, src):
        self.src = src

    def refuse(self, node, what, hint):
        raise self.src.error(UnsupportedSyntaxError, f"{what} is not supported", node, hint)

    def generic_visit(self, node):
        refused = REFUSED.get(type(node))
        if refused is not None:
            self.refuse(node, *refused)
        if isinstance(node, OPAQUE):
            return
        super().generic_visit(node)

    def visit_Try(self, node):
        if not node.handlers:   # try/finally: no error handling to move, a cleanup
            self.refuse(node, "try/finally",
                        "run the cleanup after the differentiated code returns, outside "
                        "the function")
        self.generic_visit(node)

    def visit_Assign(self, node):
        for target in node.targets:
            self.check_target(target)
        self.visit(node.value)

    def visit_AugAssign(self, node):
        self.check_target(node.target)
        self.visit(node.value)

    def visit_AnnAssign(self, node):
        self.check_target(node.target)
        if node.value is not None:
            self.visit(node.value)

    def check_target(self, target):
        if isinstance(target, gast.Name):
            return
        if isinstance(target, (gast.Tuple, gast.List)):
            for elt in target.elts:
                self.check_target(elt)
            return
        if isinstance(target, gast.Subscript):
            if isinstance(target.value, gast.Name):
                self.visit(target.slice)
                return
            self.refuse(target, "assignment into an element of an expression",
                        "write into a named array with one index: `x[i, j] = v` instead of "
                        "`x[i][j] = v`")
        if isinstance(target, gast.Attribute):
            self.refuse(target, "assignment to an attribute",
                        "keep the value in a local variable")
        if isinstance(target, gast.Starred):
            self.refuse(target, "starred unpacking (`a, *rest = ...`)",
                        "index or slice the sequence instead")
        self.refuse(target, f"assignment to {type(target).__name__}", "assign to a name")

    def visit_Call(self, node):
        """One star-argument per call (`f(a, *rest)`, `np.random.randn(*shape)`) is fine."""
        stars = [a for a in node.args if isinstance(a, gast.Starred)]
        if len(stars) > 1 or stars and node.args[-1] is not stars[0]:
            self.refuse(stars[-1], "a star-argument that is not the last argument (or more "
                        "than one)", "pass the arguments one by one")
        self.visit(node.func)
        for arg in node.args:
            self.visit(arg.value if isinstance(arg, gast.Starred) else arg)
        for kw in node.keywords:
            self.visit(kw.value)

    def visit_comprehension(self, node):
        if node.is_async:
            self.refuse(node, "an async comprehension", "use a plain for loop")
        self.generic_visit(node)

    def visit_For(self, node):
        if node.orelse:
            self.refuse(node.orelse[0], "a `for ... else` clause",
                        "use a flag variable set before `break`")
        self.check_target(node.target)
        self.generic_visit(node)

    def visit_While(self, node):
        if node.orelse:
            self.refuse(node.orelse[0], "a `while ... else` clause",
                        "use a flag variable set before `break`")
        self.generic_visit(node)


def fence(src):
    """Raise `UnsupportedSyntaxError` at the first construct sourcediff refuses."""
    tree = src.tree
    args = tree.args
    if args.vararg is not None or args.kwarg is not None:
        star = args.vararg or args.kwarg
        wrapped = getattr(src.func, "__wrapped__", None)
        if wrapped is not None:
            raise src.error(
                UnsupportedSyntaxError,
                f"this wrapper of {getattr(wrapped, '__qualname__', 'a function')} does more "
                "than pass its arguments on (`return wrapped(*args, **kwargs)`), so sourcediff "
                "cannot differentiate the wrapped function in its place", star,
                hint="differentiate the wrapped function itself (`f.__wrapped__`), or write "
                     "the wrapper's effect in the function")
        raise src.error(UnsupportedSyntaxError,
                        "functions with *args or **kwargs parameters are not supported", star,
                        hint="name each parameter explicitly")
    lower_pragmas(src)   # `with sourcediff.checkpoint(...)`: the one accepted `with`
    for stmt in tree.body:
        Fence(src).visit(stmt)
    return src
