"""Golden before/after tests for each pass of the compiler, in the style of pythran's
`check_ast`: small functions, and the exact program each pass leaves, written out below.

The text is what `sourcediff show FILE.py:FUNC --dump-after PASS` prints (`cli.dump_after`):
the normalized function after PASS, for every pass of `pipeline.PREPARE` and for `aliasing`,
which runs per specialization (for the argument kinds a case gives; the command line knows
none). Expected and printed text are both compared after a round trip through this Python's
`ast.parse`/`ast.unparse`, whose printing differs between versions (3.10 writes the tuple
target `a, b = t` as `(a, b) = t`), so one expected text holds on Python 3.10 to 3.13 while any
change to the program itself fails. After an intended change to a pass, the failure message
prints the new text to paste here.
"""

import ast
import inspect
import math
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest

from sourcediff import UnsupportedSyntaxError, cli, pipeline

pytestmark = pytest.mark.quick

PASSES = [name for name, _ in pipeline.PREPARE] + ["aliasing"]


# ---- the functions ------------------------------------------------------------------------------
def documented(x: float) -> float:
    """Desugar drops the docstring, the annotation and the `pass`."""
    y: float = x * 2.0
    pass
    return y


def refuses_with(x):
    with open("log") as fh:
        fh.write("x")
    return x


def refuses_try(x):
    try:
        return 1.0 / x
    except ZeroDivisionError:
        return 0.0


def scaled_sum(w, xs):
    return sum([w * v for v in xs if v > 0])


def generator_sum(w, xs):
    return sum(w * v for v in xs)


def appends(x, w):
    out = []
    out.append(x * w)
    out.append(x)
    return out[0] + out[1]


def writes_out(a, b, c):
    np.add(a, b, out=c)
    a.fill(2.0)
    np.copyto(b, c)
    return np.sum(c)


def loop_break(x):
    s = 0.0
    for v in x:
        if v > 1.0:
            break
        s = s + v
    return s


def early_return(x):
    if x > 0:
        return x * 2
    y = x + 1
    return y


def while_augmented(x):
    i = 0
    while i < 3:
        x += 1.0
        i = i + 1
    return x


def poly(x):
    return x ** 2 - 3 * x - 2


def calls(x):
    return math.sin(x) * np.exp(x, dtype=float)


def short_circuit(x, y):
    z = x if x > y else y
    return z * 2 if 0 < x < 1 and y else z


def unpacks(p):
    a, b = p
    return a * b


def view_scaled(x):
    v = x.reshape(2, 3)
    v *= 2.0
    return np.sum(x * x)


def copy_written(x):
    y = x
    y[0] = 3.0
    return np.sum(x)


def zipped(xs, ys):
    pairs = list(zip(xs, ys))
    return pairs[0][0] * pairs[1][1]


def mapped(xs):
    return sum(map(lambda v: v * v, xs))


def nested_def(x):
    def g(v):
        return v * v + x
    return g(x) + g(2.0 * x)


# ---- the goldens --------------------------------------------------------------------------------
@dataclass
class Golden:
    stage: str          # the pass
    func: object
    expected: str       # the program after the pass, or the refusal's message for `fence`
    kinds: dict = None  # aliasing: {parameter: "scalar" | "array" | "container"}; None: unknown

    @property
    def id(self):
        kinds = "" if self.kinds is None else "-" + ",".join(sorted(set(self.kinds.values())))
        return f"{self.stage}-{self.func.__name__}{kinds}"


def G(stage, func, expected, kinds=None):
    return Golden(stage, func, textwrap.dedent(expected).strip("\n"), kinds)


def arrays(func):
    return dict.fromkeys(inspect.signature(func).parameters, "array")


def scalars(func):
    return dict.fromkeys(inspect.signature(func).parameters, "scalar")


GOLDENS = [
    # parse: the function's own definition, decorators and comments aside
    G("parse", poly, """
        def poly(x):
            return x ** 2 - 3 * x - 2
    """),
    G("parse", documented, '''
        def documented(x: float):
            """Desugar drops the docstring, the annotation and the `pass`."""
            y: float = x * 2.0
            pass
            return y
    '''),
    # fence: the tree is unchanged, or the function is refused at the offending line
    G("fence", loop_break, """
        def loop_break(x):
            s = 0.0
            for v in x:
                if v > 1.0:
                    break
                s = s + v
            return s
    """),
    G("fence", refuses_with, "a `with` block is not supported"),
    G("fence", refuses_try, "try/except is not supported"),
    # comprehensions: explicit loops with fresh loop variables; generators evaluated eagerly
    G("comprehensions", scaled_sum, """
        def scaled_sum(w, xs):
            comp1 = []
            for v1 in xs:
                if v1 > 0:
                    comp1 = _sd.append(comp1, w * v1)
            return sum(comp1)
    """),
    G("comprehensions", generator_sum, """
        def generator_sum(w, xs):
            comp1 = []
            for v1 in xs:
                comp1 = _sd.append(comp1, w * v1)
            return sum(comp1)
    """),
    # mutations: in-place calls become assignments
    G("mutations", appends, """
        def appends(x, w):
            out = []
            out = _sd.augmented(_sd.append(out, x * w))
            out = _sd.augmented(_sd.append(out, x))
            return out[0] + out[1]
    """),
    G("mutations", writes_out, """
        def writes_out(a, b, c):
            t1 = np.add(a, b)
            c[...] = t1
            a[...] = 2.0
            b[...] = c
            return np.sum(c)
    """),
    # desugar: one exit, flags for break, while conditions in names, loops over range
    G("desugar", documented, """
        def documented(x: float):
            y = x * 2.0
            return y
    """),
    G("desugar", early_return, """
        def early_return(x):
            if x > 0:
                result = x * 2
            else:
                y = x + 1
                result = y
            return result
    """),
    G("desugar", loop_break, """
        def loop_break(x):
            s = 0.0
            seq1 = _sd.sequence(x)
            stop1 = False
            for k1 in range(len(seq1)):
                v = seq1[k1]
                if v > 1.0:
                    stop1 = True
                else:
                    s = s + v
                if stop1:
                    break
            return s
    """),
    G("desugar", while_augmented, """
        def while_augmented(x):
            i = 0
            cond1 = i < 3
            while cond1:
                x = _sd.augmented(x + 1.0)
                i = i + 1
                cond1 = i < 3
            return x
    """),
    # ssa (normalize): one operation per statement; short-circuits become ifs
    G("normalize", poly, """
        def poly(x):
            t1 = x ** 2
            t2 = 3 * x
            t3 = t1 - t2
            t4 = t3 - 2
            return t4
    """),
    G("normalize", calls, """
        def calls(x):
            t1 = math.sin(x)
            t2 = np.exp(x, dtype=float)
            t3 = t1 * t2
            return t3
    """),
    G("normalize", short_circuit, """
        def short_circuit(x, y):
            t1 = x > y
            if t1:
                z = x
            else:
                z = y
            t3 = 0 < x
            t4 = t3
            if t4:
                t3 = x < 1
            t5 = t3
            if t5:
                t3 = y
            if t3:
                t2 = z * 2
            else:
                t2 = z
            return t2
    """),
    G("normalize", unpacks, """
        def unpacks(p):
            a, b = p
            t1 = a * b
            return t1
    """),
    G("normalize", while_augmented, """
        def while_augmented(x):
            i = 0
            cond1 = i < 3
            while cond1:
                t1 = x + 1.0
                x = _sd.augmented(t1)
                t2 = i + 1
                i = t2
                cond1 = i < 3
            return x
    """),
    # aliasing: `x op= e` becomes a rebinding or an in-place write; writes update the names
    # that may share the buffer
    G("aliasing", while_augmented, """
        def while_augmented(x):
            i = 0
            cond1 = i < 3
            while cond1:
                t1 = x + 1.0
                x = t1
                t2 = i + 1
                i = t2
                cond1 = i < 3
            return x
    """),
    G("aliasing", view_scaled, """
        def view_scaled(x):
            v = x.reshape(2, 3)
            t1 = v * 2.0
            t4 = _sd.is_mutable(v)
            if t4:
                t5 = _sd.whole_index(v)
                v[t5] = t1
                t6 = _sd.alias_update(x, v)
                x = t6
            else:
                v = t1
            t2 = x * x
            t3 = np.sum(t2)
            return t3
    """),
    G("aliasing", view_scaled, """
        def view_scaled(x):
            v = x.reshape(2, 3)
            t1 = v * 2.0
            v = t1
            t2 = x * x
            t3 = np.sum(t2)
            return t3
    """, kinds=scalars(view_scaled)),
    G("aliasing", copy_written, """
        def copy_written(x):
            y = x
            y[0] = 3.0
            t2 = _sd.alias_update(x, y)
            x = t2
            t1 = np.sum(x)
            return t1
    """, kinds=arrays(copy_written)),
    G("aliasing", appends, """
        def appends(x, w):
            out = []
            t1 = x * w
            t2 = _sd.append(out, t1)
            out = t2
            t3 = _sd.append(out, x)
            out = t3
            t4 = out[0]
            t5 = out[1]
            t6 = t4 + t5
            return t6
    """),
    G("aliasing", writes_out, """
        def writes_out(a, b, c):
            t1 = np.add(a, b)
            c[...] = t1
            t3 = _sd.alias_update(b, c)
            b = t3
            a[...] = 2.0
            b[...] = c
            t2 = np.sum(c)
            return t2
    """),
    G("aliasing", writes_out, """
        def writes_out(a, b, c):
            t1 = np.add(a, b)
            c[...] = t1
            a[...] = 2.0
            b[...] = c
            t2 = np.sum(c)
            return t2
    """, kinds=arrays(writes_out)),
    # iterators: zip/map/list as values become comprehensions
    G("iterators", zipped, """
        def zipped(xs, ys):
            pairs = [(u1, u2) for u1, u2 in zip(xs, ys)]
            return pairs[0][0] * pairs[1][1]
    """),
    G("iterators", mapped, """
        def mapped(xs):
            return sum([(lambda v: v * v)(u1) for u1 in xs])
    """),
    # nested: nested functions and lambdas leave the body, to be inlined after normalize
    G("nested", nested_def, """
        def nested_def(x):
            return g(x) + g(2.0 * x)
    """),
    G("nested", mapped, """
        def mapped(xs):
            return sum([lambda_1(u1) for u1 in xs])
    """),
    # inline: each call of a nested function becomes its normalized body
    G("inline", nested_def, """
        def nested_def(x):
            v_1 = x
            t5_1 = v_1 * v_1
            t6_1 = t5_1 + x
            t1 = t6_1
            t2 = 2.0 * x
            v_2 = t2
            t5_2 = v_2 * v_2
            t6_2 = t5_2 + x
            t3 = t6_2
            t4 = t1 + t3
            return t4
    """),
    G("inline", mapped, """
        def mapped(xs):
            comp1 = []
            seq1 = _sd.sequence(xs)
            t1 = len(seq1)
            t2 = range(t1)
            for k1 in t2:
                u11 = seq1[k1]
                v_1 = u11
                t6_1 = v_1 * v_1
                t3 = t6_1
                t4 = _sd.append(comp1, t3)
                comp1 = t4
            t5 = sum(comp1)
            return t5
    """),
]
# the goldens of the passes the pipeline has (a pass that is not there has nothing to check)
CHECKED = [g for g in GOLDENS if g.stage in PASSES]


def same_code(text):
    """`text` as this Python's ast.unparse prints its tree."""
    return ast.unparse(ast.parse(text))


def dump(golden):
    return cli.dump_after(golden.func, golden.stage, param_kinds=golden.kinds)


@pytest.mark.parametrize("golden", CHECKED, ids=[g.id for g in CHECKED])
def test_program_after_the_pass(golden):
    if golden.stage == "fence" and not golden.expected.startswith("def "):
        with pytest.raises(UnsupportedSyntaxError) as info:
            dump(golden)
        assert info.value.reason == golden.expected
        return
    printed = dump(golden)
    assert same_code(printed) == same_code(golden.expected), (
        f"the program after {golden.stage} changed; it is now\n{printed}")


def test_every_pass_has_goldens_that_show_it_working():
    """At least two cases per pass, and for each pass but `parse` one whose program the pass
    changes (for `fence`: one it refuses)."""
    for stage in PASSES:
        cases = [g for g in CHECKED if g.stage == stage]
        assert len(cases) >= 2, f"pass {stage!r} needs golden tests in tests/test_passes.py"
        if stage == "parse":
            continue
        previous = PASSES[PASSES.index(stage) - 1]
        changed = []
        for g in cases:
            if stage == "fence":
                changed.append(not g.expected.startswith("def "))
                continue
            before = cli.dump_after(g.func, previous)
            changed.append(same_code(before) != same_code(g.expected))
        assert any(changed), f"no golden of {stage!r} shows the pass changing the program"


def test_the_comparison_tells_programs_apart():
    """The round trip forgets layout only: a different program never compares equal."""
    assert same_code("def f(x):\n    a, b = x\n    return a") == \
        same_code("def f(x):\n    (a, b) = x\n    return a")
    assert same_code("def f(x):\n    t1 = x * 2\n    return t1") != \
        same_code("def f(x):\n    t1 = 2 * x\n    return t1")
    assert same_code("def f(x):\n    return x ** 2 - 3 * x") != \
        same_code("def f(x):\n    return x ** (2 - 3) * x")


def test_the_command_line_prints_the_same_program(tmp_path, capsys):
    path = tmp_path / "loops.py"
    path.write_text(textwrap.dedent("""
        def f(x, n):
            s = 0.0
            for v in x:
                if v > n:
                    break
                s += v * v
            return s
    """))
    func, _ = cli.load_function(f"{path}:f")
    for stage in PASSES:
        assert cli.main(["show", f"{path}:f", "--dump-after", stage]) == 0
        out, _ = capsys.readouterr()
        assert out == cli.dump_after(func, stage, ["x"]) + "\n", stage


# ---- the optimizer ------------------------------------------------------------------------------
def test_the_optimizer_keeps_a_helper_that_writes_its_argument_and_reads_before_it():
    """`_sd.put_back(a, s)` writes into `a` (its result means nothing): it stays, and a read of
    `a` computed before it is not folded into a later use, past the write."""
    import gast

    from sourcediff.passes.optimize import optimize
    tree = gast.parse(textwrap.dedent("""
        def g(a, s):
            t1 = a[0] * 2.0
            t2 = _sd.put_back(a, s)
            t3 = t1 + 1.0
            return t3
    """))
    text = ast.unparse(gast.gast_to_ast(optimize(tree.body[0])))
    assert "_sd.put_back(a, s)" in text
    assert text.index("a[0] * 2.0") < text.index("_sd.put_back(a, s)"), text


# ---- zero-wins products (`_sd.times`) -----------------------------------------------------------
def _steep_inner(z):
    return np.sqrt(z)


def _plain_inner(x):
    return x * np.array([1.0, 0.0, 1.0])


def _no_steep_operation(x):
    return np.sum(_plain_inner(x) * x ** 2)


def _steep_in_a_helper(x):
    return np.sum(_steep_inner(_plain_inner(x)))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_zero_wins_products_only_where_a_derivative_may_be_infinite(mode):
    """A unit without a steep operation (`x ** 2` is not one) is plain arithmetic; one that
    evaluates `np.sqrt` anywhere, here in a helper, makes every derivative product with an
    array `_sd.times`, the masking helper's too (else its 0 times sqrt's inf at 0 is nan)."""
    import sourcediff

    plain = sourcediff.source(sourcediff.grad(_no_steep_operation, mode=mode))
    assert "_sd.times" not in plain, plain
    steep = sourcediff.source(sourcediff.grad(_steep_in_a_helper, mode=mode))
    masking = steep[steep.index("_plain_inner("):]
    assert "_sd.times(" in masking, steep
    x = np.array([0.6, 0.3, 1.3])
    with np.errstate(divide="ignore", invalid="ignore"):
        g = sourcediff.grad(_steep_in_a_helper, mode=mode)(x)
    assert np.allclose(g, [0.5 / np.sqrt(0.6), 0.0, 0.5 / np.sqrt(1.3)], rtol=1e-12, atol=0), g
