"""Functions sourcediff must refuse, each with a clear SourceDiffError naming file:line.

Every offending line carries a marker comment ``# BAD: <function name>``; tests/test_errors.py
looks the marker up to compute the absolute line number the error message must name, so this
file can be edited freely without updating hard-coded numbers.
"""

import functools
import math
import operator

import numpy as np

COUNTER = 0.0


def gen_yield(x):
    yield x * 2.0  # BAD: gen_yield
    return x


def try_except(x):
    try:  # BAD: try_except
        y = math.log(x)
    except ValueError:
        y = 0.0
    return y


def try_finally(x):
    y = 0.0
    try:  # BAD: try_finally
        y = math.log(x)
    finally:
        y = y + 1.0
    return y


def global_write(x):
    global COUNTER  # BAD: global_write
    COUNTER = x
    return x * 2.0


def _make_nonlocal():
    acc = 0.0

    def nonlocal_write(x):
        nonlocal acc  # BAD: nonlocal_write
        acc = x
        return x * 3.0

    return nonlocal_write


nonlocal_write = _make_nonlocal()


def class_inside(x):
    class Box:  # BAD: class_inside
        value = 1.0
    return x * Box.value


async def async_def(x):  # BAD: async_def
    return x * 2.0


def with_block(x):
    with np.errstate(all="ignore"):  # BAD: with_block
        y = np.log(x)
    return y


def star_args(*xs):  # BAD: star_args
    return xs[0] * 2.0


def star_kwargs(x, **kw):  # BAD: star_kwargs
    return x * 2.0


def _plus(a, b):
    return a + b


def star_call(x):
    xs = (x,)
    return _plus(*xs, x)  # BAD: star_call


def _make_indented():
    def indented_star_call(x):
        xs = (x,)
        return _plus(*xs, x)  # BAD: indented_star_call

    return indented_star_call


indented_star_call = _make_indented()


def kwargs_call(x):
    kw = {"a": x, "b": x}
    return _plus(**kw)  # BAD: kwargs_call


a_lambda = lambda x: x * x  # noqa: E731


def nested_def(x):
    def inner(v):
        return inner(v - 1.0) if v > 1.0 else v  # BAD: nested_def
    return inner(x)


def no_rule_c_function(x):
    return math.gamma(x)  # BAD: no_rule_c_function


def no_rule_numpy(a):
    w, v = np.linalg.eig(a)  # BAD: no_rule_numpy
    return np.sum(w)


def no_rule_operator(x):
    getter = operator.itemgetter(0)
    return getter([x, x]) * 2.0  # BAD: no_rule_operator


def non_scalar(x):
    y = x * 2.0
    return y  # BAD: non_scalar


def non_scalar_branch(x, flag):
    if flag:
        return np.sum(x)
    return x * 3.0  # BAD: non_scalar_branch


def two_params(x, y):  # BAD: two_params
    return x * y


def int_param(x, n):  # BAD: int_param
    return x ** n


def walrus(x):
    if (y := x * 2.0) > 1.0:  # BAD: walrus
        return y
    return x


def set_literal(x):
    s = {1.0, 2.0}  # BAD: set_literal
    return x * len(s)


def dict_comp(x):
    d = {k: x * k for k in range(3)}  # BAD: dict_comp
    return d[1]


def list_comp(x):
    ys = [x * k for k in range(3)]  # BAD: list_comp
    return ys[1]


def generator_expression(x):
    return sum(x * k for k in range(3))  # BAD: generator_expression


def set_comp(x):
    s = {x * k for k in range(3)}  # BAD: set_comp
    return x * len(s)


def del_statement(x):
    y = x * 2.0
    del y  # BAD: del_statement
    return x


def import_inside(x):
    import math as m  # BAD: import_inside
    return m.sin(x)


def import_from_inside(x):
    from math import sin  # BAD: import_from_inside
    return sin(x)


def for_else(x):
    s = 0.0
    for k in range(3):
        s = s + x * k
    else:
        s = s + 1.0  # BAD: for_else
    return s


def while_else(x):
    s = 0.0
    k = 0
    while k < 3:
        s = s + x
        k = k + 1
    else:
        s = s * 2.0  # BAD: while_else
    return s


class _Holder:
    value = 0.0


def attribute_write(x):
    h = _Holder()
    h.value = x  # BAD: attribute_write
    return x * 2.0


def subscript_write(x):
    y = np.zeros(3)
    y[0] = x  # BAD: subscript_write
    return np.sum(y)


def subscript_augassign(x):
    y = np.ones(3)
    y[1] += x  # BAD: subscript_augassign
    return np.sum(y)


def starred_unpack(x):
    a, *_rest = [x, x, x]  # BAD: starred_unpack
    return a


def match_statement(x):
    n = 1
    match n:  # BAD: match_statement
        case 1:
            return x
        case _:
            return x * 2.0


def no_return(x):  # BAD: no_return
    x * 2.0


def side_effect_call(x):
    ys = []
    ys.append(x)  # BAD: side_effect_call
    return x * 2.0


def _args_wrapper(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kw):  # BAD: wrapped_with_star_args
        return 2.0 * fn(*args, **kw)

    return wrapper


@_args_wrapper
def wrapped_with_star_args(x):
    """A decorator whose wrapper changes the result: sourcediff differentiates the wrapper that
    runs, and refuses its *args rather than differentiate the wrapped function instead."""
    return x * x


# Defined with exec: no source file line to read.
_ns = {}
exec("def from_exec(x):\n    return x * 2.0\n", _ns)
from_exec = _ns["from_exec"]


def _helper_with_try(v):
    try:  # BAD: _helper_with_try
        return v * 2.0
    except ZeroDivisionError:
        return v


def calls_bad_callee(x):
    return _helper_with_try(x) + 1.0


def _helper_no_rule(v):
    return math.lgamma(v) * 2.0  # BAD: _helper_no_rule


def calls_callee_without_rule(x):
    y = x * x
    return _helper_no_rule(y)
