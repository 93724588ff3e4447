"""A corpus of real code's callables and objects: functions as values, methods, objects,
dataclasses, named tuples, lambdas, nested functions, partials, decorators, the builtins that
build sequences, star-arguments and calls made for their effect.

tests/test_values.py checks ``sourcediff.grad`` against central finite differences (which
understand dataclasses and plain objects: tests/fd.py) on every case, in both modes, optimized
and not.
"""

import collections
import dataclasses
import functools
import logging
import time
import warnings

import numpy as np
from corpus import Case
from inputs import Inputs

import sourcediff

_rng = Inputs(1612)


def _normal(*shape):
    return _rng.normal(*shape)


# ---- functions as values ------------------------------------------------------------------------
def square(v):
    return v * v


def apply_twice_scaled(f, x):
    return f(x) + 2.0 * f(3.0 * x)


def activation_default(x, act=np.tanh):
    return np.sum(act(x) * x)


def rosen(x):
    return (1.0 - x[0]) ** 2 + 10.0 * (x[1] - x[0] ** 2) ** 2


drosen = sourcediff.grad(rosen)


def gradient_descent(f, df, x, steps):
    for _ in range(steps):
        x = x - 0.05 * df(x)
    return f(x)


def callables_in_a_list(x, fs):
    s = 0.0
    for f in fs:
        s = s + f(x)
    return s


def callables_in_a_dict(x, table):
    return table["a"](x) * table["b"](x)


cube_jvp = sourcediff.jvp(lambda v: v ** 3)


def calls_a_jvp(x):
    value, tangent = cube_jvp(x, 1.0)
    return value + tangent


def make_layer(k):
    def layer(x):
        return np.tanh(k * x)
    return layer


def calls_a_returned_function(x):
    return np.sum(make_layer(2.0)(x))


# ---- methods and objects ------------------------------------------------------------------------
class Layer:
    def __init__(self, W, b):
        self.W = W
        self.b = b

    def __call__(self, x):
        return np.tanh(self.W @ x + self.b)


class Model:
    def __init__(self, layers, scale):
        self.layers = layers
        self.scale = scale

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.scale * x

    def loss(self, x, y):
        return np.sum((self.forward(x) - y) ** 2)

    @staticmethod
    def penalty(w):
        return np.sum(w * w)


MODEL = Model([Layer(_normal(3, 2), _normal(3)), Layer(_normal(2, 3), _normal(2))], 1.5)


def model_loss(model, x, y):
    return model.loss(x, y) + 0.1 * Model.penalty(model.layers[0].W)


def global_model_loss(x):
    return MODEL.loss(x, np.ones(2))


@dataclasses.dataclass
class Params:
    w: np.ndarray
    b: float = 0.0
    name: str = "p"


Pair = collections.namedtuple("Pair", "a b")


def dataclass_loss(p, x):
    return np.sum((p.w * x + p.b) ** 2)


def dataclass_built_inside(w, b, x):
    p = Params(w, b=b)
    q = Params(p.w * 2.0)
    return np.sum((p.w * x + p.b) ** 2) + np.sum(q.w) + q.b


def namedtuple_loss(p, x):
    q = Pair(p.b * x, b=p.a)
    return q.a * q.b + p[0] * p.a


# ---- lambdas, nested functions, partials, decorators --------------------------------------------
cubic = lambda v: v ** 3 - 2.0 * v  # noqa: E731


def nested_closure(x):
    def g(v):
        return v * v + x
    return g(x) + g(2.0 * x)


def nested_layers(x, W):
    def layer(h, scale=1.0):
        return np.tanh(W @ h) * scale
    h = x
    for _ in range(3):
        h = layer(h, scale=0.5)
    return np.sum(h)


def nested_returns_early(x):
    def g(v):
        if v > 0.5:
            return v * 2.0
        for _ in range(3):
            v = v * x
        return v
    return g(x) + g(0.3)


def rnn_with_nested_step(params, inputs):
    def update(inp, hid):
        return np.tanh(params["W"] @ np.concatenate([inp, hid]))
    hid = np.zeros(2)
    for inp in inputs:
        hid = update(inp, hid)
    return np.sum(hid)


def lambdas_inside(x):
    sq = lambda v: v * v  # noqa: E731
    return sq(x) + sq(sq(x)) + sum((lambda v: v * x)(t) for t in [1.0, 2.0])


def _power(a, b):
    return a ** b


def partial_made_inside(x, y):
    p = functools.partial(_power, b=y)
    return p(x) * 2.0


def partial_as_argument(x, f):
    return f(x) + f(2.0 * x)


def timed(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()  # noqa: F841  (a real decorator would log it)
        return fn(*args, **kwargs)
    return wrapper


@timed
def timed_helper(x):
    return x * x


@functools.lru_cache(maxsize=128)
def cached_constant(n):
    return float(n) * 0.5


def decorated_helpers(x):
    return timed_helper(x) + cached_constant(3) * x


# ---- builtins that build sequences, star-arguments, effects -------------------------------------
def zip_and_enumerate_values(x, y):
    pairs = list(zip([x, y], [y, x]))
    e = list(enumerate([x, x * y]))
    return sum(a * b for a, b in pairs) + e[1][1] * e[0][1]


def dict_tuple_map(x, y):
    d = dict(a=x, b=y * 2.0)
    t = tuple([x, 2.0 * x])
    return d["a"] * d["b"] + t[0] * t[1] + sum(map(lambda v: v * v, [x, y])) + \
        sum(list(map(square, [x, 3.0 * y])))


def transposed_pairs(xs, ys):
    pairs = [(a, b) for a, b in zip(xs, ys)]
    us, vs = zip(*pairs)
    return sum(u * v for u, v in zip(us, vs))


def _three(a, b, c):
    return a * b + c


def star_arguments(x):
    noise = np.random.randn(*x.shape) * 0.0
    params = [x[0], 2.0, x[1] * x[1]]
    return np.sum(x * x + noise) + _three(*params)


HOOK_CALLS = []


def _hook(step, value):
    HOOK_CALLS.append((step, value))


def calls_for_effect(x):
    np.random.seed(0)
    logging.debug("value %s", x)
    warnings.warn("sourcediff corpus: a warning", stacklevel=1)
    assert x > 0
    _hook(1, x)
    return x * x


RNG = np.random.default_rng(0)


def generator_in_a_local(x):
    r = RNG
    noise = r.normal(loc=0.0, scale=1.0, size=3) * 0.0
    return np.sum(x * x + noise)


def seeded_draws_stay(x):
    """The optimizer keeps both seeds: dropping one would change the second draw."""
    np.random.seed(0)
    a = np.random.randn(3)
    np.random.seed(0)
    b = np.random.randn(3)
    return np.sum(x * (1.0 + a - b))


def scalar_shaped_outputs(W, x):
    return (x @ W @ x).reshape(1, 1) + np.sum(x * x, keepdims=True)


CASES = [
    Case(apply_twice_scaled, (square, 0.7), wrt=1),
    Case(apply_twice_scaled, (np.sin, 0.7), wrt=1, id="apply_numpy_function"),
    Case(apply_twice_scaled, (cubic, 0.7), wrt=1, id="apply_lambda"),
    Case(apply_twice_scaled, (functools.partial(np.power, 2.0), 0.7), wrt=1,
         id="apply_partial"),
    Case(activation_default, (_normal(3),)),
    Case(gradient_descent, (rosen, drosen, np.array([0.3, 0.4]), 3), wrt=2),
    Case(callables_in_a_list, (0.7, [square, np.cos, cubic])),
    Case(callables_in_a_dict, (0.7, {"a": np.exp, "b": square})),
    Case(calls_a_jvp, (0.7,)),
    Case(calls_a_returned_function, (_normal(3),)),
    Case(model_loss, (MODEL, _normal(2), _normal(2)), wrt=(0, 1)),
    Case(global_model_loss, (_normal(2),)),
    Case(dataclass_loss, (Params(_normal(3), 0.3), _normal(3)), wrt=(0, 1)),
    Case(dataclass_built_inside, (_normal(3), 0.3, _normal(3)), wrt=(0, 1)),
    Case(namedtuple_loss, (Pair(0.5, 0.2), 0.7), wrt=(0, 1)),
    Case(cubic, (0.7,), id="grad_of_a_lambda"),
    Case(nested_closure, (0.7,)),
    Case(nested_layers, (_normal(3), _normal(3, 3)), wrt=(0, 1)),
    Case(nested_returns_early, (0.7,)),
    Case(nested_returns_early, (0.3,), id="nested_returns_early_loop"),
    Case(rnn_with_nested_step, ({"W": _normal(2, 4)}, _normal(3, 2))),
    Case(lambdas_inside, (0.7,)),
    Case(partial_made_inside, (0.7, 1.3), wrt=(0, 1)),
    Case(partial_as_argument, (0.7, functools.partial(_power, b=3.0))),
    Case(decorated_helpers, (0.7,)),
    Case(zip_and_enumerate_values, (0.7, 0.4), wrt=(0, 1)),
    Case(dict_tuple_map, (0.7, 0.4), wrt=(0, 1)),
    Case(transposed_pairs, ([0.7, 0.2], [0.4, 0.9]), wrt=(0, 1)),
    Case(star_arguments, (np.array([0.3, 0.4]),)),
    Case(calls_for_effect, (0.7,)),
    Case(scalar_shaped_outputs, (_normal(3, 3), _normal(3)), wrt=(0, 1)),
    Case(generator_in_a_local, (_normal(3),)),
    Case(seeded_draws_stay, (_normal(3),)),
]
