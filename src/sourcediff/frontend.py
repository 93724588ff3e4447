"""Parse: a Python function -> a gast FunctionDef whose line numbers are the file's own.

Also resolves the names a function reads from its globals, closure and builtins, so later passes
can tell a call to `np.sin` from a call to the user's own function.
"""

from __future__ import annotations

import builtins
import inspect
import linecache
import textwrap
import types
from dataclasses import dataclass, field

import gast

from .errors import NoSourceError, SourceDiffError, UnsupportedSyntaxError

_MISSING = object()


@dataclass
class FunctionSource:
    """A parsed user function and everything needed to point errors at its lines."""

    func: types.FunctionType
    tree: gast.FunctionDef
    filename: str
    lines: list = field(repr=False)   # the whole file's lines, for error messages

    @property
    def name(self):
        return self.func.__name__

    @property
    def short_filename(self):
        return self.filename.rsplit("/", 1)[-1]

    def line_text(self, lineno):
        if lineno is not None and 1 <= lineno <= len(self.lines):
            return self.lines[lineno - 1]
        return None

    def error(self, cls, message, node=None, hint=None, lineno=None):
        """A `cls` (a SourceDiffError subclass) pointing at `node`'s line in the user's file."""
        if lineno is None:
            lineno = getattr(node, "lineno", None) or self.tree.lineno
        col = getattr(node, "col_offset", None)
        return cls(message, filename=self.filename, lineno=lineno,
                   line=self.line_text(lineno), col=col, hint=hint)

    # -- name resolution -------------------------------------------------------------------------
    def closure_vars(self):
        code = self.func.__code__
        cells = self.func.__closure__ or ()
        values = {}
        for var, cell in zip(code.co_freevars, cells, strict=True):
            try:
                values[var] = cell.cell_contents
            except ValueError:  # an empty cell: the variable is not bound yet
                values[var] = _MISSING
        return values

    def closure_cells(self):
        code = self.func.__code__
        return dict(zip(code.co_freevars, self.func.__closure__ or (), strict=True))

    def resolve(self, node):
        """The object a non-local Name / dotted Attribute refers to, or `_MISSING`."""
        if isinstance(node, gast.Name):
            if node.id == "_sd":   # the runtime (user code cannot read the name: pipeline)
                from . import runtime
                return runtime
            closure = self.closure_vars()
            if node.id in closure:
                return closure[node.id]
            if node.id in self.func.__globals__:
                return self.func.__globals__[node.id]
            return getattr(builtins, node.id, _MISSING)
        if isinstance(node, gast.Attribute):
            base = self.resolve(node.value)
            if base is _MISSING:
                return _MISSING
            return getattr(base, node.attr, _MISSING)
        return _MISSING


MISSING = _MISSING


def unwrap(func):
    """The plain Python function behind `func` (bound methods, functools.wraps chains)."""
    if isinstance(func, types.MethodType):
        raise SourceDiffError(
            f"cannot differentiate the bound method {func.__qualname__}",
            hint="differentiate a plain function and pass the object's values as arguments")
    return func


def parse_function(func):
    """Read and parse `func`'s source, keeping the file's absolute line numbers."""
    func = unwrap(func)
    if not isinstance(func, types.FunctionType):
        kind = type(func).__name__
        raise NoSourceError(
            f"cannot read the source of {func!r} (a {kind}, not a Python function)",
            hint="sourcediff differentiates functions written in Python with `def`; for a "
                 "C function register a rule with @sourcediff.adjoint and @sourcediff.tangent")
    filename = func.__code__.co_filename
    if func.__name__ == "<lambda>":
        raise NoSourceError(
            "cannot differentiate a lambda", filename=filename,
            lineno=func.__code__.co_firstlineno,
            line=linecache.getline(filename, func.__code__.co_firstlineno) or None,
            hint="define the function with `def name(...):` so its source can be read")
    try:
        # the code object, not the function: inspect would follow `__wrapped__` to the function
        # a functools.wraps decorator wraps, and the wrapper's own code would be ignored
        source_lines, first = inspect.getsourcelines(func.__code__)
    except (OSError, TypeError) as exc:
        raise NoSourceError(
            f"cannot read the source of {func.__qualname__} ({exc})", filename=filename,
            lineno=func.__code__.co_firstlineno,
            hint="define the function in a .py file (functions typed at the interactive "
                 "prompt or built with exec have no source); in a notebook, run the cell "
                 "that defines it") from None
    source = textwrap.dedent("".join(source_lines))
    try:
        module = gast.parse(source)
    except SyntaxError as exc:
        raise NoSourceError(
            f"cannot parse the source of {func.__qualname__}: {exc.msg}", filename=filename,
            lineno=first + (exc.lineno or 1) - 1,
            hint="the function's source could not be parsed on its own") from None
    gast.increment_lineno(module, first - 1)
    # columns as in the file (the source was dedented to parse it), so carets line up
    margin = len(source_lines[0]) - len(source.splitlines(True)[0]) if source else 0
    if margin:
        for node in gast.walk(module):
            for attr in ("col_offset", "end_col_offset"):
                if getattr(node, attr, None) is not None:
                    setattr(node, attr, getattr(node, attr) + margin)
    lines = linecache.getlines(filename) or source.splitlines(True)
    if not module.body or not isinstance(module.body[0], (gast.FunctionDef,
                                                          gast.AsyncFunctionDef)):
        raise NoSourceError(f"the source of {func.__qualname__} is not a `def` statement",
                            filename=filename, lineno=first)
    tree = module.body[0]
    tree.decorator_list = []
    found, expected = _signature_text(tree), _code_signature_text(func.__code__)
    if found != expected:
        raise NoSourceError(
            f"the source of {func.__qualname__} does not match the running function: the "
            f"file has `def {found}` where the function is `{expected}` (was the file "
            "edited after it was imported?)", filename=filename, lineno=first,
            line=linecache.getline(filename, first).strip() or None,
            hint="reload the module (importlib.reload) or re-run the cell that defines the "
                 "function")
    src = FunctionSource(func=func, tree=tree, filename=filename, lines=lines)
    if isinstance(tree, gast.AsyncFunctionDef):
        raise src.error(UnsupportedSyntaxError, "async functions cannot be differentiated",
                        tree, hint="write a plain `def` function")
    return src


def _signature_text(tree):
    """`name(a, b, *args, k, **kw)` of a parsed def: parameter names in code-object order."""
    a = tree.args
    names = [n.id for n in a.posonlyargs + a.args + a.kwonlyargs]
    if a.vararg is not None:
        names.append("*" + a.vararg.id)
    if a.kwarg is not None:
        names.append("**" + a.kwarg.id)
    return f"{tree.name}({', '.join(names)})"


def _code_signature_text(code):
    """The same text read from the code object that actually runs."""
    n = code.co_argcount + code.co_kwonlyargcount
    names = list(code.co_varnames[:n])
    if code.co_flags & inspect.CO_VARARGS:
        names.append("*" + code.co_varnames[n])
        n += 1
    if code.co_flags & inspect.CO_VARKEYWORDS:
        names.append("**" + code.co_varnames[n])
    return f"{code.co_name}({', '.join(names)})"
