"""Element reads in loops cost O(1) each in the adjoint sweep: `_sd.add_at` adds an element's
adjoint into the array's adjoint in place when nothing else holds that array (and `zero_at`
zeroes overwritten elements in place likewise). These tests check the in-place path is taken
exactly when it is safe, and that gradients of element loops match finite differences."""

import numpy as np
import pytest
from fd import assert_close, central_fd

import sourcediff
from sourcediff import runtime


def test_add_at_writes_in_place_when_only_the_caller_holds_the_array():
    dx = np.zeros(4)
    x = np.ones(4)
    ident = id(dx)
    dx = runtime.add_at(dx, 2.0, x, 1)
    dx = runtime.add_at(dx, 3.0, x, 1)
    dx = runtime.add_at(dx, 1.5, x, slice(2, 4))
    assert id(dx) == ident
    np.testing.assert_array_equal(dx, [0.0, 5.0, 1.5, 1.5])


def test_add_at_copies_when_another_name_holds_the_array():
    dx = np.zeros(3)
    other = dx
    out = runtime.add_at(dx, 2.0, np.ones(3), 0)
    assert out is not other
    np.testing.assert_array_equal(other, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(out, [2.0, 0.0, 0.0])


def test_add_at_copies_a_view_and_an_array_a_view_refers_to():
    base = np.zeros(6)
    view = base[:3]
    out = runtime.add_at(view, 1.0, np.ones(3), 0)     # a view: its base is shared
    assert out is not view and base[0] == 0.0
    dx = np.zeros(3)
    row = dx[1:]
    out = runtime.add_at(dx, 1.0, np.ones(3), 1)       # a view of dx is alive
    assert out is not dx and row[0] == 0.0


def test_add_at_with_a_repeated_fancy_index_adds_each_time():
    dx = np.zeros(3)
    dx = runtime.add_at(dx, np.array([1.0, 2.0]), np.ones(3), [0, 0])
    np.testing.assert_array_equal(dx, [3.0, 0.0, 0.0])


def test_add_at_keeps_the_result_dtype():
    dx = np.zeros(3, dtype=np.float32)
    out = runtime.add_at(dx, np.float64(1.0), np.ones(3), 0)
    assert out.dtype == np.float64 and dx[0] == 0.0     # would upcast: a new array


def test_zero_at_in_place_only_when_alone():
    g = np.ones(3)
    ident = id(g)
    g = runtime.zero_at(g, 1)
    assert id(g) == ident and list(g) == [1.0, 0.0, 1.0]
    h = np.ones(3)
    keep = h
    out = runtime.zero_at(h, 0)
    assert out is not keep and list(keep) == [1.0, 1.0, 1.0]


def sum_of_squares(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * x[i]
    return s


def shared_adjoints(x):
    y = x
    s = 0.0
    for i in range(x.shape[0]):
        s = s + y[i] * np.sin(x[i])
    return s + np.sum(y * y)


def matrix_elements(a):
    s = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            s = s + a[i, j] * a[j, i] * (i + 1.0)
    return s


def list_elements(xs):
    s = 0.0
    for i in range(len(xs)):
        s = s + xs[i] * xs[i] * xs[0]
    return s


def recurrence(x):
    z = np.zeros(x.shape[0])
    z[0] = x[0]
    for i in range(1, x.shape[0]):
        z[i] = np.sin(z[i - 1]) + x[i]
    return np.sum(z * z)


CASES = [
    (sum_of_squares, (np.linspace(-1.0, 1.0, 7),)),
    (shared_adjoints, (np.linspace(-1.0, 1.0, 5),)),
    (matrix_elements, (np.arange(9.0).reshape(3, 3) / 7.0,)),
    (list_elements, ([0.3, -0.7, 1.1, 0.4],)),
    (recurrence, (np.linspace(0.1, 0.9, 6),)),
]


@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("fn, args", CASES, ids=[c[0].__name__ for c in CASES])
def test_element_loops_match_fd(fn, args, mode, optimize):
    got = sourcediff.grad(fn, mode=mode, optimize=optimize)(*args)
    assert_close(got, central_fd(fn, args), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("fn, args", CASES[:3] + CASES[4:],
                         ids=[c[0].__name__ for c in CASES[:3] + CASES[4:]])
def test_element_loops_second_derivatives(fn, args):
    H = sourcediff.hessian(fn)(*args)
    g = sourcediff.grad(fn)
    x = args[0]
    expected = np.stack([central_fd(lambda v, k=k: float(np.ravel(g(v))[k]), [x])
                         for k in range(x.size)]).reshape(x.shape + x.shape)
    assert_close(H, expected, rtol=1e-5, atol=1e-6)
