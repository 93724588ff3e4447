"""Code generation: gast -> Python source text (via `ast.unparse`) -> compiled functions.

The text is printed statement by statement so that comments tying derivative code to the user's
lines survive. It is compiled inside a small factory function whose parameters carry the runtime
helpers, and registered in `linecache`, so tracebacks and `pdb` show the generated source.
"""

from __future__ import annotations

import ast
import itertools
import linecache
import types

import gast

from . import ir
from . import nodes as N


def to_source(node):
    """One node (expression or statement) as source text."""
    tree = gast.gast_to_ast(node)
    for part in ir.walk(tree):   # `ast.unparse` looks up type comments by statement line
        if isinstance(part, ast.stmt) and not hasattr(part, "lineno"):
            part.lineno = 0
    return ast.unparse(tree)


def _expr(node):
    return to_source(node)


class Lines(list):
    """Output lines, each remembering the user line it was generated from (or None)."""

    def __init__(self):
        super().__init__()
        self.origins = []
        self.current = None

    def append(self, line):
        super().append(line)
        self.origins.append(self.current)


def _origin(lines, stmt):
    """Statements without a line of their own belong to the user line before them."""
    if isinstance(lines, Lines) and getattr(stmt, "lineno", None) is not None:
        lines.current = stmt.lineno


def render_block(stmts, indent, lines):
    pad = "    " * indent
    if all(N.is_comment(s) for s in stmts):   # a block of nothing but comments
        lines.append(pad + "pass")
        return
    for stmt in stmts:
        _origin(lines, stmt)
        if N.is_comment(stmt):
            lines.append(f"{pad}# {stmt.value.value}")
        elif isinstance(stmt, gast.If):
            _render_if(stmt, indent, lines, "if")
        elif isinstance(stmt, gast.For):
            lines.append(f"{pad}for {_expr(stmt.target)} in {_expr(stmt.iter)}:")
            render_block(stmt.body, indent + 1, lines)
        elif isinstance(stmt, gast.While):
            lines.append(f"{pad}while {_expr(stmt.test)}:")
            render_block(stmt.body, indent + 1, lines)
        elif isinstance(stmt, gast.FunctionDef):
            render_function(stmt, indent, lines)
        else:
            for line in to_source(stmt).splitlines():
                lines.append(pad + line)


def _render_if(stmt, indent, lines, keyword):
    pad = "    " * indent
    lines.append(f"{pad}{keyword} {_expr(stmt.test)}:")
    render_block(stmt.body, indent + 1, lines)
    orelse = stmt.orelse
    if len(orelse) == 1 and isinstance(orelse[0], gast.If):
        _render_if(orelse[0], indent, lines, "elif")
    elif orelse:
        lines.append(f"{pad}else:")
        render_block(orelse, indent + 1, lines)


def render_function(fn, indent=0, lines=None):
    lines = [] if lines is None else lines
    pad = "    " * indent
    args = ast.unparse(gast.gast_to_ast(fn.args))
    header = f"def {fn.name}({args}):"
    if getattr(fn, "sd_doc", None):
        lines.append(f"{pad}# {fn.sd_doc}")
    lines.append(pad + header)
    render_block(fn.body, indent + 1, lines)
    return lines


def render_module(functions, header_lines=(), origins=None):
    """The source text of `functions`. With `origins` (a dict), fill it with
    {generated line number: (function name, user line number)}."""
    lines = Lines()
    for line in header_lines:
        lines.append(line)
    for i, fn in enumerate(functions):
        if i or lines:
            lines.current = None
            lines.append("")
        start = len(lines)
        lines.current = None
        render_function(fn, 0, lines)
        if origins is not None:
            for k in range(start, len(lines)):
                if lines.origins[k] is not None:
                    origins[k + 1] = (fn.name, lines.origins[k])
    return "\n".join(lines) + "\n"


_counter = itertools.count(1)


def compile_module(text, label, bindings, owners):
    """Compile `text` (top-level defs only) and return {function name: function}.

    `bindings` are the runtime names the code reads (`_sd`, `_np`, ...), passed as closure
    variables of a factory so the user's own globals stay untouched and stay live.
    `owners` maps each function name to the user function it derives from: the compiled
    function gets that function's globals, and its closure variables read that function's own
    closure cells (so closures over constants work and stay live).
    """
    filename = f"<sourcediff {label} #{next(_counter)}>"
    module = ast.parse(text, filename)
    names = [fn.name for fn in module.body if isinstance(fn, ast.FunctionDef)]
    free = sorted({var for owner in owners.values()
                   for var in owner.__code__.co_freevars} - set(bindings) - set(names))
    for fn in module.body:
        _read_globals_as_globals(fn, owners.get(fn.name), free)
    factory_body = [ast.Assign(targets=[ast.Name(id=v, ctx=ast.Store())],
                               value=ast.Constant(value=None)) for v in free]
    factory_body += module.body
    factory_body.append(ast.Return(value=ast.Dict(
        keys=[ast.Constant(value=n) for n in names],
        values=[ast.Name(id=n, ctx=ast.Load()) for n in names])))
    factory = ast.FunctionDef(
        name="_sourcediff_factory",
        args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=b) for b in sorted(bindings)],
                           vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                           defaults=[]),
        body=factory_body, decorator_list=[], returns=None)
    if "type_params" in ast.FunctionDef._fields:
        factory.type_params = []
    wrapper = ast.Module(body=[factory], type_ignores=[])
    ast.fix_missing_locations(wrapper)
    code = compile(wrapper, filename, "exec")
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    first_owner = next(iter(owners.values()))
    namespace = {}
    exec(code, first_owner.__globals__, namespace)
    made = namespace["_sourcediff_factory"](**{b: bindings[b] for b in sorted(bindings)})
    made = _rebind(made, owners)
    for fn in made.values():
        fn.__sourcediff_generated__ = True
    return made


def _read_globals_as_globals(fn, owner, free):
    """The factory declares every owner's closure variables; a function whose own user
    function reads one of those names as a module global must not see the factory's cell."""
    if not isinstance(fn, ast.FunctionDef) or owner is None:
        return
    own = set(owner.__code__.co_freevars)
    bound = {a.arg for a in fn.args.args} | {n.id for n in ir.walk(fn) if isinstance(
        n, ast.Name) and isinstance(n.ctx, ast.Store)}
    reads = {n.id for n in ir.walk(fn) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Load)}
    globals_ = sorted((set(free) - own) & reads - bound)
    if globals_:
        fn.body.insert(0, ast.Global(names=globals_))


def _rebind(made, owners):
    """Give each generated function its user function's globals and closure cells."""
    out = {}
    replaced = {}
    for name, fn in made.items():
        owner = owners.get(name)
        if owner is None:
            out[name] = fn
            continue
        cells = dict(zip(owner.__code__.co_freevars, owner.__closure__ or (), strict=True))
        closure = tuple(cells.get(var, cell) for var, cell in
                        zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True))
        new = types.FunctionType(fn.__code__, owner.__globals__, fn.__name__,
                                 fn.__defaults__, closure or None)
        new.__kwdefaults__ = fn.__kwdefaults__
        replaced[id(fn)] = new
        out[name] = new
    for fn in out.values():
        for cell in fn.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if id(value) in replaced:
                cell.cell_contents = replaced[id(value)]
    return out
