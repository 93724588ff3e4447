"""Functions that call derivatives, for tests/test_nesting.py: inner optimizers, physics with
force = -grad(potential), Hessian-free and Hessian Newton steps, meta-learning of a step size,
and the perturbation-confusion classics."""

import numpy as np

import sourcediff as sd

# ---- perturbation confusion: d/dx (x * d/dy (x + y)) = 1 (the inner derivative is 1, whatever
# x is; a tool that mixes the two perturbations gets 2)


def plus(x, y):
    return x + y


def times(x, y):
    return x * y


d_plus_dy = sd.grad(plus, wrt="y")
d_plus_dy_forward = sd.grad(plus, wrt="y", mode="forward")
d_times_dy = sd.grad(times, wrt="y")
jvp_plus = sd.jvp(plus, wrt="y")


def confusion(x):
    # d/dx (x * 1) = 1
    return x * d_plus_dy(x, 3.0)


def confusion_forward_inner(x):
    # d/dx (x * 1) = 1
    return x * d_plus_dy_forward(x, 3.0)


def confusion_jvp_inner(x):
    # jvp of plus in y along 1.0 is 1: d/dx (x * 1) = 1
    return x * jvp_plus(x, 3.0, 1.0)[1]


def confusion_product(x):
    # d/dy (x * y) = x, so d/dx (x * x) = 2x
    return x * d_times_dy(x, 3.0)


def confusion_inner_at_x(x):
    # d/dy (x * y) at y = x is x: d/dx (x * x) = 2x
    return x * d_times_dy(x, x)


# ---- inner optimizers


def inner_loss(w, x):
    return np.sum((w * x - 1.0) ** 2) + 0.1 * np.sum(w ** 4)


dloss = sd.grad(inner_loss)
dloss_forward = sd.grad(inner_loss, mode="forward")
hloss = sd.hessian(inner_loss)
hvloss = sd.hvp(inner_loss)
jloss = sd.jacobian(sd.grad(inner_loss))


def meta_step_size(rate, x):
    """Meta-learning: the loss after 4 gradient steps, as a function of the step size."""
    w = np.ones(3)
    for _ in range(4):
        w = w - rate * dloss(w, x)
    return inner_loss(w, x)


def meta_step_size_forward_inner(rate, x):
    w = np.ones(3)
    for _ in range(4):
        w = w - rate * dloss_forward(w, x)
    return inner_loss(w, x)


def newton_with_hessian(x):
    w = np.ones(3)
    for _ in range(2):
        w = w - np.linalg.solve(hloss(w, x), dloss(w, x))
    return np.sum(w * w)


def newton_with_jacobian_of_gradient(x):
    w = np.ones(3)
    w = w - np.linalg.solve(jloss(w, x), dloss(w, x))
    return np.sum(w * w)


def hessian_free_newton(x):
    """Two conjugate-gradient iterations on H d = -g, with H v products from hvp."""
    w = np.full(3, 0.5)
    g = dloss(w, x)
    d = np.zeros(3)
    r = -g
    p = r
    for _ in range(2):
        hp = hvloss(w, x, p)
        alpha = np.sum(r * r) / np.sum(p * hp)
        d = d + alpha * p
        r_new = r - alpha * hp
        p = r_new + np.sum(r_new * r_new) / np.sum(r * r) * p
        r = r_new
    return inner_loss(w + d, x)


def gradient_descent(f, df, w, steps):
    for _ in range(steps):
        w = w - 0.1 * df(w)
    return f(w)


def quadratic_bowl(w):
    return np.sum((w - 2.0) ** 2) + 0.01 * np.sum(w ** 4)


dbowl = sd.grad(quadratic_bowl)


def descend_with_passed_derivative(w):
    return gradient_descent(quadratic_bowl, dbowl, w, 3)


def descend_with_a_lambda(w, c):
    """The objective closes over c: the derivative with respect to c goes through the lambda
    and through its gradient."""
    f = lambda v: np.sum((v - c) ** 2)  # noqa: E731
    return gradient_descent(f, sd.grad(f), w, 3)


def fixed_point_while(w):
    k = 0
    while k < 3:
        w = w - 0.1 * dbowl(w)
        k += 1
    return np.sum(w)


def saddle(x, y):
    return x * y + 0.5 * x * x - 0.5 * y * y + 0.1 * np.sin(x) * y


def ascent_with_a_local_derivative(x):
    dy = sd.grad(saddle, wrt="y")
    y = 0.0
    for _ in range(5):
        y = y + 0.3 * dy(x, y)
    return saddle(x, y)


# ---- physics: force = -grad(potential)


def potential(q, charge):
    return charge / np.sqrt(np.sum(q * q) + 0.5) + 0.1 * np.sum(q ** 4)


force = sd.grad(potential)


def trajectory_end(charge):
    q = np.array([1.0, 0.5])
    v = np.zeros(2)
    for _ in range(8):
        v = v - 0.1 * force(q, charge)
        q = q + 0.1 * v
    return np.sum(q * q)


# ---- calling a jvp inside


def directional_slope(w):
    value, slope = sd.jvp(inner_loss)(w, np.array([0.3, -0.7, 1.1]), w)
    return slope * value
