"""sourcediff.parallel.grad_sum on a Dask LocalCluster of worker processes, in process pools and
serially: the sum over shards equals the gradient of all the data (closed forms, central finite
differences) and the serial sum, structure by structure.

One cluster for the module; the Dask tests skip when Dask's distributed is not installed.
"""

import concurrent.futures
import multiprocessing
import re
import subprocess
import sys

import numpy as np
import pytest

import sourcediff as sd
from sourcediff import api, parallel
from sourcediff.parallel import grad_sum


# ---- the models, at module level so that workers import them by name
def logistic(w, X, y):
    s = (2.0 * y - 1.0) * (X @ w)
    return np.sum(np.logaddexp(0.0, -s))


def affine(p, X, y):
    """Squared error of an affine model with dict parameters."""
    r = X @ p["w"] + p["b"] - y
    return 0.5 * np.sum(r * r)


def layered(w, b, X, y):
    return np.sum((np.tanh(X @ w + b) - y) ** 2)


def counted(name):
    """Runs on each worker: how many derivatives of functions called `name` it made."""
    return sum(1 for f, per in list(api._cache.items()) if getattr(f, "__name__", "") == name
               for _ in per)


def data(n=120, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-X @ np.arange(1.0, d + 1)))).astype(float)
    return X, y


X, Y = data()
SHARDS = [(X[i:i + 30], Y[i:i + 30]) for i in range(0, 120, 30)]
W = np.array([0.3, -0.2, 0.1])
P = {"w": W, "b": 0.25}


def logistic_grad(w, X, y):
    """Closed form: X^T (sigmoid(X w) - y)."""
    return X.T @ (1.0 / (1.0 + np.exp(-(X @ w))) - y)


def affine_grad(p, X, y):
    r = X @ p["w"] + p["b"] - y
    return {"w": X.T @ r, "b": float(np.sum(r))}


def central(f, x, eps=1e-6):
    x = np.asarray(x, dtype=float)
    out = np.zeros(x.shape)
    for j in range(x.size):
        step = np.zeros(x.shape)
        step.reshape(-1)[j] = eps
        out.reshape(-1)[j] = (f(x + step) - f(x - step)) / (2 * eps)
    return out


def layered_expected(w, b):
    def total(wv):
        return sum(layered(wv, b, Xs, ys) for Xs, ys in SHARDS)

    def total_b(bv):
        return sum(layered(w, float(bv), Xs, ys) for Xs, ys in SHARDS)
    return central(total, w), float(central(total_b, b))


def serial_sum(df, *params):
    """The reference: a plain loop, in shard order."""
    results = [df(*params, *shard) for shard in SHARDS]
    total = results[0]
    for r in results[1:]:
        if isinstance(total, dict):
            total = {k: total[k] + r[k] for k in total}
        elif isinstance(total, tuple):
            total = tuple(a + b for a, b in zip(total, r))
        else:
            total = total + r
    return total


def check(got, expected, rtol=1e-10, atol=1e-10):
    if isinstance(expected, dict):
        assert type(got) is dict and list(got) == list(expected)
        for k in expected:
            check(got[k], expected[k], rtol, atol)
    elif isinstance(expected, tuple):
        assert type(got) is tuple and len(got) == len(expected)
        for g, e in zip(got, expected):
            check(g, e, rtol, atol)
    else:
        assert type(got) is type(expected) or np.shape(got) == np.shape(expected) == ()
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


@pytest.mark.quick
def test_the_closed_forms_agree_with_finite_differences():
    def total(w):
        return sum(logistic(w, Xs, ys) for Xs, ys in SHARDS)
    np.testing.assert_allclose(logistic_grad(W, X, Y), central(total, W), rtol=1e-6)
    g = affine_grad(P, X, Y)
    np.testing.assert_allclose(g["w"], central(lambda w: affine({"w": w, "b": 0.25}, X, Y), W),
                               rtol=1e-6)
    assert np.isclose(g["b"], central(lambda b: affine({"w": W, "b": float(b)}, X, Y), 0.25),
                      rtol=1e-6)


# ---- serially (no client, no executor)
@pytest.mark.quick
def test_serial_grad_sum_is_the_gradient_of_all_the_data():
    dl = sd.grad(logistic)
    check(grad_sum(dl, W, shards=SHARDS), logistic_grad(W, X, Y))
    check(grad_sum(dl, W, shards=SHARDS), serial_sum(dl, W), rtol=0, atol=0)
    check(grad_sum(dl, W, shards=SHARDS, mean=True), logistic_grad(W, X, Y) / 4)
    check(grad_sum(sd.grad(affine), P, shards=SHARDS), affine_grad(P, X, Y))


@pytest.mark.quick
def test_results_of_different_structure_are_refused():
    def odd(p, i):
        return {"a": 1.0} if i else {"b": 1.0}

    with pytest.raises(ValueError, match=r"differ in structure at result: a dict"):
        grad_sum(odd, None, shards=[0, 1])
    with pytest.raises(ValueError, match=r"at result\[1\]\['w'\]: shape \(2,\) and shape \(3,"):
        grad_sum(lambda p, n: (0.0, {"w": np.ones(n)}), None, shards=[2, 3])
    with pytest.raises(ValueError, match="at least one shard"):
        grad_sum(sd.grad(logistic), W, shards=[])


@pytest.mark.quick
def test_lists_and_named_tuples_are_summed_item_by_item():
    from collections import namedtuple

    Pair = namedtuple("Pair", "a b")
    got = grad_sum(lambda p, k: [Pair(k, np.full(2, k)), {"z": (k, 2 * k)}], None,
                   shards=[1.0, 2.0, 4.0], mean=True)
    assert type(got) is list and type(got[0]) is Pair
    check(got[0].a, 7.0 / 3)
    check(got[0].b, np.full(2, 7.0 / 3))
    check(got[1], {"z": (7.0 / 3, 14.0 / 3)})


# ---- Dask
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def test_dask_grad_sum_equals_the_serial_sum(client):
    dl = sd.grad(logistic)
    got = grad_sum(dl, W, shards=SHARDS, client=client)
    check(got, logistic_grad(W, X, Y))
    check(got, serial_sum(dl, W), rtol=1e-13, atol=1e-13)
    check(grad_sum(dl, W, shards=SHARDS, client=client, mean=True), serial_sum(dl, W) / 4,
          rtol=1e-13, atol=1e-13)
    # scattered once, the shards stay on the workers
    check(grad_sum(dl, W, shards=client.scatter(SHARDS), client=client), got, rtol=1e-13,
          atol=1e-13)


def test_dask_sums_dict_parameters_key_by_key(client):
    da = sd.grad(affine)
    got = grad_sum(da, P, shards=SHARDS, client=client)
    check(got, affine_grad(P, X, Y))
    check(got, serial_sum(da, P), rtol=1e-13, atol=1e-13)
    assert type(got["b"]) is float


def test_dask_tuple_wrt_and_value_and_grad(client):
    d = sd.grad(layered, wrt=(0, 1))
    got = grad_sum(d, W, 0.1, shards=SHARDS, client=client)
    check(got, layered_expected(W, 0.1), rtol=1e-6, atol=1e-8)
    check(got, serial_sum(d, W, 0.1), rtol=1e-13, atol=1e-13)
    vg = sd.value_and_grad(logistic)
    value, grad = grad_sum(vg, W, shards=SHARDS, client=client)
    check(value, logistic(W, X, Y))
    check(grad, logistic_grad(W, X, Y))


def test_dask_copies_a_local_function_and_compiles_it_once_per_worker(client):
    """Dask sends a function defined here by value (cloudpickle); its source goes along, and
    each worker makes one derivative of it however many tasks bring a copy."""
    scale = 2.0

    def local_loss(w, X, y):
        return scale * logistic(w, X, y)

    d = sd.grad(local_loss)
    for _ in range(3):
        check(grad_sum(d, W, shards=SHARDS, client=client), 2.0 * logistic_grad(W, X, Y))
    made = list(client.run(counted, "local_loss").values())
    assert set(made) <= {0, 1} and 1 in made


@pytest.mark.quick
def test_missing_dask_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=re.escape('pip install "sourcediff[dask]"')):
        parallel.local_client()


def test_importing_sourcediff_does_not_import_dask():
    code = ("import sys, sourcediff, sourcediff.parallel\n"
            "assert sourcediff.parallel.grad_sum\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed', "
            "'cloudpickle'}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# ---- process pools
@pytest.fixture(scope="module")
def executor():
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        yield pool


def test_process_pool_grad_sum_equals_the_serial_sum(executor):
    dl = sd.grad(logistic)
    check(grad_sum(dl, W, shards=SHARDS, executor=executor), logistic_grad(W, X, Y))
    da = sd.grad(affine)
    check(grad_sum(da, P, shards=SHARDS, executor=executor), serial_sum(da, P), rtol=1e-13,
          atol=1e-13)
    d = sd.grad(layered, wrt=(0, 1))
    check(grad_sum(d, W, 0.1, shards=SHARDS, executor=executor), layered_expected(W, 0.1),
          rtol=1e-6, atol=1e-8)
    vg = sd.value_and_grad(affine)
    value, grad = grad_sum(vg, P, shards=SHARDS, executor=executor, mean=True)
    check(value, affine(P, X, Y) / 4)
    full = affine_grad(P, X, Y)
    check(grad, {"w": full["w"] / 4, "b": full["b"] / 4})


def test_multiprocessing_pool():
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        check(grad_sum(sd.grad(logistic), W, shards=SHARDS, executor=pool),
              logistic_grad(W, X, Y))
    with pytest.raises(TypeError, match="executor= takes"):
        grad_sum(sd.grad(logistic), W, shards=SHARDS, executor=object())

