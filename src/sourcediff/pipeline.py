"""The compiler's passes, in order. Read top to bottom: this is the whole recipe.

    parse -> fence -> iterators -> nested -> comprehensions -> mutations -> desugar
    -> normalize -> inline   (`prepare`)
    -> aliasing (once argument kinds are known) -> activity/kinds analyses
       (both run by `passes.analysis.Analysis`, per specialization, in `unit.py`)
    -> reverse or forward generation -> optimize -> codegen -> compile

Each stage is the module of its name (`passes/<stage>.py`; `inline` is in `passes/nested.py`,
`parse` in `frontend.py`, `codegen` in `codegen.py`), and `sourcediff show --dump-after STAGE`
prints the program after it.
"""

from __future__ import annotations

import types
import weakref

import gast

from . import ir, tape
from .errors import UnsupportedSyntaxError
from .frontend import Consulted, parse_function
from .naming import Namer
from .passes import nested
from .passes.comprehensions import expand_comprehensions
from .passes.desugar import desugar
from .passes.fence import fence
from .passes.iterators import rewrite_iterators
from .passes.mutations import rewrite_mutations
from .passes.normalize import normalize
from .rules import registry

# the passes that turn a user function into the normalized program, with their names for
# `sourcediff show --dump-after NAME`
# what a nested function goes through before it is inlined (see passes/nested.py)
NESTED = (rewrite_iterators, nested.extract, expand_comprehensions, rewrite_mutations, desugar,
          normalize)

PREPARE = (
    ("parse", None),
    ("fence", lambda src, namer: fence(src)),
    ("iterators", rewrite_iterators),
    ("nested", nested.extract),
    ("comprehensions", expand_comprehensions),
    ("mutations", rewrite_mutations),
    ("desugar", desugar),
    ("normalize", normalize),
    ("inline", lambda src, namer: nested.inline(src, namer, NESTED)),
)
# after `prepare`, per specialization: aliasing and activity (the analyses), then reverse or
# forward generation, the optimizer, and codegen (the source that is compiled)
PASS_NAMES = tuple(name for name, _ in PREPARE) + ("aliasing", "activity", "reverse",
                                                   "forward", "optimize", "codegen")
# earlier names of passes, still accepted by `--dump-after`
OLD_PASS_NAMES = {"ssa": "normalize"}

RESERVED = (*tape.NAMES, "_sd", "_np", "_math", "d")
# the names generated code gives a meaning of its own; a user's local of one of these names is
# renamed (deterministically), so no user name can collide with a generated one
GENERATED = (*tape.NAMES, "_sd", "_np", "_math")


def hygiene(src, namer):
    """Rename the user's locals and parameters that carry a name generated code uses
    (`_tape = ...` becomes `_tape_1 = ...`, recorded in `src.renames` for parameters); refuse
    a module-level value read under one."""
    tree = src.tree
    params = set(ir.param_names(tree))
    stored = {n.id for n in ir.walk(tree) if isinstance(n, gast.Name)
              and isinstance(n.ctx, gast.Store)}
    mapping = {}
    for node in ir.walk(tree):
        if not isinstance(node, gast.Name) or node.id not in GENERATED:
            continue
        if node.id not in stored and node.id not in params:
            raise src.error(UnsupportedSyntaxError, f"`{node.id}` is a name sourcediff's "
                            "generated code uses for itself, and this function reads a "
                            "module-level value under it", node,
                            hint=f"import or define it under another name than `{node.id}`")
        if node.id not in mapping:
            mapping[node.id] = namer.fresh(node.id + "_")
    for node in ir.walk(tree):
        if isinstance(node, gast.Name) and node.id in mapping:
            node.id = mapping[node.id]
    # a parameter renamed too: the names callers and `wrt` use map to it
    src.renames = {p: mapping[p] for p in params if p in mapping}


_PREPARED = weakref.WeakKeyDictionary()   # func -> (code, rules version, consulted, entry)


def prepared(func):
    """`prepare(func)`, computed once per function while its code, the rules and every name
    its preparation resolved (globals, closure cells, their attributes) stay what they were.
    The entry is shared: callers copy `src.tree` before changing it."""
    if not isinstance(func, types.FunctionType):
        return prepare(func)   # which says what it cannot read
    try:
        code, version, consulted, entry = _PREPARED[func]
    except KeyError:
        pass
    else:
        src = entry[0]
        if code is func.__code__ and version == registry.VERSION[0] and all(
                src.resolve_path(path) is found for path, found in consulted):
            return entry
    consulted = Consulted()
    try:
        entry = prepare(func, consulted=consulted)
    finally:
        consulted.recording = False
    _PREPARED[func] = (func.__code__, registry.VERSION[0], consulted, entry)
    return entry


def prepare(func, stop_after=None, consulted=None):
    """Parse and normalize `func`; returns (FunctionSource, Namer). With a `consulted` list
    (a frontend.Consulted), every name the passes resolve is recorded in it."""
    src = parse_function(func)
    src.consulted = consulted
    names = {n.id for n in ir.walk(src.tree) if isinstance(n, gast.Name)}
    namer = Namer(names | set(RESERVED) | set(src.func.__code__.co_freevars))
    if not getattr(func, "__sourcediff_generated__", False):
        hygiene(src, namer)
    for name, run in PREPARE:
        if run is not None:
            run(src, namer)
        if name == stop_after:
            break
    return src, namer
