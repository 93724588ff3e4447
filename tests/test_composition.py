"""Transforms composed three levels deep, against derivatives worked out by hand."""

import math

import composition_funcs as cf
import numpy as np
import pytest

import sourcediff

X = 0.7


@pytest.mark.quick
def test_third_derivative_of_a_polynomial_and_sine():
    # f = x^4 + x sin x: f''' = 24x - 3 sin x - x cos x
    d3 = sourcediff.grad(sourcediff.grad(sourcediff.grad(cf.quartic_wave)))
    assert d3(X) == pytest.approx(24 * X - 3 * math.sin(X) - X * math.cos(X), rel=1e-12)


@pytest.mark.parametrize("n", [2, 3, 5])
@pytest.mark.quick
def test_third_derivative_through_a_loop(n):
    # (x^n)''' = n (n-1) (n-2) x^(n-3)
    d3 = sourcediff.grad(sourcediff.grad(sourcediff.grad(cf.looped_power)))
    assert d3(X, n) == pytest.approx(n * (n - 1) * (n - 2) * X ** (n - 3), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("x", [0.8, -0.8])
@pytest.mark.quick
def test_third_derivative_through_a_branch(x):
    expected = 6.0 if x > 0 else math.exp(x)
    d3 = sourcediff.grad(sourcediff.grad(sourcediff.grad(cf.branchy)))
    assert d3(x) == pytest.approx(expected, rel=1e-12)


@pytest.mark.quick
def test_grad_of_hvp():
    # d/dx (f''(x) v) = f'''(x) v
    v = 1.5
    g = sourcediff.grad(sourcediff.hvp(cf.quartic_wave))
    assert g(X, v) == pytest.approx((24 * X - 3 * math.sin(X) - X * math.cos(X)) * v, rel=1e-12)


@pytest.mark.quick
def test_grad_of_forward_mode_grad():
    # f'' = 12 x^2 + 2 cos x - x sin x
    d2 = sourcediff.grad(sourcediff.grad(cf.quartic_wave, mode="forward"))
    assert d2(X) == pytest.approx(12 * X * X + 2 * math.cos(X) - X * math.sin(X), rel=1e-12)


@pytest.mark.quick
def test_hvp_of_an_array_function():
    # d2/dx2 sum(sin(x) x^2) is diagonal: -sin x x^2 + 4 x cos x + 2 sin x
    x = np.array([0.3, -0.5, 1.2])
    v = np.array([1.0, 2.0, -1.0])
    diag = -np.sin(x) * x ** 2 + 4 * x * np.cos(x) + 2 * np.sin(x)
    np.testing.assert_allclose(sourcediff.hvp(cf.array_energy)(x, v), diag * v, rtol=1e-12)
