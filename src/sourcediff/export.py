"""Export a derivative as a standalone Python module that needs only numpy and math (and
SciPy, when the function calls it).

The module holds, in order: the imports the code reads (numpy and math under the names the code
uses), the `sourcediff.runtime` helpers the generated code calls (copied from its modules, renamed
`_sd_<name>` and gathered in a small `_sd` namespace so the generated text is unchanged), the
user's own functions the derivative calls, the generated derivative source exactly as
`sourcediff show` prints it, and the public `grad_FUNC` (or `--name`) that takes the same
arguments as FUNC and returns exactly what `sourcediff.grad(FUNC, ...)` returns.

Module-level *values* of the user's module (constants, arrays, objects) are not exported: the
export stops with an `ExportError` naming them. SciPy modules and the SciPy objects the rule
table knows (functions, ufuncs, the scipy.stats distributions) are imported by the export like
numpy's, and so are the SciPy modules the copied helpers read.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import io
import math
import re
import sys
import textwrap
import tokenize
import types

import numpy as np

from . import runtime

_np = np


class ExportError(Exception):
    """The derivative cannot be written as a standalone module (the message says why)."""


# ---- the forward-mode gradient driver (copied into exports of forward-mode gradients) -----------
# ---- reading code -------------------------------------------------------------------------------
def _bound_names(fn):
    """Names a function binds locally: parameters and every assignment target."""
    out = set()
    args = fn.args
    for a in args.posonlyargs + args.args + args.kwonlyargs:
        out.add(a.arg)
    for a in (args.vararg, args.kwarg):
        if a is not None:
            out.add(a.arg)
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node is not fn:
            out.add(node.name)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
    return out


def free_names(fn):
    """Names `fn` (an ast.FunctionDef) reads but does not bind, in order of first use."""
    bound = _bound_names(fn)
    seen = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) \
                and node.id not in bound:
            seen.setdefault(node.id, None)
    return list(seen)


def attribute_reads(tree, base):
    """The attributes read as `base.<attr>` in `tree`."""
    return sorted({node.attr for node in ast.walk(tree)
                   if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                   and node.value.id == base})


# ---- the runtime helpers ------------------------------------------------------------------------
class _Runtime:
    """The runtime modules' top-level statements, and which of them a set of helpers needs."""

    def __init__(self):
        self.order = []
        self.defs = {}
        self.modules = set()
        for module in runtime.MODULES:
            try:
                with open(inspect.getsourcefile(module), encoding="utf-8") as fh:
                    tree = ast.parse(fh.read())
            except (OSError, TypeError, SyntaxError) as exc:
                raise ExportError(f"cannot read the source of {module.__name__}: {exc}") \
                    from None
            for stmt in tree.body:
                names = []
                if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
                    names = [stmt.name]
                elif isinstance(stmt, ast.Assign):
                    names = [n.id for t in stmt.targets for n in ast.walk(t)
                             if isinstance(n, ast.Name)]
                for name in names:
                    self.defs[name] = stmt
                if names:
                    self.order.append(stmt)
            self.modules |= {name for name, value in vars(module).items()
                             if isinstance(value, types.ModuleType)}

    def closure(self, names):
        """`names` plus every runtime global they read, transitively."""
        todo = [n for n in names]
        need = set()
        while todo:
            name = todo.pop()
            if name in need:
                continue
            if name not in self.defs:
                raise ExportError(f"the generated code calls _sd.{name}, which "
                                  "sourcediff.runtime does not define")
            need.add(name)
            stmt = self.defs[name]
            if isinstance(stmt, ast.FunctionDef):
                reads = free_names(stmt)
            else:
                reads = [n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)
                         and isinstance(n.ctx, ast.Load)]
            todo.extend(r for r in reads if r in self.defs)
        return need

    def render(self, need):
        """The needed statements, renamed `_sd_<name>`, numpy as `_np`, in file order."""
        renames = {name: f"_sd_{name}" for name in self.defs}
        for module in self.modules:
            value = getattr(runtime.core, module, None) or getattr(runtime, module, None)
            if value is np:
                renames[module] = "_np"
            elif value is math:
                renames[module] = "_math"
        out = []
        for stmt in self.order:
            names = {stmt.name} if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)) else {
                n.id for t in stmt.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            if not names & need:
                continue
            out.append(ast.unparse(_Rename(renames).visit(_copy(stmt))))
        return out


class _Rename(ast.NodeTransformer):
    """Renames module-level names (not a function's own locals) in one top-level statement."""

    def __init__(self, renames):
        self.renames = renames
        self.local = set()
        self.depth = 0

    def visit_FunctionDef(self, node):
        outer = self.local
        self.local = outer | (_bound_names(node) - {node.name})
        if self.depth == 0:
            node.name = self.renames.get(node.name, node.name)
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        self.local = outer
        return node

    def visit_ClassDef(self, node):
        node.name = self.renames.get(node.name, node.name)
        self.generic_visit(node)
        return node

    def visit_Name(self, node):
        if node.id not in self.local and node.id in self.renames:
            node.id = self.renames[node.id]
        return node


def _copy(node):
    return ast.parse(ast.unparse(node)).body[0]


# ---- the user's names ---------------------------------------------------------------------------
_LITERALS = (bool, int, float, complex, str, bytes, type(None))


def literal_source(value):
    """Python source that rebuilds `value`, or None when there is no simple one."""
    if isinstance(value, _LITERALS):
        if isinstance(value, float) and not math.isfinite(value):
            return f"float({str(value)!r})"
        return repr(value)
    if isinstance(value, (tuple, list)):
        parts = [literal_source(v) for v in value]
        if any(p is None for p in parts):
            return None
        if isinstance(value, tuple):
            return f"({parts[0]},)" if len(parts) == 1 else "(" + ", ".join(parts) + ")"
        return "[" + ", ".join(parts) + "]"
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return f"_np.array({value.tolist()!r}, dtype=_np.{value.dtype.name})"
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return f"_np.{value.dtype.name}({value.item()!r})"
    return None


class _Namespace:
    """The export's module namespace: each name bound once, to one thing."""

    def __init__(self):
        self.imports = {}        # name -> import line
        self.functions = {}      # name -> (object, source text)
        self.aliases = {}        # name -> source text of `name = ...`
        self.owner = {}          # name -> the object it stands for
        self.problems = []       # (name, description)
        self.runtime = set()     # runtime helpers needed
        self.pending = []        # user functions whose own names still need resolving

    def bind(self, name, obj, where):
        if name in self.owner:
            if self.owner[name] is not obj:
                self.problems.append((name, f"{where} reads {name!r}, but another part of the "
                                            f"code reads a different {name!r}; rename one"))
            return False
        self.owner[name] = obj
        return True

    def resolve(self, name, lookup, where, attrs=()):
        """Make `name` (read by code in `where`) defined in the export. `lookup(name)` gives
        (found, value) for the code's globals and closure."""
        found, value = lookup(name)
        if not found:
            if hasattr(builtins, name):
                return
            self.problems.append((name, f"{where} reads {name!r}, which is not defined"))
            return
        if value is np or value is math:
            if self.bind(name, value, where):
                module = value.__name__
                self.imports[name] = f"import {module}" if name == module else \
                    f"import {module} as {name}"
            return
        if isinstance(value, types.ModuleType):
            if value.__name__.startswith("numpy."):
                if self.bind(name, value, where):
                    self.imports[name] = f"import {value.__name__} as {name}"
                return
            if _is_scipy(value.__name__):
                if self.bind(name, value, where):
                    self.imports[name] = _scipy_imports(name, value, attrs)
                return
            if value.__name__ == "sourcediff" or value.__name__.startswith("sourcediff."):
                # only stop_gradient (the identity) can appear in code that is exported
                others = [a for a in attrs if a != "stop_gradient"]
                if others:
                    self.problems.append((name, f"{where} uses {value.__name__}.{others[0]}"))
                elif self.bind(name, value, where):
                    self.runtime.add("stop_gradient")
                    self.aliases[name] = (f"class {name}:\n    stop_gradient = "
                                          "staticmethod(_sd_stop_gradient)")
                return
            self.problems.append((name, f"{where} reads the module {value.__name__!r} as "
                                        f"{name!r}; an export may import only numpy and math"))
            return
        if value is runtime.stop_gradient:
            if self.bind(name, value, where):
                self.runtime.add("stop_gradient")
                self.aliases[name] = f"{name} = _sd_stop_gradient"
            return
        imported = _library_function(value) or _scipy_object(value, name)
        if imported is not None:
            if self.bind(name, value, where):
                module, attr = imported
                self.imports[name] = (f"from {module} import {attr}" if attr == name else
                                      f"from {module} import {attr} as {name}")
            return
        if isinstance(value, types.FunctionType):
            self.user_function(name, value, where)
            return
        kind = type(value).__name__
        self.problems.append((name, f"{where} reads the module global {name!r} (of type "
                                    f"{kind})"))

    def user_function(self, name, func, where):
        if not self.bind(name, func, where):
            return
        real = func.__name__
        if func.__closure__:
            self.problems.append((name, f"{where} calls {name!r}, a function with a closure "
                                        f"(over {', '.join(func.__code__.co_freevars)}); "
                                        "export needs module-level functions"))
            return
        try:
            source = textwrap.dedent(inspect.getsource(func))
            tree = ast.parse(source).body[0]
        except (OSError, TypeError, SyntaxError, IndexError):
            self.problems.append((name, f"{where} calls {name!r}, whose source cannot be read"))
            return
        if not isinstance(tree, ast.FunctionDef) or tree.name != real:
            self.problems.append((name, f"{where} calls {name!r}, whose source is not a "
                                        "plain `def`"))
            return
        if tree.decorator_list:
            self.problems.append((name, f"{where} calls {name!r}, a decorated function; "
                                        "export copies only undecorated functions"))
            return
        if real != name:
            if not self.bind(real, func, where):
                return
            self.aliases[name] = f"{name} = {real}"
        self.functions[real] = (func, source.rstrip() + "\n")
        self.pending.append((tree, func))

    def drain(self):
        while self.pending:
            tree, func = self.pending.pop(0)
            where = f"{func.__name__} ({_short(func.__code__.co_filename)})"
            for read in free_names(tree):
                self.resolve(read, _lookup_in(func.__globals__, {}), where,
                             attribute_reads(tree, read))


def _library_function(value):
    """(module, name) to import a numpy or math function by, or None."""
    name = getattr(value, "__name__", None)
    if not isinstance(name, str):
        return None
    for module in (np, math):
        if getattr(module, name, None) is value:
            return module.__name__, name
    owner = getattr(value, "__module__", None) or ""
    if owner.startswith("numpy.") or owner == "numpy":
        mod = sys.modules.get(owner)
        if mod is not None and getattr(mod, name, None) is value:
            return owner, name
    return None


def _is_scipy(module_name):
    return module_name == "scipy" or module_name.startswith("scipy.")


def _scipy_imports(name, module, attrs):
    """The import lines that bind `name` to the SciPy module `module` with the submodules the
    code reads from it (`scipy.linalg.solve` needs `import scipy.linalg`)."""
    lines = []
    if name == module.__name__.split(".")[0] and name == "scipy":
        subs = [a for a in attrs if isinstance(getattr(module, a, None), types.ModuleType)]
        lines = [f"import scipy.{a}" for a in subs] or ["import scipy"]
    elif module.__name__ == name:
        lines = [f"import {name}"]
    else:
        lines = [f"import {module.__name__} as {name}"]
    return "\n".join(lines)


_SCIPY_MODULES = ("scipy.special", "scipy.stats", "scipy.linalg")
# standard-library modules runtime helpers may read (an export imports the ones it copies use)
_STDLIB = {"types", "functools", "threading", "dataclasses", "copy", "inspect", "sys"}


def _scipy_object(value, name):
    """(module, name) to import a SciPy function or distribution object by, or None: the
    public SciPy modules the rule table covers, searched for the object itself."""
    for module_name in _SCIPY_MODULES:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        if getattr(module, name, None) is value:
            return module_name, name
        for attr, obj in vars(module).items():
            if obj is value and not attr.startswith("_"):
                return module_name, attr
    return None


def _helper_scipy_imports(helpers):
    """`import scipy.<sub>` for each SciPy submodule the copied runtime helpers read."""
    subs = set()
    for text in helpers:
        for node in ast.walk(ast.parse(text)):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "scipy"):
                subs.add(node.attr)
    return {f"import scipy.{sub}" for sub in subs}


def helper_imports(helpers):
    """The imports the copied runtime helpers (rendered statements) need."""
    reads = {n.id for h in helpers for n in ast.walk(ast.parse(h)) if isinstance(n, ast.Name)}
    imports = {"import numpy as _np"}
    if "_math" in reads:
        imports.add("import math as _math")
    imports |= {f"import {module}" for module in _STDLIB & reads}
    if "scipy" in reads:
        imports |= _helper_scipy_imports(helpers)
    return imports


def _lookup_in(globals_, closure):
    def lookup(name):
        if name in closure:
            return True, closure[name]
        if name in globals_:
            return True, globals_[name]
        return False, None
    return lookup


def _closure_values(fn):
    out = {}
    for var, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True):
        try:
            out[var] = cell.cell_contents
        except ValueError:
            pass
    return out


def _is_generated(value):
    return isinstance(value, types.FunctionType) and \
        value.__code__.co_filename.startswith("<sourcediff")


def generated_functions(top):
    """{name: function} for the compiled top function and every generated function it can reach
    (they see each other as closure variables of the factory that made them)."""
    found = {top.__name__: top}
    todo = [top]
    while todo:
        fn = todo.pop()
        for value in _closure_values(fn).values():
            if _is_generated(value) and value.__name__ not in found:
                found[value.__name__] = value
                todo.append(value)
    return found


def _short(filename):
    return filename.replace("\\", "/").rsplit("/", 1)[-1]


# ---- the export ---------------------------------------------------------------------------------
def _compiled(d):
    """The compiled general specialization behind `d.source`."""
    text = d.source
    spec = d.specs.get((None,) * len(d.params))
    if spec is None or spec.text != text:
        raise ExportError("internal: cannot find the compiled derivative behind .source")
    return text, spec.fn


def _signature(func):
    """The parameter list of `func` as source (defaults as literals), and the argument list
    passing each parameter positionally."""
    sig = inspect.signature(func)
    parts, names = [], []
    kinds = inspect.Parameter
    saw_star = False
    posonly = False
    for p in sig.parameters.values():
        if p.kind is kinds.POSITIONAL_ONLY:
            posonly = True
        elif posonly:
            parts.append("/")
            posonly = False
        if p.kind is kinds.KEYWORD_ONLY and not saw_star:
            parts.append("*")
            saw_star = True
        text = p.name
        if p.default is not p.empty:
            default = literal_source(p.default)
            if default is None:
                raise ExportError(f"the default value of parameter {p.name!r} of "
                                  f"{func.__name__} ({type(p.default).__name__}) cannot be "
                                  "written as a literal")
            text += f"={default}"
        parts.append(text)
        names.append(p.name)
    if posonly:
        parts.append("/")
    plain = all(p.kind is kinds.POSITIONAL_OR_KEYWORD and p.default is p.empty
                for p in sig.parameters.values())
    return ", ".join(parts), names, plain


def _rename_def(text, old, new):
    """Rename the generated function `old` (defined once, never called by the text)."""
    if old == new:
        return text
    count = 0
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NAME and tok.string == old:
            count += 1
    pattern = re.compile(rf"^def {re.escape(old)}\(", re.M)
    if count != 1 or len(pattern.findall(text)) != 1:
        return text + f"\n\n{new} = {old}\n"
    return pattern.sub(f"def {new}(", text)


def export_source(func, wrt=0, mode="reverse", name=None, origin=None):
    """The text of a standalone module computing `sourcediff.grad(func, wrt, mode=mode)`.

    Returns (text, public function name). Raises ExportError (or a SourceDiffError from the
    compiler) when that is not possible.
    """
    import sourcediff

    d = sourcediff.grad(func, wrt=wrt, mode=mode)
    text, top = _compiled(d)
    tree = ast.parse(text)
    origin = origin or f"{_short(func.__code__.co_filename)}:{func.__qualname__}"
    public = name or d.__name__     # grad_FUNC, in both modes
    if not public.isidentifier() or public.startswith("_sd"):
        raise ExportError(f"--name {public!r} is not a usable Python name")
    ns = _user_names(func, tree, generated_functions(top), origin)
    text, wrapper, params = _public_function(func, d, mode, public, top, text, ns)
    runtime_reads = set(attribute_reads(tree, "_sd")) | ns.runtime
    if mode == "forward":
        runtime_reads.add("forward_gradient")
    if runtime_reads & {"dynamic_vjp", "dynamic_jvp"}:
        raise ExportError(f"cannot export the gradient of {origin}: it calls a function known "
                          "only at run time (a parameter, a method of an object, a lambda "
                          "from a list), whose derivative sourcediff compiles when it meets "
                          "it; an export needs every callee known when it is written")
    rt = _Runtime()
    helpers = rt.render(rt.closure(runtime_reads))
    imports = helper_imports(helpers)
    imports.update(line for lines in ns.imports.values() for line in lines.split("\n"))
    doc = _module_doc(func, d, mode, origin, public, params, imports)
    namespace = ["class _sd:", '    """The runtime helpers, as the generated code calls them."""',
                 ""]
    for helper in sorted(runtime_reads):
        if isinstance(rt.defs[helper], ast.ClassDef):
            namespace.append(f"    {helper} = _sd_{helper}")
        else:
            namespace.append(f"    {helper} = staticmethod(_sd_{helper})")
    # blocks, separated by two blank lines
    blocks = [doc + "\n\n" + "\n".join(sorted(imports, key=_import_order)),
              _section("sourcediff runtime helpers (copied from sourcediff/runtime/)")
              + "\n\n" + helpers[0] if helpers else "",
              *helpers[1:], "\n".join(namespace)]
    user = [source.rstrip() for _, source in ns.functions.values()]
    user += list(ns.aliases.values())
    if user:
        blocks += [_section("from the user's code") + "\n\n" + user[0], *user[1:]]
    blocks.append(_section("generated by sourcediff") + "\n\n" + text.rstrip())
    if wrapper:
        blocks.append("\n".join(wrapper))
    blocks.append(f"__all__ = [{public!r}]")
    module_text = "\n\n\n".join(b for b in blocks if b) + "\n"
    try:
        compile(module_text, f"<export of {origin}>", "exec")
    except SyntaxError as exc:  # a bug in this module
        raise ExportError(f"internal: the exported module does not compile: {exc}") from None
    return module_text, public


def _user_names(func, tree, generated, origin):
    """The namespace of what the generated functions in `tree` read (user functions, imports,
    default values); raises ExportError listing what cannot be exported."""
    defs = {fn.name: fn for fn in tree.body if isinstance(fn, ast.FunctionDef)}
    ns = _Namespace()
    for reserved, value in (("_sd", runtime), ("_np", np), ("_math", math)):
        ns.owner[reserved] = value
    for fn_name in defs:
        ns.bind(fn_name, generated.get(fn_name, fn_name), "the derivative")
    for fn_name, fn_tree in defs.items():
        compiled = generated.get(fn_name)
        if compiled is None:
            raise ExportError(f"internal: no compiled function for {fn_name}")
        closure = {k: v for k, v in _closure_values(compiled).items() if not _is_generated(v)}
        lookup = _lookup_in(compiled.__globals__, closure)
        for read in free_names(fn_tree):
            if read in defs:
                continue
            found, value = lookup(read)
            if found and value is runtime and read == "_sd":
                continue
            if found and read not in compiled.__globals__ and read.endswith("_default"):
                _default_value(ns, read, value)
                continue
            ns.resolve(read, lookup, f"{fn_name} (derivative of "
                                     f"{func.__qualname__})", attribute_reads(fn_tree, read))
    ns.drain()
    if ns.problems:
        lines = [f"cannot export the gradient of {origin}:"]
        lines += [f"  {name_}: {why}" for name_, why in ns.problems]
        globals_ = [n for n, why in ns.problems if "module global" in why]
        if globals_:
            lines.append("export does not support module globals other than imports and "
                         f"functions ({', '.join(globals_)}): pass the values as arguments "
                         "or write them inside the function")
        raise ExportError("\n".join(lines))
    return ns


def _default_value(ns, read, value):
    """Bind a default argument value the derivative reads, written as a literal."""
    source = literal_source(value)
    if source is None:
        ns.problems.append((read, f"the derivative needs a default argument value of type "
                                  f"{type(value).__name__}, which cannot be written as a "
                                  "literal"))
    elif ns.bind(read, value, "the derivative"):
        ns.aliases[read] = f"{read} = {source}"


def _public_function(func, d, mode, public, top, text, ns):
    """(the generated text, the lines of the public wrapper or [], the parameter names): the
    public function is the generated one renamed when its signature is the user's, else a
    wrapper with the user's signature."""
    sig_text, params, plain = _signature(func)
    arg_list = ", ".join(params)
    arg_tuple = "(" + arg_list + ("," if len(params) == 1 else "") + ")"
    taken = set(ns.owner) - {top.__name__}
    if public in taken or (mode == "forward" and public == top.__name__):
        raise ExportError(f"the name {public!r} is already used in the export; pick another "
                          "one with --name")
    if mode == "forward":
        body = (f"return _sd.forward_gradient({top.__name__}, {arg_tuple}, "
                f"{tuple(d.wrt_index)!r}, {d.wrt_tuple!r})[1]")
    else:
        impl = public
        if not plain:
            impl = f"_{public}_impl"
            while impl in taken:
                impl = "_" + impl
        text = _rename_def(text, top.__name__, impl)
        body = f"return {impl}({arg_list})"
        if plain:
            return text, [], params
    wrt_repr = repr(tuple(d.wrt_names)) if d.wrt_tuple else repr(d.wrt_names[0])
    wrapper = [f"def {public}({sig_text}):",
               f'    """The gradient of {func.__qualname__} with respect to '
               f'{", ".join(d.wrt_names)}.',
               "",
               f"    The same as sourcediff.grad({func.__name__}, wrt={wrt_repr}, "
               f'mode={mode!r})(...).',
               '    """',
               f"    {body}"]
    return text, wrapper, params


def _module_doc(func, d, mode, origin, public, params, imports):
    import sourcediff

    usage = f"sourcediff export {origin} -o FILE.py"
    if mode != "reverse":
        usage += f" --mode {mode}"
    needs = "numpy and math"
    if any(re.match(r"(import|from) scipy\b", line) for line in imports):
        needs = "numpy, math and scipy"
    return "\n".join([
        f'"""The gradient of {origin}, exported by sourcediff {sourcediff.__version__} '
        f"({mode} mode).",
        "",
        f"    {public}({', '.join(params)}) -> d {func.__name__} / d {', '.join(d.wrt_names)}",
        "",
        f"Standalone: needs only {needs}. Regenerate it with",
        f"    {usage}",
        '"""'])


def _section(title):
    return f"# ---- {title} ".ljust(99, "-")


def _import_order(line):
    return (line.startswith("from "), line)
