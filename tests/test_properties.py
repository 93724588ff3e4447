"""Property tests: randomly generated programs, differentiated by sourcediff, against FD.

Each program is generated as source text, written to a real .py file and imported, so that
``inspect.getsource`` works on it exactly as on hand-written code.  Every generated
expression maps values in [-3, 3] back into [-3, 3], so intermediate values stay bounded and
finite differences stay accurate.  Examples where the function is not smooth near the inputs
(a branch switches within ~2e-3) are rejected by comparing two FD stencils.
"""

import importlib.util
import itertools
import sys

import numpy as np
import pytest
from fd import assert_close, central_fd
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

MODES = ("reverse", "forward")

# Binary/unary templates over floats; each maps |a|, |b| <= 3 into [-3, 3].
SCALAR_TEMPLATES = [
    "0.5 * ({a} + {b})",
    "0.5 * ({a} - {b})",
    "{a} * math.tanh({b})",
    "math.sin({a}) * {b}",
    "{a} / (1.0 + {b} * {b})",
    "{a} * {b} / (1.0 + {a} * {a})",
    "math.cos({a}) + 0.5 * {b}",
    "math.exp(math.sin({a})) - 1.0",
    "math.tanh({a} * {b})",
    "np.tanh({a}) + math.sin({b})",
    "math.sqrt(1.0 + {a} * {a}) - 1.0",
    "math.log(1.0 + {a} * {a})",
    "{a} ** 3 / (1.0 + {a} ** 2)",
    "math.exp(-{a} * {a}) * {b}",
    "0.2 * {a} * {a} - 0.3 * {b}",
    "-{a}",
    "pow({a}, 2) / (3.0 + {b} * {b})",
]

# Elementwise templates over arrays/scalars (NumPy broadcasting); same bound.
ARRAY_TEMPLATES = [
    "0.5 * ({a} + {b})",
    "0.5 * ({a} - {b})",
    "{a} * np.tanh({b})",
    "np.sin({a}) * {b}",
    "{a} / (1.0 + {b} * {b})",
    "np.cos({a}) + 0.5 * {b}",
    "np.exp(np.sin({a})) - 1.0",
    "np.tanh({a} * {b})",
    "np.sqrt(1.0 + {a} * {a}) - 1.0",
    "np.log(1.0 + {a} * {a})",
    "{a} ** 3 / (1.0 + {a} ** 2)",
    "np.exp(-{a} * {a}) * {b}",
    "-{a}",
    "np.mean({a}) * np.tanh({b})",
    "np.tanh(np.sum({a})) * {b}",
]

COMPARISONS = (">", "<", ">=", "<=")

HEADER = "import math\n\nimport numpy as np\n\n\n"

_COUNTER = itertools.count()


@pytest.fixture(scope="module")
def gen_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("generated_programs")


def load_function(directory, source, name="f"):
    """Write ``source`` to a fresh module file, import it, and return ``name`` from it."""
    mod_name = f"sd_generated_{next(_COUNTER)}"
    path = directory / f"{mod_name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)
    return getattr(module, name)


def smooth_here(f, args, wrt):
    """Two-point FD (step 1e-6) agrees with five-point FD (step 1e-3)."""
    fine = central_fd(f, args, wrt)
    coarse = central_fd(f, args, wrt, step=1e-3, order=4)
    try:
        assert_close(fine, coarse, rtol=1e-6, atol=1e-7)
    except AssertionError:
        return False
    return True


def check_against_fd(sd, f, args, wrt):
    value = f(*args)
    assume(np.isfinite(value))
    assume(smooth_here(f, args, wrt))
    expected = central_fd(f, args, wrt)
    for mode in MODES:
        for optimize in (True, False):
            g = sd.grad(f, wrt=wrt, mode=mode, optimize=optimize)(*args)
            note(f"mode={mode} optimize={optimize} grad={g!r} fd={expected!r}")
            assert_close(g, expected, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------------------------
# Program generators
# --------------------------------------------------------------------------------------------


def _expr(draw, templates, pool):
    template = draw(st.sampled_from(templates))
    a = draw(st.sampled_from(pool))
    b = draw(st.sampled_from(pool))
    return template.format(a=a, b=b)


@st.composite
def straight_line_programs(draw):
    pool = ["x", "y"]
    lines = []
    for k in range(draw(st.integers(1, 8))):
        lines.append(f"    t{k} = {_expr(draw, SCALAR_TEMPLATES, pool)}")
        pool.append(f"t{k}")
    other = draw(st.sampled_from(pool))
    lines.append(f"    return {pool[-1]} + 0.5 * {other}")
    return HEADER + "def f(x, y):\n" + "\n".join(lines) + "\n"


@st.composite
def branching_programs(draw):
    pool = ["x", "y"]
    lines = []
    for k in range(draw(st.integers(1, 3))):
        lines.append(f"    t{k} = {_expr(draw, SCALAR_TEMPLATES, pool)}")
        pool.append(f"t{k}")

    # if / (elif) / else on a comparison of intermediate values; every arm assigns u.
    lhs = draw(st.sampled_from(pool))
    rhs = draw(st.sampled_from([p for p in pool if p != lhs] + ["0.0", "0.5"]))
    op = draw(st.sampled_from(COMPARISONS))
    arms = [f"if {lhs} {op} {rhs}:"]
    if draw(st.booleans()):
        lhs2, rhs2 = draw(st.sampled_from(pool)), draw(st.sampled_from(pool + ["-0.5"]))
        arms.append(f"elif {lhs2} {draw(st.sampled_from(COMPARISONS))} {rhs2}:")
    arms.append("else:")
    for arm_no, header in enumerate(arms):
        lines.append(f"    {header}")
        local = list(pool)
        for j in range(draw(st.integers(0, 2))):
            name = f"b{arm_no}_{j}"
            lines.append(f"        {name} = {_expr(draw, SCALAR_TEMPLATES, local)}")
            local.append(name)
        lines.append(f"        u = {_expr(draw, SCALAR_TEMPLATES, local)}")
    pool.append("u")

    # A for-range loop carrying acc, possibly with a branch or a continue inside.
    acc0 = draw(st.sampled_from(pool))
    lines.append(f"    acc = {acc0}")
    lines.append(f"    for i in range({draw(st.integers(1, 4))}):")
    body = draw(st.sampled_from(["plain", "branch", "continue"]))
    if body == "continue":
        lines.append(f"        if i % 2 == {draw(st.integers(0, 1))}:")
        lines.append("            continue")
    if body == "branch":
        cmp_with = draw(st.sampled_from(pool))
        lines.append(f"        if acc {draw(st.sampled_from(COMPARISONS))} {cmp_with}:")
        lines.append(f"            acc = {_expr(draw, SCALAR_TEMPLATES, pool + ['acc'])}")
        lines.append("        else:")
        lines.append(f"            acc = {_expr(draw, SCALAR_TEMPLATES, pool + ['acc'])}")
    else:
        lines.append(f"        acc = {_expr(draw, SCALAR_TEMPLATES, pool + ['acc'])}")
    mix = draw(st.sampled_from(pool))
    lines.append(f"        acc = 0.9 * acc + 0.1 * math.sin(i * {mix})")
    lines.append(f"    return acc + 0.5 * u * {draw(st.sampled_from(pool))}")
    return HEADER + "def f(x, y):\n" + "\n".join(lines) + "\n"


ARRAY_ARGS = {"x": (3,), "m": (2, 3), "c": (2, 1), "s": ()}


@st.composite
def array_programs(draw):
    shapes = dict(ARRAY_ARGS)
    pool = list(shapes)
    lines = []
    for k in range(draw(st.integers(1, 6))):
        name = f"t{k}"
        a = draw(st.sampled_from(pool))
        b = draw(st.sampled_from(pool))
        kind = draw(st.sampled_from(["elementwise"] * 4 + ["matvec"]))
        if kind == "matvec" and len(shapes[a]) == 2 and shapes[b] == (shapes[a][1],):
            lines.append(f"    {name} = np.tanh({a} @ {b})")
            shapes[name] = (shapes[a][0],)
        elif kind == "matvec" and len(shapes[a]) == 1 and shapes[a] == shapes[b]:
            lines.append(f"    {name} = np.tanh(np.dot({a}, {b}))")
            shapes[name] = ()
        else:
            template = draw(st.sampled_from(ARRAY_TEMPLATES))
            lines.append(f"    {name} = {template.format(a=a, b=b)}")
            if "np.mean" in template or "np.sum" in template:
                shapes[name] = shapes[b]
            elif "{b}" in template:
                shapes[name] = np.broadcast_shapes(shapes[a], shapes[b])
            else:
                shapes[name] = shapes[a]
        pool.append(name)
    other = draw(st.sampled_from(pool))
    reducer = draw(st.sampled_from(["np.sum", "np.mean"]))
    lines.append(f"    return np.sum({pool[-1]}) + 0.5 * {reducer}({other})")
    return HEADER + "def f(x, m, c, s):\n" + "\n".join(lines) + "\n"


floats = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False, allow_infinity=False)
SCALAR_WRT = st.sampled_from([0, 1, (0, 1), "y", ("x", "y")])


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@SETTINGS
@given(source=straight_line_programs(), x=floats, y=floats, wrt=SCALAR_WRT)
def test_straight_line_programs(sd, gen_dir, source, x, y, wrt):
    note(source)
    f = load_function(gen_dir, source)
    check_against_fd(sd, f, (x, y), wrt)


@SETTINGS
@given(source=branching_programs(), x=floats, y=floats, wrt=SCALAR_WRT)
def test_branching_programs(sd, gen_dir, source, x, y, wrt):
    note(source)
    f = load_function(gen_dir, source)
    check_against_fd(sd, f, (x, y), wrt)


@SETTINGS
@given(source=array_programs(), seed=st.integers(0, 2**16), s=floats)
def test_array_programs(sd, gen_dir, source, seed, s):
    note(source)
    f = load_function(gen_dir, source)
    rng = np.random.default_rng(seed)
    args = tuple(rng.uniform(-2.0, 2.0, size=shape) for shape in ARRAY_ARGS.values() if shape)
    args = (*args, s)
    check_against_fd(sd, f, args, (0, 1, 2, 3))
