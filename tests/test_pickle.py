"""Derivatives pickle by reference: the user's function, the transform and its options.

Every transform kind round-trips before and after calls, in this process (where the cache gives
back the same object) and in fresh processes (`python -c`, process-pool workers), which compile
the derivative again and must give the gradients the closed forms below give. Functions pickle
cannot name fail with pickle's own error; cloudpickle copies them, with their source.
"""

import concurrent.futures
import multiprocessing
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import quick_every

import sourcediff as sd
from sourcediff import api

TESTS = os.path.dirname(os.path.abspath(__file__))


# ---- functions at module level: pickle names them (this module is `test_pickle` everywhere)
def cubic(x):
    return np.sum(x ** 3 - 2.0 * x)


def wave(x):
    return np.sin(x) * x[0]


def quartic(x):
    return x ** 4 / 2.0


def layer(w, b, X):
    return np.sum(np.tanh(X @ w + b))


def fit(p, X):
    r = X @ p["w"] + p["b"]
    return np.sum(r * r)


@sd.grad
def decorated(x):
    return np.sum(np.cos(x))


@sd.hessian
def decorated_hessian(x):
    return np.sum(x ** 3)


X3 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])
X = np.array([0.3, -0.7, 1.1])
T = np.array([0.2, 0.5, -1.0])


def tanh_layer_grads(w, b, X):
    s = 1.0 - np.tanh(X @ w + b) ** 2
    return X.T @ s, float(np.sum(s))


def wave_jacobian(x):
    return np.diag(np.cos(x) * x[0]) + np.outer(np.sin(x), np.eye(len(x))[0])


# name -> (make the derivative, arguments, the closed form of its result)
CASES = {
    "grad": (lambda: sd.grad(cubic), (X,), 3 * X ** 2 - 2),
    "grad_forward": (lambda: sd.grad(cubic, mode="forward"), (X,), 3 * X ** 2 - 2),
    "grad_unoptimized": (lambda: sd.grad(cubic, optimize=False), (X,), 3 * X ** 2 - 2),
    "grad_preserve": (lambda: sd.grad(cubic, preserve_result=True), (X,),
                      (np.sum(X ** 3 - 2 * X), 3 * X ** 2 - 2)),
    "value_and_grad": (lambda: sd.value_and_grad(cubic), (X,),
                       (np.sum(X ** 3 - 2 * X), 3 * X ** 2 - 2)),
    "grad_tuple_wrt": (lambda: sd.grad(layer, wrt=(0, 1)), (T, 0.4, X3),
                       tanh_layer_grads(T, 0.4, X3)),
    "grad_wrt_name": (lambda: sd.grad(layer, wrt="b"), (T, 0.4, X3),
                      tanh_layer_grads(T, 0.4, X3)[1]),
    "grad_dict": (lambda: sd.grad(fit), ({"w": T, "b": 0.5}, X3),
                  {"w": 2 * X3.T @ (X3 @ T + 0.5), "b": 2 * float(np.sum(X3 @ T + 0.5))}),
    "jvp": (lambda: sd.jvp(wave), (X, T), (np.sin(X) * X[0], wave_jacobian(X) @ T)),
    "vjp": (lambda: sd.vjp(wave), (X, T), (np.sin(X) * X[0], wave_jacobian(X).T @ T)),
    "jacobian": (lambda: sd.jacobian(wave), (X,), wave_jacobian(X)),
    "jacobian_forward": (lambda: sd.jacobian(wave, mode="forward"), (X,), wave_jacobian(X)),
    "hessian": (lambda: sd.hessian(cubic), (X,), np.diag(6 * X)),
    "hvp": (lambda: sd.hvp(cubic), (X, T), 6 * X * T),
    "grad_grad": (lambda: sd.grad(sd.grad(quartic)), (0.7,), 6 * 0.7 ** 2),
    "grad_of_forward_grad": (lambda: sd.grad(sd.grad(quartic, mode="forward")), (0.7,),
                             6 * 0.7 ** 2),
    "jvp_grad": (lambda: sd.jvp(sd.grad(cubic)), (X, T), (3 * X ** 2 - 2, 6 * X * T)),
    "third": (lambda: sd.grad(sd.grad(sd.grad(quartic))), (0.7,), 12 * 0.7),
    "grad_hvp": (lambda: sd.grad(sd.hvp(quartic)), (0.7, 2.0), 12 * 0.7 * 2.0),
    "decorated": (lambda: decorated, (X,), -np.sin(X)),
    "decorated_hessian": (lambda: decorated_hessian, (X,), np.diag(6 * X)),
}
# the transforms whose results are cached: unpickling in this process gives the same object
CACHED = {"grad", "grad_forward", "grad_unoptimized", "grad_preserve", "value_and_grad",
          "grad_tuple_wrt", "grad_wrt_name", "grad_dict", "jvp", "vjp", "grad_grad",
          "grad_of_forward_grad", "jvp_grad", "decorated", "decorated_hessian"}


def assert_same(got, expected, rtol=1e-12, atol=1e-12):
    """Equal structure (tuples, dicts, floats vs arrays) and values."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and list(got) == list(expected)
        for k in expected:
            assert_same(got[k], expected[k], rtol, atol)
    elif isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_same(g, e, rtol, atol)
    else:
        assert np.shape(got) == np.shape(expected)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def call(d, args):
    """Runs in process-pool workers: the result, and how many versions of `d` are compiled."""
    return d(*args), len(d.specs) if isinstance(d, api.Derivative) else None


@pytest.mark.parametrize("name", quick_every(CASES, 4))
def test_round_trip_before_and_after_calls(name):
    make, args, expected = CASES[name]
    d = make()
    before = pickle.loads(pickle.dumps(d))
    assert type(before) is type(d)
    if name in CACHED:
        assert before is d
    assert_same(before(*args), expected)
    assert_same(d(*args), expected)
    data = pickle.dumps(d)             # after calls: the compiled code does not travel
    assert len(data) < 600
    after = pickle.loads(data)
    if name in CACHED:
        assert after is d
    assert_same(after(*args), d(*args), rtol=0, atol=0)
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        assert_same(pickle.loads(pickle.dumps(d, protocol))(*args), expected)


@pytest.mark.quick
def test_the_generated_code_is_not_pickled():
    d = sd.grad(cubic)
    d(X)
    text = d.source
    data = pickle.dumps(d)
    assert b"grad_cubic" not in data and text.encode() not in data
    assert b"test_pickle" in data and b"cubic" in data


@pytest.mark.quick
def test_a_derivative_inside_other_data_pickles_once():
    d = sd.grad(cubic)
    payload = pickle.loads(pickle.dumps({"a": d, "b": [d, sd.jvp(d)]}))
    assert payload["a"] is d and payload["b"][0] is d and payload["b"][1] is sd.jvp(d)


def test_fresh_process_unpickles_and_compiles_every_kind(tmp_path):
    """The derivatives, pickled here after calls, are unpickled by `python -c` (nothing
    compiled there), called, and their results pickled back."""
    made = {name: CASES[name][0]() for name in CASES}
    for name, d in made.items():
        d(*CASES[name][1])
    (tmp_path / "in.pkl").write_bytes(pickle.dumps(
        {name: (d, CASES[name][1]) for name, d in made.items()}))
    code = textwrap.dedent(f"""
        import pickle, sys
        sys.path.insert(0, {TESTS!r})
        jobs = pickle.loads(open("in.pkl", "rb").read())
        from sourcediff import api
        fresh = {{n: len(d.specs) for n, (d, _) in jobs.items() if isinstance(d, api.Derivative)}}
        out = {{n: d(*args) for n, (d, args) in jobs.items()}}
        open("out.pkl", "wb").write(pickle.dumps((fresh, out)))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    fresh, out = pickle.loads((tmp_path / "out.pkl").read_bytes())
    assert fresh and set(fresh.values()) == {0}
    assert list(out) == list(CASES)
    for name, result in out.items():
        assert_same(result, CASES[name][2])
        assert_same(result, made[name](*CASES[name][1]))


@pytest.fixture(scope="module")
def pool():
    """One fresh (spawned) worker process for the module."""
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as executor:
        yield executor


@pytest.mark.parametrize("name", ["grad", "value_and_grad", "grad_tuple_wrt", "grad_dict",
                                  "vjp", "hessian", "hvp", "jvp_grad", "third", "decorated"])
def test_process_pool_worker_gives_the_same_results(pool, name):
    make, args, expected = CASES[name]
    d = make()
    here = d(*args)
    there, specs = pool.submit(call, d, args).result()
    assert_same(there, expected)
    assert_same(there, here)
    if specs is not None:
        assert specs >= 1         # compiled in the worker
        _, again = pool.submit(call, d, args).result()
        assert again == specs     # and reused by the next task: the worker's cache


@pytest.mark.quick
def test_functions_pickle_cannot_name_fail_with_its_own_error():
    def local(x):
        return x * x

    d = sd.grad(local)
    assert d(3.0) == 6.0
    with pytest.raises((pickle.PicklingError, AttributeError), match="local"):
        pickle.dumps(d)
    with pytest.raises((pickle.PicklingError, AttributeError), match="lambda"):
        pickle.dumps(sd.grad(lambda x: x * x))


# ---- cloudpickle copies functions it cannot name; their source travels with them
def helper(x):
    return np.sin(x) * x


def test_cloudpickle_copies_a_function_defined_in_a_test(tmp_path):
    cloudpickle = pytest.importorskip("cloudpickle")
    k = 3.0

    def scaled(x):
        return x * k

    def local(x):
        return np.sum(helper(x) + scaled(x) ** 2)

    expected = np.sin(X) + X * np.cos(X) + 2 * k * k * X
    d = sd.grad(local)
    assert cloudpickle.loads(cloudpickle.dumps(d)) is d       # before a call
    assert_same(d(X), expected)
    assert cloudpickle.loads(cloudpickle.dumps(d)) is d       # after
    h = sd.hessian(local)
    assert_same(cloudpickle.loads(cloudpickle.dumps(h))(X),
                np.diag(2 * np.cos(X) - X * np.sin(X) + 2 * k * k))
    # a fresh process gets a copy of `local` and `scaled` whose code has lost its file name
    (tmp_path / "in.pkl").write_bytes(cloudpickle.dumps((d, h, sd.jvp(d))))
    code = textwrap.dedent(f"""
        import pickle, sys
        import numpy as np
        sys.path.insert(0, {TESTS!r})
        d, h, j = pickle.loads(open("in.pkl", "rb").read())
        assert d.func.__code__.co_filename == {__file__!r}
        x = np.array({X.tolist()!r})
        out = d(x), h(x), j(x, np.ones(3)), d is j.func
        open("out.pkl", "wb").write(pickle.dumps(out))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    g, hess, (g2, hv), same = pickle.loads((tmp_path / "out.pkl").read_bytes())
    assert_same(g, expected)
    assert_same(hess, h(X))
    assert_same(g2, expected)
    assert_same(hv, h(X) @ np.ones(3))
    assert same


def test_cloudpickle_sends_the_lines_of_a_file_the_other_process_cannot_read(tmp_path):
    """A function from a file that is gone when the other process unpickles it: its lines
    travel in the pickle."""
    cloudpickle = pytest.importorskip("cloudpickle")
    source = tmp_path / "gone_soon.py"
    source.write_text("import numpy as np\n\n\ndef inner(x):\n    return np.exp(x) * x\n\n\n"
                      "def outer(x):\n    return np.sum(inner(x) ** 2)\n")
    namespace = {"__name__": "gone_soon_module_not_importable"}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    d = sd.grad(namespace["outer"])
    e = np.exp(X) * X
    expected = 2 * e * (np.exp(X) + e)
    assert_same(d(X), expected)
    (tmp_path / "in.pkl").write_bytes(cloudpickle.dumps(d))
    source.unlink()
    code = textwrap.dedent(f"""
        import pickle, sys
        import numpy as np
        d = pickle.loads(open("in.pkl", "rb").read())
        g = d(np.array({X.tolist()!r}))
        open("out.pkl", "wb").write(pickle.dumps((g, d.source)))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    g, text = pickle.loads((tmp_path / "out.pkl").read_bytes())
    assert_same(g, expected)
    assert "gone_soon.py:9: return np.sum(inner(x) ** 2)" in text


# ---- exported modules are plain modules: workers import them
def call_exported(directory, module, name, args):
    """Runs in a process-pool worker."""
    import importlib

    sys.path.insert(0, directory)
    try:
        fn = getattr(importlib.import_module(module), name)
    finally:
        sys.path.remove(directory)
    return fn(*args), "sourcediff" in sys.modules and hasattr(sys.modules[module], "_sd")


def test_an_exported_module_is_imported_by_a_process_pool_worker(tmp_path, pool):
    from sourcediff.export import export_source

    for func, wrt, args, expected in [
            (cubic, 0, (X,), 3 * X ** 2 - 2),
            (layer, (0, 1), (T, 0.4, X3), tanh_layer_grads(T, 0.4, X3))]:
        text, public = export_source(func, wrt=wrt)
        module = f"exported_{func.__name__}"
        (tmp_path / f"{module}.py").write_text(text)
        got, plain = pool.submit(call_exported, str(tmp_path), module, public, args).result()
        assert_same(got, expected)
        assert_same(got, sd.grad(func, wrt=wrt)(*args))
        assert plain
