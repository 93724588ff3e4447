"""Programs as structured data: typed expressions, statements, functions, whole modules.

The generator builds these objects, the shrinker edits them, and ``Program.render`` turns
them into the source text that is written to a real ``.py`` file and imported.  Keeping the
structure (instead of only text) is what lets the shrinker delete a statement, hoist a loop
body or replace an expression by one of its operands and still produce valid Python.

Templates use ``str.format`` fields: ``{0}`` inserts operand 0 in parentheses unless it is
atomic (a name, a call, a subscript, ...), ``{0:b}`` inserts it bare (inside call parentheses,
brackets, after ``=``).  Literal braces are doubled (``{{'a': {0:b}}}``).
"""

from __future__ import annotations

import ast
import copy
import functools
import string
from dataclasses import dataclass, field

HEADER = "import math\n\nimport numpy as np\n"


@functools.lru_cache(maxsize=65536)
def _is_atomic(text):
    """Whether ``text`` can be used as an operand without parentheses."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return False
    if isinstance(node, ast.Constant):
        return not (isinstance(node.value, (int, float)) and node.value < 0)
    return isinstance(node, (ast.Name, ast.Call, ast.Subscript, ast.Attribute, ast.List,
                             ast.Dict, ast.ListComp))


class _Formatter(string.Formatter):
    def format_field(self, value, format_spec):
        text = value.render() if isinstance(value, Expr) else str(value)
        if format_spec == "b" or _is_atomic(text):
            return text
        return f"({text})"


_FMT = _Formatter()


class Expr:
    """One expression node: a template over operand expressions, with its type and tags."""

    __slots__ = ("template", "args", "ty", "tags", "view_of")

    def __init__(self, template, args=(), ty=None, tags=(), view_of=None):
        self.template = template
        self.args = list(args)
        self.ty = ty
        self.tags = frozenset(tags)
        # the variable this expression is a NumPy view of (or the variable itself), if any
        self.view_of = frozenset(view_of or ())

    def render(self):
        if not self.args:
            return self.template
        return _FMT.format(self.template, *self.args)

    def walk(self):
        """Every node of this expression tree, this one first."""
        yield self
        for a in self.args:
            yield from a.walk()

    def __repr__(self):
        return f"Expr({self.render()!r})"


def sum_expr(terms, ty=None):
    """``t0 + t1 + ...`` as one node (the shrinker can drop single terms from it)."""
    if len(terms) == 1:
        return terms[0]
    template = " + ".join(f"{{{k}}}" for k in range(len(terms)))
    return Expr(template, terms, ty)


def leaf(name, ty=None, tags=(), view_of=None):
    """An expression with no operands: a name or a literal."""
    return Expr(name, (), ty, tags, view_of)


class Stmt:
    """Base of the statements; each knows its expressions and its nested bodies."""

    tags: frozenset = frozenset()

    def exprs(self):
        return []

    def bodies(self):
        return []

    def render(self, indent):
        raise NotImplementedError

    def all_tags(self):
        out = set(self.tags)
        for e in self.exprs():
            for node in e.walk():
                out |= node.tags
        for body in self.bodies():
            for s in body:
                out |= s.all_tags()
        return out


class Line(Stmt):
    """A simple statement: ``template`` formatted with ``args`` (assignment, write, break)."""

    def __init__(self, template, args=(), tags=()):
        self.template = template
        self.args = list(args)
        self.tags = frozenset(tags)

    def exprs(self):
        return self.args

    def render(self, indent):
        return [indent + (_FMT.format(self.template, *self.args) if self.args
                          else self.template)]


class If(Stmt):
    """``if``/``elif``.../``else``: one condition per branch; ``orelse`` may be empty."""

    def __init__(self, conds, branches, orelse=None, tags=()):
        self.conds = list(conds)
        self.branches = [list(b) for b in branches]
        self.orelse = list(orelse or [])
        self.tags = frozenset(tags)

    def exprs(self):
        return self.conds

    def bodies(self):
        return self.branches + [self.orelse]

    def render(self, indent):
        lines = []
        for k, (cond, body) in enumerate(zip(self.conds, self.branches)):
            word = "if" if k == 0 else "elif"
            lines.append(f"{indent}{word} {cond.render()}:")
            lines += render_body(body, indent + "    ")
        if self.orelse:
            lines.append(f"{indent}else:")
            lines += render_body(self.orelse, indent + "    ")
        return lines


class For(Stmt):
    """``for TARGET in ITER:`` with ``header`` a template such as ``for i, v in {0:b}:``."""

    def __init__(self, header, args, body, tags=()):
        self.header = header
        self.args = list(args)
        self.body = list(body)
        self.tags = frozenset(tags)

    def exprs(self):
        return self.args

    def bodies(self):
        return [self.body]

    def render(self, indent):
        head = _FMT.format(self.header, *self.args) if self.args else self.header
        return [indent + head] + render_body(self.body, indent + "    ")


class While(Stmt):
    """A ``while`` loop bounded by construction: the counter is set before the loop and
    incremented first thing in its body, so ``continue`` cannot skip it and shrinking cannot
    remove it."""

    def __init__(self, counter, limit, cond, body, tags=()):
        self.counter = counter
        self.limit = limit
        self.cond = cond            # an extra condition (Expr) or None
        self.body = list(body)
        self.tags = frozenset(tags)

    def exprs(self):
        return [self.cond] if self.cond is not None else []

    def bodies(self):
        return [self.body]

    def render(self, indent):
        test = f"{self.counter} < {self.limit}"
        if self.cond is not None:
            test += f" and {_FMT.format('{0}', self.cond)}"
        inner = indent + "    "
        return ([f"{indent}{self.counter} = 0", f"{indent}while {test}:",
                 f"{inner}{self.counter} += 1"] + render_body(self.body, inner, empty=False))


def render_body(body, indent, empty=True):
    """The lines of a statement list; ``pass`` for an empty one."""
    lines = []
    for s in body:
        lines += s.render(indent)
    if not lines and empty:
        lines = [indent + "pass"]
    return lines


@dataclass
class Param:
    name: str
    default: str | None = None
    kwonly: bool = False


@dataclass
class Function:
    """A module-level ``def``."""

    name: str
    params: list
    body: list
    tags: frozenset = frozenset()

    def render(self):
        parts, star = [], False
        for p in self.params:
            if p.kwonly and not star:
                parts.append("*")
                star = True
            parts.append(p.name if p.default is None else f"{p.name}={p.default}")
        head = f"def {self.name}({', '.join(parts)}):"
        return "\n".join([head] + render_body(self.body, "    "))

    def all_tags(self):
        out = set(self.tags)
        for s in self.body:
            out |= s.all_tags()
        return out


@dataclass
class Raw:
    """Module-level text (globals, a closure factory) that the shrinker keeps or drops whole."""

    text: str
    tags: frozenset = frozenset()

    def render(self):
        return self.text

    def all_tags(self):
        return set(self.tags)


@dataclass
class Program:
    """A generated module: blocks (helpers, globals, the main function ``f``), the arguments
    to call ``f`` with, and the parameters to differentiate with respect to."""

    blocks: list
    params: list                  # [(name, Ty)] of the main function
    args: list                    # values, one per parameter
    wrt: tuple                    # parameter names to differentiate
    wrt_style: str = "index"      # pass wrt as indices or as names
    label: str = ""               # "SEED:K"
    features: frozenset = frozenset()
    redraw_seed: int = 0
    meta: dict = field(default_factory=dict)

    @property
    def main(self):
        return next(b for b in self.blocks if isinstance(b, Function) and b.name == "f")

    def render(self):
        head = f"# sourcediff fuzz program {self.label}\n" if self.label else ""
        parts = [head + HEADER] + [b.render() for b in self.blocks]
        return "\n\n".join(parts) + "\n"

    def tags(self):
        out = set()
        for b in self.blocks:
            out |= b.all_tags()
        return out

    def features_used(self):
        """The feature switches whose constructs appear in the program (``base:`` tags mark
        the glue every program may use, such as ``np.sum`` of an array)."""
        return {t.split(":")[0] for t in self.tags()} - {"base"}

    def wrt_arg(self):
        """The ``wrt`` value to pass to sourcediff (a tuple, an index or a name)."""
        names = [p for p, _ in self.params]
        items = [w if self.wrt_style == "name" else names.index(w) for w in self.wrt]
        if self.meta.get("wrt_single") and len(items) == 1:
            return items[0]
        return tuple(items)

    def wrt_indices(self):
        names = [p for p, _ in self.params]
        return [names.index(w) for w in self.wrt]

    def copy(self):
        return copy.deepcopy(self)

    def size(self):
        """Number of statements and expression nodes: what the shrinker minimizes."""
        n = 0
        for b in self.blocks:
            if isinstance(b, Function):
                for s in iter_statements(b.body):
                    n += 1 + sum(len(list(e.walk())) for e in s.exprs())
            else:
                n += 1 + b.text.count("\n")
        return n + len(self.params)


def iter_statements(body):
    """Every statement in ``body`` and the bodies nested in it, in source order."""
    for s in body:
        yield s
        for inner in s.bodies():
            yield from iter_statements(inner)
