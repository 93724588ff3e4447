"""Hand-written functions for tests/test_rules.py: a function with a user-registered rule (to
check that the rule check can fail) and small functions whose derivatives at ties and kinks are
derived by hand (the conventions the rule table documents)."""

import numpy as np


def my_square(x):
    """A function that gets a rule registered by the test (the rule, not this body, is used)."""
    return x * x


def uses_square_right(a):
    return np.sum(my_square(a) * np.array([1.0, -2.0, 0.5]))


def uses_square_wrong_adjoint(a):
    return np.sum(my_square(a) * np.array([1.0, -2.0, 0.5]))


def uses_square_wrong_tangent(a):
    return np.sum(my_square(a) * np.array([1.0, -2.0, 0.5]))


# ---- ties and kinks -----------------------------------------------------------------------------
def max_with_ties(a):
    return np.max(a)


def max_rows_with_ties(a):
    return np.sum(np.max(a, axis=1) * np.array([1.0, 10.0]))


def maximum_tie(a, b):
    return np.sum(np.maximum(a, b))


def minimum_tie(a, b):
    return np.sum(np.minimum(a, b))


def abs_at_zero(a):
    return np.sum(np.abs(a))


def clip_at_bounds(a):
    return np.sum(np.clip(a, -1.0, 1.0))


def sort_with_ties(a):
    return np.sum(np.sort(a) * np.array([1.0, 2.0, 3.0, 4.0]))


def norm_at_zero(a):
    return np.linalg.norm(a)


def inf_norm_tie(a):
    return np.linalg.norm(a, np.inf)


def std_constant(a):
    return np.std(a)


def median_even(a):
    return np.median(a)


def ptp_ties(a):
    return np.ptp(a)


def argmax_is_constant(a):
    return a[a.argmax()] * 2.0


def prod_two_zeros(a):
    return np.prod(a)


# ---- calls the table has no rule for: each must be refused with a SourceDiffError -------------
def sum_where(x):
    return np.sum(x, where=x > 0)


def concatenate_dtype(x):
    return np.sum(np.concatenate([x, x], dtype=float))


def pad_mean(x):
    return np.sum(np.pad(x, 1, mode="mean"))


def pad_active_constant(x):
    return np.sum(np.pad(x, 1, constant_values=x[0]))


def average_returned(x):
    return np.average(x, returned=True)[0]


def einsum_interleaved(x):
    axes = list(range(np.ndim(x)))   # sublists computed at run time: refused (a literal is not)
    return np.sum(np.einsum(x, axes, x, axes))


def einsum_literal_sublists(a, b):
    return np.sum(np.einsum(a, [0, 1], b, [1, 2], [0, 2]) ** 2)


def linspace_retstep(x):
    return np.sum(np.linspace(x[0], 2.0, 5, retstep=True)[0])


def cross_axis(x):
    return np.sum(np.cross(x, x[::-1], axis=0))


def second_derivative_nuclear_norm(x):
    return np.linalg.norm(np.outer(x, x[::-1]) + np.eye(3), "nuc")
