"""The rule registry: what a rule is, how the table declares one, and how templates are read.

A rule describes `y = func(p1, p2, ...)`. For each parameter it may give
* an adjoint template: the contribution to `d[p]` given `d[y]` (reverse mode), and
* a tangent template: the term `d[p]` adds to `d[y]` (forward mode).
Templates are Python expressions over the parameter names, `y`, `d[...]`, `np`, `math` and `_sd`
(the runtime). `elementwise` rules broadcast their arguments; their adjoints are summed back to
each argument's shape by `_sd.unbroadcast` (only where shapes may differ).
"""

from __future__ import annotations

import inspect
import sys
import textwrap
import threading
import types
from dataclasses import dataclass, field

import gast

from .. import ir
from .. import nodes as N
from ..errors import SourceDiffError

RULES = {}        # id(func) -> Rule; a bound method: ("bound", id(instance), name) -> Rule
METHODS = {}      # ndarray method or attribute name -> Rule (receiver first)
NONDIFFERENTIABLE = {}   # id(func) -> display name; outputs carry no derivative
NONDIFFERENTIABLE_CLASSES = {}   # id(class) -> (class, display name, method names left out)
DECLARED = {}     # display name -> modes: rules of a table that registers on first use
_LOADERS = []     # [module name, loader, done]: tables to register once that module imports
_LOADING = threading.RLock()
_KEEP = []        # keeps registered objects alive so their ids stay unique
VERSION = [0]     # bumped by every registration after import, so compiled code can go stale


@dataclass
class Rule:
    func: object
    name: str
    params: tuple                      # parameter names, in call order
    defaults: dict                     # param -> default value (source text)
    adjoint: dict                      # param -> template source
    tangent: dict                      # param -> template source; key None: whole expression
    elementwise: bool = False
    scalar_out: bool = False           # output is a scalar whatever the inputs
    attribute: bool = False            # a method rule read as an attribute (x.T)
    user: bool = False
    static: tuple = ()                 # parameters read only for shapes/options: no derivative
    _parsed: dict = field(default_factory=dict, repr=False)

    @property
    def differentiable(self):
        return tuple(p for p in self.params if p not in self.static)

    def template(self, source):
        node = self._parsed.get(source)
        if node is None:
            node = self._parsed[source] = N.parse_expr(source)
        return node

    def bind(self, args, keywords):
        """Map a call's positional and keyword atoms to this rule's parameters.

        Returns {param: atom node}; missing parameters get their default (as a node).
        Raises TypeError when the call does not fit the signature.
        """
        if len(args) > len(self.params):
            raise TypeError(f"{self.name} takes at most {len(self.params)} arguments")
        bound = dict(zip(self.params, args))
        for kw in keywords:
            if kw.arg not in self.params:
                raise TypeError(f"{self.name} has no argument {kw.arg!r} that sourcediff knows")
            if kw.arg in bound:
                raise TypeError(f"{self.name} got {kw.arg!r} twice")
            bound[kw.arg] = kw.value
        for param in self.params:
            if param not in bound:
                if param not in self.defaults:
                    raise TypeError(f"{self.name} needs the argument {param!r}")
                bound[param] = N.parse_expr(self.defaults[param])
        return bound


def _bound_self(func):
    """The instance a bound method (`scipy.stats.norm.logpdf`, `rng.normal`) is bound to, or
    None for anything else (functions, ufuncs, builtins bound to their module)."""
    owner = getattr(func, "__self__", None)
    if owner is None or isinstance(owner, (types.ModuleType, type)):
        return None
    if isinstance(func, (types.MethodType, types.BuiltinMethodType)) or \
            type(func).__name__ == "method":
        return owner
    return None


def _key(func):
    """The registry key of `func`. A bound method is a new object at every attribute read
    (`scipy.stats.norm.logpdf is scipy.stats.norm.logpdf` is False), so it is keyed by its
    instance and its name; everything else by its identity."""
    owner = _bound_self(func)
    if owner is not None:
        return ("bound", id(owner), func.__name__)
    return id(func)


def _register(func, rule):
    owner = _bound_self(func)
    _KEEP.append(func if owner is None else owner)
    RULES[_key(func)] = rule
    VERSION[0] += 1


def _signature(sig):
    """Parameter names and default sources of a signature string like "x, axes=(0, 1)"."""
    import ast
    node = ast.parse(f"def _({sig}): pass").body[0].args
    params = tuple(a.arg for a in node.args)
    defaults = {a.arg: ast.unparse(d) for a, d in
                zip(node.args[len(node.args) - len(node.defaults):], node.defaults, strict=True)}
    return params, defaults


def _display(func):
    module = getattr(func, "__module__", None) or ""
    qual = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    if module in ("builtins", "_operator", "operator"):
        return qual if module == "builtins" else f"operator.{qual}"
    if module.startswith("sourcediff.runtime."):   # helpers are read as `sourcediff.runtime.X`
        module = "sourcediff.runtime"
    return f"{module}.{qual}" if module else qual


def elementwise(func, sig, name=None, steep=(), **partials):
    """`y = func(...)` acting elementwise; `partials[p]` is the expression for dy/dp.

    The adjoint of p is `d[y] * partial` and its tangent term `d[p] * partial`. `steep`
    names the parameters whose partial can be infinite (or 0/0) where `y` is finite (sqrt at 0,
    arcsin at 1): their products are `_sd.times`, where an exact zero derivative wins over the
    infinite partial (an element that does not move has derivative 0). A function that
    evaluates one is steep (`Analysis.steep`): all its products of derivatives are
    `_sd.times` then, so that a zero partial downstream (a mask, a clip) stops the infinity.
    """
    params, defaults = _signature(sig)
    adjoint, tangent = partial_templates(partials, steep)
    _register(func, Rule(func, name or _display(func), params, defaults, adjoint, tangent,
                         elementwise=True))


def partial_templates(partials, steep=()):
    """The adjoint and tangent templates of an elementwise function from its partials (see
    `elementwise`; `steep` is a tuple or a comma list of parameter names)."""
    if isinstance(steep, str):
        steep = tuple(p.strip() for p in steep.split(","))
    adjoint, tangent = {}, {}
    for param, partial in partials.items():
        if partial == "1":
            adjoint[param], tangent[param] = "d[y]", f"d[{param}]"
        elif partial == "-1":
            adjoint[param], tangent[param] = "-d[y]", f"-d[{param}]"
        elif param in steep:
            adjoint[param] = f"_sd.times(d[y], {partial})"
            tangent[param] = f"_sd.times(d[{param}], {partial})"
        else:
            adjoint[param] = f"d[y] * ({partial})"
            tangent[param] = f"d[{param}] * ({partial})"
    return adjoint, tangent


def rule(func, sig, *, adjoint, tangent, name=None, elementwise=False, scalar_out=False,
         static=()):
    """A rule given by explicit adjoint and tangent templates, one entry per parameter.

    `static` names parameters that only carry shapes or options (no derivative flows through
    them); any other parameter without a template is an error when its argument is active.
    """
    params, defaults = _signature(sig)
    if isinstance(static, str):
        static = tuple(p.strip() for p in static.split(","))
    _register(func, Rule(func, name or _display(func), params, defaults, dict(adjoint),
                         dict(tangent), elementwise=elementwise, scalar_out=scalar_out,
                         static=tuple(static)))


def method(name, func, attribute=False):
    """`x.name(...)` (or the attribute `x.name`) means `func(x, ...)`."""
    base = RULES[id(func)]
    METHODS[name] = Rule(func, f"ndarray.{name}", base.params, base.defaults, base.adjoint,
                         base.tangent, base.elementwise, base.scalar_out, attribute=attribute,
                         static=base.static)


def nondifferentiable(*funcs, names=None):
    """Functions whose outputs carry no derivative (integers, booleans, indices, constants);
    `names` optionally gives their display names, in order."""
    for k, func in enumerate(funcs):
        owner = _bound_self(func)
        _KEEP.append(func if owner is None else owner)
        NONDIFFERENTIABLE[_key(func)] = names[k] if names else _display(func)
    VERSION[0] += 1


def nondifferentiable_methods(cls, name=None, exclude=()):
    """Every method of `cls`, called on any instance (`rng.normal(...)` for a module-level
    `rng = np.random.default_rng(0)`), is nondifferentiable, except those named in `exclude`."""
    _KEEP.append(cls)
    NONDIFFERENTIABLE_CLASSES[id(cls)] = (cls, name or _display(cls), frozenset(exclude))
    VERSION[0] += 1


def is_nondifferentiable(func):
    """Whether `func` (a resolved callee) was declared nondifferentiable, itself or as a
    method of a class declared with `nondifferentiable_methods`."""
    if id(func) in NONDIFFERENTIABLE:
        return True
    owner = _bound_self(func)
    if owner is None:
        return False
    if ("bound", id(owner), func.__name__) in NONDIFFERENTIABLE:
        return True
    for klass in type(owner).__mro__:
        entry = NONDIFFERENTIABLE_CLASSES.get(id(klass))
        if entry is not None:
            return func.__name__ not in entry[2]
    return False


def lookup(func):
    rule_ = RULES.get(id(func))
    if rule_ is None and _bound_self(func) is not None:
        rule_ = RULES.get(_key(func))
    if rule_ is None and load_pending():
        return lookup(func)
    return rule_


def declare(name, adjoint=None, tangent=None, nondifferentiable=False):
    """List a rule of a table that registers later (or never, without its library), so the
    listing (`sourcediff rules`, docs/rules.md) is the same with or without the library."""
    DECLARED[name] = ["nondifferentiable"] if nondifferentiable else \
        [m for m, t in (("reverse", adjoint), ("forward", tangent)) if t]


def lazy(module, loader):
    """Run `loader()` (which registers a table's rules) once, the first time a lookup misses
    after `module` has been imported: importing sourcediff does not import SciPy."""
    _LOADERS.append([module, loader, False])


def load_pending():
    """Run the lazy loaders whose module is imported; whether any ran."""
    ran = False
    for entry in _LOADERS:
        if not entry[2] and entry[0] in sys.modules:
            with _LOADING:
                if not entry[2]:
                    entry[2] = True
                    try:
                        entry[1]()
                    except BaseException:
                        entry[2] = False
                        raise
                    ran = True
    return ran


def lookup_method(name):
    return METHODS.get(name)


# -- user rules: @sourcediff.adjoint(func) and @sourcediff.tangent(func)
def _template_function(template, what):
    try:
        source = textwrap.dedent(inspect.getsource(template))
    except (OSError, TypeError) as exc:
        raise SourceDiffError(f"cannot read the source of the {what} template: {exc}") from None
    tree = gast.parse(source).body[0]
    params = [a.id for a in tree.args.args]
    if not params:
        raise SourceDiffError(f"the {what} template must take the output then the inputs: "
                              "def _(y, x): ...")
    return tree, params


def _d_target(node):
    """'x' for the target `d[x]`, else None."""
    if (isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name)
            and node.value.id == "d" and isinstance(node.slice, gast.Name)):
        return node.slice.id
    return None


def _user_rule(func, params):
    existing = lookup(func)
    if existing is not None and existing.user and existing.params == tuple(params[1:]):
        return existing
    rule_ = Rule(func, _display(func), tuple(params[1:]), {}, {}, {}, user=True)
    _register(func, rule_)
    return rule_


def _rename_output(source, out_name):
    """Templates call the output whatever they like; the table calls it `y`."""
    if out_name == "y":
        return source
    node = N.parse_expr(source)
    for sub in ir.walk(node):
        if isinstance(sub, gast.Name) and sub.id == out_name:
            sub.id = "y"
    from ..codegen import to_source
    return to_source(node)


def register_user_adjoint(func, template):
    tree, params = _template_function(template, "adjoint")
    rule_ = _user_rule(func, params)
    from ..codegen import to_source
    for stmt in tree.body:
        if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant):
            continue
        target = _d_target(stmt.targets[0]) if isinstance(stmt, gast.Assign) else None
        if target is None or target not in rule_.params:
            raise SourceDiffError(
                f"adjoint template for {rule_.name}: each statement must be `d[<input>] = ...`"
                f" with an input among {', '.join(rule_.params)}")
        rule_.adjoint[target] = _rename_output(to_source(stmt.value), params[0])
    rule_._parsed.clear()
    VERSION[0] += 1
    return template


def register_user_tangent(func, template):
    tree, params = _template_function(template, "tangent")
    rule_ = _user_rule(func, params)
    from ..codegen import to_source
    body = [s for s in tree.body
            if not (isinstance(s, gast.Expr) and isinstance(s.value, gast.Constant))]
    if (len(body) != 1 or not isinstance(body[0], gast.Assign)
            or _d_target(body[0].targets[0]) != params[0]):
        raise SourceDiffError(f"tangent template for {rule_.name}: write one statement "
                              f"`d[{params[0]}] = ...` in terms of the inputs' d[...]")
    rule_.tangent = {None: _rename_output(to_source(body[0].value), params[0])}
    rule_._parsed.clear()
    VERSION[0] += 1
    return template


def rule_listing():
    """(name, modes) for every rule, sorted: the reference `sourcediff rules` prints."""
    rows = {}
    for rule_ in RULES.values():
        modes = []
        if rule_.adjoint:
            modes.append("reverse")
        if rule_.tangent:
            modes.append("forward")
        rows[rule_.name] = modes
    for rule_ in METHODS.values():
        if rule_.func is None or not rule_.differentiable:
            rows[rule_.name] = ["nondifferentiable"]
        else:
            rows[rule_.name] = [m for m, t in (("reverse", rule_.adjoint),
                                                ("forward", rule_.tangent)) if t]
    for name in NONDIFFERENTIABLE.values():
        rows[name] = ["nondifferentiable"]
    for _, name, _exclude in NONDIFFERENTIABLE_CLASSES.values():
        rows[f"{name}.*"] = ["nondifferentiable"]
    for name, modes in DECLARED.items():
        rows.setdefault(name, modes)
    return sorted(rows.items())
