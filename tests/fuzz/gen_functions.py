"""Module-level functions the main function calls: helpers with defaults and keyword-only
parameters, bounded recursion, helpers that write into their parameter, and a closure whose
free variable has the same name as a global another helper reads."""

from __future__ import annotations

from .program import Expr, Function, If, Line, Param, Raw, leaf
from .scope import Callee, Scope
from .typesys import FLOAT, Ty, arr, list_of


def _module_name(g, prefix):
    """A fresh module-level name; with ``names``, sometimes one the compiler derives from an
    existing helper (``fwd_h1``, ``bwd_h1``, ``jvp_h1``)."""
    if g.on("names") and g.callees and g.chance(0.4):
        base = g.pick(g.callees).name
        name = f"{g.pick(['fwd', 'bwd', 'jvp', 'grad'])}_{base}"
        if name not in g.module_names:
            g.module_names.add(name)
            return name
    names = g.new_names()
    names.colliding = False
    name = names.fresh(prefix)
    g.module_names.add(name)
    return name


def _value_type(g):
    if not g._arrays_on() or g.chance(0.5):
        return FLOAT
    return arr(*g.pick([(3,), (2, 3)]))


def make_helper(g):
    """``def h(a, b=0.5, *, scale=1.0): ...; return ...`` with a generated body."""
    name = _module_name(g, "h")
    names = g.new_names()
    params = [(names.fresh("a"), _value_type(g), None, False)]
    if g.chance(0.6):
        params.append((names.fresh("b"), FLOAT, g.pick(["0.5", "1.5", "-0.3"]), False))
    if g.chance(0.4):
        params.append((names.take(g.pick(["scale", "shift"])), FLOAT, "1.0", True))
    ret = _value_type(g)
    scope = Scope({}, names, ret=ret, depth=1)
    for pname, ty, _, _ in params:
        scope.add(pname, ty, param=True)
    body, tags = [], {"helpers:def"}
    if g.chance(0.3):
        body += g.tuple_assign(scope) or []
        tags.add("helpers:tuple-first")
    body += g.body(scope, g.rng.randint(1, 2))
    body.append(_return_mixing(g, scope, ret))
    if any(p[2] is not None for p in params):
        tags.add("helpers:default")
    fn = Function(name, [Param(n, dflt, kw) for n, _, dflt, kw in params], body,
                  frozenset(tags))
    g.add_block(fn, Callee(name, params, ret))


def _return_mixing(g, scope, ret):
    """``return`` a value of type ``ret`` that depends on the last value the body defined
    (or the first parameter), so the helper's statements matter."""
    e = g.expr(scope, ret, 2)
    numeric = [n for n in scope.defined if scope.vars[n].ty.numeric]
    last = numeric[-1] if numeric else None
    if last is None:
        return Line("return {0:b}", [e])
    term = last if scope.vars[last].ty == FLOAT else f"np.sum({last})"
    return Line(f"return 0.5 * {{0}} + 0.5 * np.tanh({term})", [e])


def make_recursive(g):
    """``def rec(v, n): if n <= 0: return base(v); return combine(rec(step(v), n - 1), v)``."""
    name = _module_name(g, "rec")
    names = g.new_names()
    ty = _value_type(g)
    v, n = names.take("v"), names.take("n")
    scope = Scope({}, names, ret=ty, depth=1)
    scope.add(v, ty, param=True)
    base = g.expr(scope, ty, 1)
    step = Expr("np.sin({0:b})" if g.on("numpy") or ty == FLOAT else "0.5 * {0}",
                [g.expr(scope, ty, 1)], ty)
    inner = Expr(f"{name}({{0:b}}, {n} - 1)", [step], ty, ["recursion:call"])
    combine = Expr("0.5 * {0} + 0.5 * np.tanh({1:b})", [inner, leaf(v, ty)], ty)
    body = [If([leaf(f"{n} <= 0")], [[Line("return {0:b}", [base])]], []),
            Line("return {0:b}", [combine])]
    fn = Function(name, [Param(v), Param(n)], body, frozenset({"recursion:def"}))
    g.add_block(fn, Callee(name, [(v, ty, None, False), (n, Ty("count"), None, False)], ty,
                           tag="recursion:call"))


def make_mutating_helper(g):
    """A helper that writes into its array parameter and returns it (or a value of it):
    ``def hm(a): a /= 3.0 + np.sum(a * a); return a``; with ``containers``, sometimes one that
    writes into the arrays a list parameter holds, or into its slots:
    ``def hm(ws): ws[0] *= 1.0 + 0.3 * np.tanh(ws[0]); return np.sum(ws[-1])``."""
    name = _module_name(g, "hm")
    shape = g.pick([(3,), (2, 3)])
    ty = arr(*shape)
    if g.on("containers") and g.chance(0.35):
        write = g.pick(["ws[0] *= 1.0 + 0.3 * np.tanh(ws[0])", "ws[-1] += np.sin(ws[0])",
                        "ws[0][...] = np.tanh(ws[1])", "ws[0] = np.sin(ws[1])"])
        ret, value = g.pick([(FLOAT, "np.sum(ws[0])"), (ty, "0.5 * ws[-1]")])
        body = [Line(write, [], ["alias:helper-write-items"]), Line(f"return {value}")]
        fn = Function(name, [Param("ws")], body, frozenset({"alias:helper-write-items"}))
        g.add_block(fn, Callee(name, [("ws", list_of(ty, 2), None, False)], ret, mutates=(0,),
                               tag="alias:helper-write-items"))
        return
    write = g.pick(["a /= 3.0 + np.sum(a * a)", "a *= 1.0 + 0.3 * np.tanh(a)",
                    "a[0] = np.sin(a[-1])", "a += np.sin(a)", "a[:] = np.tanh(a)"])
    ret, value = g.pick([(ty, "a"), (ty, "0.5 * a"), (FLOAT, "np.sum(a)")])
    body = [Line(write, [], ["alias:helper-write"]), Line(f"return {value}")]
    fn = Function(name, [Param("a")], body, frozenset({"alias:helper-write"}))
    g.add_block(fn, Callee(name, [("a", ty, None, False)], ret, mutates=(0,),
                           tag="alias:helper-write"))


def make_closure(g):
    """A global ``G``, a factory closing over a parameter also named ``G``, and a helper
    reading the global ``G``; the main function may also have a local of that name."""
    shared = g.pick(["c", "d", "result", "scale", "dx", "value"])
    factory = _module_name(g, "make_scaled")
    scaled = _module_name(g, "scaled")
    shifted = _module_name(g, "shifted")
    text = (f"{shared} = 0.7\n\n\n"
            f"def {factory}({shared}):\n"
            f"    def inner(v):\n"
            f"        return {shared} * np.tanh(v)\n"
            f"    return inner\n\n\n"
            f"{scaled} = {factory}(1.3)\n\n\n"
            f"def {shifted}(v):\n"
            f"    return v + {shared}")
    g.add_block(Raw(text, frozenset({"names:closure"})))
    g.callees.append(Callee(scaled, [("v", None, None, False)], None, tag="names:closure",
                            poly=True))
    g.callees.append(Callee(shifted, [("v", None, None, False)], None, tag="names:global",
                            poly=True))
