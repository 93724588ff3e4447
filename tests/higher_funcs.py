"""Plain functions for tests/test_higher_order.py (second derivatives, Jacobians).

Each scalar function's first and second derivatives are worked out by hand in the test module;
the vector-valued functions are checked against finite-difference Jacobians.
"""

import math

import numpy as np

import sourcediff

# --------------------------------------------------------------------------------------------
# Scalar -> scalar, for grad(grad(f))
# --------------------------------------------------------------------------------------------


def poly(x):
    # f' = 12 x^3 - 6 x^2 + 1, f'' = 36 x^2 - 12 x
    return 3.0 * x**4 - 2.0 * x**3 + x - 5.0


def sin_exp(x):
    # f' = (sin x + cos x) e^x, f'' = 2 cos(x) e^x
    return math.sin(x) * math.exp(x)


def x_log_x(x):
    # f' = log x + 1, f'' = 1 / x
    return x * math.log(x)


def loop_power(x, n):
    # x**n by repeated multiplication: f' = n x^(n-1), f'' = n (n-1) x^(n-2)
    p = 1.0
    for _ in range(n):
        p = p * x
    return p


def branchy(x):
    # x > 1: f = x^3 - x (f'' = 6 x); otherwise f = 2 x^2 + 3 x (f'' = 4)
    if x > 1.0:
        y = x**3 - x
    else:
        y = 2.0 * x * x + 3.0 * x
    return y


def cube(x):
    return x * x * x


def calls_cube(x):
    # f = x^3 + 1: f' = 3 x^2, f'' = 6 x.  x reaches the result only through the helper.
    return cube(x) + 1.0


def calls_cube_of_sin(x):
    # f = sin(x)^3: f' = 3 sin^2 cos, f'' = 6 sin cos^2 - 3 sin^3
    return cube(math.sin(x))


def calls_cube_and_uses_x(x):
    # f = x^3 * x = x^4: f' = 4 x^3, f'' = 12 x^2
    return cube(x) * x


def while_halving(x):
    # Halve until below 1 (the trip count depends on x but is locally constant):
    # for 4 < x < 8 the loop runs three times, f = (x / 8)^2, f' = x / 32, f'' = 1 / 32.
    y = x
    while y > 1.0:
        y = y / 2.0
    return y * y


def nested_range_loops(x):
    # s = sum over i < 2, j < 3 of (i + j) x^2 = 9 x^2: f' = 18 x, f'' = 18
    s = 0.0
    for i in range(2):
        for j in range(3):
            s = s + (i + j) * x * x
    return s


def range_loop_helper(x, n):
    total = 0.0
    for k in range(n):
        total = total + k * x * x
    return total


def calls_range_loop_helper(x):
    # range_loop_helper(x, 4) = (0 + 1 + 2 + 3) x^2 = 6 x^2; times x: 6 x^3.
    # f' = 18 x^2, f'' = 36 x
    return range_loop_helper(x, 4) * x


def recursive_square(x, n):
    # x ** (2 ** n): for n = 2, f = x^4, f' = 4 x^3, f'' = 12 x^2
    if n <= 0:
        return x
    return recursive_square(x * x, n - 1)


# --------------------------------------------------------------------------------------------
# Array -> scalar, for jvp(grad(f)) with closed-form gradients and Hessian-vector products
# --------------------------------------------------------------------------------------------


def cube_sum(x):
    # grad = x^2, H = diag(2 x)
    return np.sum(x**3) / 3.0


def half_quadratic(A, x):
    # grad_x = (A + A^T) x / 2, H = (A + A^T) / 2
    return 0.5 * (x @ A @ x)


def sin_sum_scaled(x, t):
    # grad_x = t cos(t x), H_xx = -t^2 diag(sin(t x))
    return np.sum(np.sin(t * x))


# --------------------------------------------------------------------------------------------
# Vector-valued functions, for jacobian
# --------------------------------------------------------------------------------------------


def broadcast_outer(a, b):
    # (3, 1) with (4,) -> (3, 4)
    return np.sin(a * b + a)


def matvec(A, x):
    return A @ x


def matmul_tanh(A, B):
    return np.tanh(np.matmul(A, B))


def horner_vec(x):
    # Polynomial in each element, built up by a loop: ((2 x - 1) x + 0.5) x + 3
    y = np.ones_like(x) * 2.0
    for c in [-1.0, 0.5, 3.0]:
        y = y * x + c
    return y


def power_loop_vec(x, n):
    # Elementwise x**n by repeated multiplication, plus a running sum
    y = np.ones_like(x)
    acc = np.zeros_like(x)
    for _ in range(n):
        y = y * x
        acc = acc + y
    return acc


def sin_exp_vec(x):
    return np.sin(x) * np.exp(-0.5 * x)


def softmax(x):
    e = np.exp(x)
    return e / np.sum(e)


def scalar_to_vector(t, x):
    # float t, array x -> array
    return np.exp(t * x) + t * t


def rows_times_weights(X, w):
    # matrix-vector with broadcasting: (3, 4) * (4,) summed over axis 1 -> (3,)
    return np.sum(np.cos(X * w), axis=1)


def vector_with_branch(x, s):
    if s > 0.0:
        return x * s + np.sin(x)
    return x / (1.0 - s)


# --------------------------------------------------------------------------------------------
# User functions that call derivatives sourcediff generated
# --------------------------------------------------------------------------------------------

d_poly = sourcediff.grad(poly)
d_sin_exp = sourcediff.grad(sin_exp)
d_cube_sum = sourcediff.grad(cube_sum)
jvp_sin_exp = sourcediff.jvp(sin_exp)


def poly_slope_times_x(x):
    # h = f'(x) x with f = poly: h' = f''(x) x + f'(x), h'' = f'''(x) x + 2 f''(x)
    return d_poly(x) * x


def sin_of_slope(x):
    # h = sin(f'(x)) with f = sin_exp: h' = cos(f'(x)) f''(x)
    return math.sin(d_sin_exp(x))


def cube_sum_grad_dot_x(x):
    # sum(grad(cube_sum)(x) * x) = sum(x^3): gradient 3 x^2
    return np.sum(d_cube_sum(x) * x)


def scaled_cube_sum_grad(x):
    # 2 * grad(cube_sum)(x) = 2 x^2, a vector: Jacobian diag(4 x)
    return 2.0 * d_cube_sum(x)


def squared_tangent(x):
    # the tangent of sin_exp along 1.0 is f'(x); h = f'(x)^2: h' = 2 f'(x) f''(x)
    value, tangent = jvp_sin_exp(x, 1.0)
    return tangent * tangent + 0.0 * value


def steep_zero_through_matmul(x):
    """Constant where every x < 0: the clipped zeros pass through cbrt (infinite partial at 0),
    a matmul and a sqrt at 0 (fuzz program 20240901:26)."""
    u = np.sin((np.cbrt(np.clip(x, 0.0, None)) * x) @ x)
    return 0.5 * np.sum(np.sqrt(np.maximum(u, 0.0)))




def steep_zero_under_a_product(x):
    """Constant (0) where every x < 0, as steep_zero_through_matmul, with the sqrt's output
    multiplied by x: its second derivative sums infinite terms of both signs (inf - inf)."""
    u = np.sin((np.cbrt(np.clip(x, 0.0, None)) * x) @ x)
    return np.tanh(x @ np.sqrt(np.maximum(u * np.ones(3), 0.0)))
