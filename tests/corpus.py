"""A corpus of ordinary Python/NumPy functions for sourcediff's gradient tests.

The functions are written the way people write numerical Python.  ``CASES`` pairs them with
concrete inputs; tests/test_corpus.py checks ``sourcediff.grad`` against central finite
differences on every case, in both modes, with and without optimization.

To test something new: write a module-level ``def`` here and append a ``Case`` line.

Inputs stay inside each function's smooth domain: positive for log/sqrt, and well away (more
than 1e-3, usually more than 0.05) from the kinks of abs/min/max and from the points where a
branch, a loop's trip count or a ``break`` would switch.  test_corpus.py checks this with a
second, wider finite-difference stencil.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from inputs import Inputs


@dataclass(frozen=True)
class Case:
    fn: Callable[..., Any]
    args: tuple
    wrt: int | str | tuple = 0
    id: str | None = None

    @property
    def name(self):
        return self.id or self.fn.__name__


# --------------------------------------------------------------------------------------------
# Scalar arithmetic and builtins
# --------------------------------------------------------------------------------------------


def add_mul(x, y):
    return x * y + x


def sub_div(x, y):
    return (x - y) / (x + y)


def neg_cube(x):
    return -(x**3) + 2.0 * x**2 - x


def power_float_exponent(x):
    return x**2.5 + x**-0.5


def power_both(x, y):
    return x**y


def exp_base_constant(x):
    return 2.0**x + 3 ** (x / 2)


def builtin_pow(x, y):
    return pow(x, 3) + pow(y, 0.5) * pow(x, y)


def builtin_abs(x):
    return abs(x) * x + abs(x - 3.0)


def builtin_min_max(x, y):
    return max(x, y) - 2.0 * min(x, y * y)


def max_of_three(x, y, z):
    return max(x, y, z) * min(y, z)


def rational(x):
    return (x * x - 1.0) / (1.0 + x * x)


def horner(x):
    return ((2.0 * x - 3.0) * x + 1.0) * x - 5.0


def unary_ops(x, y):
    return -(x - y) * +y - -x


def int_literals(x):
    return 3 * x * x + 2 * x + 1


def fan_out(x):
    y = x * x
    z = y * x
    return y * z + y / z + z


def reassign_param(x):
    x = x * 2.0
    x = x + 1.0
    x = x * x
    return x


def local_constants(x):
    a, b = 2.0, 3.0
    c = a * b
    return c * x * x + a / x - b


def annotated(x: float, y: float) -> float:
    z: float = x * y
    return z * z - y


def unused_argument(x, y):
    # d/dy is identically zero: the gradient must still be a float 0.0.
    return x * x


# --------------------------------------------------------------------------------------------
# math module
# --------------------------------------------------------------------------------------------


def trig(x):
    return math.sin(x) * math.cos(x) + math.tan(x / 4.0)


def exp_log(x):
    return math.exp(-x) * math.log(x) + math.log(x * x + 1.0)


def sqrt_tanh(x):
    return math.sqrt(x) + math.tanh(2.0 * x) * math.sqrt(x + 1.0)


def softplus(x):
    return math.log(1.0 + math.exp(x))


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def nested_math(x):
    return math.sin(math.exp(math.cos(x)))


def uses_math_constants(x):
    return math.sin(math.pi * x) + math.e**x


def gaussian(x, mu, sigma):
    """Normal density."""
    z = (x - mu) / sigma
    return math.exp(-0.5 * z * z) / (sigma * math.sqrt(2.0 * math.pi))


def scaled_softplus(x, beta=2.0):
    return math.log(1.0 + math.exp(beta * x)) / beta


# --------------------------------------------------------------------------------------------
# NumPy
# --------------------------------------------------------------------------------------------


def np_sum_sin(x):
    return np.sum(np.sin(x))


def np_mean_square(x):
    return np.mean(x**2)


def np_log_exp(x):
    return np.sum(np.log(np.exp(x) + 1.0))


def np_sqrt_cos(x):
    return np.sum(np.sqrt(x) * np.cos(x))


def np_tanh_weighted(x):
    return np.sum(np.tanh(x) * x)


def np_dot(x, y):
    return np.dot(x, y)


def quadratic_form(A, x):
    return x @ A @ x


def matmul_sum(A, B):
    return np.sum(np.matmul(A, B) ** 2)


def dense_layer(W, x, b):
    return np.sum(np.tanh(np.dot(W, x) + b))


def relu_energy(x):
    return np.sum(np.maximum(x, 0.0) ** 2)


def maximum_pair(x, y):
    return np.sum(np.maximum(x, y) * y)


def where_piecewise(x):
    return np.sum(np.where(x > 0.0, x**2, -x))


# clipped zeros through cbrt (an infinite partial at 0), a matmul and sqrt at 0: the gradient
# is 0 (the function is constant there); the matmul's adjoint made 0 * inf = nan (fuzzer
# 20240901:26)
def clipped_zeros_through_cbrt_and_a_matmul(x):
    u = np.sin((np.cbrt(np.clip(x, 0.0, None)) * x) @ x)
    return 0.5 * np.sum(np.sqrt(np.maximum(u, 0.0))) + np.sum(x * x)


def where_two_arrays(x, y):
    return np.mean(np.where(x > y, x * y, y - x))


# a branch that is a number under a condition that is an array: the result has the
# condition's shape (the vector forward mode broadcast the number's tangent against the
# condition's axes: fuzzer 20240901:176)
def where_number_branches_under_an_array_condition(x):
    m = np.mean(x)
    v = np.where(x > 0.0, m, 0.1 * m)
    return np.sum(v * x) + np.sum(np.where(x > 0.5, np.sin(m), x))


def broadcast_col_row(a, b):
    # (3, 1) with (1, 4)
    return np.sum(np.sin(a * b + a))


def broadcast_scalar_array(s, x):
    # The gradient for the float s must come back as a float.
    return np.sum(s * x + s**2)


def broadcast_vec_mat(v, M):
    # (3,) with (2, 3)
    return np.sum((M - v) ** 2)


def broadcast_mean(a, b):
    return np.mean(np.exp(-((a - b) ** 2)))


def sum_over_axis(X):
    return np.sum(np.sum(X, axis=0) ** 2) + np.sum(np.mean(X, axis=1) ** 2)


def logsumexp(x):
    return np.log(np.sum(np.exp(x)))


def softmax_dot(x, y):
    e = np.exp(x)
    p = e / np.sum(e)
    return np.dot(p, y)


def mlp(W1, b1, W2, x):
    h = np.tanh(W1 @ x + b1)
    out = W2 @ h
    return np.sum(out * out)


def least_squares(w, A, b):
    r = A @ w - b
    return np.dot(r, r) / 2.0


def logistic_loss(w, X, y):
    z = X @ w
    return np.mean(np.log(1.0 + np.exp(-y * z)))


def array_builtin_abs(x):
    return np.sum(abs(x - 0.5) * x)


def array_reciprocal(x):
    return np.sum(1.0 / (1.0 + x * x)) - np.sum(-x)


def mixed_scalar_array(x, t):
    return math.sin(t) * np.sum(x) + t * np.mean(np.cos(x * t)) + math.exp(np.sum(x) / 10.0)


# --------------------------------------------------------------------------------------------
# Branches, conditional expressions, boolean conditions
# --------------------------------------------------------------------------------------------


def if_else(x):
    if x > 1.0:
        return x * x
    else:
        return -x


def if_elif_else(x):
    if x < -1.0:
        y = -x
    elif x < 1.0:
        y = 0.5 * x * x + 0.5
    else:
        y = x**3
    return y * math.sin(x)


def if_without_else(x, y):
    z = x * y
    if z > 1.0:
        z = z * 2.0
    z = z + x
    return z


def conditional_expression(x, y):
    a = x * x if x > 0.0 else -x
    b = y if y < a else a * y
    return a + b


def chained_comparison(x):
    if 0.0 < x < 1.0:
        return x * (1.0 - x)
    elif 1.0 <= x < 2.0:
        return (x - 1.0) ** 2
    return x


def boolean_conditions(x, y):
    s = 0.0
    if x > 0.0 and y > 0.0:
        s += x * y
    if x < 0.0 or y > 2.0:
        s += x - y
    if not x > y:
        s += y * y
    return s


def clamp_early_return(x):
    """Clamp to [-1, 1]; the constant branches have zero gradient."""
    if x < -1.0:
        return -1.0
    if x > 1.0:
        return 1.0
    return x


def branch_with_pass(x):
    y = math.sin(x)
    if y > 0.0:
        y = y * y
    else:
        pass
    return y + x


def array_condition(x):
    if np.sum(x) > 0.0:
        return np.sum(x * x)
    return np.sum(np.exp(x))


# --------------------------------------------------------------------------------------------
# Loops: for over range / lists / arrays, while, break, continue, return inside loops
# --------------------------------------------------------------------------------------------


def power_series(x, n):
    s = 0.0
    for i in range(n):
        s = s + x**i / (i + 1)
    return s


def rising_product(x):
    p = 1.0
    for k in range(1, 5):
        p *= x + k
    return p


def loop_over_constant_list(x):
    s = 0.0
    for c in [1.0, 2.0, 0.5]:
        s += c * x**2 - c
    return s


def loop_over_value_list(x, y):
    total = 0.0
    for v in [x, y, x * y]:
        total += math.sin(v)
    return total


def loop_unpack_pairs(x, y):
    total = 0.0
    for a, b in [(x, y), (y, x), (x, x)]:
        total += a * b**2
    return total


def loop_over_rows(X):
    s = 0.0
    for row in X:
        s = s + np.sum(row**2) * np.mean(row)
    return s


def loop_rows_dot(X, w):
    total = 0.0
    for row in X:
        total += np.tanh(np.dot(row, w))
    return total


def loop_over_elements(x):
    s = 0.0
    for xi in x:
        s += xi * xi - math.sin(xi)
    return s


def accumulate_rows(X):
    acc = 0.0  # a float that becomes an array on the first iteration
    for row in X:
        acc = acc + row * row
    return np.sum(np.sqrt(acc))


def accumulate_rows_inplace(X):
    acc = np.zeros(4)
    for row in X:
        acc += np.sin(row)
    return np.sum(acc * acc)


def nested_loops(x, y):
    s = 0.0
    for i in range(3):
        for j in range(2):
            s += x**i * y**j
    return s


def loop_with_branch(x):
    s = 0.0
    for i in range(6):
        if i % 2 == 0:
            s += x * i
        else:
            s -= math.cos(x * i)
    return s


def while_counter(x, n):
    i = 0
    y = x
    while i < n:
        y = y * math.cos(y) + x
        i += 1
    return y


def while_until_threshold(x):
    y = x
    steps = 0
    while y < 10.0:
        y = y * 1.5 + x
        steps += 1
    return y + steps


def while_true_break(x):
    y = 1.0
    while True:
        y = y * x
        if y > 4.0:
            break
    return y


def for_break(x):
    s = 0.0
    for i in range(10):
        s = s + x * i
        if s > 3.0:
            break
    return s * s


def for_continue(x):
    s = 0.0
    for i in range(7):
        if i % 3 == 0:
            continue
        s += x**i / (i + 1)
    return s


def return_inside_loop(x):
    y = x
    for i in range(20):
        y = y * 1.1 + 0.1
        if y > 2.0:
            return y * i
    return -y


def newton_sqrt(a):
    x = a
    for _ in range(8):
        x = 0.5 * (x + a / x)
    return x


def euler_decay(k, y0, n):
    y = y0
    t = 0.0
    h = 0.1
    for _ in range(n):
        y = y + h * (-k * y + math.sin(t))
        t += h
    return y


def fibonacci_like(x, n):
    a, b = 1.0, x
    for _ in range(n):
        a, b = b, a + b * x
    return b


# --------------------------------------------------------------------------------------------
# Assignment forms
# --------------------------------------------------------------------------------------------


def swap(x, y):
    a, b = x, y * 2.0
    a, b = b, a
    return a * a - b


def augmented_ops(x, y):
    z = x
    z += y
    z *= x
    z -= 0.5 * y
    z /= 1.0 + y * y
    z **= 2
    return z


def array_augmented(x, y):
    s = x * 1.0
    s = s + y
    s *= x
    s -= np.sin(y)
    return np.sum(s)


# --------------------------------------------------------------------------------------------
# Calls to the user's own functions: helpers, tuples, defaults, keywords, closures, recursion
# --------------------------------------------------------------------------------------------


def square(x):
    return x * x


def uses_helper(x):
    return square(math.sin(x)) + square(x)


def norm2(x, y):
    return math.sqrt(square(x) + square(y))


def uses_two_level_helper(x, y):
    return norm2(x, y) * x


def sum_and_product(x, y):
    return x + y, x * y


def unpack_helper_result(x, y):
    s, p = sum_and_product(x, y)
    return s * p + math.exp(-p)


def affine(x, a=2.0, b=1.0):
    return a * x + b


def default_and_keyword_args(x):
    return affine(x) + affine(x, 3.0) * affine(x, b=0.5) + affine(b=x, x=2.0)


def tanh_layer(W, x):
    return np.tanh(W @ x)


def uses_array_helper(W, x):
    h = tanh_layer(W, x)
    return np.sum(h * h)


def sin_series(x, n):
    total = 0.0
    for k in range(n):
        total += math.sin(k * x) / (k + 1)
    return total


def uses_loop_helper(x):
    return sin_series(x, 4) * x


def make_scale(c):
    def scale(x):
        return c * x

    return scale


scale3 = make_scale(3.0)


def uses_closure(x):
    return math.sin(scale3(x)) + scale3(x * x)


def make_weighted_sum(w):
    def weighted_sum(x):
        return np.sum(w * np.sin(x))

    return weighted_sum


weighted_sum = make_weighted_sum(np.array([0.5, -1.0, 2.0]))


def rec_power(x, n):
    if n == 0:
        return 1.0
    return x * rec_power(x, n - 1)


def rec_poly(x, n):
    """1 + x + x**2 + ... + x**n, written recursively."""
    if n == 0:
        return 1.0
    return 1.0 + x * rec_poly(x, n - 1)


def rec_two_args(x, y, n):
    if n <= 0:
        return x * y
    return rec_two_args(math.sin(x) + y, y * 0.9, n - 1)


def int_arg_scalar(x, n):
    return x * n + x**n - n


def int_arg_array(x, n):
    return np.sum(x**n) / n


# --------------------------------------------------------------------------------------------
# Short-circuit evaluation: the adjoint sweep must take the branches the forward sweep took
# --------------------------------------------------------------------------------------------


def ifexp_tests_its_target(x, y):
    c = x > 0.5
    c = 2.0 * y if c else y * y
    return c * x


def chained_comparison_after_rebinding(x):
    v = x * x
    t = 0.0
    for _ in range(3):
        v = v * x
        if 0.0 < v < 10.0 and x > 0.1:
            t = t + v
    return t


def and_or_as_a_value(x):
    v = x * x
    ok = v > 0.1 and (v < 0.2 or x > 0.3)
    if ok:
        v = v + x
    return v


def while_with_and(x):
    v = x
    n = 0
    while v < 5.0 and n < 10:
        v = v * 1.5 + x
        n = n + 1
    return v


def ifexp_with_and(x):
    v = x * x
    w = v if v > 0.3 and x < 2.0 else -v
    return w * x


# fuzzer 8:189: generated code named gsq's derivatives after it and shadowed the user's own
# globals of those names (found by the differential fuzzer)
def gsq(v):
    return v * v


def jvp_gsq(v):
    return 3.0 * v


fwd_gsq = bwd_gsq = jvp_gsq


def reads_gsq_names(v):
    return jvp_gsq(v) + fwd_gsq(v) + bwd_gsq(v)


def globals_named_like_generated_code(x):
    # f = x^2 + 9x: f' = 2x + 9
    return gsq(x) + reads_gsq_names(x) + jvp_gsq(x) * 0.0


# fuzzer 8:264: no adjoint flows back through `scale`, so x's gradient starts as the zero that
# stands for any shape; its tangent (in a Hessian) has x's shape
def _ignores_scale(a, b=0.5, *, scale=1.0):
    return 0.25 + 0.5 * np.tanh(a)


def keyword_nothing_flows_through(x):
    u = _ignores_scale(0.5, scale=(1.5 + math.cos(np.mean(x))) ** 2.5)
    return 0.7 * u + np.sum(x * x * x)


# fuzzer 8:312: a parameter with a generated code's name, differentiated twice
def reserved_parameter_name(_pop):
    return np.sum(np.sin(_pop) * _pop[0, 0])


# --------------------------------------------------------------------------------------------
# Exact zeros through steep functions: an element that does not move (never written, padded,
# clipped, masked by np.where) passes through a function whose partial is infinite there (sqrt,
# a power below 1, cbrt, arcsin at 1, hypot at 0). Its derivative is 0, in both modes
# --------------------------------------------------------------------------------------------


def unwritten_rows_through_a_power(x):
    z = np.zeros((2, 3))
    z[0] -= x
    z = (z * z) ** 0.75
    return 0.9 * np.sum(z)


def padded_sqrt(x):
    p = np.pad(x * x, (1, 2))
    return np.sum(np.sqrt(p) * np.arange(1.0, 7.0))


def relu_then_sqrt(x, w):
    return np.sum(w * np.sqrt(np.maximum(x, 0.0)))


def clipped_then_cbrt(x):
    c = np.clip(x, 0.0, None)
    return np.sum(np.cbrt(c) * x)


def masked_sqrt_double_where(x):
    safe = np.where(x > 0, x, 0.0)
    return np.sum(np.where(x > 0, np.sqrt(safe), 0.0) * x)


def clipped_arcsin(x):
    return np.sum(np.arcsin(np.clip(x, -1.0, 1.0)) ** 2)


def hypot_of_unwritten_entries(x):
    z = np.zeros((2, 2))
    z[0] = x
    return np.sum(np.hypot(z, 2.0 * z) + np.arctan2(z, z * z + 1.0))


def masked_by_a_product(x):
    mask = np.array([1.0, 0.0, 1.0])
    return np.sum(np.sqrt(x * mask) + (x * x * mask) ** 0.75)


def steep_then_masked(x):
    mask = np.array([1.0, 0.0, 1.0])
    return np.sum(np.sqrt(np.abs(x)) * mask)


def scaled_in_place_unwritten_zero(x):
    z = np.zeros(3)
    z[1:] = x[:2]
    z[0] *= x[2]
    return 0.9 * np.sum(np.sqrt(np.maximum(z, 0.0)))


def _steep_helper(z):
    return np.sqrt(z)


def _masking_helper(x):
    return x * np.array([1.0, 0.0, 1.0])


def helpers_mask_then_steep(x):
    return np.sum(_steep_helper(_masking_helper(x)) + _masking_helper(_steep_helper(x * x)))


def relu_then_sqrt_of_a_float(x):
    return 3.0 * np.sqrt(np.maximum(x, 0.0)) + np.sqrt(np.clip(x, 0.0, None)) * x + x


def _power_of_a_square(b):
    return (b * b) ** 0.75


def numpy_float_zero_into_a_helper(x):
    z = np.where(x > 0.0, x, 0.0)
    return _power_of_a_square(np.tanh(np.prod(z))) + np.sum(x * x)


def power_of_a_relu_array_exponent(x, e):
    return np.sum(np.power(np.maximum(x, 0.0), e) + (-np.minimum(x, 0.0)) ** 0.5)


def clipped_arccos_and_arccosh(x):
    c = np.clip(x, -1.0, 1.0)
    return np.sum(np.arccos(c) * x + np.arccosh(np.maximum(x * x, 1.0)))


def float_power_of_a_relu(x):
    return np.sum(np.float_power(np.maximum(x, 0.0), 0.5) + np.float_power(x * x, 0.75))


def broadcast_relu_through_sqrt(x, w):
    r = np.maximum(x, 0.0) * w            # (3,) against (2, 3): zero columns
    return np.sum(np.sqrt(r * r + r) * w)


def unwritten_row_broadcast_into_a_power(x, b):
    z = np.zeros((2, 3))
    z[1] = x
    return np.sum((z * b[:, None]) ** 0.5 + np.sqrt(z + 0.0 * b[:, None]))


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

_INPUTS = Inputs(20240611)
_RNG = _INPUTS.rng
_normal = _INPUTS.normal
_uniform = _INPUTS.uniform
_away_from = _INPUTS.away_from


_X5 = _normal(5)
_MAX_X = _normal(5)
_MAX_Y = _MAX_X + _away_from(0.0, 5)
_WHERE_X = _normal(6)
_WHERE_Y = _WHERE_X + _away_from(0.0, 6)
_LOGREG_X = _normal(6, 3)
_LOGREG_Y = np.where(_RNG.random(6) < 0.5, -1.0, 1.0)


def max_min_of_list(x):
    ys = [x * x, 2.0 * x, np.sin(x)]
    return max(ys) + 0.5 * min(ys)


def spread_of_array(x):
    return max(x) - min(x) + np.sum(x * x)


CASES = [
    # scalar arithmetic and builtins
    Case(add_mul, (1.5, -0.7), wrt=(0, 1)),
    Case(add_mul, (1.5, -0.7), wrt="y", id="add_mul-wrt_name"),
    Case(sub_div, (2.0, 0.5), wrt=(0, 1)),
    Case(neg_cube, (0.8,)),
    Case(neg_cube, (-1.7,), id="neg_cube-negative"),
    Case(power_float_exponent, (1.3,)),
    Case(power_both, (1.3, 0.7), wrt=(0, 1)),
    Case(exp_base_constant, (0.4,)),
    Case(builtin_pow, (1.2, 0.6), wrt=(0, "y"), id="builtin_pow-mixed_wrt"),
    Case(builtin_abs, (-0.8,)),
    Case(builtin_abs, (3.5,), id="builtin_abs-positive"),
    Case(builtin_min_max, (0.5, 1.2), wrt=(0, 1)),
    Case(builtin_min_max, (2.0, 0.9), wrt=(0, 1), id="builtin_min_max-swapped"),
    Case(max_of_three, (0.3, 1.1, -0.4), wrt=(0, 1, 2)),
    Case(rational, (0.9,)),
    Case(horner, (1.1,)),
    Case(unary_ops, (0.3, -1.4), wrt=(0, 1)),
    Case(int_literals, (0.7,)),
    Case(fan_out, (1.2,)),
    Case(reassign_param, (0.3,)),
    Case(local_constants, (0.8,)),
    Case(annotated, (0.5, 1.5), wrt=("x", "y")),
    Case(unused_argument, (0.5, 1.5), wrt=1),
    # math module
    Case(trig, (0.6,)),
    Case(exp_log, (1.7,)),
    Case(sqrt_tanh, (0.9,)),
    Case(softplus, (-0.4,)),
    Case(sigmoid, (0.3,)),
    Case(nested_math, (0.5,)),
    Case(uses_math_constants, (0.3,)),
    Case(gaussian, (0.7, 0.2, 1.3), wrt=("x", "mu", "sigma")),
    Case(scaled_softplus, (0.3,)),
    Case(scaled_softplus, (0.3, 0.5), wrt=(0, "beta"), id="scaled_softplus-beta"),
    # numpy
    Case(np_sum_sin, (_X5,)),
    Case(np_mean_square, (_normal(3, 4),)),
    Case(np_log_exp, (_normal(4),)),
    Case(np_sqrt_cos, (_uniform(0.5, 2.0, 5),)),
    Case(np_tanh_weighted, (_normal(2, 3),)),
    Case(np_dot, (_normal(4), _normal(4)), wrt=(0, 1)),
    Case(quadratic_form, (_normal(3, 3), _normal(3)), wrt=(0, 1)),
    Case(matmul_sum, (_normal(2, 3), _normal(3, 4)), wrt=(0, 1)),
    Case(dense_layer, (_normal(3, 4), _normal(4), _normal(3)), wrt=(0, 1, 2)),
    Case(relu_energy, (_away_from(0.0, 6),)),
    Case(maximum_pair, (_MAX_X, _MAX_Y), wrt=(0, 1)),
    Case(where_piecewise, (_away_from(0.0, 7),)),
    Case(where_two_arrays, (_WHERE_X, _WHERE_Y), wrt=(0, 1)),
    Case(broadcast_col_row, (_normal(3, 1), _normal(1, 4)), wrt=(0, 1)),
    Case(broadcast_scalar_array, (0.7, _normal(2, 3)), wrt=(0, 1)),
    Case(broadcast_vec_mat, (_normal(3), _normal(2, 3)), wrt=(0, 1)),
    Case(broadcast_mean, (_normal(4, 1), _normal(3)), wrt=("a", "b")),
    Case(sum_over_axis, (_normal(3, 4),)),
    Case(logsumexp, (_normal(5),)),
    Case(softmax_dot, (_normal(4), _normal(4)), wrt=(0, 1)),
    Case(
        mlp,
        (_normal(4, 3, scale=0.5), _normal(4), _normal(2, 4, scale=0.5), _normal(3)),
        wrt=(0, 1, 2, 3),
    ),
    Case(least_squares, (_normal(3), _normal(5, 3), _normal(5)), wrt=(0, 1, 2)),
    Case(logistic_loss, (_normal(3), _LOGREG_X, _LOGREG_Y)),
    Case(array_builtin_abs, (_away_from(0.5, 5),)),
    Case(array_reciprocal, (_normal(2, 2),)),
    Case(mixed_scalar_array, (_normal(3), 0.8), wrt=(0, 1)),
    # branches
    Case(if_else, (1.5,)),
    Case(if_else, (0.4,), id="if_else-else"),
    Case(if_elif_else, (-1.6,), id="if_elif_else-if"),
    Case(if_elif_else, (0.4,), id="if_elif_else-elif"),
    Case(if_elif_else, (1.3,), id="if_elif_else-else"),
    Case(if_without_else, (0.8, 2.0), wrt=(0, 1)),
    Case(if_without_else, (0.8, 0.5), wrt=(0, 1), id="if_without_else-not_taken"),
    Case(conditional_expression, (0.9, 0.3), wrt=(0, 1)),
    Case(conditional_expression, (-0.7, 1.6), wrt=(0, 1), id="conditional_expression-else"),
    Case(chained_comparison, (0.3,)),
    Case(chained_comparison, (1.6,), id="chained_comparison-elif"),
    Case(chained_comparison, (2.5,), id="chained_comparison-fallthrough"),
    Case(boolean_conditions, (0.5, 2.5), wrt=(0, 1)),
    Case(boolean_conditions, (-0.5, 0.7), wrt=(0, 1), id="boolean_conditions-neg"),
    Case(clamp_early_return, (-2.0,)),
    Case(clamp_early_return, (0.3,), id="clamp_early_return-inside"),
    Case(clamp_early_return, (1.5,), id="clamp_early_return-upper"),
    Case(branch_with_pass, (0.7,)),
    Case(branch_with_pass, (-0.7,), id="branch_with_pass-pass"),
    Case(array_condition, (_uniform(0.1, 1.0, 4),)),
    Case(array_condition, (_uniform(-1.0, -0.1, 4),), id="array_condition-negative"),
    # loops
    Case(power_series, (0.7, 6)),
    Case(rising_product, (0.5,)),
    Case(loop_over_constant_list, (1.3,)),
    Case(loop_over_value_list, (0.4, 1.1), wrt=(0, 1)),
    Case(loop_unpack_pairs, (0.4, 1.1), wrt=(0, 1)),
    Case(loop_over_rows, (_normal(3, 4),)),
    Case(loop_rows_dot, (_normal(4, 3), _normal(3)), wrt=(0, 1)),
    Case(loop_over_elements, (_normal(5),)),
    Case(accumulate_rows, (_normal(3, 4),)),
    Case(accumulate_rows_inplace, (_normal(3, 4),)),
    Case(nested_loops, (0.6, 1.4), wrt=(0, 1)),
    Case(loop_with_branch, (0.35,)),
    Case(while_counter, (0.5, 4)),
    Case(while_until_threshold, (0.8,)),
    Case(while_true_break, (1.7,)),
    Case(for_break, (0.45,)),
    Case(for_continue, (0.8,)),
    Case(return_inside_loop, (0.8,)),
    Case(return_inside_loop, (-5.0,), id="return_inside_loop-fallthrough"),
    Case(newton_sqrt, (2.5,)),
    Case(euler_decay, (0.7, 1.2, 10), wrt=(0, 1)),
    Case(fibonacci_like, (0.7, 6)),
    # assignment forms
    Case(swap, (0.6, -1.3), wrt=(0, 1)),
    Case(augmented_ops, (0.9, 0.4), wrt=(0, 1)),
    Case(array_augmented, (_normal(3), _normal(3)), wrt=(0, 1)),
    # user functions
    Case(uses_helper, (0.8,)),
    Case(uses_two_level_helper, (0.6, -1.2), wrt=(0, 1)),
    Case(unpack_helper_result, (0.6, 0.9), wrt=(0, 1)),
    Case(affine, (0.7, 1.5, -0.5), wrt=(0, 1, 2)),
    Case(default_and_keyword_args, (0.7,)),
    Case(uses_array_helper, (_normal(2, 3), _normal(3)), wrt=(0, 1)),
    Case(uses_loop_helper, (0.6,)),
    Case(scale3, (1.7,), id="make_scale-closure"),
    Case(uses_closure, (0.4,)),
    Case(weighted_sum, (_normal(3),), id="make_weighted_sum-closure"),
    Case(rec_power, (1.3, 5)),
    Case(rec_poly, (0.6, 4)),
    Case(rec_two_args, (0.4, 0.8, 3), wrt=(0, 1)),
    Case(int_arg_scalar, (1.4, 3)),
    Case(int_arg_array, (_uniform(0.5, 1.5, 4), 3)),
    Case(max_min_of_list, (0.7,)),
    Case(spread_of_array, (np.array([0.3, 0.9, -0.2]),)),
    Case(ifexp_tests_its_target, (0.35, 1.3), wrt=(0, 1)),
    Case(ifexp_tests_its_target, (0.7, 1.3), wrt=(0, 1), id="ifexp_tests_its_target_true"),
    Case(chained_comparison_after_rebinding, (0.7,)),
    Case(chained_comparison_after_rebinding, (2.3,), id="chained_comparison_false_later"),
    Case(and_or_as_a_value, (0.35,)),
    Case(and_or_as_a_value, (-0.5,), id="and_or_false"),
    Case(while_with_and, (0.7,)),
    Case(ifexp_with_and, (0.7,)),
    Case(ifexp_with_and, (0.4,), id="ifexp_with_and_false"),
    Case(globals_named_like_generated_code, (0.8,)),
    Case(keyword_nothing_flows_through, (_normal(2, 3),)),
    Case(reserved_parameter_name, (_normal(2, 3),)),
    # exact zeros through steep functions
    Case(unwritten_rows_through_a_power, (np.array([0.69581, -0.31, 0.418262]),)),
    Case(padded_sqrt, (np.array([0.6, -0.8, 1.3]),)),
    Case(relu_then_sqrt, (np.array([0.6, -0.8, 1.3, -0.2]), _normal(4)), wrt=(0, 1)),
    Case(clipped_then_cbrt, (np.array([0.6, -0.8, 1.3]),)),
    Case(masked_sqrt_double_where, (np.array([0.6, -0.8, 1.3]),)),
    Case(clipped_arcsin, (np.array([0.3, -1.4, 1.2, -0.5]),)),
    Case(hypot_of_unwritten_entries, (np.array([0.6, -0.8]),)),
    Case(masked_by_a_product, (np.array([0.6, -0.8, 1.3]),)),
    Case(steep_then_masked, (np.array([0.6, 0.0, 1.3]),)),
    Case(scaled_in_place_unwritten_zero, (np.array([0.6, -0.8, 1.3]),)),
    Case(helpers_mask_then_steep, (np.array([0.6, -0.8, 1.3]),)),
    Case(relu_then_sqrt_of_a_float, (-0.7,)),
    Case(numpy_float_zero_into_a_helper, (np.array([0.6, -0.8, 1.3]),)),
    Case(power_of_a_relu_array_exponent, (np.array([0.6, -0.8, 1.3]), np.array([0.5, 0.7, 1.5])),
         wrt=(0, 1)),
    Case(clipped_arccos_and_arccosh, (np.array([0.3, -1.4, 1.2, -0.5]),)),
    Case(clipped_zeros_through_cbrt_and_a_matmul, (np.array([-0.909191, -0.582207, -0.976183]),)),
    Case(where_number_branches_under_an_array_condition, (np.array([[0.9, -0.7, 0.1],
                                                                    [0.6, -1.4, 0.3]]),)),
    Case(float_power_of_a_relu, (np.array([0.6, -0.8, 1.3]),)),
    Case(broadcast_relu_through_sqrt, (np.array([0.6, -0.8, 1.3]),
                                       np.array([[0.5, 0.7, 1.5], [1.2, 0.4, 0.9]])), wrt=(0, 1)),
    Case(unwritten_row_broadcast_into_a_power, (np.array([0.6, 0.8, 1.3]), np.array([0.7, 1.1])),
         wrt=(0, 1)),
]
