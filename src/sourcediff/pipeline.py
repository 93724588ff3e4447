"""The compiler's passes, in order. Read top to bottom: this is the whole recipe.

    parse -> fence -> comprehensions -> mutations -> desugar -> normalize   (`prepare`)
    -> activity/kinds analyses -> reverse or forward generation -> codegen -> compile
"""

from __future__ import annotations

import gast

from .frontend import parse_function
from .naming import Namer
from .passes.anf import normalize
from .passes.comprehensions import expand_comprehensions
from .passes.desugar import desugar
from .passes.fence import fence
from .passes.mutations import rewrite_mutations

# the passes that turn a user function into the normalized program, with their names for
# `sourcediff show --dump-after NAME`
PREPARE = (
    ("parse", None),
    ("fence", lambda src, namer: fence(src)),
    ("comprehensions", expand_comprehensions),
    ("mutations", rewrite_mutations),
    ("desugar", desugar),
    ("ssa", normalize),
)
PASS_NAMES = tuple(name for name, _ in PREPARE) + ("activity", "reverse", "forward")

RESERVED = ("_tape", "_push", "_pop", "_sd", "_np", "_math", "d")


def prepare(func, stop_after=None):
    """Parse and normalize `func`; returns (FunctionSource, Namer)."""
    src = parse_function(func)
    names = {n.id for n in gast.walk(src.tree) if isinstance(n, gast.Name)}
    namer = Namer(names | set(RESERVED) | set(src.func.__code__.co_freevars))
    for name, run in PREPARE:
        if run is not None:
            run(src, namer)
        if name == stop_after:
            break
    return src, namer
