"""Helper functions for tests/test_api.py and the "odd but plausible" batch in test_errors.py.

``ODD`` lists functions written the way people write numerical Python, using constructs at the
edges of what sourcediff supports. For each, sourcediff must either give a gradient that agrees
with finite differences or raise a SourceDiffError; any other exception escaping the compiler is
a bug. Each entry is ``(function, args, wrt)``.
"""

import functools
import math

import numpy as np

# --------------------------------------------------------------------------------------------
# Functions for the API tests
# --------------------------------------------------------------------------------------------


def poly(x):
    return x**3 - 2.0 * x + 1.0


def affine_loss(w, b, x):
    return np.sum((w * x + b) ** 2)


def loop_branch(x, n):
    """Loops, a branch and a math call: the kind of function determinism tests print."""
    s = 0.0
    for i in range(n):
        if i % 2 == 0:
            s = s + math.sin(x * i)
        else:
            s = s - x * x / (i + 1.0)
    k = 0
    while k < 3:
        s = s * 1.1 + x
        k = k + 1
    return s


def loop_branch_grad(x, n):
    """Closed form derivative of loop_branch with respect to x."""
    ds = 0.0
    for i in range(n):
        if i % 2 == 0:
            ds = ds + i * math.cos(x * i)
        else:
            ds = ds - 2.0 * x / (i + 1.0)
    for _ in range(3):
        ds = ds * 1.1 + 1.0
    return ds


def heavy_loop(x, n):
    """A loop-heavy scalar function for the threading test: s_{k+1} = sin(s_k) * x + k."""
    s = x
    for k in range(n):
        s = math.sin(s) * x + 0.01 * k
    return s


def heavy_loop_grad(x, n):
    """Closed form (forward recurrence) derivative of heavy_loop."""
    s = x
    ds = 1.0
    for k in range(n):
        ds = math.cos(s) * ds * x + math.sin(s)
        s = math.sin(s) * x + 0.01 * k
    return ds


def calls_callee(x):
    return callee(x) * 2.0


def callee(v):
    return v * v


def log_of_shift(x, shift):
    """math.log of (x - shift): the derivative code hits a domain error when x <= shift."""
    y = math.log(x - shift)
    return y * y


def array_quadratic(x):
    return np.sum(x * x * 3.0)


def scalar_times(x, y):
    return x * y + math.sin(x)


# --------------------------------------------------------------------------------------------
# Odd but plausible functions
# --------------------------------------------------------------------------------------------


def prints_formatted(x):
    y = x * x
    print(f"y = {y:.3f}")
    print("value", y, "at", x)
    return y + 1.0


def with_assert(x):
    assert x > 0.0, "x must be positive"
    return math.sqrt(x)


def raises_in_branch(x):
    if x < -100.0:
        raise ValueError(f"x too small: {x}")
    return x * 3.0


def nested_unpack(x):
    pair = (x, (x * 2.0, x * 3.0))
    a, (b, c) = pair
    return a * b + c


def chained_compare(x):
    if 0.0 < x < 10.0:
        return x * x
    return x


def chained_compare_value(x):
    inside = 0.0 < x <= 5.0 < 6.0
    return x * 2.0 if inside else x


def nested_ifexp(x):
    y = x * 2.0 if x > 1.0 else (x * 3.0 if x > 0.0 else x * 4.0)
    return y * x


def not_condition(x):
    if not x > 2.0:
        y = x * x
    else:
        y = x
    return y


def while_complex(x):
    k = 0
    s = x
    while k < 10 and (s < 50.0 or k < 2) and not s > 1e6:
        s = s * 1.5 + x
        k = k + 1
    return s


def early_return_nested(x):
    s = 0.0
    for i in range(4):
        for j in range(4):
            s = s + x * (i + j)
            if i * j == 4:
                return s * x
    return s


def _scaled(v, scale=2.0, *, offset=0.5):
    return v * scale + offset


def calls_with_keywords(x):
    return _scaled(x, offset=1.0) + _scaled(x, scale=3.0) + _scaled(scale=x, v=x)


def _inner(v):
    return math.exp(v) * v


def _middle(v):
    return _inner(v) + _inner(v * 0.5)


def calls_chain(x):
    return _middle(x) * x


def docstring_only(x):
    """Just a docstring, then the return."""
    return x * 5.0


def _rec(x, depth):
    if depth == 0:
        return x
    return math.sin(_rec(x, depth - 1)) + x


def recursion(x):
    return _rec(x, 4)


def _pair(x):
    return x * 2.0, x * x


def uses_tuple_helper(x):
    a, b = _pair(x)
    return a + b


def augmented_ops(x):
    y = x
    y += 1.0
    y *= x
    y -= 0.5
    y /= 2.0
    y **= 2
    return y


def boolean_mix(x, flag):
    if flag and x > 0.0 or not flag:
        return x * x
    return x


def annotated(x: float) -> float:
    y: float = x * 2.0
    z: float
    z = y + 1.0
    return z * x


def loop_over_array(x):
    s = 0.0
    for v in x:
        s = s + v * v
    return s


def enumerate_zip(x, w):
    s = 0.0
    for i, (a, b) in enumerate(zip(x, w)):
        s = s + a * b * i
    return s


def continue_in_loop(x):
    s = 0.0
    for i in range(6):
        if i % 2 == 1:
            continue
        s = s + x ** i
    return s


def break_in_while(x):
    s = x
    while True:
        s = s * 1.3
        if s > 20.0:
            break
    return s


def swap(x, y):
    a, b = x, y
    a, b = b, a * 2.0
    return a * b + a


def constant_c_call(x):
    c = math.gamma(4.5)
    return x * c


def int_and_float_ops(x, n):
    m = n // 2
    r = n % 3
    return x ** m + r * x + float(n) * x


def dict_literal(x):
    d = {"a": x, "b": x * 2.0}
    return d["a"] * d["b"]


def list_index(x):
    ys = [x, x * 2.0, x * 3.0]
    return ys[0] + ys[-1] * ys[1]


def array_slice(x):
    return np.sum(x[1:] * x[:-1]) + x[0]


def method_calls(x):
    return x.sum() * x.mean() + x.T.dot(x)


def shadow_builtin(x):
    max = 3.0
    return x * max


def unused_param(x, unused):
    return x * 2.0


def pass_and_ellipsis(x):
    pass
    ...
    return x * 4.0


def stop_gradient_use(x):
    import_free = x * 2.0
    return x * import_free


def min_max_three(x):
    return max(x, 2.0, x * x) + min(x, -1.0, 0.5 * x)


def returns_int_sometimes(x):
    if x > 1e9:
        return 0
    return x * 2.0


def global_constant(x):
    return x * SCALE + np.pi


SCALE = 3.0


def with_none_default(x, scale=None):
    if scale is None:
        scale = 2.0
    return x * scale


def keyword_only(x, *, k=3.0):
    return x * k + k


def percent_format(x):
    print("x=%.2f" % x)  # noqa: UP031
    return x * x


def tuple_result_indexed(x):
    t = _pair(x)
    return t[0] * t[1]


def ifexp_in_call(x):
    return math.exp(x if x < 1.0 else 1.0) * x


def list_concat(x):
    ys = []
    for i in range(3):
        ys = ys + [x * i]
    return ys[2] * ys[1]


def numpy_scalars(x):
    return np.float64(x) * np.exp(x) + float(x)


def call_in_condition(x):
    if callee(x) > 1.0:
        return x * 3.0
    return x


def aliasing(x):
    y = x
    z = y
    return z * y


def reassign_param(x):
    x = x * 2.0
    x = x + 1.0
    return x * x


def constant_output(x):
    return 3.0


def returns_param(x):
    return x


def _make_scaled(factor):
    def scaled(x):
        return x * factor + math.sin(x)
    return scaled


closure_scaled = _make_scaled(4.0)


def over_dict(x):
    d = {"a": 1.0, "b": 2.0}
    s = 0.0
    for k in d:
        s = s + x * d[k]
    return s


def over_items(x):
    d = {"a": 1.0, "b": 2.0}
    s = 0.0
    for _k, v in d.items():
        s = s + x * v
    return s


def over_reversed(x):
    s = 0.0
    for c in reversed([1.0, 2.0, 3.0]):
        s = s * x + c
    return s


def nested_break(x):
    s = 0.0
    for i in range(4):
        for j in range(4):
            s = s + x * j
            if j >= i:
                break
    return s


def string_compare(x, mode):
    if mode == "square":
        return x * x
    return x


def abs_nested(x):
    return abs(abs(x) - 2.0) * x

ODD = [
    (prints_formatted, (1.5,), 0),
    (with_assert, (2.0,), 0),
    (raises_in_branch, (1.5,), 0),
    (nested_unpack, (1.5,), 0),
    (chained_compare, (1.5,), 0),
    (chained_compare_value, (1.5,), 0),
    (nested_ifexp, (0.5,), 0),
    (nested_ifexp, (1.5,), 0),
    (nested_ifexp, (-1.5,), 0),
    (not_condition, (1.5,), 0),
    (while_complex, (1.2,), 0),
    (early_return_nested, (1.5,), 0),
    (calls_with_keywords, (1.5,), 0),
    (calls_chain, (0.7,), 0),
    (docstring_only, (1.5,), 0),
    (recursion, (0.7,), 0),
    (uses_tuple_helper, (1.5,), 0),
    (augmented_ops, (1.5,), 0),
    (boolean_mix, (1.5, True), 0),
    (boolean_mix, (1.5, False), 0),
    (annotated, (1.5,), 0),
    (loop_over_array, (np.array([1.0, 2.0, -0.5]),), 0),
    (enumerate_zip, (np.array([1.0, 2.0, -0.5]), np.array([0.3, 0.7, 1.1])), (0, 1)),
    (continue_in_loop, (1.3,), 0),
    (break_in_while, (1.5,), 0),
    (swap, (1.5, 0.5), (0, 1)),
    (constant_c_call, (1.5,), 0),
    (int_and_float_ops, (1.5, 7), 0),
    (dict_literal, (1.5,), 0),
    (list_index, (1.5,), 0),
    (array_slice, (np.array([1.0, 2.0, -0.5, 0.25]),), 0),
    (method_calls, (np.array([1.0, 2.0, -0.5]),), 0),
    (shadow_builtin, (1.5,), 0),
    (unused_param, (1.5, 2.5), (0, 1)),
    (pass_and_ellipsis, (1.5,), 0),
    (stop_gradient_use, (1.5,), 0),
    (min_max_three, (1.5,), 0),
    (returns_int_sometimes, (1.5,), 0),
    (global_constant, (1.5,), 0),
    (with_none_default, (1.5,), 0),
    (with_none_default, (1.5, 0.5), (0, 1)),
    (keyword_only, (1.5,), 0),
    (percent_format, (1.5,), 0),
    (tuple_result_indexed, (1.5,), 0),
    (ifexp_in_call, (0.5,), 0),
    (ifexp_in_call, (1.5,), 0),
    (list_concat, (1.5,), 0),
    (numpy_scalars, (1.5,), 0),
    (call_in_condition, (1.5,), 0),
    (call_in_condition, (0.5,), 0),
    (aliasing, (1.5,), 0),
    (reassign_param, (1.5,), 0),
    (constant_output, (1.5,), 0),
    (returns_param, (1.5,), 0),
    (closure_scaled, (1.5,), 0),
    (over_dict, (1.5,), 0),
    (over_items, (1.5,), 0),
    (over_reversed, (1.5,), 0),
    (nested_break, (1.5,), 0),
    (string_compare, (1.5, "square"), 0),
    (string_compare, (1.5, "plain"), 0),
    (abs_nested, (1.5,), 0),
    (abs_nested, (-3.5,), 0),
]


def root(x):
    """math.sqrt: at x = 0 the value is fine but its derivative 0.5 / sqrt(x) divides by 0."""
    y = math.sqrt(x)
    return y * 3.0


def _doubled(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return 2.0 * fn(x)

    return wrapper


def _passthrough(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return fn(x)

    return wrapper


@_doubled
def doubled_square(x):
    return x * x


@_passthrough
def passthrough_cube(x):
    return x * x * x
