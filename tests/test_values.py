"""Callables and objects as real code uses them (tests/corpus_values.py) against central
finite differences, in both modes, optimized and not; the derivative leaves its arguments as
they were, and a bound method's gradient is the function's with the object bound."""

import copy
import warnings

import numpy as np
import pytest
from corpus_values import CASES, MODEL, Model
from fd import _leaves, assert_close, case_ids, central_fd, reference_gradient

MODES = ("reverse", "forward")
IDS = case_ids(CASES)


def _same_leaves(a, b):
    for (pa, la), (pb, lb) in zip(_leaves(a), _leaves(b), strict=True):
        assert pa == pb
        assert np.array_equal(np.asarray(la), np.asarray(lb)), f"argument changed at {pa}"


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_grad_matches_fd(sd, case, mode, optimize):
    args = copy.deepcopy(case.args)
    g = sd.grad(case.fn, wrt=case.wrt, mode=mode, optimize=optimize)(*args)
    assert_close(g, reference_gradient(case), rtol=1e-5, atol=1e-6)
    _same_leaves(args, case.args)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_case_is_smooth(case):
    coarse = central_fd(case.fn, case.args, case.wrt, step=1e-3, order=4)
    assert_close(reference_gradient(case), coarse, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("mode", MODES)
def test_bound_method_gradient(sd, mode):
    """grad(model.loss): wrt counts the method's parameters; the same numbers as the function
    with the object as an argument (checked against FD above)."""
    x, y = np.array([0.3, -0.2]), np.array([0.5, 0.1])
    got = sd.grad(MODEL.loss, mode=mode)(x, y)
    expected = central_fd(lambda m, a, b: Model.loss(m, a, b), (MODEL, x, y), 1)
    assert_close(got, expected, rtol=1e-5, atol=1e-6)
    got_y = sd.grad(MODEL.loss, wrt="y", mode=mode)(x, y)
    assert_close(got_y, central_fd(lambda m, a, b: Model.loss(m, a, b), (MODEL, x, y), 2),
                 rtol=1e-5, atol=1e-6)


def test_gradient_with_respect_to_an_object_has_its_structure(sd):
    """A plain object's gradient is a dict of attribute -> gradient (lists, nested objects
    included); a dataclass's gradient is an instance of its class."""
    x, y = np.array([0.3, -0.2]), np.array([0.5, 0.1])
    g = sd.grad(lambda m: m.loss(x, y))(MODEL)
    assert set(g) == {"layers", "scale"}
    assert isinstance(g["layers"], list) and set(g["layers"][0]) == {"W", "b"}
    assert g["layers"][0]["W"].shape == (3, 2)


def _frozen_logpdf(x):
    stats = pytest.importorskip("scipy.stats")
    d = stats.norm(0.5, 2.0)
    return np.sum(d.logpdf(x))


@pytest.mark.parametrize("mode", MODES)
def test_frozen_distribution_called_through_a_local(sd, mode):
    """`norm(0.5, 2).logpdf(x)` is `norm.logpdf(x, 0.5, 2)`: d/dx = -(x - 0.5) / 4."""
    pytest.importorskip("scipy.stats")
    x = np.array([0.3, -0.4, 1.2])
    assert_close(sd.grad(_frozen_logpdf, mode=mode)(x), -(x - 0.5) / 4.0)
