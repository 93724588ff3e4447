"""A second corpus: NumPy as people really write it.

In-place writes into buffers and copies, containers (lists, tuples, dicts) as arguments and
as local values, the builtins that walk them, and a handful of small real models whose
parameters live in a dict.  ``CASES`` pairs the functions with inputs; tests/test_containers.py
checks ``sourcediff.grad`` against central finite differences on every case, in both modes,
with and without optimization.  A gradient with respect to a list / tuple / dict argument has
the argument's structure.

Views, aliases and writes through them have a corpus of their own (tests/corpus_aliasing.py).

Inputs stay inside each function's smooth domain (away from the kinks of max/abs, from branch
switches and from the points where a comprehension's ``if`` would flip).
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
# 1. In-place writes
# --------------------------------------------------------------------------------------------


def copy_then_set_element(x):
    y = x.copy()
    y[1] = x[0] * x[2]
    y[-1] = np.sin(y[1])
    return np.sum(y**2)


def zeros_set_slice(x):
    y = np.zeros(5)
    y[1:4] = np.sin(x[:3])
    y[0] = x[4]
    return np.sum(y * x)


def copy_augmented_elements(x, s):
    y = x.copy()
    y[2] += s * y[0]
    y[0] *= s
    y[1] -= y[2] / s
    return np.sum(y**2)


def slice_augmented(x, v):
    y = x.copy()
    y[1:3] += v
    y[:2] *= 2.0
    return np.sum(np.exp(y))


def set_column_2d(A, v):
    B = A.copy()
    B[:, 0] = v
    B[1, :] += v[1]
    B[2, 2] = A[0, 1] * v[2]
    return np.sum(B @ B)


def set_row_2d(A, v):
    B = np.zeros((3, 4))
    B[0] = v
    B[1:] = A[:2] * 2.0
    B[2, 1:3] = v[:2] ** 2
    return np.sum(np.tanh(B))


def zeros_filled_in_loop(x):
    out = np.zeros(len(x))
    for i in range(len(x)):
        out[i] = x[i] ** 2 + 1.0
    return np.sum(np.log(out))


def running_sum_buffer(x):
    out = np.zeros(len(x))
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = 0.9 * out[i - 1] + x[i]
    return np.sum(out**2)


def second_order_recurrence(x, a):
    out = np.zeros(len(x))
    out[0] = x[0]
    out[1] = a * out[0] + x[1]
    for i in range(2, len(x)):
        out[i] = a * out[i - 1] - 0.5 * out[i - 2] + x[i]
    return np.sum(out * out) + out[-1]


def overwrite_same_element(x):
    y = x.copy()
    for _ in range(3):
        for i in range(len(y)):
            y[i] = np.sin(y[i]) + 0.5 * x[i]
    return np.sum(y**2)


def build_matrix_elementwise(x):
    n = len(x)
    M = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            M[i, j] = x[i] * x[j] + (1.0 if i == j else 0.0)
    return np.sum(M @ x)


def scatter_add(x):
    out = np.zeros(3)
    for i in range(len(x)):
        out[i % 3] += x[i] ** 2
    return np.sum(out * np.array([1.0, 2.0, 3.0])) + out[0] * out[1]


def sliding_window_add(x):
    out = np.zeros(len(x) + 1)
    for i in range(len(x)):
        out[i : i + 2] += x[i]
    return np.sum(out**3)


def states_buffer_rows(W, xs):
    T = xs.shape[0]
    H = np.zeros((T + 1, W.shape[0]))
    for t in range(T):
        H[t + 1] = np.tanh(W @ H[t] + xs[t])
    return np.sum(H**2)


def zeros_like_filled(x):
    out = np.zeros_like(x)
    for i in range(len(x)):
        out[i] = x[i] * (i + 1.0)
    return np.sum(out**2)


def empty_filled(x):
    out = np.empty(len(x))
    for i in range(len(x)):
        out[i] = np.sin(x[i])
    return np.sum(out * x)


def np_copy_and_array_then_write(x):
    y = np.copy(x)
    y[0] = 2.0 * y[1]
    z = np.array(x)
    z[1] = 3.0 * x[0]
    return np.sum(y * z)


def enumerate_rows_write(X, w):
    out = np.zeros(X.shape[0])
    for i, row in enumerate(X):
        out[i] = row @ w
    return np.sum(np.tanh(out))


def write_in_branch(x):
    y = x.copy()
    if x[0] > 0.0:
        y[1] = x[0] ** 2
    else:
        y[2] = -x[0]
    return np.sum(y**3)


def write_in_while(x):
    y = np.zeros(4)
    i = 0
    while i < 4:
        y[i] = x[i] * x[(i + 1) % 4]
        i += 1
    return np.sum(y) + y[3] ** 2


def full_slice_write(x):
    y = np.ones(3)
    y[:] = x**2
    return np.prod(y) + y[0]


def write_into_parameter(x):
    x[0] = 2.0 * x[0]
    return x[0] * x[1] + np.sum(x**2)


def write_into_dict_parameter(p):
    p["a"] = 2.0 * p["a"]
    return p["a"] * p["b"]


def mask_write(x):
    y = x.copy()
    y[y < 0] = 0.0
    return np.sum(y * x)


def fancy_index_write(x, v):
    y = np.zeros(5)
    y[[0, 2, 4]] = v
    y[[1, 3]] += x[:2]
    return np.sum(y * np.arange(1.0, 6.0)) + np.sum(y**2)


def whole_array_augmented(W, x, h0):
    h = h0.copy()
    h += W @ x
    h *= 0.5
    h -= x[:2]
    h /= 1.5
    return np.sum(np.tanh(h))


def augmented_fresh_array(W, x, b):
    h = W @ x
    h += b
    h **= 2
    return np.sum(h)


def scalar_augmented_alias(x, y):
    z = x
    z += y
    z *= x
    return z + x


def dict_writes(x, y):
    d = {}
    d["a"] = x * y
    d["b"] = d["a"] + y
    d["a"] = d["a"] * 2.0
    d["a"] += d["b"]
    return d["a"] * d["b"]


def dict_array_writes(x):
    w = x.copy()
    w[0] = 3.0 * x[1]
    d = {"w": w * 1.0}
    d["s"] = np.sum(d["w"])
    d["w"] = d["w"] ** 2
    return d["s"] * np.sum(d["w"])


def dict_accumulate(x):
    stats = {"s": 0.0, "q": 0.0}
    for v in x:
        stats["s"] += v
        stats["q"] += v * v
    return stats["q"] / len(x) - (stats["s"] / len(x)) ** 2


def list_element_writes(x):
    lst = [x, x * x, 1.0]
    lst[2] = lst[0] + lst[1]
    lst[0] = 3.0 * lst[2]
    lst[1] += lst[0]
    return sum(lst)


def list_element_writes_loop(xs):
    ys = [0.0 for _ in range(len(xs))]
    for i in range(len(xs)):
        prev = ys[i - 1] if i > 0 else 1.0
        ys[i] = xs[i] * prev + xs[i] ** 2
    return ys[-1] + sum(ys)


# --------------------------------------------------------------------------------------------
# 2. Containers
# --------------------------------------------------------------------------------------------


def list_of_floats_arg(xs):
    return sum(v * v for v in xs) + xs[0] * xs[-1]


def tuple_arg_unpacked(t):
    a, b, c = t
    return a * b + math.sin(c)


def dict_arg(d):
    return d["a"] * d["b"] ** 2 + math.exp(d["c"])


def list_of_arrays_arg(ws):
    total = 0.0
    for w in ws:
        total = total + np.sum(w**2) * np.mean(w)
    return total


def tuple_of_arrays_arg(pair):
    A, v = pair
    return np.sum(np.tanh(A @ v))


def nested_containers_arg(p):
    h = p["x"]
    for W, b in p["layers"]:
        h = np.tanh(W @ h + b)
    return p["scale"] * np.sum(h**2)


def container_and_float(d, s):
    return s * d["u"] @ d["v"] + s**2


def list_literal(x, y):
    pts = [x, y, x * y]
    return pts[0] * pts[2] + pts[1] ** 2 + len(pts)


def dict_literal(x, y):
    d = {"a": x, "b": y * y, "c": [x, y]}
    return d["a"] * d["b"] + d["c"][0] * d["c"][1]


def append_in_loop(x, n):
    out = []
    for i in range(n):
        out.append(x**i / (i + 1))
    return sum(out)


def append_arrays_then_stack(x):
    rows = []
    for k in range(3):
        rows.append(x * (k + 1.0))
    M = np.stack(rows)
    return np.sum(np.sin(M))


def append_arrays_then_array(x):
    rows = []
    for k in range(3):
        rows.append(np.exp(-x * k))
    return np.sum(np.array(rows) ** 2)


def comprehension_with_if(x):
    return sum([v * v for v in x if v > 0.0])


def comprehension_of_arrays(W, xs):
    hs = [np.tanh(W @ x) for x in xs]
    return sum([np.sum(h) for h in hs])


def kernel_nested_comprehension(xs, ell):
    K = np.array([[math.exp(-((a - b) ** 2) / ell) for b in xs] for a in xs])
    return np.sum(K**2) + K[0, 1]


def nested_comprehension_shadowing(x):
    a = 1.0
    m = [[a * b for b in [1.0, 2.0]] for a in [x, 2.0 * x]]
    return m[0][1] + m[1][0] + a


def generator_in_sum(ws, xs):
    return sum(w * v for w, v in zip(ws, xs))


def generator_two_loops(xs, ys):
    return sum(a * b for a in xs for b in ys if b > 0.0)


def enumerate_loop(xs):
    total = 0.0
    for i, v in enumerate(xs):
        total += (i + 1) * v**2
    return total


def enumerate_start(x):
    total = 0.0
    for i, row in enumerate(x, 1):
        total += np.sum(row) / i
    return total**2


def zip_loop(xs, ys):
    total = 0.0
    for a, b in zip(xs, ys):
        total += a * math.exp(b)
    return total


def enumerate_zip(xs, ys):
    total = 0.0
    for i, (a, b) in enumerate(zip(xs, ys)):
        total += (i + 1.0) * a * b
    return total


def zip_pairwise(xs):
    return sum((b - a) ** 2 for a, b in zip(xs, xs[1:]))


def reversed_horner(coeffs, x):
    acc = 0.0
    for c in reversed(coeffs):
        acc = acc * x + c
    return acc


def len_mean(xs):
    return sum(xs) / len(xs) + xs[len(xs) - 1]


def builtin_sum_of_arrays(ws):
    total = sum(ws)
    return np.sum(total**2)


def params_items(params):
    total = 0.0
    for k, v in params.items():
        decay = 0.1 if k == "b" else 1.0
        total = total + decay * np.sum(v**2)
    return total


def params_items_with_key(params, x):
    out = 0.0
    for name, value in params.items():
        if name.startswith("w"):
            out = out + np.sum(value * x)
        else:
            out = out + np.sum(value) ** 2
    return out


def dict_keys_values(d):
    total = 0.0
    for k in d.keys():
        total += d[k] ** 2
    for v in d.values():
        total += math.sin(v)
    return total


def np_array_of_scalars(x, y):
    v = np.array([x, y, x * y])
    return v @ v + np.prod(v)


def nested_list_to_array(theta, v):
    c, s = np.cos(theta), np.sin(theta)
    R = np.array([[c, -s], [s, c]])
    return np.sum((R @ v) ** 3)


def concatenate_with_scalars(x, y):
    z = np.concatenate([x, [y, y * y]])
    return np.sum(z**2)


def l2_over_values(params):
    return sum(np.sum(v**2) for v in params.values())


def np_array_of_list_arg(xs):
    v = np.array(xs)
    return np.sum(np.exp(v)) * v[0]


def _moments(x):
    m = np.mean(x)
    return m, np.mean((x - m) ** 2)


def _split(x):
    return x[:2] * 2.0, x[2:], np.sum(x)


def tuple_return_unpacked(x):
    m, v = _moments(x)
    return m * v + v**2


def tuple_return_arrays(x):
    a, b, s = _split(x)
    return np.sum(a**2) * s + np.sum(b)


def _scale_all(ws, s):
    return [w * s for w in ws]


def _nested_pair(x):
    return (x, x * x), x + 1.0


def nested_tuple_return(x):
    (a, b), c = _nested_pair(x)
    return a * b * c


def list_through_helper(ws, s):
    scaled = _scale_all(ws, s)
    return sum(np.sum(w**2) for w in scaled)


def _dict_helper(p, x):
    return p["w"] @ x + p["b"]


def dict_through_helper(p, x):
    return np.tanh(_dict_helper(p, x)) ** 2


def list_slicing(xs):
    head = xs[:2]
    tail = xs[2:]
    return sum(head) * sum(tail)


# --------------------------------------------------------------------------------------------
# 3. Real models, parameters in a dict
# --------------------------------------------------------------------------------------------


def logistic_regression(params, X, y):
    z = X @ params["w"] + params["b"]
    p = 1.0 / (1.0 + np.exp(-z))
    nll = -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
    return nll + 0.01 * np.sum(params["w"] ** 2)


def mlp_softmax_xent(params, X, Y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    z = h @ params["W2"] + params["b2"]
    z = z - np.max(z, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0]


def mlp_integer_labels(params, X, labels):
    h = np.maximum(X @ params["W1"] + params["b1"], 0.0)
    z = h @ params["W2"] + params["b2"]
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = X.shape[0]
    return -np.mean(logp[np.arange(n), labels])


def rnn_loss(params, xs, targets):
    h = np.zeros(params["Wh"].shape[0])
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ params["Wx"] + h @ params["Wh"] + params["b"])
        y = h @ params["Wy"]
        loss += (y - targets[t]) ** 2
    return loss / xs.shape[0]


def rnn_collect_outputs(params, xs):
    h = np.zeros(params["Wh"].shape[0])
    outputs = []
    for x_t in xs:
        h = np.tanh(params["Wx"].T @ x_t + params["Wh"] @ h + params["b"])
        outputs.append(h @ params["Wy"])
    ys = np.array(outputs)
    return np.sum(ys**2) + ys[-1]


def attention(params, X):
    Q = X @ params["Wq"]
    K = X @ params["Wk"]
    V = X @ params["Wv"]
    d = Q.shape[1]
    S = Q @ K.T / np.sqrt(d)
    S = S - np.max(S, axis=1, keepdims=True)
    A = np.exp(S)
    A = A / np.sum(A, axis=1, keepdims=True)
    out = A @ V
    return np.sum(out**2)


def lotka_volterra(params, state, dt, steps):
    x, y = state
    for _ in range(steps):
        dx = params["alpha"] * x - params["beta"] * x * y
        dy = params["delta"] * x * y - params["gamma"] * y
        x = x + dt * dx
        y = y + dt * dy
    return (x - 1.0) ** 2 + y


def lotka_volterra_fit(params, u0, observed, dt):
    steps = observed.shape[0]
    traj = np.zeros((steps, 2))
    traj[0] = u0
    for i in range(1, steps):
        x, y = traj[i - 1, 0], traj[i - 1, 1]
        du = np.array(
            [
                params["alpha"] * x - params["beta"] * x * y,
                params["delta"] * x * y - params["gamma"] * y,
            ]
        )
        traj[i] = traj[i - 1] + dt * du
    return np.mean((traj - observed) ** 2)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

_INPUTS = Inputs(20240612)
_RNG = _INPUTS.rng
_normal = _INPUTS.normal
_uniform = _INPUTS.uniform
_away_from = _INPUTS.away_from


def _floats(*values):
    return [float(v) for v in values]


_LOGREG_X = _normal(8, 3)
_LOGREG_Y = (_RNG.random(8) < 0.5).astype(float)
_MLP_X = _normal(6, 4)
_MLP_Y = np.eye(3)[_RNG.integers(0, 3, size=6)]
_MLP_LABELS = _RNG.integers(0, 3, size=6)


def _mlp_params():
    return {
        "W1": _normal(4, 5, scale=0.7),
        "b1": _normal(5, scale=0.3),
        "W2": _normal(5, 3, scale=0.7),
        "b2": _normal(3, scale=0.3),
    }


def _relu_mlp_params():
    """Parameters whose hidden pre-activations stay at least 0.05 away from the ReLU kink."""
    while True:
        p = _mlp_params()
        if np.min(np.abs(_MLP_X @ p["W1"] + p["b1"])) > 0.05:
            return p


def _rnn_params(n_in, n_h):
    return {
        "Wx": _normal(n_in, n_h, scale=0.5),
        "Wh": _normal(n_h, n_h, scale=0.4),
        "b": _normal(n_h, scale=0.2),
        "Wy": _normal(n_h),
    }


def _lv_params():
    return {"alpha": 1.1, "beta": 0.4, "delta": 0.1, "gamma": 0.4}


def _lv_observed(steps, dt):
    p = {"alpha": 1.0, "beta": 0.45, "delta": 0.12, "gamma": 0.35}
    out = np.zeros((steps, 2))
    out[0] = (2.0, 1.0)
    for i in range(1, steps):
        x, y = out[i - 1]
        du = np.array([p["alpha"] * x - p["beta"] * x * y, p["delta"] * x * y - p["gamma"] * y])
        out[i] = out[i - 1] + dt * du
    return out + 0.05 * _normal(steps, 2)


CASES = [
    # 1. in-place writes
    Case(copy_then_set_element, (_normal(4),)),
    Case(zeros_set_slice, (_normal(5),)),
    Case(copy_augmented_elements, (_normal(4), 1.3), wrt=(0, 1)),
    Case(slice_augmented, (_normal(4), _normal(2)), wrt=(0, 1)),
    Case(set_column_2d, (_normal(3, 3), _normal(3)), wrt=(0, 1)),
    Case(set_row_2d, (_normal(3, 4), _normal(4)), wrt=(0, 1)),
    Case(zeros_filled_in_loop, (_normal(5),)),
    Case(running_sum_buffer, (_normal(6),)),
    Case(second_order_recurrence, (_normal(7), 0.8), wrt=(0, 1)),
    Case(overwrite_same_element, (_normal(4),)),
    Case(build_matrix_elementwise, (_normal(3),)),
    Case(scatter_add, (_normal(7),)),
    Case(sliding_window_add, (_normal(5),)),
    Case(states_buffer_rows, (_normal(3, 3, scale=0.5), _normal(4, 3)), wrt=(0, 1)),
    Case(zeros_like_filled, (_normal(4),)),
    Case(empty_filled, (_normal(4),)),
    Case(np_copy_and_array_then_write, (_normal(3),)),
    Case(enumerate_rows_write, (_normal(4, 2), _normal(2)), wrt=(0, 1)),
    Case(write_in_branch, (np.array([0.6, -0.4, 0.9]),)),
    Case(write_in_branch, (np.array([-0.6, -0.4, 0.9]),), id="write_in_branch-else"),
    Case(write_in_while, (_normal(4),)),
    Case(full_slice_write, (_normal(3),)),
    Case(write_into_parameter, (_normal(3),)),
    Case(write_into_dict_parameter, ({"a": 0.3, "b": 0.5},)),
    Case(mask_write, (_away_from(0.0, 6),)),
    Case(fancy_index_write, (_normal(3), _normal(3)), wrt=(0, 1)),
    Case(whole_array_augmented, (_normal(2, 3), _normal(3), _normal(2)), wrt=(0, 1, 2)),
    Case(augmented_fresh_array, (_normal(2, 3), _normal(3), _normal(2)), wrt=(0, 1, 2)),
    Case(scalar_augmented_alias, (0.7, -0.4), wrt=(0, 1)),
    Case(dict_writes, (0.6, 1.3), wrt=(0, 1)),
    Case(dict_array_writes, (_normal(3),)),
    Case(dict_accumulate, (_normal(4),)),
    Case(list_element_writes, (0.8,)),
    Case(list_element_writes_loop, (_floats(*_normal(4)),)),
    # 2. containers
    Case(list_of_floats_arg, (_floats(0.5, -1.2, 2.0),)),
    Case(tuple_arg_unpacked, ((0.3, -0.8, 1.1),)),
    Case(dict_arg, ({"a": 0.4, "b": -1.5, "c": 0.2},)),
    Case(list_of_arrays_arg, ([_normal(3), _normal(2, 2), _normal(1)],)),
    Case(tuple_of_arrays_arg, ((_normal(2, 3), _normal(3)),)),
    Case(
        nested_containers_arg,
        (
            {
                "x": _normal(3),
                "layers": [(_normal(4, 3), _normal(4)), (_normal(2, 4), _normal(2))],
                "scale": 0.7,
            },
        ),
    ),
    Case(container_and_float, ({"u": _normal(3), "v": _normal(3)}, 1.4), wrt=(0, 1)),
    Case(list_literal, (0.9, -0.6), wrt=(0, 1)),
    Case(dict_literal, (0.9, -0.6), wrt=(0, 1)),
    Case(append_in_loop, (0.7, 5)),
    Case(append_arrays_then_stack, (_normal(3),)),
    Case(append_arrays_then_array, (_normal(3),)),
    Case(comprehension_with_if, (_away_from(0.0, 6),)),
    Case(comprehension_of_arrays, (_normal(2, 3), _normal(4, 3)), wrt=(0, 1)),
    Case(kernel_nested_comprehension, (_floats(0.1, 0.5, -0.4), 0.8), wrt=(0, 1)),
    Case(nested_comprehension_shadowing, (0.6,)),
    Case(generator_in_sum, (_floats(0.5, 1.5, -2.0), _normal(3)), wrt=(0, 1)),
    Case(generator_two_loops, (_floats(0.3, -0.7), _floats(0.9, -0.4, 1.6)), wrt=(0, 1)),
    Case(enumerate_loop, (_floats(0.5, -0.25, 1.5),)),
    Case(enumerate_start, (_normal(3, 2),)),
    Case(zip_loop, (_normal(4), _floats(0.1, -0.3, 0.5)), wrt=(0, 1)),
    Case(enumerate_zip, (_floats(0.2, 0.4, -0.6), _normal(3)), wrt=(0, 1)),
    Case(zip_pairwise, (_floats(0.1, 0.5, -0.3, 0.9),)),
    Case(reversed_horner, (_floats(1.0, -2.0, 0.5, 0.25), 0.7), wrt=(0, 1)),
    Case(len_mean, (_floats(0.3, 1.2, -0.4),)),
    Case(builtin_sum_of_arrays, ([_normal(3), _normal(3), _normal(3)],)),
    Case(params_items, ({"w": _normal(3), "b": 0.4, "V": _normal(2, 2)},)),
    Case(params_items_with_key, ({"w1": _normal(3), "b1": _normal(3)}, _normal(3)), wrt=(0, 1)),
    Case(dict_keys_values, ({"p": 0.3, "q": -1.1},)),
    Case(np_array_of_scalars, (0.8, -1.3), wrt=(0, 1)),
    Case(nested_list_to_array, (0.4, _normal(2)), wrt=(0, 1)),
    Case(concatenate_with_scalars, (_normal(2), 0.7), wrt=(0, 1)),
    Case(l2_over_values, ({"a": _normal(2), "b": 0.7, "C": _normal(2, 2)},)),
    Case(np_array_of_list_arg, (_floats(0.2, -0.5, 0.9),)),
    Case(tuple_return_unpacked, (_normal(5),)),
    Case(tuple_return_arrays, (_normal(5),)),
    Case(nested_tuple_return, (0.7,)),
    Case(list_through_helper, ([_normal(2), _normal(3)], 0.6), wrt=(0, 1)),
    Case(dict_through_helper, ({"w": _normal(3), "b": 0.2}, _normal(3)), wrt=(0, 1)),
    Case(list_slicing, (_floats(0.5, -1.0, 1.5, 2.0),)),
    # 3. models
    Case(logistic_regression, ({"w": _normal(3), "b": 0.1}, _LOGREG_X, _LOGREG_Y)),
    Case(mlp_softmax_xent, (_mlp_params(), _MLP_X, _MLP_Y)),
    Case(mlp_integer_labels, (_relu_mlp_params(), _MLP_X, _MLP_LABELS)),
    Case(rnn_loss, (_rnn_params(3, 4), _normal(5, 3), _normal(5))),
    Case(rnn_collect_outputs, (_rnn_params(3, 4), _normal(4, 3))),
    Case(
        attention,
        ({"Wq": _normal(4, 3), "Wk": _normal(4, 3), "Wv": _normal(4, 3)}, _normal(5, 4)),
    ),
    Case(lotka_volterra, (_lv_params(), (2.0, 1.0), 0.01, 300), wrt=(0, 1)),
    Case(
        lotka_volterra_fit,
        (_lv_params(), np.array([2.0, 1.0]), _lv_observed(60, 0.05), 0.05),
        wrt=(0, 1),
    ),
]
