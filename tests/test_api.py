"""The public API: transforms, decorator forms, wrt, gradient types, value_and_grad, source,
determinism, caching and its invalidation, thread safety, and debuggability of generated code.

Every numeric check compares against central finite differences (tests/fd.py) or a closed form
derived by hand.
"""

import importlib
import importlib.util
import inspect
import itertools
import linecache
import math
import os
import subprocess
import sys
import textwrap
import threading
import traceback

import api_funcs
import numpy as np
import pytest
from fd import assert_close, central_fd

import sourcediff
import sourcediff.api

MODES = ("reverse", "forward")
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
_module_ids = itertools.count()


def load_module(tmp_path, source, monkeypatch, name=None):
    """Write `source` to a fresh .py file and import it (under a unique module name)."""
    name = name or f"sd_api_tmp_{os.getpid()}_{next(_module_ids)}"
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


# ---- decorator forms ----------------------------------------------------------------------------
@sourcediff.grad
def d_cubic(x):
    return x**3 - 2.0 * x


@sourcediff.grad(wrt=("w", "b"))
def d_affine(w, b, x):
    return np.sum((w * x + b) ** 2)


@sourcediff.grad()
def d_empty_call(x):
    return math.sin(x) * x


@sourcediff.value_and_grad
def vg_cubic(x):
    return x**3 - 2.0 * x


@pytest.mark.quick
def test_bare_decorator():
    # d/dx (x^3 - 2x) = 3x^2 - 2
    assert_close(d_cubic(1.5), 3.0 * 1.5**2 - 2.0)
    assert_close(d_cubic(-0.5), 3.0 * 0.25 - 2.0)


@pytest.mark.quick
def test_decorator_with_options_gives_tuple_of_grads():
    w, b, x = np.array([0.5, -1.0]), 0.25, np.array([2.0, 3.0])
    gw, gb = d_affine(w, b, x)
    r = w * x + b
    assert_close((gw, gb), (2.0 * r * x, float(np.sum(2.0 * r))))


@pytest.mark.quick
def test_decorator_with_empty_call():
    x = 0.7
    assert_close(d_empty_call(x), math.cos(x) * x + math.sin(x))


@pytest.mark.quick
def test_value_and_grad_decorator():
    value, g = vg_cubic(1.5)
    assert value == 1.5**3 - 2.0 * 1.5
    assert_close(g, 3.0 * 1.5**2 - 2.0)


@pytest.mark.quick
def test_decorated_derivative_wraps_the_function():
    assert d_cubic.__name__ == "grad_d_cubic"
    assert d_cubic.__wrapped__.__name__ == "d_cubic"
    assert "Derivative" in type(d_cubic).__name__ or isinstance(d_cubic, sourcediff.Derivative)


# ---- wrt ----------------------------------------------------------------------------------------
WRT_ARGS = (1.5, 2.5)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("wrt", [0, 1, "x", "y", -1, -2, ("x", "y"), (1, 0), ("y",), (-1, "x")])
@pytest.mark.quick
def test_wrt_forms(wrt, mode):
    f = api_funcs.scalar_times
    got = sourcediff.grad(f, wrt=wrt, mode=mode)(*WRT_ARGS)
    assert_close(got, central_fd(f, WRT_ARGS, wrt))
    # closed form: f = x y + sin x
    x, y = WRT_ARGS
    closed = {"x": y + math.cos(x), "y": x}
    names = ["x", "y"]

    def one(w):
        return closed[w if isinstance(w, str) else names[w]]

    expected = tuple(one(w) for w in wrt) if isinstance(wrt, tuple) else one(wrt)
    assert_close(got, expected)


@pytest.mark.quick
def test_one_element_tuple_wrt_gives_one_element_tuple():
    got = sourcediff.grad(api_funcs.scalar_times, wrt=("y",))(1.5, 2.5)
    assert isinstance(got, tuple) and len(got) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_keyword_and_default_arguments_to_the_derivative(mode):
    f = api_funcs.with_none_default
    df = sourcediff.grad(f, wrt="x", mode=mode)
    assert_close(df(1.5), 2.0)
    assert_close(df(x=1.5), 2.0)
    assert_close(df(1.5, scale=0.5), 0.5)
    d_both = sourcediff.grad(f, wrt=("x", "scale"), mode=mode)
    assert_close(d_both(scale=0.5, x=1.5), (0.5, 1.5))


@pytest.mark.quick
def test_calling_the_derivative_with_wrong_arguments_is_a_type_error():
    df = sourcediff.grad(api_funcs.scalar_times)
    with pytest.raises(TypeError):
        df(1.0)
    with pytest.raises(TypeError):
        df(1.0, 2.0, z=3.0)


# ---- gradient types -----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_float_in_python_float_out(mode):
    g = sourcediff.grad(api_funcs.poly, mode=mode)(1.5)
    assert type(g) is float
    assert_close(g, 3.0 * 1.5**2 - 2.0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(3,), (2, 3), (), (1, 4, 1)])
@pytest.mark.quick
def test_array_in_array_out_same_shape_and_dtype(shape, mode):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    g = sourcediff.grad(api_funcs.array_quadratic, mode=mode)(x)
    assert isinstance(g, np.ndarray)
    assert g.shape == x.shape and g.dtype == np.float64
    assert_close(g, np.asarray(6.0 * x))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_float32_array_gives_float32_gradient(mode):
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=np.float32)
    g = sourcediff.grad(api_funcs.array_quadratic, mode=mode)(x)
    assert isinstance(g, np.ndarray) and g.dtype == np.float32 and g.shape == x.shape
    np.testing.assert_allclose(g, 6.0 * x.astype(np.float64), rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_gradient_does_not_alias_or_mutate_the_input(mode):
    x = np.array([1.0, 2.0, 3.0])
    before = x.copy()
    g = sourcediff.grad(api_funcs.array_quadratic, mode=mode)(x)
    np.testing.assert_array_equal(x, before)
    assert not np.shares_memory(g, x)


# ---- value_and_grad / preserve_result -----------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_value_and_grad(mode):
    f = api_funcs.scalar_times
    value, g = sourcediff.value_and_grad(f, wrt=(0, 1), mode=mode)(1.5, 2.5)
    assert_close(value, f(1.5, 2.5), rtol=1e-12, atol=0)
    assert_close(g, central_fd(f, (1.5, 2.5), (0, 1)))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_preserve_result_matches_value_and_grad(mode):
    x = np.array([0.5, -1.0, 2.0])
    value, g = sourcediff.grad(api_funcs.array_quadratic, preserve_result=True, mode=mode)(x)
    assert value == pytest.approx(api_funcs.array_quadratic(x), rel=1e-12)
    assert_close(g, 6.0 * x)
    v2, g2 = sourcediff.value_and_grad(api_funcs.array_quadratic, mode=mode)(x)
    assert v2 == pytest.approx(value, rel=1e-12)
    assert_close(g2, g, rtol=1e-12, atol=0)


# ---- source -------------------------------------------------------------------------------------
@pytest.mark.quick
def test_source_property_and_function_agree_and_are_stable():
    df = sourcediff.grad(api_funcs.loop_branch)
    text = df.source
    assert isinstance(text, str) and "def " in text
    assert sourcediff.source(df) == text
    assert df.source == text
    # asking again after calls with concrete kinds does not change it
    df(0.3, 5)
    assert df.source == text
    # a new transform with other options has its own text, and the same options the same
    assert sourcediff.grad(api_funcs.loop_branch).source == text


@pytest.mark.quick
def test_source_of_a_non_derivative_is_a_type_error():
    with pytest.raises(TypeError):
        sourcediff.source(api_funcs.poly)


@pytest.mark.quick
def test_source_compiles_to_a_working_function():
    """The text `source` returns is the code that runs: exec it and compare numbers."""
    df = sourcediff.grad(api_funcs.poly)
    text = df.source
    spec = df.specs[(None,)]
    namespace = dict(api_funcs.__dict__)
    namespace["_sd"] = sourcediff.runtime
    exec(compile(text, "<test>", "exec"), namespace)
    assert_close(namespace[spec.fn.__name__](1.5), 3.0 * 1.5**2 - 2.0)


_DETERMINISM_SCRIPT = """
import api_funcs
import sourcediff

for f, kw in [(api_funcs.loop_branch, {}), (api_funcs.loop_branch, {"mode": "forward"}),
              (api_funcs.calls_chain, {}), (api_funcs.recursion, {}),
              (api_funcs.early_return_nested, {"mode": "forward"}),
              (api_funcs.enumerate_zip, {"wrt": (0, 1)}), (api_funcs.while_complex, {}),
              (api_funcs.affine_loss, {"wrt": ("w", "b")})]:
    print("=" * 20, f.__name__, kw)
    try:
        print(sourcediff.grad(f, **kw).source)
    except sourcediff.SourceDiffError as exc:
        print("refused:", exc)
"""


def _run_determinism_script(seed):
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = str(seed)
    env["PYTHONPATH"] = os.pathsep.join([TESTS_DIR, env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", _DETERMINISM_SCRIPT], env=env, cwd=TESTS_DIR,
                         capture_output=True, check=True, timeout=300)
    return out.stdout


def test_generated_source_is_identical_across_processes():
    """Different hash seeds must not change the generated text (no set/dict-order leaks)."""
    first = _run_determinism_script(1)
    second = _run_determinism_script(2)
    third = _run_determinism_script(12345)
    assert b"def " in first and b"for " in first
    assert first == second == third


# ---- cache --------------------------------------------------------------------------------------
def _count_builds(monkeypatch):
    calls = []
    real = sourcediff.api.build

    def counting(d, param_kinds):
        calls.append((d.func.__name__, dict(param_kinds)))
        return real(d, param_kinds)

    monkeypatch.setattr(sourcediff.api, "build", counting)
    return calls


@pytest.mark.quick
def test_same_options_same_object_and_no_recompile(tmp_path, monkeypatch):
    mod = load_module(tmp_path, """
        import numpy as np

        def f(x):
            return np.sum(x * x) * 0.5
    """, monkeypatch)
    calls = _count_builds(monkeypatch)
    df = sourcediff.grad(mod.f)
    assert sourcediff.grad(mod.f) is df
    assert sourcediff.grad(mod.f, wrt=0) is df
    assert_close(df(1.5), 1.5)
    assert len(calls) == 1
    assert_close(df(2.5), 2.5)
    again = sourcediff.grad(mod.f)
    assert again is df
    assert_close(again(-1.0), -1.0)
    assert len(calls) == 1, calls
    # another argument kind is another specialization: one more build, then cached too
    x = np.array([1.0, -2.0])
    assert_close(df(x), x)
    assert_close(df(x * 2.0), x * 2.0)
    assert len(calls) == 2, calls
    # different options: a different derivative object
    assert sourcediff.grad(mod.f, mode="forward") is not df
    assert sourcediff.grad(mod.f, preserve_result=True) is not df
    assert sourcediff.value_and_grad(mod.f) is not df


@pytest.mark.quick
def test_redefined_function_gets_a_fresh_derivative(tmp_path, monkeypatch):
    """Notebook style: the same name defined again with a different body."""
    mod = load_module(tmp_path, """
        def f(x):
            return x * x
    """, monkeypatch, name="sd_api_redefine")
    assert_close(sourcediff.grad(mod.f)(1.5), 3.0)
    old = mod.f
    # rewrite the file (a different size, so linecache sees the change) and reload it
    (tmp_path / "sd_api_redefine.py").write_text(textwrap.dedent("""
        import math


        def f(x):
            return x * x * x + math.sin(x)
    """))
    importlib.invalidate_caches()
    mod = importlib.reload(mod)
    assert mod.f is not old
    assert_close(sourcediff.grad(mod.f)(1.5), 3.0 * 1.5**2 + math.cos(1.5))
    assert_close(sourcediff.grad(old)(1.5), 3.0)


@pytest.mark.quick
def test_two_files_same_function_name(tmp_path, monkeypatch):
    a = load_module(tmp_path, """
        def f(x):
            return x * 2.0
    """, monkeypatch)
    b = load_module(tmp_path, """
        def f(x):
            return x * x * 5.0
    """, monkeypatch)
    assert_close(sourcediff.grad(a.f)(1.5), 2.0)
    assert_close(sourcediff.grad(b.f)(1.5), 15.0)


_CALLER = """
def callee(v):
    return v * v


def middle(v):
    return callee(v) + v


def top(x):
    return callee(x) * 2.0


def top_nested(x):
    return middle(x) * 3.0
"""

_NEW_CALLEE = """
import math


def callee(v):
    return v * v * v + math.exp(v)
"""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_redefined_callee_is_used(tmp_path, monkeypatch, mode):
    mod = load_module(tmp_path, _CALLER, monkeypatch)
    new = load_module(tmp_path, _NEW_CALLEE, monkeypatch)
    df = sourcediff.grad(mod.top, mode=mode)
    x = 1.5
    assert_close(df(x), 4.0 * x)                     # d/dx 2 x^2
    mod.callee = new.callee                          # notebook: callee cell re-run
    assert_close(df(x), 2.0 * (3.0 * x * x + math.exp(x)))
    assert_close(df(x), central_fd(mod.top, (x,)))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_redefined_callee_of_a_callee_is_used(tmp_path, monkeypatch, mode):
    mod = load_module(tmp_path, _CALLER, monkeypatch)
    new = load_module(tmp_path, _NEW_CALLEE, monkeypatch)
    df = sourcediff.grad(mod.top_nested, mode=mode)
    x = 0.5
    assert_close(df(x), 3.0 * (2.0 * x + 1.0))
    mod.callee = new.callee
    assert_close(df(x), 3.0 * (3.0 * x * x + math.exp(x) + 1.0))


@pytest.mark.quick
def test_reloaded_helper_module_is_used(tmp_path, monkeypatch):
    """A callee reached as `helpers.h` (module attribute): reloading the helper module after
    the first call must not leave the derivative using the old helper."""
    helpers = load_module(tmp_path, """
        def h(v):
            return v * v
    """, monkeypatch, name="sd_api_helpers")
    mod = load_module(tmp_path, """
        import sd_api_helpers


        def top(x):
            return sd_api_helpers.h(x) * 2.0
    """, monkeypatch)
    df = sourcediff.grad(mod.top)
    assert_close(df(1.5), 6.0)
    (tmp_path / "sd_api_helpers.py").write_text("def h(v):\n    return v * v * v * 1.0\n")
    importlib.invalidate_caches()
    importlib.reload(helpers)
    assert_close(mod.top(1.5), 2.0 * 1.5**3)
    assert_close(df(1.5), 6.0 * 1.5**2)


@pytest.mark.quick
def test_function_code_replaced_in_place(tmp_path, monkeypatch):
    """IPython's autoreload updates a function in place by assigning `__code__`; the
    derivative must follow the new code, not keep the old one."""
    mod = load_module(tmp_path, """
        def f(x):
            return x * x
    """, monkeypatch)
    new = load_module(tmp_path, """
        def f(x):
            return x * x * x
    """, monkeypatch)
    df = sourcediff.grad(mod.f)
    assert_close(df(1.5), 3.0)
    mod.f.__code__ = new.f.__code__
    assert mod.f(1.5) == 1.5**3
    assert_close(df(1.5), 3.0 * 1.5**2)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_rebound_builtin_is_followed(tmp_path, monkeypatch, mode):
    """Preparing a function resolves some names once (`max` becomes a runtime helper): a
    derivative compiled after the module rebinds such a name must follow the new binding,
    and one compiled before must notice it too."""
    mod = load_module(tmp_path, """
        def f(x):
            return max(x * x, 0.5) * 3.0
    """, monkeypatch)
    other = load_module(tmp_path, """
        def product(a, b):
            return a * b
    """, monkeypatch)
    before = sourcediff.grad(mod.f, mode="reverse" if mode == "forward" else "forward")
    assert_close(before(1.5), 6.0 * 1.5)            # d/dx 3 x^2
    mod.max = other.product
    assert_close(mod.f(1.5), 3.0 * 1.5 * 1.5 * 0.5)
    assert_close(sourcediff.grad(mod.f, mode=mode)(1.5), 3.0 * 1.5)   # d/dx 1.5 x^2
    assert_close(before(1.5), 3.0 * 1.5)


# ---- threads ------------------------------------------------------------------------------------
N_THREADS = 8
N_CALLS = 200
HEAVY_N = 40


@pytest.mark.quick
def test_closed_form_of_heavy_loop_matches_fd():
    for x in (0.3, 0.9, -0.7):
        assert_close(api_funcs.heavy_loop_grad(x, HEAVY_N),
                     central_fd(api_funcs.heavy_loop, (x, HEAVY_N)), rtol=1e-5, atol=1e-7)


def _run_threads(work):
    """Run `work(t)` in N_THREADS threads at once and wait for all of them."""
    threads = [threading.Thread(target=work, args=(t,)) for t in range(N_THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_threads_share_one_derivative(tmp_path, monkeypatch, mode):
    """8 threads x 200 calls on one derivative, starting together before it is compiled."""
    mod = load_module(tmp_path, inspect.getsource(api_funcs.heavy_loop), monkeypatch)
    mod.math = math
    df = sourcediff.grad(mod.heavy_loop, mode=mode)
    inputs = [[0.1 + 0.9 * ((t * N_CALLS + k) % 97) / 97.0 for k in range(N_CALLS)]
              for t in range(N_THREADS)]
    expected = [[api_funcs.heavy_loop_grad(x, HEAVY_N) for x in xs] for xs in inputs]
    barrier = threading.Barrier(N_THREADS)
    failures = []

    def work(t):
        try:
            barrier.wait()
            for x, e in zip(inputs[t], expected[t]):
                got = df(x, HEAVY_N)
                if not (type(got) is float and abs(got - e) <= 1e-9 + 1e-9 * abs(e)):
                    failures.append((t, x, got, e))
                    return
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append((t, "".join(traceback.format_exception(exc))))

    _run_threads(work)
    assert not failures, failures[:3]


def test_threads_compile_different_specializations_concurrently(tmp_path, monkeypatch):
    """Threads passing scalars and arrays to one fresh derivative at once."""
    mod = load_module(tmp_path, """
        import numpy as np

        def f(x, n):
            s = x
            for k in range(n):
                s = np.sin(s) * x + 0.01 * k
            return np.sum(s)
    """, monkeypatch)
    df = sourcediff.grad(mod.f)
    barrier = threading.Barrier(N_THREADS)
    failures = []

    def expected(x):
        if isinstance(x, np.ndarray):
            return np.array([api_funcs.heavy_loop_grad(float(v), 10) for v in x])
        return api_funcs.heavy_loop_grad(x, 10)

    def work(t):
        try:
            barrier.wait()
            for k in range(50):
                x = 0.2 + 0.01 * k + 0.05 * t
                arg = np.array([x, x + 0.1]) if (t + k) % 2 else x
                got = df(arg, 10)
                want = expected(arg)
                if isinstance(arg, np.ndarray):
                    ok = isinstance(got, np.ndarray) and np.allclose(got, want, 1e-9, 1e-9)
                else:
                    ok = isinstance(got, float) and abs(got - want) <= 1e-9 + 1e-9 * abs(want)
                if not ok:
                    failures.append((t, arg, got, want))
                    return
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append((t, "".join(traceback.format_exception(exc))))

    _run_threads(work)
    assert not failures, failures[:3]


# ---- debuggability ------------------------------------------------------------------------------
def _compiled_fns(df):
    return [spec.fn for spec in df.specs.values()]


@pytest.mark.quick
def test_generated_function_is_in_linecache_and_has_source():
    df = sourcediff.grad(api_funcs.loop_branch)
    assert_close(df(0.3, 5), api_funcs.loop_branch_grad(0.3, 5))
    fns = _compiled_fns(df)
    assert fns
    for fn in fns:
        filename = fn.__code__.co_filename
        linecache.checkcache()      # must not evict the generated text
        assert filename in linecache.cache
        text = inspect.getsource(fn)
        assert text.lstrip().startswith(f"def {fn.__name__}(")
        first = linecache.getline(filename, fn.__code__.co_firstlineno)
        assert first.strip().startswith(f"def {fn.__name__}(")


@pytest.mark.quick
def test_every_executed_generated_line_has_text():
    """Stepping through the derivative (as pdb would) shows real source on every line."""
    df = sourcediff.grad(api_funcs.loop_branch)
    df(0.3, 5)   # compile first; trace only the call
    seen = []

    def tracer(frame, event, arg):
        if frame.f_code.co_filename.startswith("<sourcediff"):
            if event == "line":
                seen.append((frame.f_code.co_filename, frame.f_lineno))
            return tracer
        return None

    sys.settrace(tracer)
    try:
        got = df(0.3, 5)
    finally:
        sys.settrace(None)
    assert_close(got, api_funcs.loop_branch_grad(0.3, 5))
    assert len(seen) > 10
    for filename, lineno in seen:
        assert linecache.getline(filename, lineno).strip(), (filename, lineno)


def _generated_line_containing(df, needle):
    lines = [ln.strip() for ln in df.source.splitlines()
             if needle in ln and not ln.strip().startswith("#")]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.quick
def test_traceback_from_primal_part_shows_generated_line():
    """math.log of a negative number, reached in the generated code's forward sweep."""
    df = sourcediff.grad(api_funcs.log_of_shift)
    assert_close(df(3.0, 1.0), central_fd(api_funcs.log_of_shift, (3.0, 1.0)))
    with pytest.raises(ValueError, match="math domain error") as info:
        df(0.5, 1.0)
    formatted = "".join(traceback.format_exception(info.value))
    assert "<sourcediff" in formatted
    assert _generated_line_containing(df, "math.log(") in formatted


@pytest.mark.quick
def test_traceback_from_adjoint_part_shows_generated_line():
    """sqrt at 0: the value is fine, the derivative 0.5 / sqrt(x) divides by zero. That is a
    DomainError at the user's line, caused by the ZeroDivisionError of the generated line."""
    df = sourcediff.grad(api_funcs.root)
    assert_close(df(4.0), 0.75)
    with pytest.raises(sourcediff.DomainError) as info:
        df(0.0)
    assert info.value.filename == api_funcs.__file__ and "math.sqrt" in info.value.line
    cause = info.value.__cause__
    assert isinstance(cause, ZeroDivisionError)
    formatted = "".join(traceback.format_exception(cause))
    frames = [fr for fr in traceback.extract_tb(cause.__traceback__)
              if fr.filename.startswith("<sourcediff")]
    assert frames, formatted
    assert frames[-1].line and frames[-1].line in df.source
    assert "0.5 /" in frames[-1].line


@pytest.mark.quick
def test_file_edited_after_import_is_not_silently_differentiated(tmp_path, monkeypatch):
    """The source on disk no longer holds the function that runs: refuse, don't differentiate
    whatever `def` now sits at the function's old line."""
    mod = load_module(tmp_path, """
        def f(x):
            return x * x
    """, monkeypatch, name="sd_api_edited")
    (tmp_path / "sd_api_edited.py").write_text("\ndef g(y, z):\n    return y * 100.0\n")
    with pytest.raises(sourcediff.NoSourceError) as info:
        sourcediff.grad(mod.f)(1.5)
    message = str(info.value)
    assert "sd_api_edited.py:" in message and "hint:" in message and "reload" in message
