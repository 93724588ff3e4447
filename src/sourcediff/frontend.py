"""Parse: a Python function -> a gast FunctionDef whose line numbers are the file's own.

Also resolves the names a function reads from its globals, closure and builtins, so later passes
can tell a call to `np.sin` from a call to the user's own function.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import linecache
import textwrap
import types
from dataclasses import dataclass, field

import gast

from . import ir
from .errors import NoSourceError, SourceDiffError, UnsupportedSyntaxError

_MISSING = object()


class Consulted(list):
    """The (dotted path, object) pairs a function's preparation resolved; copies of its
    FunctionSource made meanwhile (nested functions) record into the same list, until
    `recording` is switched off."""

    recording = True


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

    consulted = None   # a Consulted list: every (dotted path, object) resolved goes in it

    def resolve(self, node):
        """The object a non-local Name / dotted Attribute refers to, or `_MISSING`."""
        path = []
        while isinstance(node, gast.Attribute):
            path.append(node.attr)
            node = node.value
        if not isinstance(node, gast.Name):
            return _MISSING
        path.append(node.id)
        path = tuple(reversed(path))
        found = self.resolve_path(path)
        if self.consulted is not None and self.consulted.recording:
            self.consulted.append((path, found))
        return found

    def resolve_path(self, path):
        """The object `a.b.c` refers to (path ("a", "b", "c")), or `_MISSING`."""
        first, *attrs = path
        if first == "_sd":   # the runtime (user code cannot read the name: pipeline)
            from . import runtime
            found = runtime
        else:
            closure = self.closure_vars()
            if first in closure:
                found = closure[first]
            elif first in self.func.__globals__:
                found = self.func.__globals__[first]
            else:
                found = getattr(builtins, first, _MISSING)
        for attr in attrs:
            if found is _MISSING:
                break
            found = getattr(found, attr, _MISSING)
        return found


MISSING = _MISSING


def unwrap(func):
    """The plain Python function behind `func` (bound methods, functools.wraps chains)."""
    if isinstance(func, types.MethodType):
        raise SourceDiffError(
            f"cannot differentiate the bound method {func.__qualname__} here",
            hint="pass the method itself to a transform: sourcediff.grad(obj.method)")
    return func


def unwrapped(func):
    """The function a decorator wraps, where the wrapper only passes its arguments on
    (`functools.wraps` wrappers taking `*args, **kwargs`, `functools.lru_cache`)."""
    for _ in range(16):
        if not hasattr(func, "__wrapped__"):
            break
        if isinstance(func, types.FunctionType):
            if not passes_arguments_through(func):
                break
        elif type(func).__name__ != "_lru_cache_wrapper":
            break   # NumPy's functions carry __wrapped__ too: they have rules of their own
        func = func.__wrapped__
    return func


def passes_arguments_through(wrapper):
    """Whether a decorator's wrapper only passes its arguments on: it takes `*args, **kwargs`
    and returns `wrapped(*args, **kwargs)` (after statements that are calls: logging, timing),
    so differentiating the wrapped function is differentiating the wrapper."""
    code = wrapper.__code__
    if not code.co_flags & inspect.CO_VARARGS:
        return False
    try:
        source = textwrap.dedent(inspect.getsource(code))
        tree = ast.parse(source).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return False
    if not isinstance(tree, ast.FunctionDef) or tree.args.vararg is None:
        return False
    star = tree.args.vararg.arg
    stars = {star, tree.args.kwarg.arg if tree.args.kwarg else None}
    *effects, last = tree.body
    if not isinstance(last, ast.Return) or not isinstance(last.value, ast.Call):
        return False
    call = last.value
    passed = [a for a in call.args if isinstance(a, ast.Starred)]
    if len(call.args) != 1 or not passed or not isinstance(passed[0].value, ast.Name) or \
            passed[0].value.id != star:
        return False
    if any(kw.arg is not None or not isinstance(kw.value, ast.Name)
           or kw.value.id not in stars for kw in call.keywords):
        return False
    results = {n.id for stmt in effects for n in ast.walk(stmt)
               if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for stmt in effects:   # calls for their effect (print, log, time) and names they set
        if not isinstance(stmt, (ast.Expr, ast.Assign)):
            return False
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and node.id in stars:
                return False
    wrapped = call.func.id if isinstance(call.func, ast.Name) else None
    return wrapped is not None and wrapped not in results


# source text given for functions that have none on disk (`grad(f, source=...)`), by code
_SOURCES = {}


def register_source(func, text):
    """Use `text` (a `def` of `func`, or a module holding one) as `func`'s source, for a
    function typed at the prompt or made with exec."""
    if not isinstance(func, types.FunctionType):
        raise TypeError(f"source= goes with a Python function, not {func!r}")
    _SOURCES[func.__code__] = textwrap.dedent(text)


def _given_source(func):
    """(source lines, first line, file name) of a registered source, else None."""
    text = _SOURCES.get(func.__code__)
    if text is None:
        return None
    filename = f"<source of {func.__qualname__}>"
    lines = text.splitlines(True)
    linecache.cache[filename] = (len(text), None, lines, filename)
    module = ast.parse(text)
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef) and node.name == func.__code__.co_name:
            end = node.end_lineno
            return lines[node.lineno - 1:end], node.lineno, filename
    raise NoSourceError(f"the source given for {func.__qualname__} has no `def "
                        f"{func.__code__.co_name}`", hint="pass the text of its `def`")


def _source_lines(func, filename):
    """(the lines of `func`'s def, its first line number, the file they are in)."""
    given = _given_source(func)
    if given is not None:
        return given
    try:
        # the code object, not the function: inspect would follow `__wrapped__` to the function
        # a functools.wraps decorator wraps, and the wrapper's own code would be ignored
        source_lines, first = inspect.getsourcelines(func.__code__)
    except (OSError, TypeError) as exc:
        raise NoSourceError(
            f"cannot read the source of {func.__qualname__} ({exc})", filename=filename,
            lineno=func.__code__.co_firstlineno,
            hint="define the function in a .py file (functions typed at the interactive "
                 "prompt or built with exec have no source), or pass its source: "
                 "sourcediff.grad(f, source=text_of_its_def); in a notebook, run the cell "
                 "that defines it") from None
    return source_lines, first, filename


def _parse_at(func, source, source_lines, filename, first):
    """The dedented `source` parsed, with the file's line numbers and columns."""
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
        for node in ir.walk(module):
            for attr in ("col_offset", "end_col_offset"):
                if getattr(node, attr, None) is not None:
                    setattr(node, attr, getattr(node, attr) + margin)
    return module


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
    if func.__code__.co_name == "<lambda>":
        return parse_lambda(func)
    source_lines, first, filename = _source_lines(func, filename)
    source = textwrap.dedent("".join(source_lines))
    module = _parse_at(func, source, source_lines, filename, first)
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


def parse_lambda(func):
    """A lambda as a one-statement `def` (`lambda x: e` -> `def <lambda>(x): return e`): the
    lambda in its file whose compiled code is this one's (several on one line are told
    apart by their code)."""
    code = func.__code__
    filename, first = code.co_filename, code.co_firstlineno
    lines = linecache.getlines(filename)
    hint = ("define the lambda in a .py file (or write it with `def`); sourcediff reads the "
            "source of what it differentiates")
    if not lines:
        raise NoSourceError("cannot read the source of a lambda (it was not defined in a "
                            "file)", filename=filename, lineno=first, hint=hint)
    try:
        module = ast.parse("".join(lines))
    except SyntaxError:
        raise NoSourceError("cannot parse the file that defines this lambda",
                            filename=filename, lineno=first, hint=hint) from None
    candidates = [node for node in ast.walk(module)
                  if isinstance(node, ast.Lambda) and node.lineno == first
                  and _parameter_names(node) == code.co_varnames[:_arity(code)]]
    found = candidates if len(candidates) <= 1 else \
        [node for node in candidates if _same_code(node, code, filename)] or \
        [node for node in candidates if _at_position(node, code)]
    if len(found) != 1:
        raise NoSourceError(
            "cannot tell which lambda of this line is the one to differentiate", filename=filename,
            lineno=first, line=linecache.getline(filename, first).strip() or None,
            hint="give it a name with `def`, or put it on a line of its own")
    node = found[0]
    body = [ast.Return(value=node.body, lineno=node.lineno, col_offset=node.col_offset)]
    fn = ast.FunctionDef(name="<lambda>", args=node.args, body=body, decorator_list=[],
                         returns=None, type_comment=None, lineno=node.lineno,
                         col_offset=node.col_offset)
    if hasattr(ast.FunctionDef, "type_params"):
        fn.type_params = []
    tree = gast.ast_to_gast(ast.Module(body=[fn], type_ignores=[])).body[0]
    return FunctionSource(func=func, tree=tree, filename=filename, lines=lines)


def _parameter_names(node):
    a = node.args
    names = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
    names += [p.arg for p in (a.vararg, a.kwarg) if p is not None]
    return tuple(names)


def _arity(code):
    n = code.co_argcount + code.co_kwonlyargcount
    return n + bool(code.co_flags & inspect.CO_VARARGS) + bool(
        code.co_flags & inspect.CO_VARKEYWORDS)


def _at_position(node, code):
    """Whether the code's instructions lie inside the lambda's body (Python 3.11+)."""
    positions = getattr(code, "co_positions", None)
    if positions is None:
        return False
    start = (node.body.lineno, node.body.col_offset)
    end = (node.body.end_lineno, node.body.end_col_offset)
    spans = [(line, col) for line, _, col, _ in positions() if line is not None]
    return bool(spans) and all(start <= span <= end for span in spans)


def _same_code(node, code, filename):
    """Whether the lambda `node` compiles to `code` (same bytecode, names and constants)."""
    try:
        made = compile(ast.Expression(body=node), filename, "eval")
    except (SyntaxError, ValueError):
        return False
    for const in made.co_consts:
        if isinstance(const, types.CodeType) and const.co_name == "<lambda>":
            return (const.co_code == code.co_code and const.co_names == code.co_names
                    and const.co_varnames == code.co_varnames
                    and const.co_freevars == code.co_freevars
                    and const.co_consts == code.co_consts)
    return False


def _signature_text(tree):
    """`name(a, b, *args, k, **kw)` of a parsed def: parameter names in code-object order."""
    a = tree.args
    names = ir.param_names(tree)
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
