"""One function per construct sourcediff refuses, for the table in docs/supported-python.md.

tests/test_docs.py differentiates each `refuse_*` function (with the arguments in ARGS, or a
float array of three ones) and checks that the message and hint are the ones the table gives.
"""

import math

import numpy as np

import sourcediff

ARGS = {}


# ---- syntax the fence refuses -------------------------------------------------------------------
def refuse_nested_def(x):
    def down(v):
        return down(v - 1.0) if np.sum(v) > 3.0 else v
    return np.sum(down(x))


def refuse_class(x):
    class Box:
        pass
    return x


def refuse_lambda(x):
    scales = [lambda v: v * x]
    return np.sum(scales[0](x))


def refuse_yield(x):
    yield x


def refuse_yield_from(x):
    yield from x


def refuse_try(x):
    try:
        y = np.log(x)
    except ValueError:
        y = x
    return y


def refuse_with(x):
    with np.errstate(all="ignore"):
        y = np.log(x)
    return y


def refuse_global(x):
    global SCALE
    SCALE = 2.0
    return x * SCALE


def _make_nonlocal():
    scale = 2.0

    def refuse_nonlocal(x):
        nonlocal scale
        scale = scale + 1.0
        return x * scale
    return refuse_nonlocal


refuse_nonlocal = _make_nonlocal()


def refuse_del(x):
    y = x * 2.0
    del x
    return y


def refuse_import(x):
    import math as m
    return m.sin(x)


def refuse_walrus(x):
    if (y := x * 2.0) is not None:
        return y
    return x


def refuse_set_comprehension(x):
    s = {v for v in x}
    return len(s) * x


def refuse_dict_comprehension(x):
    d = {i: v for i, v in enumerate(x)}
    return d[0]


def refuse_set_literal(x):
    s = {1.0, 2.0}
    return x * len(s)


def refuse_star_call(x):
    args = (x,)
    return np.sum(np.power(*args, 2.0))


def refuse_match(x):
    match x.ndim:
        case 1:
            y = x
        case _:
            y = x.ravel()
    return y


def refuse_for_else(x):
    s = 0.0
    for v in x:
        s = s + v
    else:
        s = s * 2.0
    return s


def refuse_while_else(x):
    s = x
    while np.sum(s) > 1.0:
        s = s / 2.0
    else:
        s = s * 2.0
    return s


def refuse_attribute_assignment(x):
    x.flags.writeable = False
    return x


def refuse_nested_item_assignment(x):
    rows = [x.copy(), x.copy()]
    rows[0][1] = 0.0
    return rows[0]


def refuse_starred_unpacking(x):
    first, *rest = x
    return first


def refuse_star_parameters(*xs):
    return xs[0]


ARGS["refuse_star_parameters"] = (np.ones(3),)


def refuse_keyword_unpacking(x):
    options = {"axis": 0}
    return np.sum(x, **options)


def refuse_dict_unpacking(x):
    base = {"a": x}
    both = {**base, "b": x}
    return both["a"]


def refuse_bare_call(x):
    y = x.copy()
    y.sort()
    return y


def refuse_no_return(x):
    y = x * 2.0
    print(y)


def refuse_comprehension_in_while(x):
    s = x
    while sum([v for v in s]) > 1.0:
        s = s / 2.0
    return s


async def refuse_async(x):
    return x


# ---- the aliasing policy ------------------------------------------------------------------------
TABLE = np.linspace(0.0, 1.0, 3)


def refuse_module_array_write(x):
    t = TABLE
    t[0] = x[0]
    return np.sum(t * x)


def refuse_list_pop(x):
    stack = [x, 2.0 * x]
    last = stack.pop()
    return np.sum(last * stack[0])


def refuse_shuffle(x):
    y = x.copy()
    np.random.shuffle(y)
    return np.sum(y * x)


# ---- calls --------------------------------------------------------------------------------------
erf_ufunc = np.frompyfunc(math.erf, 1, 1)   # a NumPy ufunc: no Python source, no rule


def refuse_no_rule(x):
    return np.sum(erf_ufunc(x))


def refuse_rule_misfit(x):
    return np.sum(x, where=x > 0.0)


def _only_forward(v):
    return v * v


@sourcediff.tangent(_only_forward)
def _(y, v):
    d[y] = 2.0 * v * d[v]  # noqa: F821  (d is a name of the template language)


def refuse_no_reverse_rule(x):
    return np.sum(_only_forward(x))


# ---- what is differentiated ---------------------------------------------------------------------
def refuse_vector_output(x):
    return x * 2.0


def refuse_integer_wrt(n):
    return n * 2.0


ARGS["refuse_integer_wrt"] = (3,)


def refuse_list_arithmetic(x):
    parts = [x[0], x[1]] + [x[2]]
    return parts[0] * parts[2]


namespace = {}
exec("def refuse_no_source(x):\n    return x * 2.0\n", namespace)
refuse_no_source = namespace["refuse_no_source"]
