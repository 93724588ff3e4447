"""sourcediff.grad on the containers / in-place corpus, in both modes, against central FD.

Also: ``value_and_grad`` returns exactly ``f(*args)``; the derivative call leaves its arguments
(arrays and containers, compared deeply) as they were; the aliasing policy's refusals name the
offending line and suggest a copy.  The tests without the ``sd`` fixture check the harness
itself (the corpus inputs and the finite-difference reference for containers).
"""

import copy
import inspect
import math
import textwrap

import corpus_containers
import numpy as np
import pytest
from conftest import quick_every
from corpus_containers import CASES
from fd import assert_close, case_ids, central_fd, reference_gradient, resolve_wrt

MODES = ("reverse", "forward")


IDS = case_ids(CASES)
_reference = reference_gradient


def _fresh_args(case):
    """A deep copy of the case's arguments: some corpus functions write into their arguments,
    and every test must start from the same inputs."""
    return copy.deepcopy(case.args)


def _assert_same(actual, expected, path):
    """Deep, exact equality of argument values (types, container shapes, array contents)."""
    assert type(actual) is type(expected), (
        f"{path}: type changed from {type(expected).__name__} to {type(actual).__name__}"
    )
    if isinstance(expected, np.ndarray):
        assert actual.shape == expected.shape and actual.dtype == expected.dtype, (
            f"{path}: array changed shape/dtype"
        )
        assert np.array_equal(actual, expected), f"{path}: array was mutated"
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), f"{path}: keys changed"
        for k in expected:
            _assert_same(actual[k], expected[k], f"{path}[{k!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{path}: length changed"
        for k, (a, e) in enumerate(zip(actual, expected)):
            _assert_same(a, e, f"{path}[{k}]")
    else:
        assert actual == expected, f"{path}: changed from {expected!r} to {actual!r}"


def _assert_unchanged(args, snapshot):
    for k, (a, s) in enumerate(zip(args, snapshot)):
        _assert_same(a, s, f"argument {k}")


# --------------------------------------------------------------------------------------------
# sourcediff against finite differences
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", quick_every(CASES, 12), ids=IDS)
def test_grad_matches_fd(sd, case, mode, optimize):
    args = _fresh_args(case)
    before = copy.deepcopy(args)
    df = sd.grad(case.fn, wrt=case.wrt, mode=mode, optimize=optimize)
    g = df(*args)
    assert_close(g, _reference(case))
    _assert_unchanged(args, before)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", quick_every(CASES, 30), ids=IDS)
def test_value_and_grad_returns_exact_value(sd, case, mode):
    args = _fresh_args(case)
    before = copy.deepcopy(args)
    value, g = sd.value_and_grad(case.fn, wrt=case.wrt, mode=mode)(*args)
    expected = case.fn(*_fresh_args(case))
    assert value == expected, f"value {value!r} != f(*args) {expected!r}"
    assert_close(g, _reference(case))
    _assert_unchanged(args, before)


@pytest.mark.parametrize("case", quick_every(CASES, 30), ids=IDS)
def test_preserve_result_forward(sd, case):
    args = _fresh_args(case)
    df = sd.grad(case.fn, wrt=case.wrt, mode="forward", preserve_result=True)
    value, g = df(*args)
    expected = case.fn(*_fresh_args(case))
    assert value == expected, f"value {value!r} != f(*args) {expected!r}"
    assert_close(g, _reference(case))


# --------------------------------------------------------------------------------------------
# The harness: corpus inputs and the FD reference for containers
# --------------------------------------------------------------------------------------------


def _containers(x):
    """The container types found in ``x`` (recursively)."""
    if isinstance(x, dict):
        return {dict}.union(*(_containers(v) for v in x.values()))
    if isinstance(x, (list, tuple)):
        return {type(x)}.union(*(_containers(v) for v in x))
    return set()


def _check_leaves(x, path):
    if isinstance(x, dict):
        for k, v in x.items():
            _check_leaves(v, f"{path}[{k!r}]")
    elif isinstance(x, (list, tuple)):
        for k, v in enumerate(x):
            _check_leaves(v, f"{path}[{k}]")
    else:
        assert type(x) in (float, int) or (
            isinstance(x, np.ndarray) and x.dtype in (np.float64, np.int64)
        ), f"{path}: unexpected argument type {type(x)}"


@pytest.mark.quick
def test_corpus_size_and_coverage():
    assert len(CASES) >= 60
    assert len(set(IDS)) == len(IDS)
    wrt_containers = set()
    for case in CASES:
        indices, _ = resolve_wrt(case.fn, case.args, case.wrt)
        for i in indices:
            wrt_containers |= _containers(case.args[i])
    assert wrt_containers == {list, tuple, dict}, wrt_containers


@pytest.mark.parametrize("case", quick_every(CASES, 8), ids=IDS)
def test_corpus_case_is_well_formed(case):
    assert isinstance(case.args, tuple)
    for k, a in enumerate(case.args):
        _check_leaves(a, f"argument {k}")
    indices, _ = resolve_wrt(case.fn, case.args, case.wrt)
    for i in indices:
        a = case.args[i]
        assert type(a) is float or isinstance(a, (np.ndarray, list, tuple, dict)), (
            f"wrt {i} is not differentiable"
        )
        if isinstance(a, np.ndarray):
            assert a.dtype == np.float64

    args = _fresh_args(case)
    out = case.fn(*args)
    assert isinstance(out, float), f"{case.name} returned {type(out)}"
    assert math.isfinite(out)
    # Deterministic: a second call on fresh inputs gives the same value.
    assert case.fn(*_fresh_args(case)) == out

    src = textwrap.dedent(inspect.getsource(case.fn))
    assert src.startswith("def "), src
    assert inspect.getmodule(case.fn) is corpus_containers


@pytest.mark.parametrize("case", quick_every(CASES, 16), ids=IDS)
def test_corpus_case_is_smooth(case):
    """The two-point FD agrees with a five-point stencil of step 1e-3: no kink, branch
    switch or trip-count change within about 2e-3 of the inputs, and FD is accurate."""
    coarse = central_fd(case.fn, case.args, case.wrt, step=1e-3, order=4)
    assert_close(_reference(case), coarse, rtol=1e-7, atol=1e-8)


def _list_fn(xs):
    return xs[0] ** 2 * xs[1] + 3.0 * xs[1]


def _tuple_fn(t):
    return np.sum(t[0] * t[1]) + t[2] ** 3


def _dict_fn(d, s):
    return s * d["a"] * np.sum(d["w"] ** 2) + d["nested"][0] ** 2


def _mutating_fn(xs, d):
    xs[0] = xs[0] * 3.0
    d["a"] = d["a"] * 2.0
    return xs[0] * d["a"]


@pytest.mark.quick
def test_fd_on_containers_against_closed_forms():
    g = central_fd(_list_fn, ([0.5, -1.5],))
    assert isinstance(g, list) and len(g) == 2
    assert_close(g, [2 * 0.5 * -1.5, 0.5**2 + 3.0])

    u, v = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    g = central_fd(_tuple_fn, ((u, v, 0.7),))
    assert isinstance(g, tuple) and isinstance(g[0], np.ndarray) and isinstance(g[2], float)
    assert_close(g, (v, u, 3 * 0.7**2))

    w = np.array([[0.5, -1.0], [2.0, 0.1]])
    d = {"a": 1.2, "w": w, "nested": (0.4, 9.0)}
    gd, gs = central_fd(_dict_fn, (d, 0.8), (0, 1))
    assert list(gd) == ["a", "w", "nested"]
    assert_close(
        (gd, gs),
        (
            {"a": 0.8 * np.sum(w**2), "w": 0.8 * 1.2 * 2 * w, "nested": (2 * 0.4, 0.0)},
            1.2 * np.sum(w**2),
        ),
    )
    # The arguments are left alone.
    assert d["a"] == 1.2 and d["nested"] == (0.4, 9.0)
    assert np.array_equal(d["w"], np.array([[0.5, -1.0], [2.0, 0.1]]))

    # A function that writes into its container arguments: FD perturbs fresh copies.
    xs, dd = [0.5, 0.25], {"a": 1.5}
    gx, gdd = central_fd(_mutating_fn, (xs, dd), (0, 1))
    assert_close((gx, gdd), ([6.0 * 1.5, 0.0], {"a": 6.0 * 0.5}))
    assert xs == [0.5, 0.25] and dd == {"a": 1.5}

    with pytest.raises(TypeError):
        central_fd(_list_fn, ([1, 2.0],))  # an int leaf


@pytest.mark.quick
def test_assert_close_checks_container_structure():
    assert_close([1.0, np.ones(2)], [1.0, np.ones(2)])
    assert_close({"a": 1.0, "b": (2.0,)}, {"b": (2.0,), "a": 1.0})
    bad = [
        ((1.0, 2.0), [1.0, 2.0]),  # tuple for a list
        ([1.0], [1.0, 2.0]),  # wrong length
        ({"a": 1.0}, {"a": 1.0, "b": 2.0}),  # missing key
        ({"a": 1.0, "b": 2.0, "c": 0.0}, {"a": 1.0, "b": 2.0}),  # extra key
        ([1.0, 2.0], {"a": 1.0, "b": 2.0}),  # list for a dict
        ({"a": np.ones(2)}, {"a": np.ones(3)}),  # wrong shape inside
        ({"a": [1.0, 2.5]}, {"a": [1.0, 2.0]}),  # wrong value inside
        ({"a": np.array(1.0)}, {"a": 1.0}),  # 0-d array for a float leaf
    ]
    for actual, expected in bad:
        with pytest.raises(AssertionError):
            assert_close(actual, expected)
