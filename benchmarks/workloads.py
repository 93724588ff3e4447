"""Benchmark workloads for sourcediff.

Each workload is a plain module-level function (sourcediff reads its source with
``inspect.getsource``) plus a hand-written gradient with the same signature.

The functions to differentiate use only the constructs sourcediff supports:
``+ - * / **``, unary ``-``, ``math.*``, ``np.sin/cos/exp/log/sqrt/tanh/sum/mean/dot/
matmul/maximum/where``, ``@``, ``if``/``while``/``for ... in range(...)`` and row indexing
``x[t]`` inside loops.  They refer to NumPy as ``np`` and to the math module as ``math``
through module globals, so that ``run.py`` can rebind those two names to autograd, JAX or
PyTorch equivalents when timing peer tools.

The hand-written gradients are *reverse-mode adjoints* written the way a person would:
run the forward computation, keep what the backward sweep needs (trajectories in Python
lists), then sweep backward.  Comparing sourcediff's reverse mode against them therefore
measures the quality of the generated adjoint code, not a choice of algorithm.

What a hand-written gradient saves for its backward sweep lives in list-valued local
variables (``xs``, ``thetas``/``omegas``, ``hs``); ``run.py`` measures them when the
gradient returns (its "hand tape").  Values kept only in ordinary local variables (the
array workloads without a loop, the straight-line scalar function) are not counted, for
the hand-written gradients as for sourcediff, whose tape is likewise used only by loops.
Each workload also states the expected hand tape analytically (``hand_saved``), which
``run.py --check`` compares with the measurement.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SIZES = ("small", "large")


# ---------------------------------------------------------------------------
# 1. Scalar polynomial iteration: x <- x^2/4 + x/2 + 1/10 (contracts to ~0.2254).
# ---------------------------------------------------------------------------


def poly_loop(x, n):
    for _ in range(n):
        x = x * x * 0.25 + 0.5 * x + 0.1
    return x


def poly_loop_grad(x, n):
    xs = []
    for _ in range(n):
        xs.append(x)
        x = x * x * 0.25 + 0.5 * x + 0.1
    g = 1.0
    for i in range(n - 1, -1, -1):
        g = g * (0.5 * xs[i] + 0.5)
    return g


def poly_loop_args(size, rng):
    n = 10 if size == "small" else 1000
    return (0.8, n)


# ---------------------------------------------------------------------------
# 2. Branchy scalar while loop: value-dependent if/else inside a while.
#    The orbit from x0 = 0.37 stays >= 0.0038 away from the branch point 0.5.
# ---------------------------------------------------------------------------


def branchy_while(x, n):
    i = 0
    while i < n:
        if x > 0.5:
            x = 1.4 * x - x * x
        else:
            x = x * x + 0.3
        i = i + 1
    return x


def branchy_while_grad(x, n):
    xs = []
    i = 0
    while i < n:
        xs.append(x)
        if x > 0.5:
            x = 1.4 * x - x * x
        else:
            x = x * x + 0.3
        i += 1
    g = 1.0
    for j in range(len(xs) - 1, -1, -1):
        xj = xs[j]
        if xj > 0.5:
            g = g * (1.4 - 2.0 * xj)
        else:
            g = g * (2.0 * xj)
    return g


def branchy_while_args(size, rng):
    n = 10 if size == "small" else 1000
    return (0.37, n)


# ---------------------------------------------------------------------------
# 3. Euler-integrated damped pendulum; gradient w.r.t. stiffness k and damping c.
# ---------------------------------------------------------------------------


def pendulum_ode(k, c, theta, omega, dt, n):
    for _ in range(n):
        dtheta = omega
        domega = -k * math.sin(theta) - c * omega
        theta = theta + dt * dtheta
        omega = omega + dt * domega
    return theta * theta + 0.5 * omega * omega


def pendulum_ode_grad(k, c, theta, omega, dt, n):
    thetas = []
    omegas = []
    for _ in range(n):
        thetas.append(theta)
        omegas.append(omega)
        domega = -k * math.sin(theta) - c * omega
        theta = theta + dt * omega
        omega = omega + dt * domega
    g_theta = 2.0 * theta
    g_omega = omega
    g_k = 0.0
    g_c = 0.0
    for i in range(n - 1, -1, -1):
        th = thetas[i]
        om = omegas[i]
        g_dom = dt * g_omega
        g_k -= g_dom * math.sin(th)
        g_c -= g_dom * om
        g_theta, g_omega = (
            g_theta - g_dom * k * math.cos(th),
            g_theta * dt + g_omega - g_dom * c,
        )
    return g_k, g_c


def pendulum_ode_args(size, rng):
    n = 10 if size == "small" else 1000
    return (4.0, 0.3, 1.0, 0.0, 0.01, n)


# ---------------------------------------------------------------------------
# 4. Logistic regression: mean log-loss, labels in {-1, +1}, moderate margins.
# ---------------------------------------------------------------------------


def logreg_loss(w, X, y):
    z = X @ w
    return np.mean(np.log(1.0 + np.exp(-y * z)))


def logreg_loss_grad(w, X, y):
    z = X @ w
    e = np.exp(-y * z)
    g_z = (-y * e / (1.0 + e)) / z.shape[0]
    return X.T @ g_z


def logreg_loss_args(size, rng):
    m, d = (20, 10) if size == "small" else (1000, 300)
    X = rng.standard_normal((m, d)) / math.sqrt(d)
    w = rng.standard_normal(d)
    y = np.where(rng.standard_normal(m) > 0.0, 1.0, -1.0)
    return (w, X, y)


# ---------------------------------------------------------------------------
# 5. Two-layer MLP, tanh hidden layer, mean squared loss; gradient w.r.t. all params.
# ---------------------------------------------------------------------------


def mlp_loss(W1, b1, W2, b2, X, Y):
    H = np.tanh(X @ W1 + b1)
    P = H @ W2 + b2
    D = P - Y
    return np.mean(D * D)


def mlp_loss_grad(W1, b1, W2, b2, X, Y):
    H = np.tanh(X @ W1 + b1)
    D = H @ W2 + b2 - Y
    g_P = (2.0 / D.size) * D
    g_W2 = H.T @ g_P
    g_b2 = g_P.sum(axis=0)
    g_A = (g_P @ W2.T) * (1.0 - H * H)
    g_W1 = X.T @ g_A
    g_b1 = g_A.sum(axis=0)
    return g_W1, g_b1, g_W2, g_b2


def mlp_loss_args(size, rng):
    n, d, h, k = (20, 10, 10, 1) if size == "small" else (300, 300, 300, 10)
    W1 = rng.standard_normal((d, h)) / math.sqrt(d)
    b1 = 0.1 * rng.standard_normal(h)
    W2 = rng.standard_normal((h, k)) / math.sqrt(h)
    b2 = 0.1 * rng.standard_normal(k)
    X = rng.standard_normal((n, d))
    Y = rng.standard_normal((n, k))
    return (W1, b1, W2, b2, X, Y)


# ---------------------------------------------------------------------------
# 6. RNN unrolled over time in a Python loop; loss = sum of final hidden state squared.
# ---------------------------------------------------------------------------


def rnn_loss(W, U, xs, h0, T):
    h = h0
    for t in range(T):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h * h)


def rnn_loss_grad(W, U, xs, h0, T):
    hs = [h0]
    h = h0
    for t in range(T):
        h = np.tanh(W @ h + U @ xs[t])
        hs.append(h)
    g_W = np.zeros_like(W)
    g_U = np.zeros_like(U)
    g_h = 2.0 * h
    for t in range(T - 1, -1, -1):
        h_next = hs[t + 1]
        g_a = g_h * (1.0 - h_next * h_next)
        g_W += np.outer(g_a, hs[t])
        g_U += np.outer(g_a, xs[t])
        g_h = W.T @ g_a
    return g_W, g_U


def rnn_loss_args(size, rng):
    hdim, d, T = (10, 10, 10) if size == "small" else (300, 300, 100)
    W = 0.9 * rng.standard_normal((hdim, hdim)) / math.sqrt(hdim)
    U = rng.standard_normal((hdim, d)) / math.sqrt(d)
    xs = rng.standard_normal((T, d))
    h0 = np.zeros(hdim)
    return (W, U, xs, h0, T)


# ---------------------------------------------------------------------------
# 7. A scalar function of one scalar input, straight-line code (no loop).  Used for the
#    forward-mode target (forward ~ primal cost) and the hvp section.
# ---------------------------------------------------------------------------


def scalar_fn(x):
    return math.sin(x) * math.exp(-x * x) + x**3 / (1.0 + x * x)


def scalar_fn_grad(x):
    # forward sweep (intermediates in locals: nothing is taped)
    s = math.sin(x)
    e = math.exp(-x * x)
    q = 1.0 + x * x
    x3 = x**3
    # backward sweep, f = s*e + x3/q
    g_x = math.cos(x) * e  # through s
    g_x += s * e * (-2.0 * x)  # through e
    g_x += 3.0 * x * x / q  # through x3
    g_x -= x3 / (q * q) * (2.0 * x)  # through q
    return g_x


def scalar_fn_args(size, rng):
    return (0.7,)


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    name: str
    f: Callable
    hand: Callable  # hand-written gradient, same signature as ``f``
    wrt: int | tuple[int, ...]
    make_args: Callable  # (size, np.random.Generator) -> tuple of arguments
    scalar_input: bool  # all ``wrt`` arguments are Python floats -> forward mode is timed
    description: str
    # bytes the hand-written gradient keeps in lists for its backward sweep, from the same
    # loop structure (8 per float, nbytes per array); run.py --check compares it with the
    # measured value
    hand_saved: Callable[..., int]
    sizes: tuple[str, ...] = SIZES
    hvp: bool = False  # timed in the hvp section (hvp wrt argument 0 vs grad wrt 0)

    def wrt_tuple(self) -> tuple[int, ...]:
        return self.wrt if isinstance(self.wrt, tuple) else (self.wrt,)


WORKLOADS: list[Workload] = [
    Workload(
        "poly_loop",
        poly_loop,
        poly_loop_grad,
        0,
        poly_loop_args,
        True,
        "scalar polynomial iteration, n = 10 / 1000 steps",
        lambda x, n: 8 * n,  # xs: one float per step
    ),
    Workload(
        "branchy_while",
        branchy_while,
        branchy_while_grad,
        0,
        branchy_while_args,
        True,
        "scalar while loop with value-dependent if/else, n = 10 / 1000 steps",
        lambda x, n: 8 * n,  # xs: one float per trip
    ),
    Workload(
        "pendulum_ode",
        pendulum_ode,
        pendulum_ode_grad,
        (0, 1),
        pendulum_ode_args,
        True,
        "Euler-integrated damped pendulum (math.sin), grad wrt (k, c), n = 10 / 1000 steps",
        lambda k, c, theta, omega, dt, n: 16 * n,  # thetas, omegas: two floats per step
    ),
    Workload(
        "logreg",
        logreg_loss,
        logreg_loss_grad,
        0,
        logreg_loss_args,
        False,
        "logistic regression mean log-loss, X 20x10 / 1000x300, grad wrt w",
        lambda w, X, y: 0,  # no loop: intermediates are locals
        hvp=True,
    ),
    Workload(
        "mlp",
        mlp_loss,
        mlp_loss_grad,
        (0, 1, 2, 3),
        mlp_loss_args,
        False,
        "2-layer tanh MLP, squared loss, N,D,H,K = 20,10,10,1 / 300,300,300,10",
        lambda W1, b1, W2, b2, X, Y: 0,  # no loop: intermediates are locals
        hvp=True,
    ),
    Workload(
        "rnn",
        rnn_loss,
        rnn_loss_grad,
        (0, 1),
        rnn_loss_args,
        False,
        "tanh RNN unrolled in a Python loop, H,D,T = 10,10,10 / 300,300,100",
        lambda W, U, xs, h0, T: (T + 1) * h0.nbytes,  # hs: h0 and T hidden states
    ),
    Workload(
        "scalar_fn",
        scalar_fn,
        scalar_fn_grad,
        0,
        scalar_fn_args,
        True,
        "sin(x) * exp(-x*x) + x**3 / (1 + x*x): one scalar input, straight-line code",
        lambda x: 0,  # no loop: intermediates are locals
        sizes=("small",),
        hvp=True,
    ),
]
