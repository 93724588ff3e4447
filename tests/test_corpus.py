"""sourcediff.grad on every corpus case, in both modes, against central finite differences.

The tests without the ``sd`` fixture check the harness itself (the corpus inputs and the
finite-difference reference) and do not need sourcediff.
"""

import inspect
import math
import textwrap

import corpus
import numpy as np
import pytest
from conftest import quick_every
from corpus import CASES
from fd import assert_close, case_ids, central_fd, reference_gradient, resolve_wrt

MODES = ("reverse", "forward")


IDS = case_ids(CASES)
_reference = reference_gradient


def _snapshot(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def _assert_unchanged(args, snapshot):
    for k, (a, s) in enumerate(zip(args, snapshot)):
        if isinstance(s, np.ndarray):
            assert np.array_equal(a, s), f"argument {k} was mutated"
        else:
            assert a == s, f"argument {k} was changed"


# --------------------------------------------------------------------------------------------
# sourcediff against finite differences
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", quick_every(CASES, 10), ids=IDS)
def test_grad_matches_fd(sd, case, mode, optimize):
    args = case.args
    before = _snapshot(args)
    df = sd.grad(case.fn, wrt=case.wrt, mode=mode, optimize=optimize)
    g = df(*args)
    _assert_unchanged(args, before)
    assert_close(g, _reference(case))


@pytest.mark.parametrize("case", quick_every(CASES, 20), ids=IDS)
def test_value_and_grad_returns_exact_value(sd, case):
    value, g = sd.value_and_grad(case.fn, wrt=case.wrt)(*case.args)
    expected = case.fn(*case.args)
    assert value == expected, f"value {value!r} != f(*args) {expected!r}"
    assert_close(g, _reference(case))


@pytest.mark.parametrize("case", quick_every(CASES, 20), ids=IDS)
def test_preserve_result_forward(sd, case):
    value, g = sd.grad(case.fn, wrt=case.wrt, mode="forward", preserve_result=True)(*case.args)
    expected = case.fn(*case.args)
    assert value == expected, f"value {value!r} != f(*args) {expected!r}"
    assert_close(g, _reference(case))


# --------------------------------------------------------------------------------------------
# The harness: corpus inputs and the FD reference
# --------------------------------------------------------------------------------------------


@pytest.mark.quick
def test_corpus_size():
    assert len(CASES) >= 70
    assert len({case.fn for case in CASES}) >= 70
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("case", quick_every(CASES, 10), ids=IDS)
def test_corpus_case_is_well_formed(case):
    assert isinstance(case.args, tuple)
    for a in case.args:
        assert type(a) in (float, int) or (isinstance(a, np.ndarray) and a.dtype == np.float64), (
            f"unexpected argument type {type(a)}"
        )
    indices, _ = resolve_wrt(case.fn, case.args, case.wrt)
    for i in indices:
        a = case.args[i]
        assert type(a) is float or isinstance(a, np.ndarray), f"wrt {i} is not differentiable"

    out = case.fn(*case.args)
    assert isinstance(out, float), f"{case.name} returned {type(out)}"
    assert math.isfinite(out)

    # sourcediff reads the source; every corpus function must have it and be a plain def.
    src = textwrap.dedent(inspect.getsource(case.fn))
    assert src.startswith("def "), src
    assert inspect.getmodule(case.fn) is corpus


@pytest.mark.parametrize("case", quick_every(CASES, 20), ids=IDS)
def test_corpus_case_is_smooth(case):
    """The two-point FD agrees with a five-point stencil of step 1e-3: no kink, branch
    switch or trip-count change within about 2e-3 of the inputs, and FD is accurate."""
    coarse = central_fd(case.fn, case.args, case.wrt, step=1e-3, order=4)
    assert_close(_reference(case), coarse, rtol=1e-7, atol=1e-8)


def _cube(x):
    return x**3


def _sin_times(x, y):
    return math.sin(x) * y


def _sum_squares(x):
    return np.sum(x**2)


def _quad(x, A):
    return x @ A @ x


def _scaled_exp(s, x, n):
    return s * np.sum(np.exp(x)) * n


@pytest.mark.quick
def test_fd_harness_against_closed_forms():
    g = central_fd(_cube, (1.7,), 0)
    assert isinstance(g, float)
    assert_close(g, 3 * 1.7**2)
    assert_close(central_fd(_cube, (-2.5,)), 3 * 2.5**2)

    x, y = 0.4, -1.3
    g = central_fd(_sin_times, (x, y), (0, 1))
    assert_close(g, (math.cos(x) * y, math.sin(x)))
    assert_close(central_fd(_sin_times, (x, y), "y"), math.sin(x))
    assert_close(central_fd(_sin_times, (x, y), ("y", 0)), (math.sin(x), math.cos(x) * y))

    rng = np.random.default_rng(0)
    v = rng.normal(size=(2, 3))
    g = central_fd(_sum_squares, (v,))
    assert isinstance(g, np.ndarray) and g.shape == (2, 3)
    assert_close(g, 2 * v)

    A = rng.normal(size=(3, 3))
    w = rng.normal(size=3)
    assert_close(central_fd(_quad, (w, A), (0, 1)), ((A + A.T) @ w, np.outer(w, w)))

    x = rng.normal(size=4)
    gs, gx = central_fd(_scaled_exp, (0.5, x, 3), (0, 1))
    assert_close(gs, float(np.sum(np.exp(x)) * 3))
    assert_close(gx, 0.5 * np.exp(x) * 3)
    with pytest.raises(TypeError):
        central_fd(_scaled_exp, (0.5, x, 3), 2)

    # The five-point stencil agrees too.
    assert_close(central_fd(_cube, (1.7,), step=1e-3, order=4), 3 * 1.7**2, rtol=1e-9)


@pytest.mark.quick
def test_assert_close_checks_structure():
    assert_close(1.0, 1.0)
    assert_close(np.float64(1.0), 1.0)
    assert_close((1.0, np.ones(2)), (1.0, np.ones(2)))
    bad = [
        (np.array(1.0), 1.0),  # 0-d array for a float argument
        (np.ones(1), 1.0),
        (1, 1.0),  # int
        (np.float32(1.0), 1.0),
        (np.ones(3), np.ones((3, 1))),  # wrong shape
        (np.ones(3, dtype=int), np.ones(3)),  # wrong dtype
        (1.0, np.ones(1)),  # float for an array argument
        ([1.0, 2.0], (1.0, 2.0)),  # list for a tuple
        ((1.0,), (1.0, 2.0)),  # wrong length
        (1.1, 1.0),  # wrong value
        (np.array([1.0, 2.1]), np.array([1.0, 2.0])),
        (float("nan"), 1.0),
    ]
    for actual, expected in bad:
        with pytest.raises(AssertionError):
            assert_close(actual, expected)
