"""The tape protocol: the names generated reverse-mode code keeps its tape under, and the
statements that use it.

A reverse-mode derivative's forward sweep saves what its adjoint sweep needs on a list, last
in first out::

    _tape = []                 # setup(): a new tape (a split forward function gets one)
    _push = _tape.append
    _pop = _tape.pop
    ...
    _push(x)                   # push(x): before `x` is overwritten
    ...
    x = _pop()                 # pop(x): the adjoint sweep restores it

Generated code can be differentiated again (higher-order derivatives): the passes recognise
these statements by the names here (`is_push`, `is_pop`), and the pipeline reserves them.
"""

from __future__ import annotations

import gast

from . import ir
from . import nodes as N

TAPE, PUSH, POP = "_tape", "_push", "_pop"
NAMES = (TAPE, PUSH, POP)


def new_tape():
    """`_tape = []`."""
    return N.assign(TAPE, N.gast_list([]))


def bind_push():
    """`_push = _tape.append`."""
    return N.assign(PUSH, N.attr(N.name(TAPE), "append"))


def bind_pop():
    """`_pop = _tape.pop`."""
    return N.assign(POP, N.attr(N.name(TAPE), "pop"))


def push(value, lineno=None):
    """`_push(value)` (a node)."""
    return N.expr(N.call(PUSH, [value]), lineno)


def pop():
    """The expression `_pop()`."""
    return N.call(POP)


def is_push(stmt):
    """Whether `stmt` is `_push(...)`."""
    return (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call)
            and is_name(stmt.value.func, PUSH))


def is_name(node, which):
    """Whether `node` is the name `which` (one of `NAMES`)."""
    return isinstance(node, gast.Name) and node.id == which


def pushed_names(stmts):
    """Names pushed on a tape by `_push(name)` statements (in generated derivative code)."""
    found = set()
    for stmt in stmts:
        for node in ir.walk(stmt):
            if (isinstance(node, gast.Call) and is_name(node.func, PUSH) and node.args
                    and isinstance(node.args[0], gast.Name)):
                found.add(node.args[0].id)
    return found
