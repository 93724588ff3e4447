"""What the generator knows at one point of a program: live variables, names, callees."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import templates as T
from .typesys import FLOAT, Ty

BUILTIN_NAMES = {"np", "math", "sum", "range", "len", "max", "min", "abs", "pow", "enumerate",
                 "zip", "float", "reversed", "f", "int", "list", "print", "sourcediff"}


@dataclass
class Var:
    """A live variable.

    ``owned``: a fresh buffer (or list) that nothing else references, so writing into it
    cannot be seen through another name.  ``exact``: a list's length is exactly
    ``ty.length`` (not only at least).
    """

    ty: Ty
    owned: bool = False
    param: bool = False
    exact: bool = True


@dataclass
class Callee:
    """A module-level function the program may call.

    ``params``: ``[(name, Ty, default text or None, kwonly)]``; a ``count`` parameter gets an
    int literal (a recursion depth).  ``poly``: takes and returns any numeric type (the type
    of the first parameter is the argument's).  ``mutates``: positions written in place."""

    name: str
    params: list
    ret: Ty | None
    mutates: tuple = ()
    tag: str = "helpers:call"
    poly: bool = False


class Names:
    """Fresh names for one function; with the ``names`` feature, often one of the names the
    compiler generates for itself (``T.COLLIDING``)."""

    def __init__(self, rng, colliding, taken=()):
        self.rng = rng
        self.colliding = colliding
        self.taken = set(BUILTIN_NAMES) | set(taken)
        self.counter = 0

    def fresh(self, prefix="t"):
        if self.colliding and self.rng.random() < 0.35:
            options = [n for n in T.COLLIDING if n not in self.taken]
            if options:
                return self.take(self.rng.choice(options))
        while True:
            self.counter += 1
            name = f"{prefix}{self.counter}"
            if name not in self.taken:
                return self.take(name)

    def take(self, name):
        self.taken.add(name)
        return name


@dataclass
class Scope:
    """The variables visible at one point, and where that point is."""

    vars: dict
    names: Names
    ret: Ty = FLOAT
    depth: int = 0
    in_loop: bool = False
    defined: list = field(default_factory=list)   # names defined here, in order
    frozen: set = field(default_factory=set)      # lists being iterated: must not grow

    def child(self, in_loop=None):
        """A nested scope (branch or loop body).  Var objects are shared, so losing
        ownership inside propagates out; new names and new types stay inside."""
        return Scope(dict(self.vars), self.names, self.ret, self.depth + 1,
                     self.in_loop if in_loop is None else in_loop, [], set(self.frozen))

    def add(self, name, ty, owned=False, param=False):
        self.vars[name] = Var(ty, owned, param)
        self.defined.append(name)
        return name

    def retype(self, name, ty):
        """``name`` now has type ``ty`` here (a list grew); outer scopes only learn that its
        length is no longer exact."""
        old = self.vars[name]
        exact = old.exact and not self.in_loop
        old.exact = False
        self.vars[name] = Var(ty, old.owned, old.param, exact=exact)

    def of_type(self, ty):
        return [n for n, v in self.vars.items() if v.ty == ty]

    def arrays(self):
        return [n for n, v in self.vars.items() if v.ty.kind == "arr"]

    def ints(self):
        return [n for n, v in self.vars.items() if v.ty.kind == "int"]

    def lists(self, elem_kind=None):
        return [n for n, v in self.vars.items() if v.ty.kind == "list"
                and (elem_kind is None or v.ty.elem.kind == elem_kind)]

    def escape(self, refs):
        """The values ``refs`` are now reachable another way: no longer owned."""
        for name in refs:
            if name in self.vars:
                self.vars[name].owned = False
