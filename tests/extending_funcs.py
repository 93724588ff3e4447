"""Functions for tests/test_extending.py (the compiler reads their source)."""

import numpy as np

import sourcediff


def softplus(x):
    """Pretend this is a C function: sourcediff gets its rules from the decorators below."""
    return np.log1p(np.exp(x))


@sourcediff.adjoint(softplus)
def _(y, x):
    d[x] = d[y] / (1.0 + np.exp(-x))  # noqa: F821 (d is template notation)


@sourcediff.tangent(softplus)
def _(y, x):
    d[y] = d[x] / (1.0 + np.exp(-x))  # noqa: F821


def uses_softplus(x):
    return np.sum(softplus(x) * x)


def badsquare(x):
    return x * x


@sourcediff.adjoint(badsquare)
def _(y, x):
    d[x] = d[y] * 3.0 * x  # noqa: F821  (deliberately wrong: should be 2x)


@sourcediff.tangent(badsquare)
def _(y, x):
    d[y] = d[x] * 3.0 * x  # noqa: F821


def uses_badsquare(x):
    return np.sum(badsquare(x))


def blocked(x, y):
    return sourcediff.stop_gradient(x * y) * x + y


def noisy_argmax(x):
    i = np.argmax(x)
    return x[i] * 2.0


def my_floor(x):
    return float(int(x))


def uses_declared(x):
    return my_floor(x) + x * x


sourcediff.nondifferentiable(my_floor)


def dict_model(p, x):
    return np.sum(np.tanh(x @ p["w"] + p["b"]) ** 2)
